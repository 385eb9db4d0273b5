"""The bar a self-supervised model must beat on held-back slices: the blind-spot loss of the mean of each
hidden pixel's neighbours (training audit of 2026-12-07: a run at a learning rate of 1 ended at a validation
loss of 594, 6.5 dB on the test crop, and wrote its model with exit 0 and not a word)."""

import json

import numpy as np
import pytest
import torch

from emdenoise_gui.models import n2v
from emdenoise_gui.training.trainers import trainer_class
from tests.conftest import random_package

from .conftest import tiny_spec


def test_the_neighbour_mean_loss_is_what_a_3x3_mean_scores_on_the_hidden_pixels():
    rng = np.random.default_rng(0)
    clean = torch.full((2, 1, 64, 64), 0.5)
    noisy = clean + 0.1 * torch.from_numpy(rng.standard_normal((2, 1, 64, 64)).astype(np.float32))
    mask = torch.zeros_like(noisy)
    mask[:, :, 1:-1, 1:-1] = 1
    # a flat image: the neighbours' mean has 1/8 of the variance, the pixel its own: 0.01 * (1 + 1/8)
    assert abs(float(n2v.neighbour_mean_loss(noisy, mask)) - 0.01 * 9 / 8) < 0.0006
    both = torch.cat([noisy, noisy], dim=1)  # two more views of the same pixel: the pixel itself, no noise gone
    assert float(n2v.neighbour_mean_loss(noisy, mask, both)) < float(n2v.neighbour_mean_loss(noisy, mask))


def test_validation_reports_the_bar_and_an_untrained_network_is_below_it(tmp_path, fibsem_crop, noisy_crop,
                                                                       noise_patches):
    for family, options in (("n2v", {}), ("nrrn", {"objective": "blind-spot", "neighbours": "mean"})):
        spec = tiny_spec(family, tmp_path, fibsem_crop, noisy_crop, noise_patches, **options).validated()
        trainer = trainer_class(family)(spec, torch.device("cpu"))
        metrics = trainer.validate()
        assert metrics["val_loss"] > metrics["filter_val_loss"] > 0, (family, metrics)


def test_a_model_below_the_bar_is_said_at_the_end_of_its_run(tmp_path, capsys):
    from emdenoise_gui.cli.progress import _failed_its_check

    package = random_package(tmp_path / "m", "n2v")
    card_file = package.path / "card.json"
    card = json.loads(card_file.read_text())
    card["metrics"] = {"val_loss": 594.0, "filter_val_loss": 0.61}
    card_file.write_text(json.dumps(card))
    assert _failed_its_check(str(package.path))
    err = capsys.readouterr().err
    assert "no better than the mean of their neighbours" in err and "lower --lr" in err
    assert err.count("\n") == 1 and err.startswith("emdenoise: warning:")
    card["metrics"] = {"val_loss": 0.5, "filter_val_loss": 0.61}
    card_file.write_text(json.dumps(card))
    assert not _failed_its_check(str(package.path))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("metrics, said", [
    ({"val_psnr_db": 21.0, "input_psnr_db": 22.0, "filter_psnr_db": 25.0}, "worse than the noisy input"),
    ({"val_psnr_db": 24.0, "input_psnr_db": 22.0, "filter_psnr_db": 25.0}, "--method gaussian-sure"),
])
def test_train_exits_3_when_its_model_fails_its_held_back_check(tmp_path, monkeypatch, capsys, metrics, said):
    """A model no better than the input or its filter was written with exit 0 and a note: a script went on
    to denoise with it. Now exit 3 (EXIT_UNUSABLE) and a warning; the model is kept."""
    from emdenoise_gui.cli import progress
    from emdenoise_gui.cli.exits import EXIT_OK, EXIT_UNUSABLE
    from emdenoise_gui.core.events import Finished

    package = random_package(tmp_path / "m", "n2v")
    card_file = package.path / "card.json"
    card = json.loads(card_file.read_text())
    card["metrics"] = metrics
    card_file.write_text(json.dumps(card))

    def events(token):
        yield Finished(step=4, package=str(package.path))

    assert progress.drive_training(events) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert said in err and "do not use it as it is" in err and "--init" in err
    card["training"] = {**card.get("training", {}), "init_from": "flyem-nrrn-lite"}  # a fine-tune: not told --init
    card_file.write_text(json.dumps(card))
    assert progress.drive_training(events) == EXIT_UNUSABLE
    assert "--init" not in capsys.readouterr().err
    del card["training"]["init_from"]
    card["metrics"] = {**metrics, "val_psnr_db": 26.0}
    card_file.write_text(json.dumps(card))
    assert progress.drive_training(events) == EXIT_OK
    assert "warning" not in capsys.readouterr().err


def test_a_model_whose_card_cannot_be_read_again_is_not_called_done(tmp_path, capsys):
    """Its check unknown, train ended with exit 0 and no word (review)."""
    from emdenoise_gui.cli import progress
    from emdenoise_gui.cli.exits import EXIT_UNUSABLE
    from emdenoise_gui.core.events import Finished

    def events(token):
        yield Finished(step=4, package=str(tmp_path / "gone"))

    assert progress.drive_training(events) == EXIT_UNUSABLE
    assert "its held-back check is unknown" in capsys.readouterr().err


def test_train_names_the_filter_when_its_model_is_estimated_worse_than_it(tmp_path, capsys):
    from emdenoise_gui.cli import progress
    from emdenoise_gui.cli.exits import EXIT_OK, EXIT_UNUSABLE
    from emdenoise_gui.core.events import Finished

    package = random_package(tmp_path / "m", "n2v")
    card_file = package.path / "card.json"
    card = json.loads(card_file.read_text())
    card["metrics"] = {"val_loss": 0.48, "filter_val_loss": 0.51, "val_risk": 0.0568, "filter_risk": 0.0310}

    def events(token):
        yield Finished(step=4, package=str(package.path))

    card_file.write_text(json.dumps(card))
    assert progress.drive_training(events) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "leaves more error than the SURE-tuned Gaussian filter (estimated 83 % more" in err
    assert "--method gaussian-sure" in err and err.count("\n") == 1
    card["metrics"]["val_risk"] = 0.0300
    card_file.write_text(json.dumps(card))
    assert progress.drive_training(events) == EXIT_OK
