"""Benchmarks are not part of the test run; this only checks that the cluster benchmark runs on a tiny volume
and that its block outputs equal the one-process output."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_cluster_benchmark_quick_runs():
    pytest.importorskip("distributed")
    result = subprocess.run([sys.executable, "benchmarks/cluster.py", "--quick"], cwd=ROOT, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout and "| dask-2 | 2 |" in result.stdout
