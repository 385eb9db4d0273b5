"""The prepared GPU job (benchmarks/gpu_session.py): what it sends fits a device call, its data path is
honoured by the benchmarks it runs, and its training fills the time it is given."""

import os
import subprocess
import sys
from pathlib import Path

from benchmarks import gpu_session

ROOT = Path(__file__).resolve().parents[2]


def test_the_repository_and_the_flyem_volume_fit_one_device_call():
    """A device call sends at most 64 MiB: the tracked files plus .gpu/ (the 34.6 MB FlyEM volume)."""
    flyem_bytes = 128 * 520 * 520 + 512 * 1024  # uint8 slices; the TIFF's tags and the two wheels (140 KB)
    assert gpu_session.tracked_bytes() + flyem_bytes < gpu_session.CARRY_LIMIT
    assert ".gpu/" in (ROOT / ".gitignore").read_text().split(), "the carried data must never be committed"


def test_the_benchmarks_read_the_data_where_the_lease_put_it(tmp_path):
    probe = ("from benchmarks import common, quality_data, train_shipped; "
             "print(common.FLYEM_VAL.parent, quality_data.FLYEM.parent, train_shipped.TRAIN1.parent)")
    env = {**os.environ, "EMDENOISE_SHARED_DATA": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == [str(tmp_path)] * 3


def test_training_steps_fill_the_time_at_the_timed_rate():
    assert gpu_session.planned_steps(4.5, 180) == 810
    assert gpu_session.planned_steps(0.01, 180) == 20  # a slow device still trains a little, and is scored


def test_the_training_rate_is_timed_on_the_network_that_is_trained(monkeypatch, tmp_path):
    """The one-branch (mean) NRRN costs half the two-branch one per step: timing the wrong one would fill
    half the lease's training time."""
    from benchmarks import speed_parts

    seen = {}

    class Stop(Exception):
        pass

    def trainer_class(family):
        def build(spec, device):
            seen["neighbours"] = spec.neighbours
            raise Stop
        return build

    monkeypatch.setattr("emdenoise_gui.training.trainers.trainer_class", trainer_class)
    job = {"family": "nrrn", "config": "lite", "variant": "now", "device": "cpu", "neighbours": "mean",
           "budget": 1.0, "scratch": str(tmp_path)}
    try:
        speed_parts.train_rate(job)
    except Stop:
        pass
    assert seen == {"neighbours": "mean"}
    source = Path(gpu_session.__file__).read_text()
    assert '"neighbours": "mean"' in source and '"--neighbours", "mean"' in source


def test_the_two_calls_and_a_machine_start_fit_the_leased_minutes(capsys, monkeypatch, tmp_path):
    """15 device minutes: the calls' timeouts, a start (about 30 s on 2026-12-04) and the idle gaps between
    calls; the printed plan gives the train call first and each call its own timeout."""
    assert sum(gpu_session.CALL_TIMEOUTS.values()) + 60 + 2 * 30 <= 15 * 60
    monkeypatch.setattr(gpu_session, "CARRY", tmp_path / ".gpu")
    monkeypatch.setattr(gpu_session.subprocess, "run", lambda *a, **k: None)  # no pip download here
    monkeypatch.setattr(gpu_session, "tracked_bytes", lambda: 0)
    monkeypatch.setattr("benchmarks.common.FLYEM_VAL", tmp_path / "flyem.tif")
    (tmp_path / "flyem.tif").write_bytes(b"x")
    assert gpu_session.prepare() == 0
    calls = [line for line in capsys.readouterr().out.splitlines() if line.startswith("run(")]
    assert len(calls) == 2 and "--part train" in calls[0] and "--part speed" in calls[1]
    timeouts = gpu_session.CALL_TIMEOUTS
    assert f"timeout_s={timeouts['train']}" in calls[0] and f"timeout_s={timeouts['speed']}" in calls[1]
    assert timeouts["train"] >= 181 + 30 + 40  # 2026-12-04's train part, a slower start, host_floor (21-35 s)
