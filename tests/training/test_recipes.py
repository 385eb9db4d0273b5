"""Training-recipe regressions: schedules, best model, NRRN stack ends, N2V masking, BatchNorm, fine-tuning."""

import numpy as np
import pytest
import tifffile
import torch

from emdenoise_gui.core import events as ev
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.training.engine import resume, train
from emdenoise_gui.training.schedules import Schedule
from emdenoise_gui.training.spec import RunSpec
from emdenoise_gui.training.trainers import trainer_class
from emdenoise_gui.zoo.package import open_package

from .conftest import tiny_spec


def test_cosine_warms_up_then_decays_to_the_floor():
    s = Schedule("cosine", 100, warmup=0.1, floor=0.02)
    assert s.factor(0) == pytest.approx(0.1) and s.factor(9) == pytest.approx(1.0)
    values = [s.factor(k) for k in range(10, 101)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert values[-1] == pytest.approx(0.02)


def test_cyclic_rate_decays_from_the_first_step():
    s = Schedule("linear", 100)
    assert s.factor(0) == 1.0 and s.factor(1) < 1.0 and s.factor(50) < s.factor(49)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_resuming_with_more_steps_continues_from_the_current_rate(kind):
    s = Schedule(kind, 100)
    before = s.factor(60)
    s.rebase(60, 300)
    assert s.factor(60) == pytest.approx(before)
    assert s.factor(61) <= before + 1e-12 and s.factor(180) < before
    assert s.factor(300) <= 0.02 + 1e-9


def test_ede_steps_drop_and_freeze_point():
    s = Schedule("steps", 1000)
    assert s.factor(0) == 1.0 and s.factor(700) == 0.25 and s.factor(999) == 0.1
    assert s.freeze_step() == round(1000 * 134108 / 198511)


def _nrrn_clean_spec(tmp_path, fibsem_crop, **kw):
    options = dict(family="nrrn", steps=4, data={"clean": [str(fibsem_crop)]}, output=str(tmp_path / "n"),
                   crop=32, batch_size=2, device="cpu", validate_every=2, checkpoint_every=2, dose=(20.0, 120.0))
    options.update(kw)
    return RunSpec(**options).validated()


def test_nrrn_on_clean_data_learns_stack_ends(tmp_path, fibsem_crop, monkeypatch):
    from emdenoise_gui.training.trainers import nrrn as nrrn_trainer

    monkeypatch.setattr(nrrn_trainer, "END_FRACTION", 1.0)
    trainer = trainer_class("nrrn")(_nrrn_clean_spec(tmp_path, fibsem_crop), torch.device("cpu"))
    inputs, target, clean, stats = trainer._synthetic(trainer.train_slices, 4, np.random.default_rng(0))
    assert inputs.shape == (4, 3, 32, 32) and target.shape == (4, 1, 32, 32)
    np.testing.assert_array_equal(inputs[:, 0], inputs[:, 2])  # reflected: the same noisy neighbour twice
    assert not np.array_equal(inputs[:, 1], inputs[:, 2])
    # the target is the clean centre under the noisy centre's z-score
    np.testing.assert_allclose(target[:, 0] * stats[:, 1, None, None] + stats[:, 0, None, None], clean, atol=1e-5)


def test_nrrn_on_clean_data_reports_psnr_and_dose_range(tmp_path, fibsem_crop):
    events = list(train(_nrrn_clean_spec(tmp_path, fibsem_crop)))
    scores = [e.metrics for e in events if isinstance(e, ev.Validated)]
    assert all(m["val_psnr_db"] > m["input_psnr_db"] - 20 for m in scores)  # finite, sane numbers
    # the app's fallback filter on the same held-back crops, measured once: the bar a model must clear
    assert len({m["filter_psnr_db"] for m in scores}) == 1 and scores[0]["filter_psnr_db"] > scores[0]["input_psnr_db"]
    card = open_package(tmp_path / "n").card
    assert card.metrics["filter_psnr_db"] == pytest.approx(scores[0]["filter_psnr_db"], abs=1e-5)
    assert card.dose_range == [20.0, 120.0] and "supervised" in card.training["recipe"]
    assert card.training["validation"] == "held-back slices"
    assert card.training["best_step"] in (2, 4)


def test_the_filter_bar_is_measured_again_on_other_crops_and_nrrn_needs_its_neighbours(tmp_path, fibsem_crop):
    trainer = trainer_class("nrrn")(_nrrn_clean_spec(tmp_path, fibsem_crop), torch.device("cpu"))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:32, 0:32] / 32.0
    clean = np.stack([0.5 + 0.3 * np.sin(6 * xx + k) * np.cos(4 * yy) for k in (0, 1)]).astype(np.float32)
    stacks = [np.clip(clean[:, None] + rng.normal(0, s, (2, 3, 32, 32)), 0, 1).astype(np.float32) for s in (0.05, 0.3)]
    first, second = (trainer.held_back_psnr(clean, n[:, 1], clean, n)["filter_psnr_db"] for n in stacks)
    assert first > second + 3  # not the first crops' score again
    assert trainer.held_back_psnr(clean, stacks[0][:, 1], clean, stacks[0])["filter_psnr_db"] == first
    with pytest.raises(ValueError, match="needs the neighbours"):
        trainer.held_back_psnr(clean, stacks[0][:, 1], clean)


def test_the_best_validated_model_is_exported(tmp_path, fibsem_crop, monkeypatch):
    from emdenoise_gui.training.trainers import base as trainer_base

    scores = iter([5.0, 9.0, 1.0, 1.0])  # step 2 best, then worse (the export re-validates once more)
    monkeypatch.setattr(trainer_base, "validation_score", lambda metrics: next(scores))
    events = list(train(_nrrn_clean_spec(tmp_path, fibsem_crop, validate_every=1, steps=3)))
    assert isinstance(events[-1], ev.Finished)
    assert open_package(tmp_path / "n").card.training["best_step"] == 2


@pytest.mark.parametrize("n2v2, strategy", [(True, "median"), (False, "uniform")])
def test_n2v_masks_as_specified(tmp_path, fibsem_crop, noisy_crop, noise_patches, n2v2, strategy):
    from emdenoise_gui.models.registry import FAMILIES

    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches).validated()
    trainer = trainer_class("n2v")(spec, torch.device("cpu"))
    trainer.architecture["n2v2"] = n2v2
    trainer.load_data()
    assert trainer.strategy == strategy and trainer.MASK_FRACTION == 0.002
    assert FAMILIES["n2v"].normalisation == trainer.normalisation["kind"] == "zscore-slice"


def test_xception_batchnorm_statistics_follow_the_data_before_export(tmp_path, fibsem_crop, noisy_crop,
                                                                     noise_patches):
    spec = tiny_spec("xception", tmp_path, fibsem_crop, noisy_crop, noise_patches).validated()
    trainer = trainer_class("xception")(spec, torch.device("cpu"))
    for bn in trainer.model.modules():
        if isinstance(bn, torch.nn.BatchNorm2d):
            bn.momentum = 0.001  # the paper's decay: a short run would keep its initial statistics
    first = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    trainer.train_step(0, np.random.default_rng(0))
    assert torch.allclose(first.running_var, torch.ones_like(first.running_var), atol=0.05)
    trainer.before_export()
    assert not torch.allclose(first.running_var, torch.ones_like(first.running_var), atol=0.05)
    assert first.momentum == 0.001


def test_a_diverging_loss_stops_training_without_a_package(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    """(lr 1e30 made the loss NaN; such a rate is refused now, and the NaN case is test_engine's grouped one.)"""
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, lr=1.0, steps=30)
    with pytest.raises(InputError, match="diverged at step"):
        list(train(spec))
    assert not (tmp_path / "n2v_pkg").exists()


def test_init_starts_from_the_package(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    list(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=40, lr=3e-3,
                         validate_every=40, checkpoint_every=40, output=str(tmp_path / "base"))))

    def first_loss(**kw):
        spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=1, **kw)
        events = list(train(spec))
        return next(e for e in events if isinstance(e, ev.StepDone)).losses["loss"], spec

    fresh, _ = first_loss(output=str(tmp_path / "fresh"))
    tuned, spec = first_loss(output=str(tmp_path / "tuned"), init=str(tmp_path / "base"))
    assert tuned < fresh
    assert spec.lr == pytest.approx(1e-3 / 3)  # a third of the lite default
    assert open_package(tmp_path / "tuned").card.training["init_from"].startswith("base ")


def test_init_refuses_another_family(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    list(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=1,
                         output=str(tmp_path / "base"))))
    spec = tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, init=str(tmp_path / "base"))
    with pytest.raises(InputError, match="is a n2v model"):
        list(train(spec))


def test_resume_of_a_finished_run_trains_on_into_a_new_package(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    list(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches)))
    ckpt = tmp_path / "n2v_pkg.checkpoint"
    events = list(resume(ckpt, steps=9))
    assert [e.step for e in events if isinstance(e, ev.StepDone)] == [7, 8, 9]
    assert events[-1].package.endswith("n2v_pkg-9steps")
    assert open_package(tmp_path / "n2v_pkg").card.steps == 6  # the first package is untouched
    assert open_package(tmp_path / "n2v_pkg-9steps").card.name == "n2v_pkg-9steps"  # named for its folder
    with pytest.raises(InputError, match="already finished"):
        list(resume(ckpt, steps=9))
    # a longer run again, interrupted, then resumed: it goes on into its own package (it asked to move the
    # finished one away), named n2v_pkg-12steps, not n2v_pkg-9steps-12steps
    token = ev.CancelToken()
    for event in resume(ckpt, steps=12, cancel=token):
        if isinstance(event, ev.StepDone):
            token.cancel()
    assert not (tmp_path / "n2v_pkg-12steps").exists()
    events = list(resume(ckpt, steps=11))  # resumed to another total: named for it
    assert events[-1].package.endswith("n2v_pkg-11steps") and not (tmp_path / "n2v_pkg-12steps").exists()
    card = open_package(tmp_path / "n2v_pkg-11steps").card
    assert card.name == "n2v_pkg-11steps" and card.steps == 11 and card.training["continues"] == "n2v_pkg"
    with pytest.raises(InputError, match=r"already finished at step 11; give a --steps above 11"):
        list(resume(ckpt, steps=10))


def test_nrrn_blind_spot_masks_only_the_centre_slice(tmp_path, fibsem_crop, noisy_crop, noise_patches, monkeypatch):
    from emdenoise_gui.models import n2v

    seen = []
    real = n2v.n2v_mask

    def spy(batch, rng, **kw):
        seen.append(batch.shape)
        return real(batch, rng, **kw)

    monkeypatch.setattr(n2v, "n2v_mask", spy)
    spec = tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, objective="blind-spot")
    events = list(train(spec))
    assert seen and all(shape[1] == 1 for shape in seen)  # the centre channel alone, neighbours intact
    assert all(np.isfinite(e.losses["loss"]) for e in events if isinstance(e, ev.StepDone))
    assert "blind spot" in open_package(tmp_path / "nrrn_pkg").card.training["recipe"]


def test_ede_low_dose_is_25_plus_exponential_75_at_full_scale():
    from emdenoise_gui.training.synthetic import NoiseModel

    model = NoiseModel(distribution="ede-low")
    rng = np.random.default_rng(0)
    draws = [model.draw(rng) for _ in range(20000)]
    assert {kind for kind, _ in draws} == {"poisson-full"}
    doses = np.array([d for _, d in draws])
    assert doses.min() >= 25.0 and abs(doses.mean() - 100.0) < 2.0 and abs(np.median(doses) - (25 + 75 * np.log(2))) < 2
    # counts at full scale: a flat image at intensity 0.5 gets about dose / 2 counts, whatever its slice mean
    flat = np.full((256, 256), 0.5)
    noisy = model.apply(flat, slice_mean=0.1, level=("poisson-full", 400.0), rng=rng)
    assert abs(np.var(noisy.astype(np.float64) * 400.0) - 200.0) / 200.0 < 0.1  # Poisson: variance = mean counts
    fine = np.array([NoiseModel(distribution="ede-fine").draw(rng)[1] for _ in range(5000)])
    assert 200 <= fine.min() and fine.max() <= 2500 and abs(fine.mean() - 1350) < 40


def test_card_dose_range_follows_the_distribution():
    from emdenoise_gui.training.synthetic import NoiseModel

    assert NoiseModel((20.0, 120.0)).dose_range(0.4) == [20.0, 120.0]
    low, high = NoiseModel(distribution="ede-low").dose_range(0.5)
    assert low == pytest.approx(0.5 * (25 + 75 * -np.log(0.95)), abs=0.1)
    assert high == pytest.approx(0.5 * (25 + 75 * -np.log(0.05)), abs=0.1)
    with pytest.raises(ValueError, match="dose distribution"):
        NoiseModel(distribution="uniform")


def test_paper_xception_defaults_to_ede_low_dose_and_old_specs_keep_log_uniform(tmp_path):
    data = {"clean": [str(tmp_path / "c.tif")]}
    assert RunSpec("xception", "paper", data=data, output="x").validated().dose_dist == "ede-low"
    assert RunSpec("xception", "lite", data=data, output="x").validated().dose_dist == "log-uniform"
    assert RunSpec("xception", "paper", data=data, output="x", dose_dist="ede-fine").validated().dose_dist == "ede-fine"
    with pytest.raises(InputError, match="--dose-dist"):
        RunSpec("xception", "paper", data=data, output="x", dose_dist="exp").validated()
    old = RunSpec("xception", "paper", data=data, output="x").to_dict()
    del old["dose_dist"]
    assert RunSpec.from_dict(old).validated().dose_dist == "log-uniform"


def test_xception_on_ede_low_dose_writes_its_range_on_the_card(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    spec = tiny_spec("xception", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=2, dose_dist="ede-low")
    list(train(spec))
    card = open_package(tmp_path / "xception_pkg").card
    assert "25 + Exp(mean 75)" in card.noise_condition
    mean = float(np.mean(__import__("tifffile").imread(fibsem_crop))) / 255.0
    assert card.dose_range[0] == pytest.approx(28.85 * mean, rel=0.05)


def test_base_size_is_nrrn_and_xception_only():
    assert RunSpec("nrrn", "base", data={"noisy": ["s.tif"]}, output="m").validated().crop == 64
    assert RunSpec("xception", "base", data={"clean": ["c.tif"]}, output="m").validated().crop == 240
    with pytest.raises(InputError, match="choose paper or lite"):
        RunSpec("n2v", "base", data={"noisy": ["s.tif"]}, output="m").validated()


@pytest.mark.parametrize("change, phrase", [
    ({"colour": "red"}, "unknown field 'colour'"),
    ({"steps": "300"}, "field 'steps' holds '300', not a int"),
    ({"dose": [25.0]}, "field 'dose'"),
    ({"amp": 1}, "field 'amp'"),
])
def test_a_damaged_training_record_is_named_not_a_crash(change, phrase):
    record = RunSpec("nrrn", data={"noisy": ["s.tif"]}, output="m").to_dict()
    assert RunSpec.from_dict(dict(record)).validated().steps == 300  # the record as saved loads
    record.update(change)
    with pytest.raises(InputError, match=phrase.replace("(", r"\(")):
        RunSpec.from_dict(record)


def test_resume_of_a_damaged_checkpoint_exits_2(tmp_path, fibsem_crop, noisy_crop, noise_patches, capsys):
    import json

    from emdenoise_gui.cli import main

    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=2)
    list(train(spec))
    checkpoint = tmp_path / "n2v_pkg.checkpoint"
    record = json.loads((checkpoint / "state.json").read_text())
    text = json.dumps(record).replace('["steps", 2]', '["steps", "2"]')
    assert text != json.dumps(record)
    (checkpoint / "state.json").write_text(text)
    assert main(["resume", str(checkpoint)]) == 2
    assert "field 'steps'" in capsys.readouterr().err


def test_neighbours_mean_fine_tunes_a_pair_model_and_the_card_says_so(tmp_path, fibsem_crop, noisy_crop,
                                                                       noise_patches):
    """--neighbours mean turns a pair package into one branch on the neighbours' mean (same weights to
    start); the consensus loss refuses it; other families refuse the option."""
    base = dict(data={"clean": [str(fibsem_crop)]}, steps=2, validate_every=2, checkpoint_every=2)
    list(train(tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, **base,
                         output=str(tmp_path / "pair"), neighbours="pair")))
    list(train(tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, **base,
                         output=str(tmp_path / "mean"), init=str(tmp_path / "pair"), neighbours="mean")))
    assert open_package(tmp_path / "pair").card.architecture.get("neighbours", "pair") == "pair"
    assert open_package(tmp_path / "mean").card.architecture["neighbours"] == "mean"
    with pytest.raises(InputError, match="consensus loss needs"):
        list(train(tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, neighbours="mean",
                             objective="consensus", output=str(tmp_path / "consensus"))))
    # on noisy data without an objective, one branch on the mean self-trains with the blind spot
    list(train(tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=2, validate_every=2,
                         checkpoint_every=2, init=str(tmp_path / "mean"), output=str(tmp_path / "adapted"))))
    assert "blind spot" in open_package(tmp_path / "adapted").card.training["recipe"]
    assert "neighbours' mean" in open_package(tmp_path / "mean").card.training["recipe"]
    with pytest.raises(InputError, match="NRRN option"):
        tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, neighbours="mean").validated()


def test_fresh_nrrn_on_clean_data_takes_the_mean_and_on_noisy_data_the_pair(tmp_path, fibsem_crop, noisy_crop,
                                                                            noise_patches):
    """Unnamed, the neighbours option is "mean" on clean data (as good per step, half the compute), the
    paper's "pair" on noisy data (its consensus loss needs it), and an --init package's own when fine-tuning."""
    def arch(**kw):
        spec = tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, **kw).validated()
        return trainer_class("nrrn")(spec, torch.device("cpu")).architecture.get("neighbours", "pair")

    clean = dict(data={"clean": [str(fibsem_crop)]})
    assert arch(**clean) == "mean"
    assert arch() == "pair"
    assert arch(**clean, neighbours="pair") == "pair"
    list(train(tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=2, validate_every=2,
                         checkpoint_every=2, output=str(tmp_path / "pair"))))  # noisy data: the paper's pair
    assert arch(**clean, init=str(tmp_path / "pair")) == "pair"


def test_a_triplets_neighbours_get_the_centres_noise_statistics_moved_by_their_clean_ones():
    """One draw of the noisy statistics per triplet: moved to a neighbour slice by the clean (mean, std), they
    match that slice's own whole-slice noisy statistics as closely as its own sampled estimate does."""
    from emdenoise_gui.training.synthetic import (
        NoiseModel,
        moved_stats,
        noisy_stats,
        stat_pixels,
    )
    from tests.conftest import synthetic_em_stack

    volume = synthetic_em_stack(6, 128, 128, seed=5).astype(np.float32) / 255.0
    volume[3] = np.clip(volume[3] * 0.8 + 0.1, 0, 1)  # a neighbour with other clean statistics
    model, rng = NoiseModel((5.0, 400.0)), np.random.default_rng(0)
    pixels, means = stat_pixels(volume, rng), volume.mean(axis=(1, 2), dtype=np.float64)
    clean = np.stack([pixels.mean(1), pixels.std(1)], 1)
    for level in (("poisson", 10.0), ("poisson", 200.0), ("gaussian", 30.0)):
        whole = model.apply(volume[3], means[3], level, rng)
        truth = np.array([whole.mean(), whole.std()])
        own = np.array(noisy_stats(model, pixels[3], means[3], level, rng))
        moved = np.array(moved_stats(noisy_stats(model, pixels[2], means[2], level, rng), clean[2], clean[3]))
        assert np.all(np.abs(moved - truth) <= np.abs(own - truth) + 0.01 * truth[1])
        # without the move, the centre's statistics would be off by the slices' clean difference
        assert abs(clean[2][0] - clean[3][0]) > 0.02 * truth[1]


def test_checkpoints_record_the_nrrn_structure_and_old_ones_resume_as_pairs(tmp_path, fibsem_crop, noisy_crop,
                                                                            noise_patches):
    """A fresh clean-data run records "mean" in its checkpoint; a checkpoint saved before it recorded anything
    (every NRRN then had two branches) resumes as the pair it is, not as the new default."""
    from emdenoise_gui.training.checkpoint import load_checkpoint, save_checkpoint

    list(train(tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches, data={"clean": [str(fibsem_crop)]},
                         steps=2, validate_every=2, checkpoint_every=2)))
    ckpt = tmp_path / "nrrn_pkg.checkpoint"
    state = load_checkpoint(ckpt)
    assert state["spec"]["neighbours"] == "mean"
    state["spec"]["neighbours"] = ""  # as a checkpoint from before 2026-12-04
    save_checkpoint(ckpt, state)
    list(resume(ckpt, steps=3))
    assert open_package(tmp_path / "nrrn_pkg-3steps").card.architecture.get("neighbours", "pair") == "pair"


def test_a_fine_tuning_run_resumes_after_its_start_model_was_deleted(tmp_path, fibsem_crop, noisy_crop, noise_patches):
    """The checkpoint holds the start model's facts: resuming does not need the package (it was deleted)."""
    import shutil

    list(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=1,
                         output=str(tmp_path / "base"))))
    list(train(tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=2, checkpoint_every=1,
                         output=str(tmp_path / "tuned"), init=str(tmp_path / "base"))))
    shutil.rmtree(tmp_path / "base")
    events = list(resume(tmp_path / "tuned.checkpoint", steps=3))
    assert any(isinstance(e, ev.StepDone) and e.step == 3 for e in events)
    card = open_package(tmp_path / "tuned-3steps").card
    assert card.training["init_from"].startswith("base (sha256 ")
    assert card.architecture == open_package(tmp_path / "tuned").card.architecture


def test_a_warm_up_cut_short_by_a_resume_goes_on_to_the_peak():
    """Stopped at step 15 of a 100-step warm-up and resumed with --steps 200, the rate stayed at 16 % of its base
    for good (training audit)."""
    s = Schedule("cosine", 2000)
    before = s.factor(15)
    s.rebase(15, 200)
    assert s.factor(15) == pytest.approx(before) and before < 0.2
    values = [s.factor(k) for k in range(15, 201)]
    assert max(values) == pytest.approx(1.0)
    peak = values.index(max(values)) + 15
    assert peak <= 15 + round(0.05 * 185) and all(a <= b for a, b in zip(values[:peak - 15], values[1:peak - 14]))
    assert values[-1] <= 0.02 + 1e-9
    assert "ramp_end" in s.to_dict() and Schedule.from_dict(s.to_dict()) == s
    assert "ramp_end" not in Schedule("cosine", 10).to_dict()  # what the versions before it can read back
    s.rebase(100, 400)  # again, past the peak: carries on down from where it is
    assert s.factor(100) == pytest.approx(values[85]) and s.factor(101) <= s.factor(100)


def test_ede_steps_keep_their_drops_when_the_total_changes():
    """Rebased, the steps schedule held its level to the end while BatchNorm still froze at the first drop."""
    s = Schedule("steps", 1000)
    s.rebase(100, 2000)
    assert s.factor(100) == 1.0 and s.factor(s.freeze_step() + 1) == 0.25 and s.factor(1999) == 0.1
    assert s.freeze_step() == round(2000 * 134108 / 198511)
    late = Schedule("steps", 1000)
    late.rebase(900, 3000)  # already at 0.1: the longer run's early levels do not come back
    assert late.factor(900) == 0.1 and late.factor(1000) == 0.1
    assert Schedule.from_dict(late.to_dict()) == late


def test_cyclic_says_it_validated_on_training_data_when_any_pool_could_hold_none_back(tmp_path, fibsem_crop,
                                                                                        noisy_crop, noise_patches):
    """With a one-slice clean pool the card said "held-back slices": the last pool split (noisy) decided alone
    (training audit)."""
    one = tmp_path / "one.tif"
    tifffile.imwrite(one, tifffile.imread(fibsem_crop)[:1])
    spec = tiny_spec("cyclic", tmp_path, fibsem_crop, noisy_crop, noise_patches, steps=2, validate_every=2,
                     checkpoint_every=2, data={"clean": [str(one)], "noise": [str(noise_patches)],
                                               "noisy": [str(noisy_crop)]})
    list(train(spec))
    assert open_package(tmp_path / "cyclic_pkg").card.training["validation"].startswith("the training data itself")


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_a_finished_run_trained_on_warms_up_again_then_decays(kind):
    """resume of a finished run with more --steps trained every extra step at the floor, 2 % of the rate
    (training audit of 2026-12-07)."""
    s = Schedule(kind, 100)
    end = s.factor(100)
    s.rebase(100, 300)
    assert s.factor(100) == pytest.approx(end)  # no jump at the resume
    peak = max(s.factor(k) for k in range(100, 301))
    assert peak == pytest.approx(1 / 3) and s.factor(300) <= 0.02 + 1e-9
    values = [s.factor(k) for k in range(100, 301)]
    top = values.index(max(values))
    assert top <= 20 and all(a >= b - 1e-12 for a, b in zip(values[top:], values[top + 1:]))
