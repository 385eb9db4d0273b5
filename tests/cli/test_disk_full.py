"""A full disk, for real: a 1 MiB tmpfs. Denoise, zoo import and export, and training each exit 2 with
"the disk is full: N MB needed" and leave nothing behind. Skipped (saying why) where no tmpfs can be mounted."""

import os
import subprocess

import numpy as np
import pytest
import tifffile
import torch

from emdenoise_gui.zoo.card import ModelCard
from emdenoise_gui.zoo.package import write_package


@pytest.fixture
def small_disk(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a 1 MiB tmpfs here (needs root): {mounted.stderr.strip()[:80]}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def _full(result, words: str = "the disk is full") -> None:
    assert result.code == 2, result.err
    errors = [line for line in result.err.splitlines() if line.startswith("emdenoise:")]  # progress lines aside
    assert len(errors) == 1 and words in errors[0] and "MB needed" in errors[0], result.err


def _files(folder) -> list:
    return [p for p in folder.rglob("*") if not p.is_dir()]


def _big_package(folder):
    """An N2V package of 1.9 MB of weights (import loads them into the card's network): more than the disk."""
    from emdenoise_gui.models.registry import family

    architecture = {"depth": 2, "base": 32}
    torch.manual_seed(0)
    weights = family("n2v").build(**architecture).state_dict()
    card = ModelCard(name="big", family="n2v", config="lite", architecture=architecture,
                     normalisation={"kind": "zscore-slice"}, weights_sha256="0" * 64,
                     parameters=sum(t.numel() for t in weights.values()))
    return write_package(folder, card, weights)


def test_denoise_onto_a_full_disk(small_disk, tmp_path, cli):
    src = tmp_path / "in.tif"
    tifffile.imwrite(src, np.random.default_rng(0).integers(0, 255, (4, 512, 512), dtype=np.uint8),
                     photometric="minisblack")
    # said before any work since 2026-12-07 (a long job computed until the disk filled, then removed its work)
    _full(cli("denoise", src, "-o", small_disk / "out.tif", "--method", "gaussian", "--dtype", "float32"),
          "the disk has too little space: 4.0 MB needed, 1.0 MB free")
    assert os.listdir(small_disk) == []


def test_zoo_import_and_export_onto_a_full_disk(small_disk, tmp_path, cli, monkeypatch):
    package = _big_package(tmp_path / "big")
    monkeypatch.setenv("EMDENOISE_HOME", str(small_disk / "home"))
    _full(cli("zoo", "import", package.path))
    assert _files(small_disk) == []
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    assert cli("zoo", "import", package.path).code == 0
    _full(cli("zoo", "export", "big", small_disk / "big.zip"))
    assert _files(small_disk) == []


def test_training_onto_a_full_disk(small_disk, tmp_path, cli):
    src = tmp_path / "noisy.tif"
    tifffile.imwrite(src, np.random.default_rng(1).integers(0, 255, (4, 64, 64), dtype=np.uint8),
                     photometric="minisblack")
    _full(cli("train", "n2v", "--noisy", src, "-o", small_disk / "model", "--steps", "2", "--crop", "32",
              "--batch-size", "2", "--device", "cpu"))
    assert _files(small_disk) == []  # no package, no partial checkpoint
