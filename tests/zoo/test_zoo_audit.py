"""What the zoo audit of 2026-12-07 found: a zip whose card is invalid, of a newer format or missing inflated its
weights (up to 8 GiB) before it was refused; `zoo delete` removed the checkpoint of a run being resumed; a
longer run's "NAME-NNNsteps" skipped the name rules; a card's training record of the wrong types broke the
zoo panel; `zoo export` copied damaged weights with exit 0; a format_version of "1" read "format 1 is not
supported"."""

import json
import os
import zipfile

import pytest
import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.pid_lock import take, training_lock_path
from emdenoise_gui.training.engine import _check_longer_name
from emdenoise_gui.zoo import registry
from emdenoise_gui.zoo.card import CardError, ModelCard, card_from_dict
from emdenoise_gui.zoo.package import (
    CARD,
    WEIGHTS,
    export_zip,
    extract_zip,
    verify_folder,
    write_package,
)
from tests.conftest import main
from tests.zoo.test_package import user_zoo  # noqa: F401  (autouse: an empty zoo of its own per test)


def _package(root, name="toy", training=None):
    card = ModelCard(name=name, family="n2v", config="lite", architecture={"depth": 2, "base": 8},
                     normalisation={"kind": "zscore-slice"}, weights_sha256="0" * 64, parameters=3,
                     training=training or {})
    return write_package(root / name, card, {"w": torch.arange(3, dtype=torch.float32)})


def _bomb(path, card: dict | None):
    """A zip of ``card`` (None: none) and 64 MiB of zero weights (about 64 KB compressed)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        if card is not None:
            zf.writestr(f"toy/{CARD}", json.dumps(card))
        with zf.open(f"toy/{WEIGHTS}", "w") as weights:
            for _ in range(64):
                weights.write(bytes(1 << 20))
    return path


@pytest.mark.parametrize("change, words", [
    ({"format_version": 2}, "card format 2 is not supported"),
    ({"family": "unet"}, "card family 'unet'"),
    (None, "is missing card.json"),
])
def test_a_zip_whose_card_is_refused_inflates_no_weights(tmp_path, change, words):
    card = None if change is None else {**_package(tmp_path / "src").card.to_dict(), **change}
    archive = _bomb(tmp_path / "bomb.zip", card)
    target = tmp_path / "out"
    sizes = []
    original = zipfile.ZipFile.open

    def opened(self, name, *args, **kwargs):  # what was inflated: the weights must never be
        sizes.append(getattr(name, "filename", name))
        return original(self, name, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(zipfile.ZipFile, "open", opened)
        with pytest.raises(InputError, match=words):
            extract_zip(archive, target)
    assert not any(str(name).endswith(WEIGHTS) for name in sizes) and not target.exists()


def test_deleting_a_model_keeps_the_checkpoint_of_a_run_resumed_from_it():
    zoo = registry.user_dir()
    _package(zoo, "rt")
    checkpoint = registry.run_checkpoint("rt")
    checkpoint.mkdir()
    (checkpoint / "state.json").write_text("{}")
    lock = training_lock_path(checkpoint)
    assert take(lock)  # this process trains into the checkpoint (a resume)
    assert main(["zoo", "delete", "rt", "--yes"]) == 0
    assert checkpoint.is_dir()  # removed while the run was training into it
    lock.unlink()
    _package(zoo, "rt")
    assert main(["zoo", "delete", "rt", "--yes"]) == 0
    assert not checkpoint.exists()  # the finished run's last checkpoint goes with its model, as before


def test_a_longer_runs_name_follows_the_name_rules():
    zoo = registry.user_dir()
    with pytest.raises(InputError, match="would be named 'bbbb"):
        _check_longer_name("b" * 100 + "-6steps", zoo / ("b" * 100 + "-6steps"))
    _package(zoo, "rty-6steps")
    os.rename(zoo / "rty-6steps", zoo / "elsewhere")  # a folder renamed: its card names it
    with pytest.raises(InputError, match="already in the zoo"):
        _check_longer_name("rty-6steps", zoo / "rty-6steps")
    _check_longer_name("rty-7steps", zoo / "rty-7steps")  # free: goes on


@pytest.mark.parametrize("training", [{"artifacts": "film", "shot_noise": "x"},
                                      {"artifacts": "film", "shot_noise": 0.5, "shot_noise_dose": "ab"},
                                      {"artifacts": "film", "shot_noise": 0.5, "shot_noise_dose": [1]}])
def test_a_training_record_of_the_wrong_types_is_read_as_no_shot_noise(tmp_path, training):
    from emdenoise_gui.gui.panels.zoo_text import _dose_words

    card = _package(tmp_path, training=training).card
    assert card.shot_noise()[1] is None
    assert _dose_words(card) == "synthetic artifacts, no shot noise"  # ValueError / IndexError in the panel


def test_export_refuses_weights_damaged_since_they_were_checked(tmp_path):
    package = verify_folder(_package(tmp_path).path)
    weights = package.path / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    stamp = weights.stat()
    weights.write_bytes(bytes(data))
    os.utime(weights, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # bit rot: size and time unchanged
    with pytest.raises(InputError, match="do not match the card's checksum"):
        export_zip(package, tmp_path / "out.zip")
    assert not (tmp_path / "out.zip").exists()


def test_a_format_version_of_the_wrong_type_says_so(tmp_path):
    card = {**_package(tmp_path).card.to_dict(), "format_version": "1"}
    with pytest.raises(CardError, match="'format_version' should be int, not str"):
        card_from_dict(card)
