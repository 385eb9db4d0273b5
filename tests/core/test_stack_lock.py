"""A stack read on two threads (the window's, and the viewer's helper that reads slow slices ahead) reads one slice
at a time, and is closed only between reads: a close during a read (the file reopened after it changed) failed the
read half-way."""

import threading
import time
from pathlib import Path

import numpy as np

from emdenoise_gui.core.io.stack import Stack, StackMeta


class SlowReader:
    """A reader whose reads take 0.2 s; notes what happened in order, and reads at once."""

    def __init__(self):
        self.log, self.inside = [], 0

    def read(self, z):
        self.inside += 1
        self.log.append(("read", z, self.inside))
        time.sleep(0.2)
        self.inside -= 1
        return np.full((4, 4), z, np.uint8)

    def close(self):
        self.log.append(("close", None, self.inside))


def _stack_read_on_a_helper():
    reader = SlowReader()
    stack = Stack(StackMeta(Path("s.tif"), "test", (3, 4, 4), np.dtype(np.uint8)), reader)
    helper = threading.Thread(target=lambda: stack[1])
    helper.start()
    time.sleep(0.05)  # the helper's read is under way
    return stack, reader, helper


def test_a_read_waits_for_a_read_under_way():
    stack, reader, helper = _stack_read_on_a_helper()
    assert stack[2][0, 0] == 2
    helper.join()
    assert [entry[2] for entry in reader.log] == [1, 1]  # never two reads at once


def test_a_close_waits_for_a_read_under_way():
    stack, reader, helper = _stack_read_on_a_helper()
    stack.close()
    helper.join()
    assert reader.log == [("read", 1, 1), ("close", None, 0)]  # after the read, not in the middle of it
