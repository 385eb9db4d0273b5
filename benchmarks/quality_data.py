"""Q benchmark data: the clean references, the noise conditions and the stored (uint8) noisy stacks.

Conventions (docs/benchmarks.md, protocol Q in ../shared/docs/benchmarks.md):

* a clean reference is a uint8 volume (Z, Y, X) read from ../shared/data; on the working scale it is
  ``uint8 / 255``, float32 on [0, 1];
* a noise condition maps a clean float32 (Y, X) slice on [0, 1] to a noisy float32 (Y, X) slice,
  not clipped, with the generator ``noise.slice_rng(condition.seed + dataset.seed_offset, z)``, so
  slice z of a dataset always gets the same noise, whatever subset of slices a run touches;
* the noisy data are then stored as a microscope would store them: ``round(clip(x, 0, 1) * 255)``
  as uint8 (:func:`to_uint8`); every method reads those uint8 data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tifffile

from benchmarks.common import FLYEM_VAL, SHARED_DATA
from emdenoise_gui.core import noise
from emdenoise_gui.core.pipeline import neighbour_indices

ROOT = Path(__file__).resolve().parents[1]
DATA = SHARED_DATA
FLYEM = FLYEM_VAL
SSTEM = DATA / "sstem_isbi2012_train_30x512x512.tif"

FLYEM_TEST = range(96, 128)   # test slices of the FlyEM validation volume (models trained elsewhere)
FLYEM_TRAIN = range(0, 96)    # the peer's noisy training slices (same volume, other slices)


@dataclass(frozen=True)
class Condition:
    """One synthetic noise condition.

    ``kind`` is a key of ``noise.NOISE_KINDS``; ``params`` are its keyword arguments in that
    function's units (dose and peak in counts per pixel, sigma in 8-bit grey levels); ``seed`` is
    the condition's fixed noise seed; ``value`` is the number the condition is swept over (dose,
    peak or sigma), None for charge and film.
    """

    name: str
    kind: str
    params: dict
    seed: int
    value: float | None = None

    def apply(self, clean: np.ndarray, z: int, seed_offset: int = 0) -> np.ndarray:
        """Noisy float32 (Y, X), not clipped, of the clean float32 (Y, X) slice ``z`` on [0, 1]."""
        rng = noise.slice_rng(self.seed + seed_offset, z)
        return noise.add_noise(clean, self.kind, rng, **self.params)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "params": self.params, "seed": self.seed, "value": self.value}


def _conditions() -> dict[str, Condition]:
    specs = [(f"poisson-dose {d:g}", "poisson-dose", {"dose": float(d)}, d) for d in (25, 50, 100, 300)]
    specs += [(f"poisson-peak {p:g}", "poisson-peak", {"peak": float(p)}, p) for p in (1, 4, 8, 30)]
    specs += [(f"gaussian {s:g}", "gaussian", {"sigma": float(s)}, s) for s in (10, 25, 35, 75)]
    specs += [("gaussian 0.05", "gaussian", {"sigma": 0.05 * 255.0}, 0.05 * 255.0),
              ("charge", "charge", {}, None), ("film", "film", {}, None)]
    # The seed is the condition's place in this fixed list (1-based), never its place in a run.
    return {name: Condition(name, kind, params, 100 + k, value)
            for k, (name, kind, params, value) in enumerate(specs, start=1)}


CONDITIONS: dict[str, Condition] = _conditions()
QUICK_CONDITIONS = ("poisson-dose 25", "poisson-dose 100", "gaussian 25", "film")
TINY_CONDITIONS = ("poisson-dose 25", "gaussian 25")
DOSE_CONDITIONS = tuple(n for n in CONDITIONS if n.startswith("poisson-dose"))
PEAK_CONDITIONS = tuple(n for n in CONDITIONS if n.startswith("poisson-peak"))
SIGMA8_CONDITIONS = tuple(n for n in CONDITIONS if n.startswith("gaussian") and n != "gaussian 0.05")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Store an image on [0, 1] (any float shape) as a microscope would: ``round(clip(x,0,1)*255)`` uint8."""
    return np.rint(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def voxel_size_nm(path: Path) -> tuple[float, float]:
    """(xy pixel size, z step) in nm of an ImageJ TIFF (XResolution in px/nm, metadata ``spacing``)."""
    with tifffile.TiffFile(path) as tif:
        num, den = tif.pages[0].tags["XResolution"].value
        spacing = float((tif.imagej_metadata or {}).get("spacing", 1.0))
    return den / num, spacing


def write_imagej(path: Path, data: np.ndarray, voxel_nm: tuple[float, float]) -> Path:
    """Write a uint8 (Z, Y, X) stack as an ImageJ TIFF carrying the voxel size, as the shared data do."""
    xy, z = voxel_nm
    tifffile.imwrite(path, data, imagej=True, resolution=(1.0 / xy, 1.0 / xy),
                     metadata={"axes": "ZYX", "spacing": z, "unit": "nm"})
    return path


@dataclass
class Dataset:
    """A clean reference volume and the slices a run scores on it.

    clean: uint8 (Z, Y, X), the whole volume's depth (possibly cropped in Y, X).
    slices: the scored slice indices z (into ``clean``).
    stack_ok: whether stack methods (3-slice filters, NRRN) apply: neighbouring slices are alike.
    seed_offset: added to every condition's seed, so that datasets get independent noise.
    """

    key: str
    label: str
    path: Path
    clean: np.ndarray
    slices: list[int]
    stack_ok: bool
    voxel_nm: tuple[float, float]
    seed_offset: int = 0
    _noisy: dict = field(default_factory=dict, repr=False)

    @property
    def z_range(self) -> range:
        """The contiguous slices that the scored slices and their neighbours span."""
        needed = [k for z in self.slices for k in neighbour_indices(z, len(self.clean), 3)]
        return range(min(needed), max(needed) + 1)

    def reference(self, z: int) -> np.ndarray:
        """Clean slice z as float32 (Y, X) on [0, 1]."""
        return self.clean[z].astype(np.float32) / 255.0

    def noisy(self, condition: Condition) -> np.ndarray:
        """The stored noisy uint8 stack (len(z_range), Y, X) for ``condition`` (cached, last one only)."""
        if condition.name not in self._noisy:
            self._noisy.clear()
            self._noisy[condition.name] = noisy_stack(self.clean, self.z_range, condition, self.seed_offset)
        return self._noisy[condition.name]

    def describe(self) -> dict:
        return {"label": self.label, "file": self.path.name, "shape": list(self.clean.shape),
                "slices": self.slices, "stack_methods": self.stack_ok, "voxel_nm": list(self.voxel_nm),
                "seed_offset": self.seed_offset}


def noisy_stack(clean: np.ndarray, zs: range, condition: Condition, seed_offset: int = 0) -> np.ndarray:
    """Noise slices ``zs`` of the clean uint8 (Z, Y, X) volume independently; uint8 (len(zs), Y, X)."""
    return np.stack([to_uint8(condition.apply(clean[z].astype(np.float32) / 255.0, z, seed_offset)) for z in zs])


def load_datasets(step: int = 1, crop: int | None = None, flyem_slices: list[int] | None = None,
                  sstem_slices: list[int] | None = None, with_sstem: bool = True) -> list[Dataset]:
    """The FlyEM test split and (optionally) the ISBI ssTEM stack, cropped to ``crop`` px from the top left.

    ``step`` keeps every step-th slice unless explicit slice lists are given.
    """
    crop_yx = (slice(0, crop), slice(0, crop)) if crop else (slice(None), slice(None))
    sets = [Dataset("flyem", "FlyEM FIB-SEM (10 nm), slices 96-127", FLYEM,
                    tifffile.imread(FLYEM)[(slice(None), *crop_yx)],
                    flyem_slices or list(FLYEM_TEST[::step]), True, voxel_size_nm(FLYEM), 0)]
    if with_sstem:
        clean = tifffile.imread(SSTEM)[(slice(None), *crop_yx)]
        sets.append(Dataset("sstem", "ISBI 2012 ssTEM (4 nm, 50 nm sections)", SSTEM, clean,
                            sstem_slices or list(range(0, len(clean), step)), False, voxel_size_nm(SSTEM), 1000))
    return sets


def peer_training_data(dataset: Dataset, condition: Condition) -> np.ndarray:
    """The peer's training input: FlyEM slices 0-95 noised like the test slices, stored as uint8,
    returned as float32 (96, Y, X) on [0, 1]."""
    return noisy_stack(dataset.clean, FLYEM_TRAIN, condition, dataset.seed_offset).astype(np.float32) / 255.0
