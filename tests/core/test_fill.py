"""An aligned stack's fill (``core.fill``): found where registration left it, never in noise, mended out of the
work and passed through to the result."""

import numpy as np

from emdenoise_gui.core.fill import fill_mask, keep_fill, mend_window


def noisy(shape, seed=0, counts=20.0):
    return (np.random.default_rng(seed).poisson(counts, shape) / (2 * counts)).astype(np.float32)


def test_fill_is_found_along_edges_however_narrow_and_in_wide_regions():
    image = noisy((96, 80))
    image[:, :3] = 0.0  # a 3 px strip along the left edge (a small shift)
    image[-20:, :] = 0.0  # a 20 px strip along the bottom
    image[30:55, 30:60] = image.max()  # a wide saturated region inside
    mask = fill_mask(image)
    expected = np.zeros(image.shape, bool)
    expected[:, :3] = expected[-20:, :] = True
    expected[30:55, 30:60] = True
    np.testing.assert_array_equal(mask, expected)


def test_noise_and_small_dark_specks_are_not_fill():
    """At one count per pixel three pixels in four are 0: no 8 x 8 block of them, no whole row."""
    assert fill_mask(noisy((256, 256), counts=0.3)) is None
    speck = noisy((64, 64))
    speck[10:14, 10:14] = 0.0  # a 4 x 4 dark speck: data, not fill
    speck[16:24, 32:40] = 0.0  # a lone block of zeros, as nine pixels in ten at one count at the peak (review)
    assert fill_mask(speck) is None
    assert fill_mask(noisy((64, 64))) is None


def test_a_window_is_mended_and_the_fill_passed_through():
    window = np.stack([noisy((64, 64), seed=s) for s in range(3)])
    assert mend_window(window)[0] is window and mend_window(window)[1] is None  # nothing to mend: not copied
    window[0, :, :20] = 0.0  # the first neighbour's fill
    window[1, :10, :] = 0.0  # the slice's own fill along the top
    window[2, :, :12] = 0.0  # and the other neighbour's, overlapping the first's
    mended, fill = mend_window(window)
    assert fill is not None and fill[:10].all() and not fill[10:].any()
    np.testing.assert_array_equal(mended[1, :10], np.broadcast_to(window[1, 10], (10, 64)))  # its nearest row
    np.testing.assert_array_equal(mended[1, 10:], window[1, 10:])
    np.testing.assert_array_equal(mended[0, 10:, 12:20], window[2, 10:, 12:20])  # the other neighbour's pixels
    both = mended[0, 10:, :12]  # neither neighbour has data: a smoothed copy of the slice, not its own noise
    assert not np.array_equal(both, window[1, 10:, :12]) and abs(float(both.mean() - window[1, 10:, :12].mean())) < 0.05
    assert (mended[[0, 2], :10] == mended[1, :10]).all()  # where the slice is fill, the neighbours are the slice
    assert window[0, 10:, :20].max() == 0.0  # the window itself is not written to
    result = np.full((64, 64), 0.5, np.float32)
    kept = window[1][fill]
    assert keep_fill(result, kept, fill) is result and (result[:10] == 0.0).all() and (result[10:] == 0.5).all()
