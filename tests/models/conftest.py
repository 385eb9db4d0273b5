"""Model tests run seeded on one intra-op thread: tiny tensors are dominated by OpenMP spin-waits
on a busy 2-core machine, and one thread makes timings and results repeatable."""

import pytest
import torch


@pytest.fixture(autouse=True)
def seeded_one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
