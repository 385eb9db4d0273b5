"""A filter run's peak memory on a large slice (the large-input audit of 2026-12-06: 9 to 14 times the slice):
no whole-slice float64 statistics, no padded copy, no copy of the window for a whole-slice filter, no copy of
the result to write it. Measured with tracemalloc, which sees numpy's buffers; the bound is in slices of the
input's uint16 (2048^2: 6.9 and 16.0 slices, 11.0 and 22.0 before; the 3-slice filter's window is three float32
slices, six of these, and its SURE choice works on 1 MP float64 crops whatever the slice's size)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.events import run_to_end
from emdenoise_gui.jobs.stack import denoise_filter_job


@pytest.mark.parametrize("method, bound", [("gaussian", 8.5), ("gaussian-sure-avg", 19.0)])
def test_a_filter_run_holds_a_few_slices_at_most(tmp_path, method, bound):
    source = tmp_path / "big.tif"
    slice_ = (np.random.default_rng(0).random((1, 2048, 2048)) * 60000).astype(np.uint16)
    tifffile.imwrite(source, slice_, imagej=True, metadata={"axes": "ZYX"})
    tracemalloc.start()
    run_to_end(denoise_filter_job(source, tmp_path / "out.tif", method, dtype="float32"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < bound * slice_.nbytes, f"{peak / slice_.nbytes:.1f} slices"
