"""The errors a self-supervised model, its start model and the app's SURE-tuned Gaussians leave on held-back
slices, by Stein's estimate (training.held_back): the bar the blind-spot loss let models under (an NRRN
self-trained on ssTEM, 0.87 dB below the 3x3 Gaussian; an N2V on FlyEM, 2.6 dB below the app's filter)."""

import json

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch

from emdenoise_gui.training import held_back
from emdenoise_gui.training.trainers import trainer_class
from tests.conftest import random_package

from .conftest import tiny_spec


def test_held_back_stacks_spread_over_the_slices_with_the_ends_reflected():
    volume = np.arange(5 * 200 * 140, dtype=np.float32).reshape(5, 200, 140)
    per_slice = 200 * 140
    stacks = held_back.held_back_stacks([volume], [range(2, 5)], count=3, side=384)
    assert [s.shape for s in stacks] == [(3, 128, 128)] * 3  # the shorter side, down to a multiple of 32
    assert [int(s[1, 0, 0] // per_slice) for s in stacks] == [2, 3, 4]
    last = stacks[-1]
    assert np.array_equal(last[0], last[2]) and not np.array_equal(last[0], last[1])  # slice 4: 3 on both sides
    first = held_back.held_back_stacks([volume], [range(0, 1)])[0]
    assert int(first[0, 0, 0] // per_slice) == int(first[2, 0, 0] // per_slice) == 1
    y0, x0 = (200 - 128) // 2, (140 - 128) // 2  # the central square
    assert first[1, 0, 0] == volume[0, y0, x0]
    assert len(held_back.held_back_stacks([volume, volume], [range(0, 5), range(0, 5)], count=3)) == 3
    assert held_back.held_back_stacks([volume], [range(0)]) == []
    # slices under MIN_SIDE are left out (their variance scatters by 12 % at 32 px), the others kept
    small = volume[:, :100, :100]
    assert held_back.held_back_stacks([small], [range(0, 5)]) == []
    assert [s.shape for s in held_back.held_back_stacks([small, volume], [range(0, 5), range(4, 5)])] == [(3, 128, 128)]


def _shot_stack(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy) (3, 128, 128) float32: three alike slices of blobs, shot noise at about 20 counts."""
    rng = np.random.default_rng(seed)
    clean = ndi.gaussian_filter((rng.random((128, 128)) < 0.02).astype(float), 2.0) * 600.0 + 10.0
    clean = np.stack([clean] * 3)
    return clean.astype(np.float32), rng.poisson(clean).astype(np.float32)


def test_the_noisy_input_leaves_more_than_a_light_smoothing_and_that_more_than_the_filter():
    clean, noisy = _shot_stack()

    def unchanged(stack):
        return stack[1]

    def light(stack):  # a model that learned a little
        return ndi.gaussian_filter(stack[1], 0.5, mode="mirror")

    errors = held_back.estimated_errors(unchanged, [noisy], start=light)
    assert set(errors) == {"val_risk", "sure_risk", "sure_avg_risk", "filter_risk", "init_risk"}
    assert errors["filter_risk"] == min(errors["sure_risk"], errors["sure_avg_risk"])
    assert held_back.filter_named(errors) == "gaussian-sure-avg"  # three alike slices: the neighbours help
    truth = float(np.mean((noisy[1] - clean[1]) ** 2))
    assert abs(errors["val_risk"] / truth - 1.0) < 0.1
    assert errors["filter_risk"] < errors["init_risk"] < errors["val_risk"]
    light_truth = float(np.mean((light(noisy) - clean[1]) ** 2))
    assert abs(errors["init_risk"] / light_truth - 1.0) < 0.1
    assert held_back.estimated_errors(unchanged, []) == {}
    assert held_back.filter_named({}) is None


def test_blank_and_clipped_slices_do_not_decide():
    """A blank held-back slice (a FIB-SEM stack's last ones often are) estimated the filter's error at 0, and
    every model above it failed its check ("estimated inf % more"); clipped pixels hold no zero-mean noise."""
    clean, noisy = _shot_stack()

    def offset(stack):
        return ndi.gaussian_filter(stack[1], 1.0, mode="mirror") + 0.01

    blank = np.zeros_like(noisy)
    assert held_back.estimated_errors(offset, [blank]) == {}
    with_blank = held_back.estimated_errors(offset, [noisy, blank])
    assert with_blank == held_back.estimated_errors(offset, [noisy])
    clipped = np.minimum(noisy, np.percentile(noisy, 70))  # 30 % of the pixels at the top value
    errors = held_back.estimated_errors(offset, [clipped])
    assert all(v > 0 for v in errors.values())
    assert errors["val_risk"] < 2 * float(np.mean((offset(noisy) - clean[1]) ** 2))


@pytest.fixture
def wide_noisy(tmp_path):
    """A 6 x 160 x 160 uint8 crop of the FlyEM FIB-SEM stack with Poisson noise at 30 counts per pixel: wide
    enough to estimate on (held_back.MIN_SIDE)."""
    import tifffile

    from emdenoise_gui.core.noise import poisson_dose, slice_rng
    from tests.conftest import FIBSEM

    if not FIBSEM.exists():
        pytest.skip("../shared/data is not beside this checkout")
    clean = tifffile.imread(FIBSEM, key=range(0, 6))[:, 100:260, 100:260].astype(np.float32) / 255.0
    noisy = np.stack([poisson_dose(s, 30.0, slice_rng(0, z)) for z, s in enumerate(clean)])
    path = tmp_path / "wide.tif"
    tifffile.imwrite(path, np.clip(np.rint(noisy * 255), 0, 255).astype(np.uint8), photometric="minisblack")
    return path


def test_a_self_supervised_run_estimates_and_a_supervised_one_does_not(tmp_path, fibsem_crop, noisy_crop,
                                                                        noise_patches, wide_noisy):
    keys = {"val_risk", "sure_risk", "sure_avg_risk", "filter_risk"}
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, wide_noisy, noise_patches).validated()
    errors = trainer_class("n2v")(spec, torch.device("cpu")).estimated_errors()
    assert set(errors) == keys and all(v > 0 for v in errors.values())
    spec = tiny_spec("nrrn", tmp_path, fibsem_crop, wide_noisy, noise_patches, objective="blind-spot",
                     neighbours="mean").validated()
    assert set(trainer_class("nrrn")(spec, torch.device("cpu")).estimated_errors()) == keys
    spec = tiny_spec("nrrn", tmp_path, fibsem_crop, noisy_crop, noise_patches,
                     data={"clean": [str(fibsem_crop)]}, dose=[20.0, 40.0]).validated()
    assert trainer_class("nrrn")(spec, torch.device("cpu")).estimated_errors() == {}
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches).validated()  # 96 x 80 px slices
    assert trainer_class("n2v")(spec, torch.device("cpu")).estimated_errors() == {}


def test_nothing_held_back_estimates_on_the_training_slices_and_keeps_only_a_fail(tmp_path, fibsem_crop,
                                                                                    noise_patches, wide_noisy,
                                                                                    monkeypatch):
    """On the slices a model trained on, its derivatives do not see the weights fitted to that noise: the
    estimate reads it too low, so it counts only against the model. Skipped there, a 5-slice stack's NRRN 15x
    worse than the filter was used by --adapt (training audit of 2026-12-07)."""
    import tifffile

    from emdenoise_gui.training.trainers import base

    one = tmp_path / "one.tif"
    tifffile.imwrite(one, tifffile.imread(wide_noisy)[:1], photometric="minisblack")
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, one, noise_patches).validated()
    trainer = trainer_class("n2v")(spec, torch.device("cpu"))
    assert not trainer.validation_held_back and trainer.held_back_volumes == [False]
    errors = trainer.estimated_errors()  # an untrained network: far worse than the filter, even read too low
    assert errors["val_risk"] > 1.2 * errors["filter_risk"]
    passing = {"val_risk": 1.0, "sure_risk": 1.1, "sure_avg_risk": 1.1, "filter_risk": 1.1}
    monkeypatch.setattr(base, "estimated_errors", lambda *args, **kwargs: dict(passing))
    assert trainer.estimated_errors() == {}  # a pass on training slices says nothing
    trainer.held_back_volumes = [True]  # a volume that held slices back: its estimates stand either way
    assert trainer.estimated_errors() == passing


def test_a_short_stack_beside_a_longer_one_is_left_out_of_the_estimate(tmp_path, fibsem_crop, noise_patches,
                                                                       wide_noisy):
    """One short stack turned the estimate off for the whole run, and the card said no slice was held back."""
    import tifffile

    one = tmp_path / "one.tif"
    tifffile.imwrite(one, tifffile.imread(wide_noisy)[:1], photometric="minisblack")
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, wide_noisy, noise_patches,
                     data={"noisy": [str(wide_noisy), str(one)]}).validated()
    trainer = trainer_class("n2v")(spec, torch.device("cpu"))
    assert trainer.held_back_volumes == [True, False]
    assert set(trainer.estimated_errors()) == {"val_risk", "sure_risk", "sure_avg_risk", "filter_risk"}
    assert trainer.validation_words().startswith("the training data itself for the stacks too short")


def test_a_fine_tune_estimates_the_model_it_started_from_too(tmp_path, fibsem_crop, noise_patches, wide_noisy):
    start = random_package(tmp_path / "start", "n2v")
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, wide_noisy, noise_patches, init=str(start.path)).validated()
    trainer = trainer_class("n2v")(spec, torch.device("cpu"))
    errors = trainer.estimated_errors()
    assert "init_risk" in errors
    assert trainer.model.training  # back in training mode after
    with torch.no_grad():  # the run's model moved on: the two are told apart
        for p in trainer.model.parameters():
            p.add_(0.05)
    assert trainer.estimated_errors()["init_risk"] == pytest.approx(errors["init_risk"], rel=1e-5)
    import shutil

    shutil.rmtree(start.path)  # gone since: no estimate for it, no failure either
    assert "init_risk" not in trainer.estimated_errors()
    random_package(start.path, "n2v", perturb=0.05)  # other weights under the same name
    assert "init_risk" not in trainer.estimated_errors()


def test_the_estimates_reach_the_card(tmp_path, fibsem_crop, noise_patches, wide_noisy):
    from emdenoise_gui.training.engine import train

    spec = tiny_spec("n2v", tmp_path, fibsem_crop, wide_noisy, noise_patches, steps=3)
    for _ in train(spec):
        pass
    metrics = json.loads((tmp_path / "n2v_pkg" / "card.json").read_text())["metrics"]
    assert metrics["val_risk"] > 0 and metrics["filter_risk"] > 0


def test_no_estimate_where_the_noise_is_not_white():
    clean, noisy = _shot_stack()
    blurred = np.stack([ndi.gaussian_filter(s, 0.8) for s in noisy - clean]) * 3.0 + clean

    def smooth(stack):
        return ndi.gaussian_filter(stack[1], 1.0, mode="mirror")

    assert held_back.estimated_errors(smooth, [blurred]) == {}
    assert held_back.estimated_errors(smooth, [blurred, noisy]) == held_back.estimated_errors(smooth, [noisy])


def test_blank_held_back_slices_give_way_to_others_that_can_be_estimated_on():
    """The last slices of a FIB-SEM stack, the held-back ones, are often blank: the three stacks spread over the
    held-back slices were all blank, and no estimate was made although other held-back slices had noise."""
    _, noisy = _shot_stack()
    volume = np.concatenate([np.stack([noisy[1]] * 6), np.zeros((6, 128, 128), np.float32)])  # slices 6-11 blank
    picked = held_back.held_back_stacks([volume], [range(0, 12)], count=3)
    assert sum(not s[1].any() for s in picked) >= 1  # plain spreading picks blank ones
    usable = held_back.held_back_stacks([volume], [range(0, 12)], count=3, usable=held_back.estimable)
    assert len(usable) == 3 and all(s[1].any() for s in usable)
    assert held_back.held_back_stacks([volume], [range(6, 12)], usable=held_back.estimable) == []
