"""The training engine: events, cancel within one step, checkpoint/resume equality, packages."""

import numpy as np
import pytest

from emdenoise_gui.core import events as ev
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.training.engine import resume, train
from emdenoise_gui.zoo.package import verify_folder
from tests.training.conftest import tiny_spec

FAMILIES = ["n2v", "nrrn", "xception", "cyclic"]


@pytest.fixture
def fibsem_crop(synthetic_crop):
    """The engine's mechanics do not depend on the data: a synthetic EM-like stack stands in for the
    real crop here, so these tests run without ../shared/data."""
    return synthetic_crop


def _losses(events):
    return [e.losses for e in events if isinstance(e, ev.StepDone)]


@pytest.mark.parametrize("family", FAMILIES)
def test_run_yields_typed_events_and_writes_package(family, tmp_path, fibsem_crop, noisy_crop, noise_patches):
    spec = tiny_spec(family, tmp_path, fibsem_crop, noisy_crop, noise_patches)
    events = list(train(spec))
    assert isinstance(events[0], ev.Started) and events[0].total_steps == 6
    steps = [e for e in events if isinstance(e, ev.StepDone)]
    assert [e.step for e in steps] == [1, 2, 3, 4, 5, 6]
    assert all(np.isfinite(v) for e in steps for v in e.losses.values()) and steps[-1].lr > 0
    assert [e.step for e in events if isinstance(e, ev.Validated)] == [3, 6]
    previews = [e for e in events if isinstance(e, ev.Preview)]
    assert previews and previews[0].noisy.shape == previews[0].denoised.shape == (32, 32)
    assert [e.step for e in events if isinstance(e, ev.CheckpointSaved)] == [3, 6]  # the last lets a run go on
    done = events[-1]
    assert isinstance(done, ev.Finished) and not done.cancelled
    card = verify_folder(done.package).card
    assert (card.family, card.config, card.steps) == (family, "lite", 6)
    assert card.parameters > 0 and "val_loss" in card.metrics and card.pixel_size_nm == [10.0, 10.0]


@pytest.mark.parametrize("family", FAMILIES)
def test_resume_after_interrupt_gives_the_same_losses(family, tmp_path, fibsem_crop, noisy_crop, noise_patches):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    full = _losses(train(tiny_spec(family, tmp_path / "a", fibsem_crop, noisy_crop, noise_patches)))

    token = CancelToken()
    first = []
    for event in train(tiny_spec(family, tmp_path / "b", fibsem_crop, noisy_crop, noise_patches), token):
        first.append(event)
        if isinstance(event, ev.StepDone) and event.step == 4:
            token.cancel()
    stopped = first[-1]
    assert stopped.cancelled and stopped.step == 4 and stopped.package is None
    rest = list(resume(stopped.checkpoint))
    assert isinstance(rest[0], ev.Started) and rest[0].first_step == 4
    assert _losses(first) + _losses(rest) == full  # exactly equal, step by step
    assert isinstance(rest[-1], ev.Finished) and rest[-1].package


def test_cancel_stops_within_one_step(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    token = CancelToken()
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=1000)
    seen = []
    for event in train(spec, token):
        seen.append(event)
        if isinstance(event, ev.StepDone):
            token.cancel()
    assert [type(e) for e in seen[1:]] == [ev.StepDone, ev.CheckpointSaved, ev.Finished]
    assert seen[-1].cancelled and seen[-1].step == 1


@pytest.mark.parametrize("change,phrase", [
    ({"family": "magic"}, "unknown model family"),
    ({"config": "huge"}, "unknown configuration"),
    ({"crop": 30}, "multiple of 16"),
    ({"data": {}}, "needs --noisy"),
    ({"data": {"noisy": ["x.tif"], "clean": ["y.tif"]}}, "does not use --clean"),
    ({"steps": 0}, "at least 1"),
])
def test_bad_specs_are_explained(tmp_path, fibsem_crop, noisy_crop, noise_patches, change, phrase):
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, **change)
    with pytest.raises(InputError, match=phrase):
        list(train(spec))


def test_the_cyclic_gan_needs_crops_its_discriminators_can_shrink(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    """At 16 px the PatchGANs' instance norms met a 1x1 map: torch's "Expected more than 1 spatial element"."""
    spec = tiny_spec("cyclic", tmp_path, fibsem_crop, noisy_crop, noise_patches, crop=16)
    with pytest.raises(InputError, match="crops of at least 32 px"):
        spec.validated()


def test_output_package_is_never_overwritten(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches)
    (tmp_path / "n2v_pkg").mkdir()
    with pytest.raises(InputError, match="already exists"):
        list(train(spec))


def test_nrrn_needs_three_slices(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    import tifffile

    two = tmp_path / "two.tif"
    tifffile.imwrite(two, tifffile.imread(noisy_crop)[:2], photometric="minisblack")
    spec = tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, data={"noisy": [str(two)]})
    with pytest.raises(InputError, match="at least 3 adjacent slices"):
        list(train(spec))


def test_resume_refuses_an_existing_package_before_training(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    token = CancelToken()
    events = []
    for event in train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches), token):
        events.append(event)
        if isinstance(event, ev.StepDone):
            token.cancel()
    (tmp_path / "n2v_pkg").mkdir()  # something appeared where the package will go
    gen = resume(events[-1].checkpoint)
    with pytest.raises(InputError, match="already exists"):
        next(gen)


@pytest.mark.parametrize("family", FAMILIES)
def test_sampling_ahead_gives_the_losses_of_sampling_in_line(family, tmp_path, fibsem_crop, noisy_crop,
                                                             noise_patches):
    """The engine draws step k + 1's data on a background thread while step k computes; the losses
    must be those of calling ``train_step`` one step after another (the same model, same seeds)."""
    import torch

    from emdenoise_gui.training.engine import _make_trainer

    spec = tiny_spec(family, tmp_path, fibsem_crop, noisy_crop, noise_patches)
    spec.validate_every = spec.checkpoint_every = 1000
    engine = _losses(train(spec))
    spec = tiny_spec(family, tmp_path / "inline", fibsem_crop, noisy_crop, noise_patches)
    spec.validate_every = spec.checkpoint_every = 1000
    torch.manual_seed(spec.seed)
    trainer = _make_trainer(spec.validated(), torch.device("cpu"))
    inline = [trainer.train_step(k, np.random.default_rng([spec.seed, k])) for k in range(spec.steps)]
    assert engine == [{name: float(v) for name, v in losses.items()} for losses in inline]


@pytest.mark.parametrize("native,amp,expected", [(True, True, "bfloat16"), (True, False, None), (False, True, None)])
def test_cpu_training_is_bf16_only_where_the_cpu_computes_it_natively(native, amp, expected, monkeypatch, tmp_path,
                                                                     fibsem_crop, noisy_crop, noise_patches):
    import torch

    from emdenoise_gui.models import device
    from emdenoise_gui.training.trainers import trainer_class

    monkeypatch.setattr(device, "native_bf16_cpu", lambda: native)
    spec = tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, amp=amp).validated()
    trainer = trainer_class("nrrn")(spec, torch.device("cpu"))
    assert trainer.amp_dtype == (getattr(torch, expected) if expected else None)
    losses = trainer.train_step(1, np.random.default_rng(0))
    assert all(np.isfinite(float(v)) for v in losses.values())
    card = trainer.export(tmp_path / "pkg", steps=1).card
    assert card.training["precision"] == (f"{expected} autocast" if expected else "float32")


def test_losses_read_in_groups_on_a_gpu_still_give_every_step(tmp_path, fibsem_crop, noisy_crop, noise_patches,
                                                              monkeypatch):
    """On a GPU the engine reads losses back ten steps at a time (here four, on the CPU): every step still
    gets its StepDone, in order, with its own losses; a validation or checkpoint step reads at once."""
    from emdenoise_gui.training import engine
    from emdenoise_gui.training.trainers import trainer_class

    monkeypatch.setattr(engine, "loss_read_every", lambda device: 4)
    cls, learned = trainer_class("n2v"), []
    learn = cls.learn
    monkeypatch.setattr(cls, "learn", lambda self, *a: learned.append(1) or learn(self, *a))
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=11, validate_every=9,
                     checkpoint_every=100)
    seen = [(e.step, len(learned)) for e in train(spec) if isinstance(e, ev.StepDone)]
    assert seen == [(k, 4) for k in range(1, 5)] + [(k, 8) for k in range(5, 9)] + [(9, 9), (10, 11), (11, 11)]
    (tmp_path / "x").mkdir()
    grouped = _losses(train(tiny_spec("n2v", tmp_path / "x", fibsem_crop, noisy_crop, noise_patches, steps=11,
                                      validate_every=9, checkpoint_every=100)))
    assert len(grouped) == 11 and all(isinstance(v, float) for losses in grouped for v in losses.values())


def test_divergence_read_in_a_group_stops_before_anything_is_saved(tmp_path, fibsem_crop, noisy_crop,
                                                                   noise_patches, monkeypatch):
    import torch

    from emdenoise_gui.training import engine
    from emdenoise_gui.training.trainers.n2v import N2VTrainer

    learn = N2VTrainer.learn

    def blowing_up(self, step, batch, rng):  # the loss of step 3 on is not a number (as lr 1e30 gave)
        losses = learn(self, step, batch, rng)
        return {name: value * torch.tensor(float("nan")) for name, value in losses.items()} if step >= 2 else losses

    monkeypatch.setattr(N2VTrainer, "learn", blowing_up)
    monkeypatch.setattr(engine, "loss_read_every", lambda device: 4)
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=30,
                     validate_every=100, checkpoint_every=4)
    saved = []
    with pytest.raises(InputError, match="diverged at step"):
        saved += [e for e in train(spec) if isinstance(e, ev.CheckpointSaved)]
    assert not saved and not (tmp_path / "n2v_pkg").exists() and not (tmp_path / "n2v_pkg.checkpoint").exists()


def test_a_run_whose_losses_blow_up_but_stay_finite_writes_no_model(tmp_path, fibsem_crop, noisy_crop,
                                                                    noise_patches):
    """A learning rate of 1: losses of 1e18-1e25 after two steps, all finite; the package was written, exit 0,
    and it wrote values of 1e11 into a uint8 stack's result (training audit, 2026-12-06)."""
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, lr=1.0, steps=6)
    with pytest.raises(InputError, match=r"training diverged at step \d+: the (held-back )?loss is [0-9.e+]+\."):
        list(train(spec))
    assert not (tmp_path / "n2v_pkg").exists()


@pytest.mark.parametrize("lr", [1e38, 2.0])
def test_a_learning_rate_above_one_is_refused(tmp_path, fibsem_crop, noisy_crop, noise_patches, lr):
    """1e38 overflowed Adam's step size: an internal error (exit 1) instead of a message."""
    spec = tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, lr=lr)
    with pytest.raises(InputError, match="--lr must be above 0 and at most 1 "):
        spec.validated()


def test_resume_refuses_data_replaced_since_the_run_began(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    """The run went on from step 4 on another stack of the same name, and the card named only that one."""
    import shutil

    import tifffile

    noisy = tmp_path / "mine.tif"
    shutil.copy(noisy_crop, noisy)
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, data={"noisy": [str(noisy)]})
    token = CancelToken()
    for event in train(spec, token):
        if isinstance(event, ev.StepDone) and event.step == 2:
            token.cancel()
    checkpoint = event.checkpoint
    original = tifffile.imread(noisy)
    changed = original.copy()
    changed[len(changed) // 2, 0, 0] ^= 1  # one value of the middle slice
    tifffile.imwrite(noisy, changed, photometric="minisblack")
    with pytest.raises(InputError, match="has changed since this run began on it") as caught:
        list(resume(checkpoint))
    assert caught.value.path == noisy
    tifffile.imwrite(noisy, original, photometric="minisblack")  # the original back (a new file time): resumes
    assert isinstance(list(resume(checkpoint))[-1], ev.Finished)


def test_a_read_only_zoo_says_how_to_get_one_that_is_not(tmp_path, fibsem_crop, noisy_crop, noise_patches, monkeypatch):
    """--adapt writes into the zoo: 'choose another output folder' named a fix -o cannot make (audit)."""
    from emdenoise_gui.paths import user_models_dir
    from emdenoise_gui.training import engine

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    user_models_dir().mkdir(parents=True)

    def read_only(folder):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(engine.atomic, "probe_writable", read_only)
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, output=str(user_models_dir() / "mine"))
    with pytest.raises(InputError, match="read-only or not yours \\(Permission denied\\); make it writable, or point "
                                         "EMDENOISE_HOME at a folder you can write to"):
        list(train(spec))
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches)
    with pytest.raises(InputError, match="choose another output folder"):
        list(train(spec))


@pytest.mark.parametrize("name", ["m.zip", "m.TIF"])
def test_an_output_named_like_a_file_is_refused(tmp_path, fibsem_crop, noisy_crop, noise_patches, name):
    """-o models/m.zip wrote a folder named m.zip with exit 0 (names audit)."""
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, output=str(tmp_path / name))
    with pytest.raises(InputError, match="-o names the model package, a folder: leave out"):
        list(train(spec))
    assert list(tmp_path.glob("m.*")) == []


def test_a_resume_runs_on_the_device_asked_for(tmp_path, fibsem_crop, noisy_crop, noise_patches, monkeypatch):
    """A resume always ran on the device the run started on: a run stopped on a GPU could not go on on a
    laptop, and the app's device setting was ignored when a paused run was resumed."""
    from pathlib import Path

    import torch

    from emdenoise_gui.training.checkpoint import load_checkpoint, save_checkpoint

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    token = CancelToken()
    for event in train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches), token):
        if isinstance(event, ev.StepDone) and event.step == 2:
            token.cancel()
    with pytest.raises(InputError, match="no CUDA GPU is available here"):
        list(resume(event.checkpoint, device="cuda"))  # asked for, and said where it cannot be
    state = load_checkpoint(Path(event.checkpoint))  # as if it had been started on a GPU
    state["spec"]["device"] = "cuda"
    save_checkpoint(Path(event.checkpoint), state)
    with pytest.raises(InputError, match="this run was started on 'cuda', which this computer cannot use: resume "
                                         "it with --device cpu"):
        list(resume(event.checkpoint))  # by default on the device it started on (named so since 2026-12-07)
    rest = list(resume(event.checkpoint, device="auto"))
    assert rest[0].first_step == 2 and rest[0].device.startswith("CPU") and rest[-1].package
