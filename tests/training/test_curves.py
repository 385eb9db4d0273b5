"""A resumed run's page drew its curves from the step it resumed at (the steps before were gone with the session
that made them); the checkpoint keeps them now and a resumed run starts with them (``events.History``)."""

from pathlib import Path

import numpy as np

from emdenoise_gui.core import events as ev
from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.training import curves as curves_module
from emdenoise_gui.training.checkpoint import load_checkpoint
from emdenoise_gui.training.curves import Curves
from emdenoise_gui.training.engine import resume, train
from tests.training.conftest import tiny_spec


def test_a_resumed_run_starts_with_its_curves_so_far(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=6, checkpoint_every=100,
                     validate_every=2)
    token, first = CancelToken(), []
    for event in train(spec, token):
        first.append(event)
        if isinstance(event, ev.StepDone) and event.step == 4:
            token.cancel()
    checkpoint = Path(first[-1].checkpoint)
    done = [(e.step, e.losses) for e in first if isinstance(e, ev.StepDone)]
    validated = [(e.step, e.metrics) for e in first if isinstance(e, ev.Validated)]
    assert [s for s, _ in done] == [1, 2, 3, 4] and [s for s, _ in validated] == [2, 4]
    assert load_checkpoint(checkpoint)["curves"]["train"][0][0] == 1

    events = list(resume(checkpoint))
    history = [e for e in events if isinstance(e, ev.History)]
    assert len(history) == 1 and events.index(history[0]) == 1  # right after Started
    assert [(s, losses) for s, losses in history[0].train] == done
    assert [s for s, _ in history[0].val] == [2, 4]
    assert history[0].val[0][1]["val_loss"] == validated[0][1]["val_loss"]
    assert [e.step for e in events if isinstance(e, ev.StepDone)] == [5, 6]


def test_a_new_run_or_an_old_checkpoint_has_no_history():
    assert Curves.resumed(None).history() is None
    assert Curves.resumed({"step": 4}).history() is None  # saved before curves were kept
    odd = Curves.resumed({"curves": {"train": [[1, {"loss": 0.5, "note": "x"}], "bad", [2.5, {}]], "val": 3}})
    assert odd.train == [[1, {"loss": 0.5}]] and odd.val == []


def test_long_runs_keep_a_curve_sampled_evenly_from_first_to_last_step(monkeypatch):
    """Halving the whole list each time it was full kept mostly the run's end: nothing between step 1 and step
    76,049 of 100,000 (review)."""
    monkeypatch.setattr(curves_module, "MAX_POINTS", 100)
    curves = Curves()
    for step in range(1, 100_001):
        curves.step(step, {"loss": 1.0 / step})
    steps = [s for s, _ in curves.train]
    assert len(steps) <= 100 and steps[0] == 1 and steps == sorted(steps)
    gaps = np.diff(steps)
    assert gaps.max() <= 2 * curves.every and curves.every >= 1000 and steps[-1] >= 100_000 - curves.every
    again = Curves.resumed({"curves": curves.saved()})  # the stride goes on with the run
    assert again.every == curves.every and again.train == curves.train
