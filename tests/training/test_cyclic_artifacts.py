"""``train cyclic --artifacts``: the generator fitted to clean slices with synthetic film / charge artifacts."""

import numpy as np
import pytest
import torch

from emdenoise_gui.cli.main import main as emdenoise
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.normalise import slice_params
from emdenoise_gui.training.data import crop
from emdenoise_gui.training.engine import train
from emdenoise_gui.training.spec import RunSpec
from emdenoise_gui.training.trainers import trainer_class
from emdenoise_gui.training.trainers.cyclic_paired import (
    PairedCyclicTrainer,
    stored_artifact,
)
from emdenoise_gui.zoo.package import open_package


def _spec(tmp_path, fibsem_crop, **kw):
    options = dict(family="cyclic", steps=4, data={"clean": [str(fibsem_crop)]}, output=str(tmp_path / "c"),
                   crop=32, batch_size=2, device="cpu", validate_every=2, checkpoint_every=2, artifacts="film,charge")
    options.update(kw)
    return RunSpec(**options).validated()


def test_artifacts_need_only_clean_data_and_a_known_kind(tmp_path, fibsem_crop):
    assert _spec(tmp_path, fibsem_crop, artifacts=" film , film,charge").artifacts == "film,charge"
    default = _spec(tmp_path, fibsem_crop, crop=None, batch_size=None)  # the shipped recipe's 240 px x 4
    assert (default.crop, default.batch_size) == (240, 4)
    unpaired = RunSpec(family="cyclic", data={"clean": ["c"], "noise": ["n"], "noisy": ["y"]}, output="x").validated()
    assert (unpaired.crop, unpaired.batch_size) == (64, 4)  # the lite GAN's own defaults
    with pytest.raises(InputError, match="unknown artifact 'dust'"):
        _spec(tmp_path, fibsem_crop, artifacts="film,dust")
    with pytest.raises(InputError, match="cyclic option"):
        _spec(tmp_path, fibsem_crop, family="xception")
    with pytest.raises(InputError, match="--noise"):  # without artifacts the paper's three pools are needed
        _spec(tmp_path, fibsem_crop, artifacts="")


def test_pairs_are_the_stored_artifact_and_the_clean_slice_on_the_noisy_slices_scale(tmp_path, fibsem_crop):
    trainer = trainer_class("cyclic")(_spec(tmp_path, fibsem_crop, artifacts="charge"), torch.device("cpu"))
    assert isinstance(trainer, PairedCyclicTrainer)
    inputs, targets = trainer._pairs(trainer.train_slices, 3, np.random.default_rng(0))
    assert inputs.shape == (3, 1, 32, 32) and targets.shape == (3, 2, 32, 32)
    np.testing.assert_allclose(targets[:, 1], inputs[:, 0] - targets[:, 0], atol=1e-6)  # the artifact channel
    assert np.abs(targets[:, 1]).mean() > 0.01  # the input is not the clean crop

    # one sample by hand, from the same draws: the whole stored slice, scaled by its own robust range
    inputs, targets = trainer._pairs(trainer.train_slices, 1, np.random.default_rng(5))
    rng = np.random.default_rng(5)
    v = int(rng.integers(0, len(trainer.data)))
    z = trainer.train_slices[v][int(rng.integers(0, len(trainer.train_slices[v])))]
    assert int(rng.integers(0, 1)) == 0  # the kind: the only one
    clean = trainer.data[v].data[z]
    noisy = stored_artifact(clean, "charge", rng)
    assert np.all(np.abs(noisy * 255 - np.round(noisy * 255)) < 1e-3) and 0 <= noisy.min() <= noisy.max() <= 1
    offset, scale = slice_params("robust-slice", noisy)
    expected = crop((np.stack([noisy, clean]) - offset) / scale, 0, 32, rng, depth=2)
    np.testing.assert_allclose(inputs[0, 0], expected[0], atol=1e-6)
    np.testing.assert_allclose(targets[0, 0], expected[1], atol=1e-6)


def test_training_lowers_the_error_and_the_card_names_the_artifacts(tmp_path, fibsem_crop):
    spec = _spec(tmp_path, fibsem_crop, steps=30, batch_size=4)
    torch.manual_seed(0)
    trainer = trainer_class("cyclic")(spec, torch.device("cpu"))
    g1_before = {k: v.clone() for k, v in trainer.model.g1.state_dict().items()}
    before = trainer.validate()
    for step in range(30):
        trainer.train_step(step, np.random.default_rng([spec.seed, step]))
    after = trainer.validate()
    assert after["val_loss"] < before["val_loss"] and after["val_psnr_db"] > before["val_psnr_db"]
    assert all(torch.equal(v, trainer.model.g1.state_dict()[k]) for k, v in g1_before.items())  # G1 untouched


def test_a_run_writes_a_package_whose_card_says_how_it_was_made(tmp_path, fibsem_crop):
    list(train(_spec(tmp_path, fibsem_crop)))
    card = open_package(tmp_path / "c").card
    assert "paired" in card.training["recipe"] and "film" in card.noise_condition and "charge" in card.noise_condition
    assert card.family == "cyclic" and "val_psnr_db" in card.metrics
    assert card.training["artifacts"] == "film,charge"
    assert card.description.startswith("removes film") and "charging" in card.description


def test_cli_bad_artifact_exits_2_with_one_line(tmp_path, fibsem_crop, capsys):
    code = emdenoise(["train", "cyclic", "--clean", str(fibsem_crop), "--artifacts", "smoke", "--crop", "32",
                      "-o", str(tmp_path / "x")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "unknown artifact 'smoke'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_the_bar_for_an_artifact_model_is_the_flat_field_correction(tmp_path, fibsem_crop):
    import scipy.ndimage as ndi

    from emdenoise_gui.zoo.card import bar_filter

    trainer = trainer_class("cyclic")(_spec(tmp_path, fibsem_crop), torch.device("cpu"))
    rng = np.random.default_rng(0)
    spots = ndi.gaussian_filter(rng.normal(size=(2, 256, 256)), (0, 3, 3))
    clean = (0.5 + 0.25 * spots / np.abs(spots).max()).astype(np.float32)
    field = ndi.gaussian_filter(rng.normal(size=(2, 256, 256)), (0, 64, 64))
    shaded = (clean * (1 + 0.3 * field / np.abs(field).max())).astype(np.float32)
    scores = trainer.held_back_psnr(clean, shaded, shaded)
    assert bar_filter("cyclic") == ("flat-field", "Flat-field (divide)")
    assert scores["filter_psnr_db"] > scores["input_psnr_db"] + 5  # the SURE Gaussian alone keeps the shading


def test_artifact_runs_default_to_the_gated_clean_output_and_init_packages_keep_theirs(tmp_path, fibsem_crop):
    assert _spec(tmp_path, fibsem_crop).clean_output == "gated"
    assert _spec(tmp_path, fibsem_crop, clean_output="direct").clean_output == "direct"
    assert _spec(tmp_path, fibsem_crop, init="some-package").clean_output == ""  # the package's own
    unpaired = RunSpec(family="cyclic", data={"clean": ["c"], "noise": ["n"], "noisy": ["y"]}, output="x").validated()
    assert unpaired.clean_output == ""  # the paper's GAN: its direct output
    with pytest.raises(InputError, match="--clean-output is a cyclic option"):
        RunSpec(family="nrrn", data={"clean": ["c"]}, output="x", clean_output="gated").validated()
    with pytest.raises(InputError, match="direct or gated"):
        _spec(tmp_path, fibsem_crop, clean_output="residual")


def test_the_gated_loss_also_fits_the_generators_own_clean_channel(tmp_path, fibsem_crop):
    trainer = trainer_class("cyclic")(_spec(tmp_path, fibsem_crop), torch.device("cpu"))
    assert trainer.model.gated and trainer.architecture["clean_output"] == "gated"
    inputs, targets = (torch.from_numpy(a) for a in trainer._pairs(trainer.train_slices, 2, np.random.default_rng(0)))
    loss, out = trainer._loss(inputs, targets)
    expected = sum(float(torch.nn.functional.l1_loss(out.detach()[:, k:k + 1], targets[:, t:t + 1]))
                   for k, t in ((0, 0), (1, 1), (2, 0)))
    assert out.shape[1] == 3 and float(loss.detach()) == pytest.approx(expected, rel=1e-6)


def test_a_direct_package_fine_tuned_gated_starts_as_the_even_blend(tmp_path, fibsem_crop):
    list(train(_spec(tmp_path, fibsem_crop, clean_output="direct", steps=2)))
    direct = open_package(tmp_path / "c")
    assert direct.card.architecture["clean_output"] == "direct"
    spec = _spec(tmp_path, fibsem_crop, init=str(tmp_path / "c"), clean_output="gated", output=str(tmp_path / "g"))
    trainer = trainer_class("cyclic")(spec, torch.device("cpu"))
    assert trainer.model.gated and trainer.architecture["clean_output"] == "gated"
    from emdenoise_gui.models.registry import family
    from emdenoise_gui.zoo.package import load_weights

    before = family("cyclic").build(**direct.card.architecture)
    before.load_state_dict(load_weights(direct))
    x = torch.rand(1, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        own = before.g2(x)
        np.testing.assert_allclose(trainer.model.denoise(x), 0.5 * (x - own[:, 1:2]) + 0.5 * own[:, 0:1], atol=1e-6)
    list(train(spec))
    gated = open_package(tmp_path / "g").card
    assert gated.architecture["clean_output"] == "gated" and "gated clean output" in gated.training["recipe"]
    assert "gated" not in direct.card.training["recipe"]
    back = _spec(tmp_path, fibsem_crop, init=str(tmp_path / "g"), clean_output="direct", output=str(tmp_path / "d"))
    with pytest.raises(InputError, match="has a gated clean output; fine-tune it with --clean-output gated"):
        trainer_class("cyclic")(back, torch.device("cpu"))


def test_shot_noise_after_the_artifact_on_the_share_of_samples_asked_for(tmp_path, fibsem_crop):
    with pytest.raises(InputError, match="--shot-noise must be between 0 and 1"):
        _spec(tmp_path, fibsem_crop, shot_noise=1.5)
    with pytest.raises(InputError, match="--shot-noise is a cyclic --artifacts option"):
        RunSpec(family="xception", data={"clean": ["c"]}, output="x", shot_noise=0.5).validated()

    def residual_noise(shot_noise):  # the artifact crops' pixel-to-pixel roughness beyond the clean crop's
        spec = _spec(tmp_path, fibsem_crop, artifacts="film", shot_noise=shot_noise, dose=(20.0, 20.0))
        trainer = trainer_class("cyclic")(spec, torch.device("cpu"))
        inputs, targets = trainer._pairs(trainer.train_slices, 8, np.random.default_rng(3))
        return float(np.abs(np.diff(targets[:, 1], axis=-1)).mean()), trainer.noise_condition()

    plain, text = residual_noise(0.0)
    noisy, noisy_text = residual_noise(1.0)
    assert noisy > 5 * plain  # film alone is smooth: its artifact channel has almost no pixel-scale noise
    assert "shot noise" not in text and "100% of samples then shot noise: Poisson, 20-20 counts" in noisy_text


def test_an_artifact_run_saved_before_the_gate_existed_resumes_as_the_direct_model(tmp_path, fibsem_crop):
    from emdenoise_gui.training.checkpoint import load_checkpoint, save_checkpoint
    from emdenoise_gui.training.engine import resume

    spec = _spec(tmp_path, fibsem_crop, clean_output="direct", steps=2, checkpoint_dir=str(tmp_path / "ck"))
    list(train(spec))
    state = load_checkpoint(tmp_path / "ck")
    for name in ("clean_output", "shot_noise"):  # what a checkpoint of an earlier EMDenoise lacks
        del state["spec"][name]
    save_checkpoint(tmp_path / "ck", state)
    list(resume(tmp_path / "ck", steps=4))
    assert open_package(tmp_path / "c").card.architecture["clean_output"] == "direct"


def test_the_card_records_the_shot_noise_and_the_wizard_keeps_it_when_fine_tuning(tmp_path, fibsem_crop, monkeypatch):
    from emdenoise_gui.jobs.advise import wizard_spec

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    list(train(_spec(tmp_path, fibsem_crop, shot_noise=0.5, dose=(15.0, 300.0), steps=2)))
    card = open_package(tmp_path / "c").card
    assert card.training["shot_noise"] == 0.5 and card.training["shot_noise_dose"] == [15.0, 300.0]
    assert card.dose_range == [15.0, 300.0]  # it said null: the range was in the noise text alone (training audit)
    tuned = wizard_spec("cyclic", {"clean": [str(fibsem_crop)]}, "mine", 10, init=str(tmp_path / "c"),
                        artifacts="film")
    assert tuned.shot_noise == 0.5 and tuned.dose == (15.0, 300.0)
    plain = _spec(tmp_path, fibsem_crop, output=str(tmp_path / "p"), steps=2)
    list(train(plain))
    assert "shot_noise" not in open_package(tmp_path / "p").card.training
    assert open_package(tmp_path / "p").card.dose_range is None
    assert wizard_spec("cyclic", {"clean": [str(fibsem_crop)]}, "mine2", 10, init=str(tmp_path / "p"),
                       artifacts="film").shot_noise == 0.0
