"""What a new model's card says must hold (training audit of 2026-12-07).

Clean data with black padding (an aligned FIB-SEM stack's border, a blank slice) made a package no one could
load (training audit of 2026-12-07): its held-back crops without any counts were left as they were by the noise,
scored inf dB, and the card held Infinity, refused at every load; a resume wrote it again."""

import math

import numpy as np
import pytest
import tifffile
import torch

from emdenoise_gui.core import events as ev
from emdenoise_gui.training.engine import train
from emdenoise_gui.training.trainers import trainer_class
from emdenoise_gui.zoo.package import open_package

from .test_recipes import _nrrn_clean_spec


def test_crops_the_noise_left_unchanged_are_left_out_of_the_scores(tmp_path, fibsem_crop):
    trainer = trainer_class("nrrn")(_nrrn_clean_spec(tmp_path, fibsem_crop), torch.device("cpu"))
    rng = np.random.default_rng(0)
    clean = np.zeros((2, 32, 32), np.float32)
    clean[1] = 0.5 + 0.2 * np.sin(np.arange(32) / 3.0)[None, :]
    noisy = clean.copy()
    noisy[1] = np.clip(clean[1] + rng.normal(0, 0.1, (32, 32)), 0, 1)  # crop 0: black, no counts, no noise
    stacks = np.repeat(noisy[:, None], 3, axis=1)
    scores = trainer.held_back_psnr(clean, noisy, clean, stacks)
    assert all(math.isfinite(v) for v in scores.values()) and scores["val_psnr_db"] == 100.0
    assert scores["input_psnr_db"] == pytest.approx(-10 * math.log10(np.mean((noisy[1] - clean[1]) ** 2)), abs=1e-3)
    assert trainer.held_back_psnr(clean[:1], noisy[:1], clean[:1], stacks[:1]) == {}


def test_a_stack_with_a_black_border_trains_into_a_package_that_loads(tmp_path, fibsem_crop):
    data = tifffile.imread(fibsem_crop)
    data[:, :, :48] = 0  # half of every slice padding: most held-back crops hold some of it, one all of it
    data[-1] = 0
    bordered = tmp_path / "bordered.tif"
    tifffile.imwrite(bordered, data, imagej=True, metadata={"axes": "ZYX"})
    events = list(train(_nrrn_clean_spec(tmp_path, bordered)))
    assert isinstance(events[-1], ev.Finished)
    card = open_package(tmp_path / "n").card  # refused before: 'metrics' must hold finite numbers
    assert all(math.isfinite(v) for v in card.metrics.values())


def test_all_gaussian_training_claims_no_dose_range():
    """With --gaussian-fraction 1 the card said 'Poisson, 25-100 counts' with that dose range, which the model
    never saw, and the zoo graded Poisson stacks there as within its training range (training audit)."""
    from emdenoise_gui.training.synthetic import NoiseModel

    every = NoiseModel((25.0, 100.0), (5.0, 10.0), 1.0)
    assert every.dose_range(0.4) is None and every.describe().startswith("Gaussian, sigma 5-10 grey levels")
    some = NoiseModel((25.0, 100.0), (5.0, 10.0), 0.3)
    assert some.dose_range(0.4) == [25.0, 100.0] and "30% of samples Gaussian" in some.describe()
