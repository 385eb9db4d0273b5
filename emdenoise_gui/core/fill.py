"""An aligned stack's fill: the pixels registration left without data, kept out of the work.

Registration (TrakEM2, Fiji's Register Virtual Stack, SIFT alignment, IMOD) shifts each slice and fills what
it no longer covers with one value, 0 or the type's maximum, in strips that move from slice to slice; a
missing section is all fill. Taken for tissue (borders audit of 2026-12-08: FlyEM 9 x 256^2 at dose 25,
each slice shifted by 5-40 px, 7-26 % zero fill), NRRN's per-slice scale came partly from the fill (29.45 ->
28.39 dB inside the area every slice covers), the tissue beside a neighbour's fill came out 16-19 grey
levels too dark (NRRN, the 3-slice filters), and the fill itself came out as grey noise.

- :func:`fill_mask` finds a slice's fill: the pixels at its lowest or highest value near a group of at least
  FILL_GROUP FILL_BLOCK-square blocks (on a grid) of that value alone, and whole rows and columns of it running
  in from an edge. Noise leaves such a block only where nearly every pixel is 0 (a dark membrane at one count
  per pixel at the peak: one block in a thousand there) and never four side by side, so fill at least
  2 x FILL_BLOCK - 1 px wide and 4 blocks large is found whole, a shift's strip along an edge however narrow,
  other narrower fill (the tip of a rotated slice's wedge) in part or not at all.
- :func:`mend_window` gives the slice's fill the value of its nearest pixel with data (no rim where a filter
  or network smooths the fill's edge into the data), and its neighbours the other neighbour's pixels (or the
  slice's own) where they hold fill and the slice does not: a missing section or a neighbour's strip is then
  left out of the mix, as ``core.sure.without_blank_neighbours`` did for whole blank sections only.
- :func:`keep_fill` passes the slice's own fill through to its result unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

#: Side (px) of the grid's blocks that must hold one extreme value alone to count as fill.
FILL_BLOCK = 8
#: The fewest flat blocks, side by side, that count as fill (noise leaves lone ones at very low doses).
FILL_GROUP = 4
#: Gaussian width (px) of the smoothed centre slice that stands in for a neighbour where both neighbours are fill.
STAND_IN_SIGMA = 1.5


def fill_mask(image: np.ndarray) -> np.ndarray | None:
    """(H, W) bool: the fill of the (H, W) ``image`` (see the module doc), or None where it has none (the usual
    case: found from counts and a reshape, about 20 ms a 4096^2 slice)."""
    image = np.asarray(image)
    if image.ndim != 2 or min(image.shape) < FILL_BLOCK:
        return None
    b = FILL_BLOCK
    rows, cols = image.shape[0] // b, image.shape[1] // b
    lo, hi = image.min(), image.max()
    found = None
    for value in (lo,) if lo == hi else (lo, hi):
        flat = image == value
        if np.count_nonzero(flat) < min(b * b, min(image.shape)):
            continue
        mask = _edge_lines(flat)  # a strip narrower than the blocks, along an edge
        blocks = _large(flat[:rows * b, :cols * b].reshape(rows, b, cols, b).all(axis=(1, 3)))
        if blocks.any():
            near = ndi.binary_dilation(blocks, np.ones((3, 3), bool))  # a block's edge pixels are within a block
            grid = np.repeat(np.repeat(near, b, axis=0), b, axis=1)
            # the rows and columns past the last whole block take the last block's
            grid = np.pad(grid, ((0, image.shape[0] - rows * b), (0, image.shape[1] - cols * b)), mode="edge")
            mask = flat & grid if mask is None else mask | (flat & grid)
        if mask is not None:
            found = mask if found is None else found | mask
    return found


def _large(blocks: np.ndarray) -> np.ndarray:
    """The (rows, cols) bool grid of flat ``blocks`` without its groups (8-connected) of under FILL_GROUP blocks:
    in a dark membrane at one count per pixel at the peak, nine pixels in ten are 0, and a lone block of them
    came out as a black square (review); fill spans many blocks."""
    if not blocks.any():
        return blocks
    labels, count = ndi.label(blocks, np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel(), minlength=count + 1)
    keep = sizes >= FILL_GROUP
    keep[0] = False
    return keep[labels]


def _edge_lines(flat: np.ndarray) -> np.ndarray | None:
    """(H, W) bool: the whole rows and columns of ``flat`` (H, W) bool that are all True, running in from an edge
    of the image (a shift's fill along that edge, however narrow); None where there are none."""
    found = None
    for axis in (1, 0):  # full rows, then full columns
        full = flat.all(axis=axis)
        lines = np.zeros(full.shape, bool)
        for ends in (full, full[::-1]):
            run = int(np.argmin(ends)) if not ends.all() else ends.size
            (lines if ends is full else lines[::-1])[:run] = True
        if lines.any():
            line_mask = np.broadcast_to(lines[:, None] if axis == 1 else lines[None, :], flat.shape)
            found = line_mask.copy() if found is None else found | line_mask
    return found


def mend_window(window: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(the (C, H, W) ``window`` mended, the centre slice's :func:`fill_mask` or None).

    The centre slice's fill takes the value of its nearest pixel with data, so that no filter or network
    smooths the fill's edge into the data beside it (a dark rim); a neighbour takes, where it holds fill and the
    centre does not, the other neighbour's pixel, or the centre's smoothed (STAND_IN_SIGMA) where that one is
    fill too, and the centre's own (mended) pixels where the centre is fill. ``window`` itself when it holds no
    fill (it is never written to); else a copy (float32 unless it is a floating-point type)."""
    window = np.asarray(window)
    middle = window.shape[0] // 2
    centre = fill_mask(window[middle])
    masks = [fill_mask(s) if k != middle else None for k, s in enumerate(window)] if window.shape[0] == 3 else []
    if centre is None and all(m is None for m in masks):
        return window, None
    if centre is not None and centre.all():  # a blank slice: nothing to mend it from
        return window, centre
    mended = np.array(window, window.dtype if window.dtype.kind == "f" else np.float32, copy=True)
    if centre is not None:
        mended[middle] = _extended(mended[middle], centre)
    soft = None
    for k, mask in enumerate(masks):
        if k == middle:
            continue
        other = window.shape[0] - 1 - k
        if mask is not None:
            here = mask if centre is None else mask & ~centre
            if masks[other] is not None and (here & masks[other]).any():
                # the centre itself would hand its own noise to the neighbours (a blind-spot network then keeps
                # it, a 3-slice mean does not average it): a smoothed copy of it, without the pixel's own noise
                soft = ndi.gaussian_filter(mended[middle], STAND_IN_SIGMA) if soft is None else soft
                source = np.where(masks[other], soft, mended[other])
            else:
                source = mended[other]
            mended[k][here] = source[here]  # before the other neighbour is mended: its own pixels
        if centre is not None:
            mended[k][centre] = mended[middle][centre]
    return mended, centre


def _extended(image: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """A copy of the (H, W) ``image`` with its ``fill`` pixels (H, W bool, not all of them) taken from the nearest
    pixel with data along their row, and rows of fill alone from the nearest row with data: the data extended
    into the fill (about 0.5 s a 4096^2 slice with strips along two edges, where the nearest pixel in the plane, by
    a distance transform, took 2.6 s)."""
    out = np.array(image, copy=True)
    empty = fill.all(axis=1)
    partial = fill.any(axis=1) & ~empty
    if partial.any():
        out[partial] = _nearest(image[partial], fill[partial])
    if empty.any():
        out[empty] = out[_nearest(np.arange(len(out))[None, :], empty[None, :])[0]][empty]
    return out


def _nearest(values: np.ndarray, fill: np.ndarray) -> np.ndarray:
    """(R, W) ``values`` with each ``fill`` element (R, W bool; every row with some that are not) taken from the
    nearest element of its row that is not (the one before it on a tie)."""
    width = values.shape[1]
    where = np.arange(width, dtype=np.int32)
    before = np.where(fill, np.int32(-1), where)
    np.maximum.accumulate(before, axis=1, out=before)
    after = np.where(fill, np.int32(width), where)[:, ::-1]
    after = np.minimum.accumulate(after, axis=1)[:, ::-1]
    nearer = np.where((before >= 0) & ((after >= width) | (where - before <= after - where)), before, after)
    return np.take_along_axis(values, nearer, axis=1)


def keep_fill(result: np.ndarray, kept: np.ndarray | None, fill: np.ndarray | None) -> np.ndarray:
    """``result`` (H, W) with the pixels of ``fill`` (the centre slice's :func:`fill_mask`; None: none) set to
    ``kept`` (the centre slice's values there, ``centre[fill]``), in place; returns it."""
    if fill is not None:
        result[fill] = kept
    return result


def keep_fill_part(result: np.ndarray, window: np.ndarray, fill: np.ndarray | None, box) -> np.ndarray:
    """:func:`keep_fill` for the ``box`` (y0, y1, x0, x1) part of a (C, H, W) ``window`` (as read, not mended) whose
    centre slice's :func:`fill_mask` is ``fill`` (H, W; None: none): ``result`` is that part's (y1 - y0, x1 - x0)."""
    if fill is None:
        return result
    y0, y1, x0, x1 = box
    part = fill[y0:y1, x0:x1]
    return keep_fill(result, window[window.shape[0] // 2, y0:y1, x0:x1][part], part)
