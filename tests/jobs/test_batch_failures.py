"""A batch goes on past a stack that fails (job lifecycle audit of 2026-12-07): it stopped at the first, the dialog
named that one only, and the stacks after it were silently not denoised."""

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken, Message, Written
from emdenoise_gui.jobs.denoise import Denoiser, batch


def test_a_stack_that_fails_is_named_and_the_others_are_denoised(tmp_path):
    items = []
    for k, name in enumerate("abc"):
        path = tmp_path / f"{name}.tif"
        tifffile.imwrite(path, np.random.default_rng(k).integers(0, 255, (3, 32, 32), dtype=np.uint8),
                         photometric="minisblack")
        items.append((str(path), tmp_path / f"{name}_median.tif"))
    (tmp_path / "b.tif").unlink()  # moved away while the batch waited
    events = []
    steps = batch(items, Denoiser("filter", "median"), 512, None)(CancelToken())
    with pytest.raises(InputError, match=r"1 of 3 stacks could not be denoised \(the other 2 were\): b\.tif: "):
        for event in steps:
            events.append(event)
    assert [e.path for e in events if isinstance(e, Written)] == [str(items[0][1]), str(items[2][1])]
    assert any(isinstance(e, Message) and "stack 2/3 (b.tif) not denoised" in e.text for e in events)
    assert items[0][1].exists() and items[2][1].exists() and not items[1][1].exists()
