"""Intensity scaling, neighbour windows, slice selection and the streaming job runner."""

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import Cancelled, InputError
from emdenoise_gui.core.events import CancelToken, Progress
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.core.pipeline import IntensityScale, neighbour_indices, parse_slices
from emdenoise_gui.jobs.stack import denoise_filter_job


@pytest.fixture
def fibsem_crop(synthetic_crop):
    """What these tests check does not depend on the data: a synthetic EM-like stack stands in for
    the real crop, so they run without ../shared/data."""
    return synthetic_crop



def test_neighbour_indices_reflect_at_ends():
    assert neighbour_indices(0, 10, 3) == [1, 0, 1]
    assert neighbour_indices(9, 10, 3) == [8, 9, 8]
    assert neighbour_indices(4, 10, 3) == [3, 4, 5]
    assert neighbour_indices(0, 1, 3) == [0, 0, 0]
    assert neighbour_indices(5, 10, 1) == [5]


@pytest.mark.parametrize("spec,expected", [(None, range(10)), ("2:5", range(2, 5)), (":3", range(0, 3)),
                                           ("7:", range(7, 10)), ("4", range(4, 5)), ("-2:", range(8, 10))])
def test_parse_slices(spec, expected):
    assert parse_slices(spec, 10) == expected


@pytest.mark.parametrize("spec,phrase", [("-12:4", "starts before the stack's first slice"),
                                         ("0:11", "reaches past the stack's last slice"), ("8:3", "selects no slice"),
                                         ("", "--slices is empty"), ("  ", "--slices is empty")])
def test_parse_slices_refuses_what_python_would_quietly_cut(spec, phrase):
    with pytest.raises(InputError, match=phrase):
        parse_slices(spec, 10)


def test_intensity_scale(tmp_path):
    path = tmp_path / "u16.tif"
    data = np.stack([np.full((16, 16), v, np.uint16) for v in (1000, 3000, 5000)])
    tifffile.imwrite(path, data, photometric="minisblack")
    with open_stack(path) as stack:
        scale = IntensityScale.for_stack(stack)
    assert (scale.lo, scale.hi) == (1000.0, 5000.0)
    np.testing.assert_allclose(scale.from_unit(scale.to_unit(data[1])), data[1])
    tifffile.imwrite(path, data.astype(np.uint8) // 40, photometric="minisblack")
    with open_stack(path) as stack:
        assert IntensityScale.for_stack(stack) == IntensityScale(0.0, 255.0)


def test_job_events_cover_every_tile_and_cancel_leaves_nothing(tmp_path, fibsem_crop):
    out = tmp_path / "o.tif"
    events = list(denoise_filter_job(fibsem_crop, out, "median", tile=64, stride=32))
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[-1].done == progress[-1].total and progress[-1].total % 6 == 0
    assert [e.done for e in progress] == sorted(e.done for e in progress)
    assert out.exists()

    token, out2 = CancelToken(), tmp_path / "o2.tif"
    job = denoise_filter_job(fibsem_crop, out2, "median", tile=64, stride=32, cancel=token)
    next(job)
    token.cancel()
    with pytest.raises(Cancelled):
        for _ in job:
            pass
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fibsem_crop.name, "o.tif"])


def test_three_slice_filter_sees_neighbours(tmp_path):
    path = tmp_path / "steps.tif"
    texture = (np.add.outer(np.arange(32), np.arange(32)) % 3).astype(np.uint8)  # not blank: no slice is fill
    data = np.stack([v + texture for v in (30, 60, 90, 120)])
    tifffile.imwrite(path, data, photometric="minisblack")
    out = tmp_path / "avg.tif"
    list(denoise_filter_job(path, out, "gaussian-avg", tile=32, stride=16))
    result = tifffile.imread(out)
    # mean of neighbours, reflected at the ends: [60,30,60], [30,60,90], [60,90,120], [90,120,90] (the texture,
    # the same in every slice, adds the same to each)
    np.testing.assert_allclose(result[:, 16, 16] - result[1, 16, 16], [-10, 0, 30, 40], atol=1e-3)


def test_unknown_method_is_input_error(tmp_path, fibsem_crop):
    with pytest.raises(InputError, match="unknown method"):
        list(denoise_filter_job(fibsem_crop, tmp_path / "o.tif", "magic"))


@pytest.mark.parametrize("method", ["gaussian-sure", "gaussian-sure-avg"])
def test_a_filter_tuned_to_the_slice_gives_every_tile_one_width(method):
    """The SURE-tuned Gaussian measures its width on the whole slice, not per tile: tiled, it equals the
    filter on the whole slice (per-tile widths differed across a tile border where the noise did)."""
    from emdenoise_gui.core.baselines import apply_filter
    from emdenoise_gui.core.events import run_to_end
    from emdenoise_gui.core.sure import sure_width
    from emdenoise_gui.jobs.stack import filter_window

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:200, :260]
    clean = (0.5 + 0.2 * np.sin(xx / 9.0) * np.cos(yy / 13.0)).astype(np.float32)
    sd = np.where(xx < 130, 0.02, 0.12)  # quiet left half, noisy right half: per-tile SURE would differ
    window = np.stack([clean + rng.normal(0.0, 1.0, clean.shape) * sd for _ in range(3)]).astype(np.float32)
    image = window[1] if method == "gaussian-sure" else window
    tiled = run_to_end(filter_window(method, window if method.endswith("avg") else window[1:2], 64, None))
    np.testing.assert_allclose(tiled, apply_filter(method, image), atol=2e-5)
    assert sure_width(window[1][:, :64])[0] < sure_width(window[1][:, -64:])[0]  # the halves alone would differ


def test_compare_reads_an_8bit_reference_once_and_says_its_range_pass(tmp_path, monkeypatch):
    """An 8-bit reference is scaled by its type: compared in one pass over it. Any other reference's range
    is read first, with its own progress; a wrong shape is said before either pass reads a slice."""
    from emdenoise_gui.core.io import stack as stack_module
    from emdenoise_gui.jobs.compare import compare_job

    rng = np.random.default_rng(0)
    clean8 = rng.integers(0, 255, (5, 32, 40), dtype=np.uint8)
    for name, data in {"c8.tif": clean8, "c16.tif": clean8.astype(np.uint16) * 200, "n.tif": clean8 ^ 1,
                       "short.tif": clean8[:4]}.items():
        tifffile.imwrite(tmp_path / name, data, photometric="minisblack")
    reads = []
    original = stack_module.Stack.__getitem__
    monkeypatch.setattr(stack_module.Stack, "__getitem__",
                        lambda self, z: reads.append((self.path.name, z)) or original(self, z))

    def run(clean, image):
        reads.clear()
        gen, stages = compare_job(tmp_path / clean, [tmp_path / image]), []
        try:
            while True:
                stages.append(next(gen).stage)
        except StopIteration as stop:
            return stop.value, stages

    rows, stages = run("c8.tif", "n.tif")
    assert 45 < rows[0].psnr[0] < 50
    assert stages == ["compare"] * 5 and sum(name == "c8.tif" for name, _ in reads) == 5
    rows, stages = run("c16.tif", "n.tif")
    assert stages == ["reading the reference's range"] * 5 + ["compare"] * 5
    with pytest.raises(InputError, match="has shape"):
        run("c16.tif", "short.tif")
    assert not reads


def test_an_integer_output_samples_the_stack_once(tmp_path, monkeypatch):
    """A job with an integer output type sampled 16 slices for its scale, then the same 16 again to check the type
    holds them (left undone on 2026-12-07): once now, with the same scale."""
    from emdenoise_gui.core import pipeline
    from emdenoise_gui.jobs import stack as stack_module

    path = tmp_path / "f.tif"
    tifffile.imwrite(path, np.random.default_rng(0).uniform(100, 900, (20, 32, 32)).astype(np.float32))
    calls, real = [], pipeline.sampled_values
    counted = lambda stack, *a, **k: calls.append(1) or real(stack, *a, **k)  # noqa: E731
    monkeypatch.setattr(pipeline, "sampled_values", counted)
    monkeypatch.setattr(stack_module, "sampled_values", counted)
    job = stack_module.StackJob.prepare(path, tmp_path / "o.tif", dtype="uint16")
    try:
        assert len(calls) == 1
        with open_stack(path) as stack:
            expected = IntensityScale.for_stack(stack)
        assert (job.scale.lo, job.scale.hi) == (expected.lo, expected.hi)
    finally:
        job.source.close()
