"""``resume --device`` holds for that session only; the card names the device(s) that trained the model.

A resume given ``--device cpu`` wrote cpu into the run's spec: a later plain ``resume`` of a run started on a
GPU went on on the CPU (the help says "default: the device the run started on"), and the card named only the
device of the session that wrote the package.
"""

from pathlib import Path

import pytest
import torch

from emdenoise_gui.core import events as ev
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.training.checkpoint import (
    load_checkpoint,
    read_spec,
    save_checkpoint,
)
from emdenoise_gui.training.engine import resume, train
from emdenoise_gui.zoo.package import open_package
from tests.training.conftest import tiny_spec


def _run_to(events, stop_at: int) -> ev.Finished:
    """Drain a training's ``events(token)``, cancelling after step ``stop_at``; its Finished event."""
    token = CancelToken()
    for event in events(token):
        if isinstance(event, ev.StepDone) and event.step == stop_at:
            token.cancel()
    return event


def test_resume_device_holds_for_that_session_only(tmp_path, fibsem_crop, noisy_crop, noise_patches, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=6, checkpoint_every=100,
                     validate_every=100)
    checkpoint = Path(_run_to(lambda token: train(spec, token), 2).checkpoint)
    state = load_checkpoint(checkpoint)  # as if steps 1-2 had run on a GPU
    state["spec"]["device"] = "cuda"
    state["devices"] = [["cuda", 0, 2]]
    save_checkpoint(checkpoint, state)

    stopped = _run_to(lambda token: resume(checkpoint, token, device="cpu"), 4)
    assert stopped.cancelled and stopped.step == 4
    assert read_spec(checkpoint)["device"] == "cuda"  # the run's own device, not this session's
    with pytest.raises(InputError, match="this run was started on 'cuda', which this computer cannot use"):
        list(resume(checkpoint))  # a plain resume goes back to it (here: says it cannot)

    finished = list(resume(checkpoint, device="cpu"))[-1]
    card = open_package(finished.package).card
    assert card.training["device"] == "cuda for steps 1-2, cpu for steps 3-6"


def test_a_run_on_one_device_names_it_alone(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=4, checkpoint_every=100,
                     validate_every=100)
    checkpoint = Path(_run_to(lambda token: train(spec, token), 2).checkpoint)
    assert load_checkpoint(checkpoint)["devices"] == [["cpu", 0, 2]]
    finished = list(resume(checkpoint, device="cpu"))[-1]
    assert open_package(finished.package).card.training["device"] == "cpu"


def test_steps_saved_before_devices_were_recorded_are_said_so(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=4, checkpoint_every=100,
                     validate_every=100)
    checkpoint = Path(_run_to(lambda token: train(spec, token), 2).checkpoint)
    state = load_checkpoint(checkpoint)
    state.pop("devices", None)  # a checkpoint of an earlier version
    save_checkpoint(checkpoint, state)
    finished = list(resume(checkpoint))[-1]
    assert open_package(finished.package).card.training["device"] == ("not recorded for steps 1-2, cpu for "
                                                                       "steps 3-4")


def test_one_gpu_named_with_and_without_its_index_is_one_session(monkeypatch):
    """"cuda" (--device auto) and "cuda:0" (--device cuda:0) are one GPU: the card said "cuda for steps 1-5, cuda:0
    for steps 6-10" (review)."""
    import torch

    from emdenoise_gui.training.engine import Sessions

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)
    later = Sessions.resumed({"devices": [["cuda:0", 0, 5]]}, torch.device("cuda"), 5)
    assert later.words(10) == "cuda:0"
    assert Sessions.resumed(None, torch.device("cpu"), 0).words(4) == "cpu"
