"""Train, denoise with, import and export models through the emdenoise CLI."""

import signal

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.io import open_stack
from emdenoise_gui.inference.predictor import Normaliser


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _train(cli, tmp_path, family, *data, name=None):
    out = tmp_path / f"{family}_model"
    args = ["train", family, "--steps", "4", "--crop", "32", "--batch-size", "2", "--validate-every", "2",
            "--device", "cpu", "-o", out, *data]
    if name:
        args += ["--name", name]
    result = cli(*args)
    assert result.trained, result.err
    assert f"wrote model package {out}" in result.out
    return out


@pytest.mark.parametrize("kind", ["unit", "signed-unit", "zscore-slice", "zscore-dataset"])
def test_normaliser_roundtrip(kind):
    window = np.random.default_rng(0).random((3, 20, 30)).astype(np.float32)
    spec = {"kind": kind, "mean": 0.4, "std": 0.2}
    norm = Normaliser(spec, window)
    forward = norm.forward(window)
    np.testing.assert_allclose(norm.inverse(forward[1]), window[1], atol=1e-6)
    if kind == "zscore-slice":
        assert abs(forward[0].mean()) < 1e-5 and abs(forward[2].std() - 1) < 1e-4


def test_train_then_denoise_with_n2v(cli, tmp_path, home, noisy_crop):
    model = _train(cli, tmp_path, "n2v", "--noisy", noisy_crop)
    out = tmp_path / "den.mrc"
    result = cli("denoise", noisy_crop, "-o", out, "--model", model, "--tile", "128", "--stride", "64")
    assert result.code == 0, result.err  # N2V sees 30 px around a pixel: its tiles overlap by at least 60
    with open_stack(out) as stack:
        assert stack.shape == (6, 96, 80)
        assert stack.meta.voxel_size_nm == pytest.approx((10.0, 10.0, 10.0), rel=1e-5)
        assert np.isfinite(stack.read(0, 6)).all()


def test_nrrn_denoises_a_single_image_from_itself(cli, tmp_path, home, noisy_crop):
    model = _train(cli, tmp_path, "nrrn", "--noisy", noisy_crop)
    single = tmp_path / "single.tif"
    tifffile.imwrite(single, tifffile.imread(noisy_crop)[2], photometric="minisblack")
    result = cli("denoise", single, "-o", tmp_path / "o.tif", "--model", model, "--tile", "64", "--stride", "32")
    assert result.code == 0, result.err
    assert tifffile.imread(tmp_path / "o.tif").shape == (96, 80)


def test_zoo_import_list_show_export_delete(cli, tmp_path, home, fibsem_crop):
    model = _train(cli, tmp_path, "xception", "--clean", fibsem_crop, name="fibsem-xception")
    assert cli("zoo", "import", model).code == 0
    listing = cli("zoo", "list")
    assert "fibsem-xception" in listing.out and "xception" in listing.out and "user" in listing.out
    shown = cli("zoo", "show", "fibsem-xception")
    assert '"family": "xception"' in shown.out and "Poisson, 25-100 counts" in shown.out
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "z.tif", "--model", "fibsem-xception",
                 "--slices", "0:1", "--tile", "64", "--stride", "32")
    assert result.code == 0, result.err
    assert cli("zoo", "export", "fibsem-xception", tmp_path / "x.zip").code == 0
    refused = cli("zoo", "delete", "fibsem-xception")
    assert refused.code == 2 and "--yes" in refused.err
    assert cli("zoo", "delete", "fibsem-xception", "--yes").code == 0
    assert "fibsem-xception" not in cli("zoo", "list").out
    assert cli("zoo", "import", tmp_path / "x.zip").code == 0


def test_bad_model_and_data_messages(cli, tmp_path, home, fibsem_crop):
    bogus = tmp_path / "bogus"
    bogus.mkdir()
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "o.tif", "--model", bogus)
    assert result.code == 2 and "missing card.json" in result.err
    result = cli("denoise", fibsem_crop, "-o", tmp_path / "o.tif", "--model", "no-such-model")
    assert result.code == 2 and "no model named 'no-such-model'" in result.err
    result = cli("train", "cyclic", "--noisy", fibsem_crop, "-o", tmp_path / "m", "--steps", "2")
    assert result.code == 2 and "needs --clean" in result.err
    result = cli("train", "xception", "--clean", fibsem_crop, "--dose", "9:x", "-o", tmp_path / "m")
    assert result.code == 2 and "LOW:HIGH" in result.err
    tiny = tmp_path / "tiny.tif"  # the advice was a smaller --crop, which cannot go under 16 px
    tifffile.imwrite(tiny, np.arange(3 * 12 * 12, dtype=np.uint8).reshape(3, 12, 12), imagej=True,
                     metadata={"axes": "ZYX"})
    result = cli("train", "n2v", "--noisy", tiny, "-o", tmp_path / "m", "--steps", "1", "--crop", "16")
    assert result.code == 2 and "smaller than the smallest training crop (16 px)" in result.err, result.err
    flat = tmp_path / "flat.tif"  # trained on, it gave a package whose PSNR was infinite and that never loaded
    tifffile.imwrite(flat, np.full((3, 64, 64), 7, np.uint8), imagej=True, metadata={"axes": "ZYX"})
    for family, role in (("xception", "--clean"), ("n2v", "--noisy")):
        result = cli("train", family, role, flat, "-o", tmp_path / "m", "--steps", "1", "--crop", "32")
        assert result.code == 2 and "nothing to learn from" in result.err, result.err
    assert not (tmp_path / "m").exists()


def test_families_lists_every_family_with_counts(cli):
    result = cli("families")
    assert result.code == 0
    # paper sizes from models.md: generator 11.37 M, PatchGAN 2.76 M, NRRN 0.96 M, Xception 25.4 M
    assert "g2 11.369 M" in result.out and "d_c 2.763 M" in result.out
    for name, count in [("cyclic", "31.026"), ("nrrn", "0.961"), ("xception", "25.414"), ("n2v", "0.463")]:
        assert f"{name}:" in result.out and count in result.out


# Ctrl-C; kill or a cluster's time limit; a closed terminal (SIGHUP lost the run's progress)
@pytest.mark.parametrize("stop", [getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)])
def test_resume_command_finishes_a_cancelled_run(cli, tmp_path, home, noisy_crop, monkeypatch, stop):
    import os

    from emdenoise_gui.training import engine

    real_train = engine.train

    def interrupted(spec, cancel=None, _resume_state=None):
        for event in real_train(spec, cancel, _resume_state):
            yield event
            if _resume_state is None and getattr(event, "step", 0) == 2 and type(event).__name__ == "StepDone":
                os.kill(os.getpid(), stop)  # a real signal, delivered mid-run

    monkeypatch.setattr(engine, "train", interrupted)
    out = tmp_path / "m"
    (tmp_path / "noisy.tif").write_bytes(noisy_crop.read_bytes())
    monkeypatch.chdir(tmp_path)  # relative data and output paths, as typed ...
    result = cli("train", "n2v", "--noisy", "noisy.tif", "--steps", "4", "--crop", "32", "--batch-size", "2",
                 "--device", "cpu", "-o", "m")
    assert result.code == 130 and "emdenoise resume" in result.err and not out.exists()
    checkpoint = result.err.strip().splitlines()[-1].split()[-1]
    monkeypatch.setattr(engine, "train", real_train)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # ... and resumed from another folder ('noisy.tif: file not found')
    result = cli("resume", str(tmp_path / checkpoint))
    assert result.trained, result.err
    assert out.exists() and not (tmp_path / "elsewhere" / "m").exists()


def test_a_second_ctrl_c_names_the_checkpoint_it_keeps(cli, tmp_path, home, noisy_crop, monkeypatch):
    """The abort said "nothing was written" with a checkpoint saved that resume continues (audit of 2026-12-06)."""
    import os

    from emdenoise_gui.core.events import CheckpointSaved
    from emdenoise_gui.training import engine

    real_train = engine.train

    def interrupted(spec, cancel=None, _resume_state=None):
        for event in real_train(spec, cancel, _resume_state):
            yield event
            if isinstance(event, CheckpointSaved) and event.step == 2:
                os.kill(os.getpid(), signal.SIGINT)  # stop after this step ...
                os.kill(os.getpid(), signal.SIGINT)  # ... no: now

    monkeypatch.setattr(engine, "train", interrupted)
    result = cli("train", "n2v", "--noisy", noisy_crop, "--steps", "6", "--crop", "32", "--batch-size", "2",
                 "--checkpoint-every", "1", "--device", "cpu", "-o", tmp_path / "m")
    assert result.code == 130 and "nothing was written" not in result.err, result.err
    assert "the checkpoint of step 2 is kept" in result.err and f"emdenoise resume {tmp_path / 'm.checkpoint'}" in result.err


def test_xception_infers_on_its_training_crop(tmp_path):
    """Its dilated ASPP saw training-crop context: inference tiles must match it; other families keep theirs."""
    import torch

    from emdenoise_gui.inference.predictor import Predictor
    from emdenoise_gui.models.registry import FAMILIES
    from emdenoise_gui.zoo.card import ModelCard
    from emdenoise_gui.zoo.package import write_package

    def package(family, crop):
        info = FAMILIES[family]
        arch = info.architecture("lite")
        card = ModelCard(name=f"{family}-t", family=family, config="lite", architecture=arch,
                         normalisation={"kind": info.normalisation, "mean": 0.5, "std": 0.2},
                         weights_sha256="0" * 64, parameters=1, training_crop=crop)
        return write_package(tmp_path / family, card, info.build(**arch).state_dict())

    xcp = Predictor(package("xception", 240), torch.device("cpu"))
    assert (xcp.plan(512, 256).tile, xcp.plan(512, 256).overlap) == (240, 120)
    assert xcp.plan(512).tile == 240 and xcp.plan(512).fixed  # fast: band-blended, still the training crop
    n2v = Predictor(package("n2v", 64), torch.device("cpu"))
    assert (n2v.plan(512, 256).tile, n2v.plan(512, 256).overlap) == (512, 256)
    assert n2v.plan(512).window == "band" and not n2v.plan(512).fixed


def test_adapt_self_trains_into_the_zoo_and_denoises_the_input(cli, home, tmp_path, noisy_crop):
    import json

    out = tmp_path / "adapted.tif"
    result = cli("denoise", noisy_crop, "-o", out, "--adapt", "n2v", "--steps", "3", "--device", "cpu",
                 "--tile", "64", "--stride", "32")
    assert result.code == 0, result.err
    package = home / "models" / "noisy-n2v-adapted"
    card = json.loads((package / "card.json").read_text())
    assert card["family"] == "n2v" and card["steps"] == 3
    assert card["training"]["adapted_to"].startswith("noisy.tif (sha256 ")
    assert "init_from" not in card["training"]  # no n2v model ships, so it starts from scratch
    assert "self-supervised" in card["training"]["recipe"]
    with open_stack(out) as stack, open_stack(noisy_crop) as source:
        assert stack.shape == source.shape
        assert np.isfinite(stack[0]).all()
    # 3 steps from scratch are no better than a neighbour mean: the stack got the fallback filter, said so (the
    # model's own result, 16.9 dB from a 20.6 dB input in the training audit, was written with exit 0)
    assert card["metrics"]["val_loss"] >= card["metrics"]["filter_val_loss"]
    assert "is denoised with the filter gaussian-sure" in result.err and "instead of noisy-n2v-adapted" in result.err
    listed = cli("zoo", "list")
    assert "noisy-n2v-adapted" in listed.out and " user " in listed.out


def test_adapt_trains_on_slices_smaller_than_the_default_crop(cli, home, tmp_path, noisy_crop):
    """A 48 x 40 px stack was refused with advice to "use --crop", which `denoise --adapt` does not have: the
    crop now follows the slices (32 px here, a multiple of 16)."""
    import json

    small = tmp_path / "small.tif"
    tifffile.imwrite(small, tifffile.imread(noisy_crop)[:, :48, :40], imagej=True, metadata={"axes": "ZYX"})
    result = cli("denoise", small, "-o", tmp_path / "s.tif", "--adapt", "n2v", "--steps", "2", "--device", "cpu")
    assert result.code == 0 and "--crop" not in result.err, result.err
    card = json.loads((home / "models" / "small-n2v-adapted" / "card.json").read_text())
    assert card["training_crop"] == 32


def test_adapt_refuses_a_family_that_needs_clean_data(cli, home, tmp_path, noisy_crop):
    with pytest.raises(SystemExit) as exit_info:  # argparse: not one of nrrn, n2v
        cli("denoise", noisy_crop, "-o", tmp_path / "x.tif", "--adapt", "xception")
    assert exit_info.value.code == 2
    result = cli("denoise", noisy_crop, "-o", tmp_path / "x.tif", "--adapt", "n2v", "--model", "flyem-nrrn-lite")
    assert result.code == 2 and "--init" in result.err
    assert not (tmp_path / "x.tif").exists() and not (home / "models").exists()


def test_adapt_starts_from_the_shipped_model_unless_told_otherwise(home):
    from emdenoise_gui import paths
    from emdenoise_gui.jobs.train import SCRATCH, adapt_spec
    from emdenoise_gui.zoo.registry import SHIPPED_DIR

    stack = paths.demo_dir() / "flyem_fibsem_demo_noisy.tif"
    spec = adapt_spec(stack, "nrrn")
    assert spec.init == str(SHIPPED_DIR / "flyem-nrrn-lite") and spec.objective == "blind-spot"
    assert spec.lr == pytest.approx(1e-3 / 3)
    assert adapt_spec(stack, "nrrn", init=SCRATCH).init == ""


def test_train_says_when_the_model_is_no_better_than_the_filter(cli, tmp_path, home, fibsem_crop):
    from emdenoise_gui.zoo.package import open_package

    out = tmp_path / "short"
    result = cli("train", "xception", "--clean", fibsem_crop, "--steps", "2", "--crop", "32", "--batch-size", "2",
                 "--validate-every", "2", "--device", "cpu", "-o", out)
    assert result.code == 3, result.err  # EXIT_UNUSABLE: written, but no use (it was exit 0 and a note)
    scores = open_package(out).card.metrics
    assert scores["filter_psnr_db"] > scores["input_psnr_db"]
    assert scores["val_psnr_db"] <= scores["filter_psnr_db"]  # two steps do not beat the filter
    if scores["val_psnr_db"] <= scores["input_psnr_db"]:
        assert "makes the images worse than the noisy input" in result.err, result.err
    else:
        assert 'does no better than the classical filter "Gaussian, width by SURE"' in result.err, result.err
        assert "--method gaussian-sure" in result.err
    assert result.err.strip().splitlines()[-1].startswith("emdenoise: warning: on held-back data this model")


def test_adapt_on_an_ome_zarr_store(cli, home, tmp_path, noisy_crop):
    """An OME-Zarr input is a folder: the card's note hashed it as a file (IsADirectoryError, exit 1)."""
    import json

    store = tmp_path / "noisy.zarr"
    assert cli("convert", noisy_crop, store).code == 0
    result = cli("denoise", store, "-o", tmp_path / "out.zarr", "--adapt", "n2v", "--steps", "2", "--device", "cpu",
                 "--tile", "64", "--stride", "32")
    assert result.code == 0, result.err
    card = json.loads((home / "models" / "noisy-n2v-adapted" / "card.json").read_text())
    assert card["training"]["adapted_to"].startswith("noisy.zarr (listing sha256 ")


def test_fine_tuning_keeps_the_start_models_size_and_refuses_another(cli, home, tmp_path, fibsem_crop):
    """`--init flyem-nrrn-base` trained a base network labelled lite (the --config default) with lite's crop and
    rate; `--config paper` with a lite start model wrote a card saying paper over a lite network."""
    import json

    result = cli("train", "nrrn", "--clean", fibsem_crop, "--init", "flyem-nrrn-lite", "--config", "paper",
                 "-o", tmp_path / "p", "--steps", "1", "--crop", "32", "--batch-size", "1", "--device", "cpu")
    assert result.code == 2 and "is a lite model" in result.err and "leave --config out" in result.err
    assert not (tmp_path / "p").exists()
    result = cli("train", "nrrn", "--clean", fibsem_crop, "--init", "flyem-nrrn-base", "-o", tmp_path / "b",
                 "--steps", "1", "--crop", "32", "--batch-size", "1", "--device", "cpu")
    assert result.code == 0, result.err
    card = json.loads((tmp_path / "b" / "card.json").read_text())
    from emdenoise_gui.zoo.registry import SHIPPED_DIR

    shipped = json.loads((SHIPPED_DIR / "flyem-nrrn-base" / "card.json").read_text())
    assert card["config"] == "base" and card["architecture"] == shipped["architecture"]


def test_a_mistyped_rectangle_is_not_called_a_missing_file(cli, tmp_path, fibsem_crop):
    for rect in ("0:40", "-40:-1,0:40", "0:40;0:40"):
        result = cli("train", "n2v", "--noisy", f"{fibsem_crop}@{rect}", "-o", tmp_path / "m", "--steps", "1")
        assert result.code == 2 and "must read Y0:Y1,X0:X1" in result.err and "not found" not in result.err, result.err
    result = cli("train", "n2v", "--noisy", fibsem_crop, "-o", ".", "--steps", "1")
    assert result.code == 2 and "ships with EMDenoise" not in result.err, result.err


def test_an_older_fine_tuning_checkpoint_resumes_with_its_start_models_size(cli, home, tmp_path, fibsem_crop):
    """Runs paused before this version said config "lite" whatever the start model, and kept no start-model
    facts: resuming one from flyem-nrrn-base was refused with advice about a --config resume lacks."""
    import json

    from emdenoise_gui.training.checkpoint import load_checkpoint, save_checkpoint

    run = tmp_path / "ft"
    result = cli("train", "nrrn", "--clean", fibsem_crop, "--init", "flyem-nrrn-base", "-o", run, "--steps", "2",
                 "--crop", "32", "--batch-size", "1", "--device", "cpu", "--checkpoint-every", "1")
    assert result.code == 0, result.err
    ckpt = tmp_path / "ft.checkpoint"
    state = load_checkpoint(ckpt)
    state["spec"]["config"], state["trainer"]["init"] = "lite", None  # as the older version saved it
    save_checkpoint(ckpt, state)
    result = cli("resume", ckpt, "--steps", "3")
    assert result.code == 0, result.err
    card = json.loads((tmp_path / "ft-3steps" / "card.json").read_text())
    assert card["config"] == "base" and card["training"]["continues"] == "ft"


def test_a_start_model_of_another_family_is_named_as_such(cli, tmp_path, noisy_crop):
    """`train n2v --init flyem-nrrn-base` said "unknown configuration 'base' for n2v" (its size was taken first)."""
    result = cli("train", "n2v", "--noisy", noisy_crop, "--init", "flyem-nrrn-base", "-o", tmp_path / "m",
                 "--steps", "1")
    assert result.code == 2 and "is a nrrn model" in result.err and "configuration" not in result.err


def test_adapt_again_after_a_stop_continues_the_paused_run(cli, home, tmp_path, noisy_crop):
    """Rerunning a stopped `denoise --adapt` started from step 0 under a new name ('-2', '-3'), the paused runs
    piling up in the zoo (kill audit of 2026-12-06)."""
    import json

    from emdenoise_gui.core.events import CancelToken, StepDone
    from emdenoise_gui.jobs.train import adapt_spec, train_job
    from emdenoise_gui.zoo.registry import list_paused

    token = CancelToken()
    for event in train_job(adapt_spec(noisy_crop, "n2v", steps=200, device="cpu"))(token):
        if isinstance(event, StepDone) and event.step >= 2:
            token.cancel()  # the app's Stop, Ctrl-C: a checkpoint is saved
    (paused,) = list_paused()
    assert paused.name == "noisy-n2v-adapted" and paused.adapted_to.startswith("noisy.tif (sha256 ")
    # steps the run has passed are said, not ignored (it trained on to its 200: training audit of 2026-12-07)
    result = cli("denoise", noisy_crop, "-o", tmp_path / "out.tif", "--adapt", "n2v", "--steps", "1")
    assert result.code == 2 and f"is at step {paused.step}, past --steps 1" in result.err
    assert list_paused() == [paused] and not (tmp_path / "out.tif").exists()
    from emdenoise_gui.core.errors import InputError
    from emdenoise_gui.jobs import train as jobs_train

    asked = []

    def resume_job(path, steps, device):  # --steps left out: on to its own 200, not the default 1,500
        asked.append(steps)
        raise InputError("stopped here by the test")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jobs_train, "resume_job", resume_job)
        assert cli("denoise", noisy_crop, "-o", tmp_path / "out.tif", "--adapt", "n2v").code == 2
    assert asked == [None]
    result = cli("denoise", noisy_crop, "-o", tmp_path / "out.tif", "--adapt", "n2v", "--steps", "6", "--device",
                 "cpu", "--tile", "64", "--stride", "32")
    assert result.code == 0, result.err
    assert f"stopped at step {paused.step} of 200 (noisy-n2v-adapted)" in result.err
    card = json.loads((home / "models" / "noisy-n2v-adapted" / "card.json").read_text())
    assert card["steps"] == 6 and not list_paused() and not (home / "models" / "noisy-n2v-adapted-2").exists()


def test_an_auto_pick_whose_name_leads_elsewhere_is_named_by_its_folder(home):
    """A user copy whose card carries a shipped model's name: the pick was named, and the shipped one ran; two
    folders of one name failed after the pick (zoo audit of 2026-12-06)."""
    import json

    from emdenoise_gui.cli.images import _by_name_if_unique
    from emdenoise_gui.zoo.registry import list_entries, user_dir
    from tests.conftest import random_package

    mine = random_package(user_dir() / "mine", "nrrn")
    copy = random_package(user_dir() / "my-lite-copy", "nrrn")
    card = json.loads((copy.path / "card.json").read_text())
    card["name"] = "flyem-nrrn-lite"
    (copy.path / "card.json").write_text(json.dumps(card))
    entries = {str(e.path): e for e in list_entries()}
    assert _by_name_if_unique(entries[str(mine.path)]) == "nrrn-lite-random"
    assert _by_name_if_unique(entries[str(copy.path)]) == str(copy.path)
    shipped = next(e for e in entries.values() if e.shipped and e.name == "flyem-nrrn-lite")
    assert _by_name_if_unique(shipped) == "flyem-nrrn-lite"


def test_a_paused_run_can_be_discarded(cli, home, noisy_crop):
    """Paused runs could not be removed from the app or the command line: they piled up (zoo audit)."""
    from emdenoise_gui.core.events import CancelToken, StepDone
    from emdenoise_gui.jobs.train import adapt_spec, train_job
    from emdenoise_gui.zoo.registry import list_paused

    token = CancelToken()
    for event in train_job(adapt_spec(noisy_crop, "n2v", steps=200, device="cpu"))(token):
        if isinstance(event, StepDone):
            token.cancel()
    (paused,) = list_paused()
    result = cli("zoo", "delete", paused.name, "--yes")
    assert result.code == 0 and "discarded the paused training" in result.out, result.err
    assert not list_paused() and not paused.path.exists()


def test_a_run_training_now_is_not_listed_as_paused(cli, home, noisy_crop):
    """Once a running run had saved a checkpoint the zoo listed it as paused, and a second wizard of its name was
    told to resume it (wizard audit)."""
    from emdenoise_gui.core.errors import InputError
    from emdenoise_gui.core.events import CancelToken, StepDone
    from emdenoise_gui.jobs.train import adapt_spec, train_job
    from emdenoise_gui.training.run_lock import training_lock
    from emdenoise_gui.zoo.registry import discard_paused, list_paused, user_dir

    token = CancelToken()
    for event in train_job(adapt_spec(noisy_crop, "n2v", steps=200, device="cpu"))(token):
        if isinstance(event, StepDone):
            token.cancel()
    (paused,) = list_paused()
    with training_lock(user_dir() / paused.name):  # as while it is resumed
        assert list_paused() == []
        with pytest.raises(InputError, match="is being resumed now"):
            discard_paused(paused)
    assert list_paused() == [paused]


def test_zoo_list_finds_models_by_words(cli, home):
    """As the app's zoo search: every word, case aside, in the name, family, size or description."""
    found = cli("zoo", "list", "NRRN", "lite")
    assert found.code == 0 and [line.split()[0] for line in found.out.splitlines()] == ["flyem-nrrn-lite"]
    assert "flyem-cyclic-artifacts" in cli("zoo", "list", "film").out
    missing = cli("zoo", "list", "no-such-model")
    assert missing.code == 0 and "no model in the zoo holds 'no-such-model'" in missing.out


def test_an_unpaired_cyclic_model_is_said_to_be_unchecked(cli, tmp_path, home, fibsem_crop, noisy_crop,
                                                            noise_patches):
    """The unpaired cyclic GAN has no clean reference for its noisy data: it ended with exit 0 and no word, however
    bad (SSIM 0.08 against the input's 0.25 after 2 steps; training audit of 2026-12-07)."""
    result = cli("train", "cyclic", "--steps", "2", "--crop", "32", "--batch-size", "2", "--device", "cpu",
                 "-o", tmp_path / "m", "--clean", fibsem_crop, "--noise", noise_patches, "--noisy", noisy_crop)
    assert result.code == 0 and "wrote model package" in result.out
    assert "could not be checked against a clean reference or a filter" in result.err
