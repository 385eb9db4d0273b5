"""Automatic contrast on a stack whose first slice shown is blank (viewer audit of 2026-12-07): the limits were
estimated once per stack, so a zero slice (padding of an aligned stack) left (0, 1) and every other slice white."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")
from tests.gui.test_compare_view import CountingStack  # noqa: E402
from tests.gui.test_view_iqr_box import make_view  # noqa: E402


def padded_stack():
    """(3, 64, 80) float32: slice 0 all zero, slices 1-2 in 14-231."""
    data = np.random.default_rng(2).uniform(14, 231, (3, 64, 80)).astype(np.float32)
    data[0] = 0
    return data


def test_limits_from_a_blank_slice_are_estimated_again_on_the_next_one(qtbot):
    view = make_view(qtbot)
    view.set_original(CountingStack(padded_stack()), "padded.tif")
    assert view.levels() == (0.0, 1.0)
    view.set_slice(1)
    lo, hi = view.levels()
    assert 14 <= lo < 20 and 225 < hi <= 231
    view.set_slice(0)  # once estimated on a slice with a spread, the limits stay
    assert view.levels() == (lo, hi)


def test_limits_the_user_set_on_a_blank_slice_stay(qtbot):
    view = make_view(qtbot)
    view.set_original(CountingStack(padded_stack()), "padded.tif")
    view.set_levels(-5.0, 40.0)
    view.set_slice(1)
    assert view.levels() == (-5.0, 40.0)
    view.contrast.histogram.item.setLevels(-2.0, 30.0)  # dragged on the histogram
    view.set_original(CountingStack(padded_stack()), "another.tif")  # a new stack starts afresh
    view.set_slice(2)
    assert view.levels()[1] > 200
