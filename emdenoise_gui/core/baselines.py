"""Classical denoising filters that a microscopist compares a network against.

The filters and their parameters are the ones used as baselines in the seed
papers (see ``docs/models.md`` section 5): Ede & Beanland (arXiv 1807.11234)
for the single-image filters, NRRN (ICLR 2022 submission) for the
three-slice-average variants, and Quan et al. / NRRN for BM3D. Ours: the
Gaussian whose width is chosen per image by Stein's unbiased risk estimate
(``gaussian-sure``; ``gaussian-sure-avg`` also weighs the slice against its
neighbours: ``core.sure``), the app's fallback when no model fits a stack; and a flat-field correction or background subtraction
before it (``core.shading``) for shading and charging.

Conventions
-----------
* Input images are float32, scaled by the caller to roughly [0, 1]; values
  slightly outside that range are allowed. Parameters such as ``h=0.1`` or
  ``weight=0.1`` are in those intensity units.
* Single-image filters take an (H, W) array, stack filters a (3, H, W) array
  holding slices z-1, z, z+1. Every filter returns a new float32 (H, W)
  array; the output is never clipped.
* Images must be at least 8x8 pixels; any aspect ratio works.
* Every filter is deterministic (bit-for-bit; BM3D runs single-threaded).

Border handling follows OpenCV's defaults where the paper used OpenCV, so
that the numbers are comparable with the paper's.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.ndimage as ndi

from emdenoise_gui.core import shading, sure
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.fill import mend_window

# bm3d, PyWavelets, scikit-image and scipy.signal are imported inside the filters that use them: together
# they take most of a second to import, which the app's start-up should not pay (benchmarks/startup.py).

__all__ = ["Filter", "FILTERS", "MIN_SIZE", "apply_filter", "tile_filter"]

#: Smallest accepted height and width, in pixels.
MIN_SIZE = 8


# --- single-image filters: (H, W) float32 -> (H, W) float32 -----------------

_BINOMIAL_3 = np.array([0.25, 0.5, 0.25], dtype=np.float32)


def _gaussian(img: np.ndarray) -> np.ndarray:
    # cv2.GaussianBlur(img, (3, 3), 0) uses the fixed separable [1, 2, 1]/4
    # kernel and BORDER_REFLECT_101, which is scipy's 'mirror' mode
    # (scipy's 'reflect' would repeat the edge pixel instead).
    out = ndi.correlate1d(img, _BINOMIAL_3, axis=0, mode="mirror")
    return ndi.correlate1d(out, _BINOMIAL_3, axis=1, mode="mirror")


def _median(img: np.ndarray) -> np.ndarray:
    # Edges mirrored (without repeating the edge pixel), as the tiles of `emdenoise denoise` and the app
    # are padded: the same result either way (the edge-pixel 'reflect' of cv2.medianBlur's BORDER_REPLICATE
    # differed from the tiled result by up to 34 grey levels on the border).
    return ndi.median_filter(img, size=3, mode="mirror")


def _bilateral(img: np.ndarray) -> np.ndarray:
    from skimage.restoration import denoise_bilateral
    
    # Ede used cv2.bilateralFilter(img, 9, 75, 75) on images in [0, 1]. With
    # sigma_color = 75 the range weight exp(-d^2 / (2 * 75^2)) is ~1 for any
    # intensity difference d at this scale, and sigma_spatial = 75 is flat
    # over a 9-pixel window, so the filter acts almost as a 9x9 mean.
    # skimage builds its range-weight table from the maximum of the unshifted
    # image but, for negative inputs, filters a shifted copy, so the range
    # weights come out wrong (checked against a brute-force bilateral). Shift
    # to start at 0 ourselves and undo it (the weights only see differences).
    # mode='reflect' is numpy/skimage reflect = OpenCV's BORDER_REFLECT_101;
    # skimage's default zero padding would darken the borders.
    # OpenCV's window is a disc of diameter 9, skimage's a 9x9 square.
    offset = float(img.min())
    out = denoise_bilateral(
        img - offset, win_size=9, sigma_color=75.0, sigma_spatial=75.0, mode="reflect"
    )
    return out + offset


def _wiener(img: np.ndarray) -> np.ndarray:
    import scipy.signal
    
    # scipy.signal.wiener with its defaults: 3x3 window, noise power = mean of
    # the local variances. scipy zero-pads the borders, which inflates the
    # local variance (and the noise estimate) there and turns a flat image into
    # NaN; instead pad by mirroring, estimate the noise from the mirrored local
    # variances of the real pixels, and crop back.
    x = img.astype(np.float64)
    local_mean = ndi.uniform_filter(x, size=3, mode="mirror")
    local_var = ndi.uniform_filter(x * x, size=3, mode="mirror") - local_mean**2
    noise = float(local_var.mean())
    if noise <= 0.0:  # flat image: nothing to remove
        return img.copy()
    padded = np.pad(x, 1, mode="reflect")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = scipy.signal.wiener(padded, mysize=(3, 3), noise=noise)
    return out[1:-1, 1:-1]


def _wavelet(img: np.ndarray) -> np.ndarray:
    import pywt
    from skimage.restoration import denoise_wavelet
    
    # BayesShrink estimates sigma from the median of the nonzero finest
    # diagonal db1 coefficients; with none (a flat image) it yields NaN.
    # sigma = 0 means no shrinkage, so return the image unchanged.
    if not np.any(pywt.dwtn(img, "db1")["dd"]):
        return img.copy()
    return denoise_wavelet(
        img, method="BayesShrink", mode="soft", wavelet="db1", rescale_sigma=True
    )


def _tv_chambolle(img: np.ndarray) -> np.ndarray:
    from skimage.restoration import denoise_tv_chambolle
    
    return denoise_tv_chambolle(img, weight=0.1, eps=2e-4, max_num_iter=200)


def _tv_bregman(img: np.ndarray) -> np.ndarray:
    from skimage.restoration import denoise_tv_bregman
    
    # Here a smaller weight means stronger smoothing (skimage default 5.0).
    return denoise_tv_bregman(
        img, weight=0.1, eps=2e-4, max_num_iter=200, isotropic=False
    )


def _nlm(img: np.ndarray) -> np.ndarray:
    from skimage.restoration import denoise_nl_means
    
    return denoise_nl_means(
        img, patch_size=7, patch_distance=11, h=0.1, fast_mode=True, sigma=0.0
    )


_BM3D_MIN = 16


def _bm3d_profile():
    """The bm3d package's default profile, single-threaded (a ``bm3d.BM3DProfile``)."""
    import bm3d

    # The default profile aggregates blocks from several threads in varying
    # order, which changes results by ~1e-7 from run to run; one thread makes
    # the output bit-for-bit reproducible (at the cost of speed on many cores).
    profile = bm3d.BM3DProfile()
    profile.num_threads = 1
    return profile


def _bm3d(img: np.ndarray) -> np.ndarray:
    import bm3d
    import pywt
    from skimage.restoration import estimate_sigma
    
    # estimate_sigma takes the median of the nonzero finest diagonal db2
    # coefficients; with none (e.g. a flat image) it yields NaN. sigma = 0
    # means no noise, so return the image unchanged.
    if img.min() == img.max() or not np.any(pywt.dwtn(img, "db2")["dd"]):
        return img.copy()
    sigma = float(estimate_sigma(img))
    if not np.isfinite(sigma) or sigma <= 0.0:
        return img.copy()
    # bm3d 4.0.3 segfaults on an image of exactly one 8x8 block; pad small
    # images by mirroring to at least 16 pixels per side and crop afterwards.
    h, w = img.shape
    pad_h, pad_w = max(0, _BM3D_MIN - h), max(0, _BM3D_MIN - w)
    pads = ((pad_h // 2, pad_h - pad_h // 2), (pad_w // 2, pad_w - pad_w // 2))
    out = bm3d.bm3d(np.pad(img, pads, mode="symmetric"), sigma_psd=sigma,
                    profile=_bm3d_profile())
    return out[pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w]


def _gaussian_sure(image: np.ndarray) -> np.ndarray:
    """(H, W) or (3, H, W) float32 -> (H, W) float32: the smoothing SURE picks on the image (core.sure), run on
    it with an aligned stack's fill mended (``core.fill``: picked on it, and the neighbours' fill mixed into
    the slice, the 3-slice filter lost 1.6 dB where every slice has data; borders audit)."""
    mended = mend_window(image if image.ndim == 3 else image[None])[0]
    return sure.sure_smoothing(image)(mended if image.ndim == 3 else mended[0])


def _corrected_then_sure(correct: Callable[[np.ndarray], np.ndarray]):
    """A shading filter: ``correct`` (``shading.divided`` or ``subtracted``), then the SURE-tuned Gaussian;
    on a (3, H, W) stack each slice is corrected, then the slice and its neighbours mixed and smoothed."""
    def shading_filter(img: np.ndarray) -> np.ndarray:
        if img.ndim == 3:
            return _gaussian_sure(np.stack([correct(s) for s in img]))
        return _gaussian_sure(correct(img))

    return shading_filter


# --- stack filters: (3, H, W) float32 -> (H, W) float32 ---------------------


def _slice_mean(stack: np.ndarray) -> np.ndarray:
    """(3, H, W) -> (H, W) float32 mean of the slices z-1, z, z+1."""
    return stack.mean(axis=0, dtype=np.float32)


def _on_slice_mean(single: Callable[[np.ndarray], np.ndarray]):
    def stack_filter(stack: np.ndarray) -> np.ndarray:
        return single(_slice_mean(stack))

    return stack_filter


# --- registry ---------------------------------------------------------------


@dataclass(frozen=True)
class Filter:
    """One classical baseline filter.

    Attributes
    ----------
    name:
        Registry key, e.g. ``"median"``.
    label:
        Human-readable name, e.g. ``"Median 3x3"``.
    description:
        One line: what the filter is, its parameters and the paper it is from.
    slices:
        1 if ``function`` takes one (H, W) image, 3 if it takes a (3, H, W)
        stack of the slices z-1, z, z+1.
    function:
        The filter itself: float32 (H, W) or (3, H, W) array in roughly [0, 1]
        to a new float32 (H, W) array, not clipped. Call it through
        :func:`apply_filter`, which validates and converts the input.
    tune:
        For a filter tuned to the image it runs on (None for the others):
        from the whole float32 image as the filter takes it ((H, W), or
        (3, H, W) for a 3-slice filter) to the function run on each tile of it
        (same kind), with the tuning measured once on the whole image;
        :func:`tile_filter` uses it.
    as_published:
        True for a paper's baseline whose fixed settings ignore the image's
        noise, kept to reproduce that paper's comparison: on FlyEM in the
        quality benchmark (docs/benchmarks.md) it scores about the same at
        every noise level, below the noisy input on lightly noisy data (dose
        300: 26-27 dB from a 30.7 dB input; TV split Bregman 18.8 dB at every
        dose). The app lists these apart, as references, not as choices for
        real data.
    whole_slice:
        True for a filter that must see the whole slice at once (its
        background spans hundreds of pixels: ``core.shading``); the app
        never runs it tile by tile.
    alone_when_unlike:
        True for a 3-slice filter that smooths each slice alone where its
        neighbours are unlike it (the SURE-tuned ones: ``core.sure``): it does
        not need a FIB-SEM-like stack.
    """

    name: str
    label: str
    description: str
    slices: int
    function: Callable[[np.ndarray], np.ndarray]
    tune: Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]] | None = None
    as_published: bool = False
    whole_slice: bool = False
    alone_when_unlike: bool = False
    requires: str = ""  # a module the filter needs that is not a dependency of the app (installed apart)

    @property
    def available(self) -> bool:
        """Whether the filter can run here: the module it ``requires`` is installed."""
        return not self.requires or importlib.util.find_spec(self.requires) is not None

    def check_available(self) -> None:
        """InputError saying what to install when the filter cannot run here."""
        if not self.available:
            raise InputError(MISSING[self.requires])


def _missing_bm3d() -> str:
    """Why BM3D cannot run here and what to do; the installed program cannot take a pip install."""
    why = ("BM3D is not installed: its implementation (the bm3d package of Tampere University) is free for "
           "non-commercial use only and may not be redistributed, so EMDenoise does not ship it; ")
    if getattr(sys, "frozen", False):  # paths.is_installed_program's test (core does not import paths)
        return why + ("the installed program cannot add it: where its terms suit you, install EMDenoise as a Python "
                      "package with it (pip install 'emdenoise_gui[bm3d]'), or pick another filter")
    return why + "if its terms suit you, install it where EMDenoise runs (pip install bm3d), or pick another filter"


#: What to do when a filter's module is missing, by module
MISSING = {"bm3d": _missing_bm3d()}

_EDE = "Ede & Beanland (arXiv 1807.11234)"
_NRRN = "NRRN (ICLR 2022 submission)"
_BG = f"{shading.BACKGROUND_SIGMA:g}"
_FLAT = f"{2 * shading.BACKGROUND_SIGMA:g}"
#: Where a division's zero lies (filters audit: the same shading, stored as uint8 and as uint16, came out
#: corrected differently)
_DIVIDE_ZERO = ("it divides on the working scale, whose zero is 0 for 8-bit stacks and the stack's minimum for "
                "others (taken as the dark level): for data whose dark level is 0, a uint16 stack is corrected more "
                "strongly than the same data as uint8")

FILTERS: dict[str, Filter] = {
    f.name: f
    for f in (
        Filter("gaussian", "Gaussian 3x3",
               f"3x3 binomial [1,2,1]/4 kernel, as OpenCV GaussianBlur(img,(3,3),0); {_EDE}.",
               1, _gaussian),
        Filter("median", "Median 3x3",
               f"3x3 median, as OpenCV medianBlur(img,3) but with the edges mirrored; {_EDE}.",
               1, _median),
        Filter("bilateral", "Bilateral (d=9, 75, 75)",
               f"Bilateral filter, 9x9 window, sigma_color=sigma_space=75 (nearly a 9x9 mean on [0,1] data); {_EDE}.",
               1, _bilateral, as_published=True),
        Filter("wiener", "Wiener 3x3",
               f"Adaptive Wiener filter, 3x3 window, noise = mean local variance (scipy defaults); {_EDE}.",
               1, _wiener),
        Filter("wavelet", "Wavelet BayesShrink",
               f"Soft BayesShrink on db1 wavelets, sigma from the finest coefficients (skimage defaults); {_EDE}.",
               1, _wavelet),
        Filter("tv-chambolle", "TV (Chambolle)",
               f"Total-variation denoising, Chambolle, weight=0.1, eps=2e-4, at most 200 iterations (it stops "
               "earlier, often after about 30, once an iteration changes little); its weight is on the [0, 1] "
               "working scale (8-bit stacks by their type's range, others by their own minimum and maximum: the same "
               "data are smoothed differently stored as uint8 and as uint16, and a hot pixel that widens the range "
               f"smooths the rest harder); {_EDE}.",
               1, _tv_chambolle, as_published=True),
        Filter("tv-bregman", "TV (split Bregman)",
               f"Anisotropic total variation, split Bregman, weight=0.1 (smaller = smoother), eps=2e-4, 200 iterations; {_EDE}.",
               1, _tv_bregman, as_published=True),
        Filter("nlm", "Non-local means",
               f"Non-local means, patch 7, distance 11, h=0.1, fast mode (skimage defaults); {_EDE}.",
               1, _nlm, as_published=True),
        Filter("bm3d", "BM3D",
               "BM3D (bm3d package, default profile, single-threaded), sigma estimated from the image (skimage estimate_sigma); Quan et al. (ICCVW 2019), NRRN. Installed apart (pip install bm3d: free for non-commercial use only).",
               1, _bm3d, requires="bm3d"),
        Filter("gaussian-sure", "Gaussian, width by SURE",
               "Gaussian whose width (0-3 px, or none) minimises Stein's unbiased risk estimate for the noise "
               "measured in the image: strong on noisy data, light or none on clean or finely sampled data; ours.",
               1, _gaussian_sure, tune=sure.sure_smoothing),
        Filter("flat-field", "Flat-field (divide)",
               f"Divides the slice by its smooth background (Gaussian of {_BG} px), then the SURE-tuned Gaussian: "
               "for support-film shading and uneven illumination; flattens real structure larger than about "
               f"{_FLAT} px; {_DIVIDE_ZERO}; ours.", 1, _corrected_then_sure(shading.divided), whole_slice=True),
        Filter("background-subtract", "Flat-field (subtract)",
               f"Subtracts the slice's smooth background (Gaussian of {_BG} px), then the SURE-tuned Gaussian: "
               f"for charging and additive shading; flattens real structure larger than about {_FLAT} px; ours.",
               1, _corrected_then_sure(shading.subtracted), whole_slice=True),
        Filter("gaussian-avg", "Gaussian 3x3 on 3-slice mean",
               f"Mean of slices z-1, z, z+1, then the 3x3 Gaussian; {_NRRN}.",
               3, _on_slice_mean(_gaussian)),
        Filter("median-avg", "Median 3x3 on 3-slice mean",
               f"Mean of slices z-1, z, z+1, then the 3x3 median; {_NRRN}.",
               3, _on_slice_mean(_median)),
        Filter("nlm-avg", "Non-local means on 3-slice mean",
               f"Mean of slices z-1, z, z+1, then non-local means (patch 7, distance 11, h=0.1); {_NRRN}.",
               3, _on_slice_mean(_nlm), as_published=True),
        Filter("gaussian-sure-avg", "Gaussian by SURE, 3 slices",
               "Slice z mixed with the mean of slices z-1 and z+1, then a Gaussian: the neighbours' weight "
               "(from none, where they differ from the slice by more than its noise, such as unlike sections or a "
               "blank one, up to the plain 3-slice mean) and the width minimise Stein's unbiased risk estimate of "
               "the error on slice z, for the noise measured in it; a slice without noise (blank) is left as it "
               "is; ours.",
               3, _gaussian_sure, whole_slice=True, alone_when_unlike=True),
        Filter("flat-field-avg", "Flat-field (divide), 3 slices",
               f"Divides each of slices z-1, z, z+1 by its smooth background (Gaussian of {_BG} px), then the "
               f"SURE-tuned Gaussian on slice and neighbours: shading on a noisy stack of alike slices; {_DIVIDE_ZERO}; "
               "ours.",
               3, _corrected_then_sure(shading.divided), whole_slice=True, alone_when_unlike=True),
        Filter("background-subtract-avg", "Flat-field (subtract), 3 slices",
               f"Subtracts each of slices z-1, z, z+1's smooth background (Gaussian of {_BG} px), then the "
               "SURE-tuned Gaussian on slice and neighbours: charging on a stack of alike slices; ours.",
               3, _corrected_then_sure(shading.subtracted), whole_slice=True, alone_when_unlike=True),
    )
}


#: The filter a run gets when none is named and no model is used: the Gaussian whose width SURE picks per
#: image. The 3x3 Gaussian (the default from 2026-12-05; the 3x3 median before) blurs finely sampled or
#: nearly clean images below the noisy input (ssTEM at dose 300: 28.3 dB from 31.4); the SURE-tuned one
#: stays above the input and above the 3x3 Gaussian in all but one condition of the single-image
#: benchmark (docs/benchmarks.md, "single images").
DEFAULT_FILTER = "gaussian-sure"


def sure_filter(slices: int) -> str:
    """The SURE-tuned Gaussian for data read ``slices`` (1 or 3) adjacent slices at a time: on the slice
    and its neighbours for 3 (the best filter on FIB-SEM stacks in the quality benchmark), else on the slice. It is the
    app's fallback where no model fits, and the bar a newly trained model must clear."""
    return "gaussian-sure-avg" if slices == 3 else DEFAULT_FILTER


def tile_filter(name: str, image: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """The function to run on each tile of ``image`` (the whole (H, W) slice, or (3, H, W) for a 3-slice
    filter; working scale) for filter ``name``: :func:`apply_filter` on the tile, except for a filter tuned
    to the image (``Filter.tune``: the SURE-tuned Gaussians), tuned once on the whole slice, so that every
    tile of it is filtered alike and no tile border shows where two settings meet."""
    spec = FILTERS[name]
    spec.check_available()
    if spec.tune is None:
        return lambda tile: apply_filter(name, tile)
    run = spec.tune(np.asarray(image, dtype=np.float32))
    return lambda tile: run(np.asarray(tile, dtype=np.float32))


def apply_filter(name: str, image: np.ndarray, copy: bool = True) -> np.ndarray:
    """Run the baseline filter ``name`` on ``image``.

    Parameters
    ----------
    name:
        A key of :data:`FILTERS`.
    image:
        Real-valued array, intensities scaled to roughly [0, 1] (values slightly
        outside are fine). Shape (H, W) for a filter with ``slices == 1``,
        (3, H, W) = slices z-1, z, z+1 for ``slices == 3``; H, W >= 8. Any
        real dtype; it is converted to float32. The input is not modified.
    copy:
        False: a float32 C-contiguous ``image`` is read where it is, not
        copied first (a whole-slice filter of three 8000^2 slices: 768 MB
        less); the filters only read their input.

    Returns
    -------
    numpy.ndarray
        New float32 array of shape (H, W), same intensity units, not clipped.

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid names), wrong shape, an
        image smaller than 8x8, or non-finite values.
    InputError
        The filter needs a module that is not installed (:attr:`Filter.requires`).
    """
    try:
        spec = FILTERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown filter {name!r}; valid names: {', '.join(FILTERS)}"
        ) from None
    spec.check_available()
    arr = np.asarray(image)
    want = "(H, W)" if spec.slices == 1 else "(3, H, W)"
    ndim = 2 if spec.slices == 1 else 3
    if arr.ndim != ndim or (spec.slices == 3 and arr.shape[0] != 3):
        raise ValueError(
            f"filter {name!r} needs an image of shape {want}, got {arr.shape}"
        )
    if min(arr.shape[-2:]) < MIN_SIZE:
        raise ValueError(
            f"filter {name!r} needs images of at least {MIN_SIZE}x{MIN_SIZE} "
            f"pixels, got {arr.shape[-2]}x{arr.shape[-1]}"
        )
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"filter {name!r} needs a real-valued image, got {arr.dtype}")
    x = np.array(arr, dtype=np.float32, order="C", copy=True if copy else None)
    if not (np.isfinite(x.min()) and np.isfinite(x.max())):  # NaN and inf reach them; no mask of the image
        raise ValueError(f"filter {name!r} needs finite values; the image has NaN or inf")
    out = spec.function(x)
    return np.ascontiguousarray(out, dtype=np.float32)
