"""A preview denoises the part on screen first (a PartialResult), then the whole slice."""

import numpy as np

from emdenoise_gui.core.events import (
    CancelToken,
    PartialResult,
    Progress,
    Stage,
    run_to_end,
)
from emdenoise_gui.jobs.denoise import (
    FIRST_LOOK_PX,
    VISIBLE_MARGIN,
    Denoiser,
    _visible_box,
    around,
    preview,
)


def drain(make):
    events, gen = [], make(CancelToken())
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


def test_visible_part_first_then_whole_slice(synthetic_crop):
    make = preview(str(synthetic_crop), 2, Denoiser("filter", "gaussian"), 64, None, visible=(10, 40, 20, 50))
    events, final = drain(make)
    partial = [e for e in events if isinstance(e, PartialResult)]
    assert len(partial) == 1 and all(isinstance(e, (Progress, PartialResult)) for e in events[2:])
    assert events[:2] == [Stage("reading slice"), Stage("first tile")]  # a filter loads no model
    first = partial[0].image
    assert first.shape == final.shape == (96, 80)
    assert np.isfinite(first[10:40, 20:50]).all() and np.isnan(first).sum() == 96 * 80 - 30 * 30
    np.testing.assert_allclose(first[10:40, 20:50], final[10:40, 20:50], atol=1e-3)


def test_no_partial_when_most_of_the_slice_is_on_screen(synthetic_crop):
    events, final = drain(preview(str(synthetic_crop), 0, Denoiser("filter", "gaussian"), 64, None,
                                  visible=(0, 96, 0, 70)))
    assert not any(isinstance(e, PartialResult) for e in events) and np.isfinite(final).all()


def test_visible_box_is_clipped_and_gets_context():
    assert _visible_box(None, (100, 100)) is None
    assert _visible_box((-5, 20, 90, 140), (100, 100)) == ((0, 20, 90, 100), (0, 20 + VISIBLE_MARGIN, 90 - VISIBLE_MARGIN, 100))
    assert _visible_box((50, 50, 0, 10), (100, 100)) is None  # empty


def test_a_large_slice_in_full_view_shows_its_centre_first():
    side = 4 * FIRST_LOOK_PX
    first, context = _visible_box((0, side, 0, side), (side, side))
    lo, hi = side // 2 - FIRST_LOOK_PX // 2, side // 2 + FIRST_LOOK_PX // 2
    assert first == (lo, hi, lo, hi)
    assert context[0] == first[0] - VISIBLE_MARGIN and context[3] == first[3] + VISIBLE_MARGIN
    assert _visible_box((0, 520, 0, 520), (520, 520)) is None  # a small slice: the whole at once


def test_a_large_view_grows_from_the_centre(synthetic_crop, monkeypatch):
    """A view of most of a large slice: a small centre square first, then a larger one, then the whole."""
    monkeypatch.setattr("emdenoise_gui.jobs.denoise.FIRST_LOOK_STEPS", (16, 32))
    events, final = drain(preview(str(synthetic_crop), 2, Denoiser("filter", "gaussian"), 64, None,
                                  visible=(0, 96, 0, 80)))
    partial = [e.image for e in events if isinstance(e, PartialResult)]
    assert len(partial) == 2
    small, large = (np.isfinite(image) for image in partial)
    assert small.sum() == 16 * 16 and large.sum() == 32 * 32
    assert small[40:56, 32:48].all() and large[32:64, 24:56].all()  # centred on the view (48, 40)
    assert (large | ~small).all()  # what the first look showed stays shown
    for image, done in zip(partial, (small, large)):
        np.testing.assert_allclose(image[done], final[done], atol=1e-3)


def test_around_covers_the_rest_of_the_slice_once():
    shape, box = (96, 80), (30, 62, 20, 52)
    cover = np.zeros(shape, int)
    for y0, y1, x0, x1 in [box, *around(box, shape)]:
        cover[y0:y1, x0:x1] += 1
    assert (cover == 1).all()
    assert around((0, 96, 0, 80), shape) == []


def test_a_local_model_reuses_the_last_square_and_gives_the_whole_slice_result(synthetic_crop, tmp_path,
                                                                               monkeypatch):
    """NRRN (local, band tiles): after the first looks only the rest of the slice is denoised, every part
    scaled by the whole slice's numbers, and the result equals one whole-slice pass."""
    import tifffile
    import torch

    from emdenoise_gui.core.io import open_stack
    from emdenoise_gui.core.pipeline import IntensityScale, SliceCache
    from emdenoise_gui.inference.predictor import Predictor
    from emdenoise_gui.paths import shipped_models_dir
    from emdenoise_gui.zoo.package import open_package

    big = tmp_path / "big.tif"  # 192 x 160 px: the parts around the square are smaller than the slice
    tifffile.imwrite(big, np.tile(tifffile.imread(synthetic_crop), (1, 2, 2)), imagej=True, metadata={"axes": "ZYX"})
    monkeypatch.setattr("emdenoise_gui.jobs.denoise.FIRST_LOOK_STEPS", (16, 32))
    torch.set_num_threads(1)
    folder = shipped_models_dir() / "flyem-nrrn-lite"
    shapes = []
    original = Predictor.denoise

    def spy(self, window, *args, **kwargs):
        shapes.append(window.shape[-2:])
        return original(self, window, *args, **kwargs)

    monkeypatch.setattr(Predictor, "denoise", spy)
    events, final = drain(preview(str(big), 2, Denoiser("model", "flyem-nrrn-lite", str(folder)), 64,
                                  None, device="cpu", visible=(0, 192, 0, 160)))
    assert (192, 160) not in shapes and len(shapes) == 2 + 4  # two squares, then the four parts around the last
    rest = [e for e in events if isinstance(e, Progress) and e.stage == "preview"]
    assert [e.done for e in rest] == sorted(e.done for e in rest) and rest[-1].done == rest[-1].total
    # one bar over the whole preview: it read 100 % after the part on screen, then fell back (big-data audit)
    bar = [e for e in events if isinstance(e, Progress)]
    assert len({e.total for e in bar}) == 1 and [e.done for e in bar] == sorted(e.done for e in bar)
    assert bar[0].stage == "preview (on screen)" and bar[-1].done == bar[-1].total

    monkeypatch.setattr(Predictor, "denoise", original)
    with open_stack(str(big)) as stack:
        window = SliceCache(stack, 4).window(2, 3, IntensityScale.for_stack(stack))
        whole = IntensityScale.for_stack(stack).from_unit(
            run_to_end(Predictor(open_package(folder), torch.device("cpu")).denoise(window, 64)))
    assert np.isfinite(final).all()
    np.testing.assert_allclose(final, whole, atol=1e-4 * max(1.0, float(np.abs(whole).max())))
