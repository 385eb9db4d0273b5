"""Training data: stacks loaded on the [0, 1] working scale, split, and sampled as augmented crops.

Every random choice of step k comes from ``numpy.random.default_rng([seed, k])``,
so a resumed run draws exactly the crops an uninterrupted one would have.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.core.pipeline import IntensityScale, finite_slice

#: Largest stack we load into memory for training (bytes of float32).
MAX_TRAIN_BYTES = 4 * 2**30
_RECT = re.compile(r"^(?P<path>.+)@(?P<y0>\d+):(?P<y1>\d+),(?P<x0>\d+):(?P<x1>\d+)$")


@dataclass
class Volume:
    """A stack on the [0, 1] working scale: ``data`` (Z, Y, X) float32, plus where it came from."""

    data: np.ndarray
    source: str
    voxel_size_nm: tuple | None
    #: Slices per volume of an MRC volume stack (``core.io.mrc.volume_depth``), else None: runs of adjacent
    #: slices are drawn inside one volume (:func:`run_start`).
    volume_depth: int | None = None

    @property
    def depth(self) -> int:
        return self.data.shape[0]


#: The smallest training crop (px): crops are multiples of 16 (the networks' downsampling).
MIN_CROP = 16


def _file_of(spec: str) -> str:
    """The file of a data entry, ``PATH`` or ``PATH@y0:y1,x0:x1``."""
    match = _RECT.match(spec)
    return match["path"] if match else spec


def data_fingerprint(data: dict) -> dict[str, str]:
    """{file: "shape dtype digest"} for every file of a run's ``data`` (role -> entries): its shape, type
    and a digest of its first, middle and last slices' raw values, so a resumed run notices a file replaced
    under the same name (another stack, or the same one with other content) and not a copy moved back."""
    import hashlib

    prints = {}
    for entries in data.values():
        for path in map(_file_of, entries):
            if path in prints:
                continue
            with open_stack(path) as stack:
                digest = hashlib.blake2b(digest_size=12)
                for z in sorted({0, len(stack) // 2, len(stack) - 1}):
                    digest.update(np.ascontiguousarray(stack[z]).tobytes())
                prints[path] = f"{'x'.join(map(str, stack.shape))} {stack.dtype.name} {digest.hexdigest()}"
    return prints


def load_volume(spec: str, min_side: int) -> Volume:
    """Load ``PATH`` or ``PATH@y0:y1,x0:x1`` (a rectangle of every slice) on the working scale.

    InputError if the file is unreadable, too large, or smaller than ``min_side`` px.
    """
    match = _RECT.match(spec)
    path = _file_of(spec)
    if match is None and "@" in spec and not os.path.exists(spec):  # a rectangle, mistyped: not "file not found"
        raise InputError(f"the rectangle after '@' must read Y0:Y1,X0:X1 in whole pixels from 0, like "
                         f"{spec.rpartition('@')[0]}@0:512,0:512", spec.rpartition("@")[0])
    with open_stack(path) as stack:
        if stack.meta.nbytes // stack.dtype.itemsize * 4 > MAX_TRAIN_BYTES:
            raise InputError("is too large to train on in memory (over 4 GiB as float32); crop it or pick "
                             "fewer slices first", path)
        scale = IntensityScale.for_stack(stack)
        data = np.stack([scale.to_unit(finite_slice(stack, z)) for z in range(len(stack))])
        voxel, volume_depth = stack.meta.voxel_size_nm, stack.meta.extra.get("volume_depth")
    if match:
        y0, y1, x0, x1 = (int(match[k]) for k in ("y0", "y1", "x0", "x1"))
        if not (y0 < y1 and x0 < x1):
            raise InputError(f"rectangle {y0}:{y1},{x0}:{x1} is empty: write it Y0:Y1,X0:X1 with Y0 < Y1 and X0 < X1",
                             path)
        if not (0 <= y0 and y1 <= data.shape[1] and 0 <= x0 and x1 <= data.shape[2]):
            raise InputError(f"rectangle {y0}:{y1},{x0}:{x1} is outside the {data.shape[1]}x{data.shape[2]} image",
                             path)
        data = np.ascontiguousarray(data[:, y0:y1, x0:x1])
    if min(data.shape[1:]) < MIN_CROP:  # no crop size fits: advice to pick a smaller one would mislead
        raise InputError(f"is {data.shape[2]}x{data.shape[1]} px, smaller than the smallest training crop "
                         f"({MIN_CROP} px): train on larger images", spec)
    if min(data.shape[1:]) < min_side:
        raise InputError(f"is {data.shape[2]}x{data.shape[1]} px, smaller than the {min_side} px training crop; "
                         "use --crop with a smaller size", spec)
    if data.size and data.min() == data.max():  # a model of it would score an infinite PSNR and never load
        raise InputError("holds a single value in every pixel: there is nothing to learn from; choose images "
                         "with structure", spec)
    return Volume(data, spec, voxel, volume_depth)


def split_slices(depth: int, val_fraction: float, window: int = 1) -> tuple[range, range]:
    """(training slices, validation slices): the last ``val_fraction`` is held back.

    Each part keeps at least ``window`` slices (NRRN needs triplets). A stack too
    shallow for both is used whole for training and validation alike (a single
    image has nothing to hold back); callers say so in the card.
    """
    n_val = max(window, int(round(depth * val_fraction)))
    if depth - n_val < window:
        return range(0, depth), range(0, depth)
    return range(0, depth - n_val), range(depth - n_val, depth)


def dihedral(arrays: np.ndarray, op: int) -> np.ndarray:
    """One of the 8 flips/90-degree rotations (``op`` in 0..7) applied to the last two axes."""
    out = np.rot90(arrays, k=op % 4, axes=(-2, -1))
    if op >= 4:
        out = out[..., ::-1]
    return np.ascontiguousarray(out)


def crop(volume: np.ndarray, z: int, size: int, rng: np.random.Generator, depth: int = 1,
         augment: bool = True) -> np.ndarray:
    """A (depth, size, size) crop of slices z..z+depth-1 at a random place, same transform for all."""
    _, height, width = volume.shape
    y = int(rng.integers(0, height - size + 1))
    x = int(rng.integers(0, width - size + 1))
    patch = volume[z:z + depth, y:y + size, x:x + size]
    return dihedral(patch, int(rng.integers(0, 8))) if augment else np.ascontiguousarray(patch)


def run_start(volume: Volume, allowed: range, depth: int, rng: np.random.Generator) -> int:
    """The first slice of a random run of ``depth`` adjacent slices within ``allowed`` (and, in a volume
    stack, within one of its volumes: NRRN learnt from triplets of the last slice of one volume and the
    first of the next). A stack of one volume draws exactly as before."""
    while True:
        z = allowed[int(rng.integers(0, len(allowed) - depth + 1))]
        per = volume.volume_depth
        if depth == 1 or not per or per < depth or z // per == (z + depth - 1) // per:
            return z


def sample_crops(volumes: list[Volume], slices: list[range], size: int, batch: int,
                 rng: np.random.Generator, depth: int = 1) -> np.ndarray:
    """(batch, depth, size, size) float32 crops from random volumes and random allowed slices."""
    out = np.empty((batch, depth, size, size), np.float32)
    for b in range(batch):
        v = int(rng.integers(0, len(volumes)))
        z = run_start(volumes[v], slices[v], depth, rng)
        out[b] = crop(volumes[v].data, z, size, rng, depth)
    return out


def describe(volumes: list[Volume]) -> str:
    """'name (Z x Y x X, 10 nm)' for each volume, for the model card."""
    parts = []
    for v in volumes:
        z, y, x = v.data.shape
        px = f", {v.voxel_size_nm[2]:.4g} nm/px" if v.voxel_size_nm else ""
        parts.append(f"{Path(v.source).name} ({z}x{y}x{x}{px})")
    return "; ".join(parts)
