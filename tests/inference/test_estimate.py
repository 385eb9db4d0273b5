"""Estimated job times: a model's speed timed once per (weights, device, tile), cached, then formatted."""

import json

import pytest
import torch

from emdenoise_gui.inference import estimate
from tests.conftest import random_package


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def package(tmp_path):
    return random_package(tmp_path / "n2v", "n2v")


def test_speed_is_timed_once_then_read_from_the_cache(home, package, monkeypatch):
    speed = estimate.measure_speed(package, "cpu", tile=256)
    assert 0 < speed < 1000  # seconds per megapixel of a tiny U-Net on the CPU
    data = json.loads((home / estimate.CACHE_NAME).read_text())
    (key, value), = data["speeds"].items()
    assert key.startswith(package.card.weights_sha256) and key.endswith("|256") and value == speed
    assert estimate.cached_speed(package, "cpu", 256) == speed

    def no_timing(*_args):
        raise AssertionError("timed again although the speed is cached")

    monkeypatch.setattr(estimate, "_time_predictor", no_timing)
    assert estimate.measure_speed(package, torch.device("cpu"), tile=256) == speed
    assert estimate.cached_speed(package, "cpu", 512) is None  # another tile size is another measurement


def test_each_tile_size_and_model_is_measured_on_its_own(home, package, monkeypatch):
    calls = []
    monkeypatch.setattr(estimate, "_time_predictor", lambda pkg, device, tile, side, runs, cancel, stride: calls.append(tile) or tile / 100)
    assert estimate.measure_speed(package, "cpu", 256) == 2.56
    assert estimate.measure_speed(package, "cpu", 512) == 5.12
    assert estimate.measure_speed(package, "cpu", 256) == 2.56
    assert calls == [256, 512]


def test_the_papers_tiling_is_estimated_at_its_own_cost(home, package, monkeypatch):
    """"Quality: paper" (stride 256 on 512 px tiles) computes every pixel four times; the zoo's estimate assumed
    the fast tiling whatever the setting, 3.5x short for NRRN lite (audit of 2026-12-06)."""
    from emdenoise_gui.inference.predictor import Predictor

    ticks = iter(range(1000))
    monkeypatch.setattr(estimate.time, "perf_counter", lambda: float(next(ticks)))  # every run takes 1 s
    fast = estimate.measure_speed(package, "cpu", 256)
    paper = estimate.measure_speed(package, "cpu", 256, stride=128)
    predictor = Predictor(package, torch.device("cpu"))
    assert paper / fast == pytest.approx(predictor.plan(256, 128).cost / predictor.plan(256).cost)
    assert predictor.plan(256, 128).cost == 4.0 > predictor.plan(256).cost
    assert estimate.cached_speed(package, "cpu", 256, 128) == paper and estimate.cached_speed(package, "cpu", 256) == fast


def test_a_damaged_cache_is_measured_again(home, package, monkeypatch):
    home.mkdir(parents=True)
    (home / estimate.CACHE_NAME).write_text("{not json")
    monkeypatch.setattr(estimate, "_time_predictor", lambda *_args: 3.0)
    assert estimate.measure_speed(package, "cpu") == 3.0
    assert estimate.cached_speed(package, "cpu") == 3.0


def test_a_remembered_speed_is_used_and_must_be_positive(home, package):
    estimate.remember_speed(package.card.weights_sha256, "cpu", 512, 2.0)
    assert estimate.measure_speed(package, "cpu") == 2.0
    assert estimate.estimate(package, 120.0, "cpu") == "about 4 min on the CPU"
    with pytest.raises(ValueError):
        estimate.remember_speed(package.card.weights_sha256, "cpu", 512, 0.0)


@pytest.mark.parametrize("seconds, words", [(3, "a few seconds"), (42, "about 40 s"), (240, "about 4 min"),
                                            (89 * 60, "about 89 min"), (9000, "about 2.5 h"),
                                            (float("nan"), "unknown")])
def test_durations_read_as_a_person_would_say_them(seconds, words):
    assert estimate.format_duration(seconds) == words


def test_only_the_measured_device_is_named():
    assert estimate.format_estimate(2.0, 120.0, torch.device("cpu")) == "about 4 min on the CPU"
    assert estimate.format_estimate(0.05, 1200.0, torch.device("cuda", 0)) == "about 1 min on the GPU"
    assert estimate.format_estimate(1.0, 30.0, "mps") == "about 30 s on the Apple GPU"


def test_a_speed_timing_stops_when_cancelled(tmp_path, monkeypatch):
    from emdenoise_gui.core.errors import Cancelled
    from emdenoise_gui.core.events import CancelToken
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    package = random_package(tmp_path / "pkg", "n2v")
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        estimate.measure_speed(package, "cpu", cancel=token)
    assert estimate.cached_speed(package, "cpu") is None  # nothing measured, nothing cached


def test_a_finished_stack_jobs_speed_replaces_the_measured_one(home, package, tmp_path, monkeypatch):
    """A speed timed while the app was starting read 3x slow (7.2 against 2.3 s/MP) and stayed: the zoo's time
    and its slow / fast class kept it. A whole-stack job with the settings the timing uses now replaces it with
    its own; a small job, a region, or other settings leave it."""
    import numpy as np
    import tifffile

    from emdenoise_gui.core.events import run_to_end
    from emdenoise_gui.jobs import denoise

    monkeypatch.setattr(estimate, "_time_predictor", lambda *_a: 99.0)  # a timing made while the app started
    assert estimate.measure_speed(package, "cpu", 64) == 99.0
    source = tmp_path / "in.tif"
    tifffile.imwrite(source, np.random.default_rng(0).integers(0, 255, (4, 64, 64), dtype=np.uint8),
                     photometric="minisblack")

    def run(name, **options):
        return run_to_end(denoise.denoise_model_job(source, tmp_path / name, str(package.path), tile=64,
                                                    device="cpu", **options))

    monkeypatch.setattr(denoise, "REMEMBER_MP", 1.0)
    run("small.tif")  # 0.016 MP: too little to time a model by
    assert estimate.cached_speed(package, "cpu", 64) == 99.0
    monkeypatch.setattr(denoise, "REMEMBER_MP", 0.01)
    run("other.tif", precision="fp32")
    run("region.tif", region=(0, 32, 0, 32))
    assert estimate.cached_speed(package, "cpu", 64) == 99.0
    run("out.tif")
    measured = estimate.cached_speed(package, "cpu", 64)
    assert 0 < measured < 99.0
    with monkeypatch.context() as slow:  # a stack on a slow disk: 1000 s between any two clock readings
        slow.setattr(denoise.time, "perf_counter", iter(range(0, 10**6, 1000)).__next__)
        run("slow.tif")
    assert estimate.cached_speed(package, "cpu", 64) == measured  # a slower job leaves the faster speed
    assert estimate.cached_speed(package, "cpu", 64, 4) is None
    run("paper.tif", stride=4)  # the papers' tiling is kept under its own key (N2V: an overlap of 60 px or more)
    assert estimate.cached_speed(package, "cpu", 64, 4) is not None
