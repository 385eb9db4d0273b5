"""Benchmarks are not part of the test run; this only checks that one starts and finishes on a tiny input."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_memory_stream_quick_runs():
    result = subprocess.run([sys.executable, "benchmarks/memory_stream.py", "--quick"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout


def test_large_slice_quick_runs():
    result = subprocess.run([sys.executable, "benchmarks/large_slice.py", "--quick"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "DONE" in result.stdout and "'peak_over_slice'" in result.stdout
