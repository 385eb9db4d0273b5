"""Pausing a training run between steps, and the steps/s probe the wizard plans with."""

import math
import threading
import time

import pytest

from emdenoise_gui.core import events as ev
from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.training.engine import measure_rate, train
from tests.training.conftest import tiny_spec


def test_a_paused_run_holds_between_steps_and_goes_on_with_the_same_losses(tmp_path, synthetic_crop, noisy_crop,
                                                                          noise_patches):
    for run in ("a", "b"):
        (tmp_path / run).mkdir()
    straight = [e.losses for e in train(tiny_spec("n2v", tmp_path / "a", synthetic_crop, noisy_crop, noise_patches))
                if isinstance(e, ev.StepDone)]
    token = CancelToken()
    run = train(tiny_spec("n2v", tmp_path / "b", synthetic_crop, noisy_crop, noise_patches), token)
    losses, held = [], None
    for event in run:
        if isinstance(event, ev.StepDone):
            losses.append(event.losses)
            if event.step == 2:
                token.pause()
                threading.Timer(0.6, token.resume).start()
                held = time.perf_counter()
            elif event.step == 3:
                held = time.perf_counter() - held
    assert held >= 0.5  # step 3 waited for the resume
    assert losses == straight


def test_cancel_ends_a_paused_run_with_a_checkpoint(tmp_path, synthetic_crop, noisy_crop, noise_patches):
    token = CancelToken()
    seen = []
    for event in train(tiny_spec("n2v", tmp_path, synthetic_crop, noisy_crop, noise_patches, steps=50), token):
        seen.append(event)
        if isinstance(event, ev.StepDone) and event.step == 1:
            token.pause()
            threading.Timer(0.2, token.cancel).start()
    assert isinstance(seen[-1], ev.Finished) and seen[-1].cancelled and seen[-1].step == 1


def test_measure_rate_is_positive_and_writes_nothing(tmp_path, synthetic_crop, noisy_crop, noise_patches):
    spec = tiny_spec("nrrn", tmp_path, synthetic_crop, noisy_crop, noise_patches)
    rate = measure_rate(spec, steps=2)
    assert math.isfinite(rate) and rate > 0
    assert not (tmp_path / "nrrn_pkg").exists() and not list(tmp_path.glob("*.checkpoint"))
    token = CancelToken()
    token.cancel()
    assert math.isnan(measure_rate(spec, cancel=token))


@pytest.mark.parametrize("family", ["nrrn", "n2v", "xception", "cyclic"])
def test_measured_costs_are_positive_and_write_nothing(tmp_path, synthetic_crop, noisy_crop, noise_patches,
                                                       family, monkeypatch):
    import tempfile

    from emdenoise_gui.training.engine import measure_costs

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    spec = tiny_spec(family, tmp_path, synthetic_crop, noisy_crop, noise_patches)
    costs = measure_costs(spec, steps=2, min_s=0.0)
    assert costs.steps_per_s > 0 and costs.setup_s > 0 and costs.validation_s > 0 and costs.checkpoint_s > 0
    assert not (tmp_path / f"{family}_pkg").exists() and not list(tmp_path.glob("*.checkpoint"))
    assert list(scratch.iterdir()) == []  # the probe's checkpoint is gone
    token = CancelToken()
    token.cancel()
    assert measure_costs(spec, cancel=token) is None


def test_a_pause_shows_the_steps_a_gpu_run_has_not_read_yet(tmp_path, synthetic_crop, noisy_crop, noise_patches,
                                                           monkeypatch):
    """On a GPU losses are read in groups (here of four, on the CPU): a pause reads the finished steps first,
    so the curve and the step count are current while the run waits."""
    from emdenoise_gui.training import engine
    from emdenoise_gui.training.trainers import trainer_class

    monkeypatch.setattr(engine, "loss_read_every", lambda device: 4)
    token, cls = CancelToken(), trainer_class("n2v")
    learn = cls.learn

    def pause_after_the_second_step(self, step, *args):
        losses = learn(self, step, *args)
        if step == 1:
            token.pause()
            threading.Timer(0.3, token.resume).start()
        return losses

    monkeypatch.setattr(cls, "learn", pause_after_the_second_step)
    spec = tiny_spec("n2v", tmp_path, synthetic_crop, noisy_crop, noise_patches, steps=6, validate_every=100,
                     checkpoint_every=100)
    shown = [(e.step, token.paused) for e in train(spec, token) if isinstance(e, ev.StepDone)]
    assert shown == [(1, True), (2, True), (3, False), (4, False), (5, False), (6, False)]


def test_a_checkpoint_that_cannot_be_timed_does_not_stop_the_measurement(tmp_path, synthetic_crop, noisy_crop,
                                                                          noise_patches, monkeypatch):
    """A full temporary disk made the probe fail, and the wizard refused a training that would have fitted."""
    from emdenoise_gui.training import engine

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(engine, "save_checkpoint", full)
    costs = engine.measure_costs(tiny_spec("n2v", tmp_path, synthetic_crop, noisy_crop, noise_patches), steps=2,
                                 min_s=0.0)
    assert costs.steps_per_s > 0 and costs.checkpoint_s == 0.0
