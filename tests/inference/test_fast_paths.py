"""Every fast path gives the naive loop's result: band tiling, batching, channels_last, bf16.

The naive reference is batch 1, float32, contiguous, the papers' half-tile stride with
Gaussian blending. Local networks (NRRN, N2V) must match the whole-image result exactly
under band tiling; whole-tile networks (instance norm) must be no farther from it than
the papers' tiling is. On the bundled demo (real FlyEM FIB-SEM) the shipped model's
fast and paper outputs agree within half a grey level (bf16: one) and 0.02 dB.
"""

import dataclasses

import numpy as np
import pytest
import tifffile
import torch

from emdenoise_gui import paths
from emdenoise_gui.core import metrics
from emdenoise_gui.core.events import run_to_end
from emdenoise_gui.core.tiling import TilePlan
from emdenoise_gui.inference.predictor import Predictor, cpu_batch
from emdenoise_gui.models import registry
from emdenoise_gui.zoo.registry import resolve
from tests.conftest import random_package as make_random_package
from tests.conftest import synthetic_em_stack

GREY = 1 / 255  # one grey level of 8-bit data on the [0, 1] working scale
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def window() -> np.ndarray:
    """(3, 300, 260) float32 EM-like neighbouring slices on [0, 1]."""
    return synthetic_em_stack(3, 300, 260, seed=1).astype(np.float32) / 255


def random_package(root, family: str):
    """A lite package of ``family`` with seeded, perturbed random weights (outputs that vary)."""
    return make_random_package(root / family, family, perturb=0.05)


def run(package, image, tile, stride=None, **options) -> np.ndarray:
    predictor = Predictor(package, CPU, **options)
    x = image if predictor.input_slices == 3 else image[1:2]
    return run_to_end(predictor.denoise(np.ascontiguousarray(x), tile, stride))


@pytest.mark.parametrize("family", ["nrrn", "n2v"])
def test_local_networks_tile_exactly(tmp_path, window, family):
    package = random_package(tmp_path, family)
    whole = run(package, window, 512, precision="fp32")  # one tile: nothing to blend
    fast = run(package, window, 128, precision="fp32")  # band tiles overlapping by the measured halo
    naive = run(package, window, 128, 64, batch_size=1, optimised=False, precision="fp32")
    assert np.abs(fast - whole).max() < 1e-4
    assert np.abs(naive - fast).max() < GREY / 2
    corner = window[:, :160, :160]  # bf16 is emulated on CPUs without it, slowly (the whole window: 10 s)
    bf16 = run(package, corner, 128, precision="bf16")
    assert np.abs(bf16 - run(package, corner, 128, precision="fp32")).max() < GREY


def test_whole_tile_networks_tile_no_worse_than_the_papers(tmp_path, window, monkeypatch):
    package = random_package(tmp_path, "cyclic")  # instance norm: every output depends on the whole tile
    whole = run(package, window, 512, precision="fp32")
    # the family's tiles scaled down to this window's size: at least 128 px, overlapping by 32
    info = dataclasses.replace(registry.family("cyclic"), min_tile=128, tile_overlap=32)
    monkeypatch.setitem(registry.FAMILIES, "cyclic", info)
    fast = run(package, window, 64, precision="fp32")
    assert Predictor(package, CPU).plan(64) == dataclasses.replace(TilePlan.band(128, 8, 16), at_least=True)
    paper = run(package, window, 128, 64, batch_size=1, optimised=False, precision="fp32")
    assert np.abs(fast - whole).max() <= 1.25 * np.abs(paper - whole).max()
    assert np.abs(fast - whole).mean() <= 1.25 * np.abs(paper - whole).mean()


def test_halo_is_measured_per_network(tmp_path):
    nrrn = Predictor(random_package(tmp_path, "nrrn"), CPU)
    n2v = Predictor(random_package(tmp_path, "n2v"), CPU)
    cyclic = Predictor(random_package(tmp_path, "cyclic"), CPU)
    assert 3 <= nrrn.halo <= 12 < n2v.halo <= 64  # 3x3 gated convs vs a two-level U-Net
    # whole-tile context (instance norm): tiles of at least 1024 px, whatever the tile asked for, 128 px overlap
    assert cyclic.halo is None and cyclic.plan(512) == cyclic.plan(1024) == dataclasses.replace(
        TilePlan.band(1024, 32, 64), at_least=True)
    assert cyclic.plan(1024).overlap == 128 and cyclic.plan(2048).tile == 2048
    assert nrrn.plan(512).cost < 1.2 and nrrn.plan(512, 256).cost == 4.0


def test_memory_layout_per_family(tmp_path):
    """channels_last where it is faster (FamilyInfo.channels_last); the cyclic generator channels-last only
    in float32 on a CPU, with its own instance norms (FamilyInfo.channels_last_float32), contiguous in bf16;
    the naive loop is contiguous for every family."""
    from emdenoise_gui.models.blocks import ChannelsLastInstanceNorm

    packages = {family: random_package(tmp_path, family) for family in ("nrrn", "n2v", "xception", "cyclic")}
    layouts = {family: Predictor(package, CPU, precision="fp32").memory_format
               for family, package in packages.items()}
    assert layouts == {"nrrn": torch.channels_last, "n2v": torch.channels_last, "xception": torch.channels_last,
                       "cyclic": torch.channels_last}
    cyclic = Predictor(packages["cyclic"], CPU, precision="fp32")
    norms = [type(m) for m in cyclic.model.modules() if "Norm" in type(m).__name__]
    assert norms and set(norms) == {ChannelsLastInstanceNorm}
    assert Predictor(packages["cyclic"], CPU, precision="bf16").memory_format == torch.contiguous_format
    for family in ("nrrn", "cyclic"):
        assert Predictor(packages[family], CPU, optimised=False).memory_format == torch.contiguous_format


def test_cpu_batches_hold_about_one_512_px_tile():
    assert cpu_batch(512) == 1 and cpu_batch(240) == 4 and cpu_batch(64) == 16


def test_shipped_model_fast_equals_paper_on_real_data():
    clean = tifffile.imread(paths.demo_dir() / "flyem_fibsem_demo.tif")[3:6].astype(np.float32) / 255
    noisy = tifffile.imread(paths.demo_dir() / "flyem_fibsem_demo_noisy.tif")[3:6].astype(np.float32) / 255
    package = resolve("flyem-nrrn-lite")
    paper = run(package, noisy, 128, 64, batch_size=1, optimised=False, precision="fp32")
    for precision, tolerance in (("fp32", GREY / 2), ("bf16", GREY)):
        fast = run(package, noisy, 128, precision=precision)
        assert np.abs(fast - paper).max() < tolerance, precision
        gain = metrics.psnr(clean[1], np.clip(fast, 0, 1)) - metrics.psnr(clean[1], np.clip(paper, 0, 1))
        assert abs(gain) < 0.02, precision


@pytest.mark.parametrize("family", ["cyclic", "nrrn", "n2v", "xception"])
def test_a_blank_slice_comes_back_unchanged(tmp_path, window, family):
    """A constant slice (a blank frame of a FIB-SEM run) has no noise to remove; the cyclic model's robust
    range scaled one by its zero spread and gave mid-grey (0 -> 126 grey levels)."""
    blank = window.copy()
    blank[1] = 0.25  # the centre slice; NRRN's neighbours stay as they were
    out = run(random_package(tmp_path, family), blank, 128)
    np.testing.assert_array_equal(out, np.full(window.shape[1:], 0.25, np.float32))
