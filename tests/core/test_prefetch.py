"""Reading ahead and writing behind: same slices, same order, errors surface, threads end."""

import threading
import time

import numpy as np
import pytest

from emdenoise_gui.core.io import open_stack
from emdenoise_gui.core.pipeline import IntensityScale, SliceCache
from emdenoise_gui.core.prefetch import ReadAhead, WriteBehind


def test_read_ahead_returns_the_planned_slices_and_stays_bounded():
    reads = []

    def read(z):
        reads.append(z)
        return np.full((2, 2), z)

    ahead = ReadAhead(read, [3, 1, 4, 1, 5], depth=2)
    time.sleep(0.2)
    assert len(reads) <= 3  # two queued, one waiting to be queued
    assert [int(ahead.next(z)[0, 0]) for z in (3, 1, 4, 1, 5)] == [3, 1, 4, 1, 5]
    with pytest.raises(RuntimeError, match="order"):
        ahead.next(9)
    ahead.close()


def test_read_error_reaches_the_consumer_and_close_ends_the_thread():
    def read(z):
        if z == 2:
            raise OSError("disk gone")
        return np.zeros(1)

    ahead = ReadAhead(read, [0, 1, 2, 3])
    ahead.next(0), ahead.next(1)
    with pytest.raises(OSError, match="disk gone"):
        ahead.next(2)
    stopped = ReadAhead(lambda z: np.zeros(1), list(range(1000)), depth=1)
    stopped.close()
    assert not any(t.name == "emdenoise-read-ahead" and t.is_alive() for t in threading.enumerate())


def test_write_behind_writes_everything_and_reports_errors():
    written = {}
    behind = WriteBehind(lambda i, d: written.__setitem__(i, d))
    for i in range(5):
        behind.put(i, np.full(3, i))
    behind.finish()
    assert sorted(written) == [0, 1, 2, 3, 4]

    def failing(i, d):
        raise OSError("No space left on device")

    behind = WriteBehind(failing)
    behind.put(0, np.zeros(1))
    with pytest.raises(OSError, match="No space"):
        for i in range(1, 10):
            behind.put(i, np.zeros(1))
        behind.finish()


@pytest.mark.parametrize("count", [1, 3])
def test_cache_reading_ahead_gives_the_same_windows(synthetic_crop, count):
    with open_stack(synthetic_crop) as stack:
        scale = IntensityScale.for_stack(stack)
        plain = [SliceCache(stack, count + 1).window(z, count, scale) for z in range(len(stack))]
        cache = SliceCache(stack, count + 1).read_ahead(range(1, len(stack)), count)
        try:
            ahead = [cache.window(z, count, scale) for z in range(1, len(stack))]
        finally:
            cache.close()
    for a, b in zip(ahead, plain[1:]):
        np.testing.assert_array_equal(a, b)
