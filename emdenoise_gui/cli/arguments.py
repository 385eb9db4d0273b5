"""Argument types shared by several commands, checked when the command line is read (no torch loaded)."""

from __future__ import annotations

import argparse
import re

#: What ``--device`` takes; whether that device exists here is checked when a model or a training needs it.
DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d{1,3})?)$")
DEVICE_HELP = "auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:N or mps"


def device(value: str) -> str:
    """``value`` as given when it names a device, else an argparse error (one line, exit 2): a misspelt
    device given with a filter was accepted and the run ended with exit 0."""
    if not DEVICE.match(value.strip().lower()):
        raise argparse.ArgumentTypeError(f"'{value}' is not a device: give {DEVICE_HELP}")
    return value.strip().lower()
