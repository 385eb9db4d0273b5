"""The speed benchmark's measurement helpers (benchmarks/speed_parts.py) that need no timing."""

import numpy as np

from benchmarks import speed_parts


def test_cuda_variants_warm_up_on_the_whole_slice_so_cudnn_autotuning_is_not_timed():
    image = np.arange(3 * 40 * 50, dtype=np.float32).reshape(3, 40, 50)
    cpu = speed_parts.warm_input(image, (16, 16), "cpu")
    assert cpu.shape == (3, 16, 16) and cpu.flags.c_contiguous and (cpu == image[:, :16, :16]).all()
    assert speed_parts.warm_input(image, (16, 16), "cuda").shape == (3, 40, 50)

