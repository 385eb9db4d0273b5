"""Tiled prediction with a model package on any device.

A :class:`Predictor` loads a verified package (safetensors, never pickle),
rebuilds its network from the card, and denoises slices through the core's
tile engine (512 px tiles, stride 256, Gaussian blending). Inputs are on the
[0, 1] working scale of their stack; the card's normalisation (``core.normalise``) is
applied per slice before tiling and undone after blending, so tiles agree with each
other, or, for per-tile kinds, to each tile inside the tile function.
On CUDA the tile batch is sized from free device memory; on an out-of-memory error it is halved
and the run goes on without losing finished tiles.
"""

from __future__ import annotations

from typing import Generator

import numpy as np
import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.core.normalise import PER_TILE_KINDS, Normaliser, minmax_tiles
from emdenoise_gui.core.tiling import blend_tiles
from emdenoise_gui.models.registry import family
from emdenoise_gui.zoo.package import Package, load_weights


class Predictor:
    """A package's denoiser on a device.

    ``input_slices`` adjacent slices (NRRN: 3, others 1) go in; one comes out.
    """

    def __init__(self, package: Package, device: torch.device, batch_size: int = 4, amp: bool = True):
        card = package.card
        self.package, self.card, self.device = package, card, device
        self.info = family(card.family)
        try:
            model = self.info.build(**card.architecture)
            model.load_state_dict(load_weights(package))
        except InputError:
            raise
        except Exception as exc:  # wrong architecture for the weights, missing keys, bad shapes
            raise InputError(f"the weights do not fit the card's {card.family} architecture ({exc})",
                             package.path) from exc
        self.model = model.to(device).eval()
        self.batch_size = max(1, batch_size)
        self._fitted_tile: int | None = None  # the tile size fit_batch last measured (CUDA)
        self._per_tile = card.normalisation["kind"] in PER_TILE_KINDS
        self.amp_dtype = None
        if device.type == "cuda" and amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16

    @property
    def input_slices(self) -> int:
        return self.info.input_slices

    def tiling(self, tile: int, stride: int) -> tuple[int, int]:
        """The (tile, stride) to use: the requested ones, or the training crop (stride half of it)
        for families whose receptive context must match training (see FamilyInfo)."""
        crop = self.card.training_crop
        if self.info.tile_is_training_crop and crop:
            return crop, max(16, crop // 2)
        return tile, stride

    @torch.no_grad()
    def _run(self, batch: np.ndarray) -> np.ndarray:
        """(B, [C,] h, w) normalised tiles -> (B, h, w) network output."""
        x = torch.from_numpy(np.ascontiguousarray(batch, np.float32))
        if x.ndim == 3:
            x = x[:, None]
        x = x.to(self.device)
        if self.amp_dtype is not None:
            with torch.autocast(device_type="cuda", dtype=self.amp_dtype):
                y = self.model.denoise(x)
        else:
            y = self.model.denoise(x)
        return y.float()[:, 0].cpu().numpy()

    def _tile_fn(self, batch: np.ndarray) -> np.ndarray:
        """Runs a batch, halving it on CUDA out-of-memory until one tile at a time."""
        if self._per_tile:
            # Ede & Beanland: each crop min-max scaled, its prediction clipped to [0, 1], scaled back
            scaled, lo, span = minmax_tiles(batch)
            out = np.clip(self._run_batches(scaled), 0.0, 1.0)
            return (out * span[:, None, None] + lo[:, None, None]).astype(np.float32)
        return self._run_batches(batch)

    def _run_batches(self, batch: np.ndarray) -> np.ndarray:
        """Run ``batch`` in chunks of ``self.batch_size`` tiles. On an out-of-memory error the chunk
        size is halved and the run goes on from the chunk that failed: tiles already done are kept.
        Raises InputError when even one tile does not fit."""
        done, start = [], 0
        while start < len(batch):
            size = self.batch_size
            try:
                done.append(self._run(batch[start:start + size]))
            except torch.OutOfMemoryError:
                if size == 1:
                    raise InputError("the GPU ran out of memory even for one tile; choose a smaller tile "
                                     "size in the settings or use the CPU") from None
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                self.batch_size = max(1, size // 2)
                continue
            start += size
        return np.concatenate(done)

    def fit_batch(self, tile: int, free_bytes: int | None = None) -> int:
        """On CUDA, set ``batch_size`` from the free device memory: one ``tile`` x ``tile`` probe measures
        the peak bytes a tile needs, and the batch takes 80 % of ``free_bytes`` (default: what
        ``torch.cuda.mem_get_info`` reports). Elsewhere the batch stays. Returns the batch size."""
        if self.device.type != "cuda":
            return self.batch_size
        if free_bytes is None:
            free_bytes = torch.cuda.mem_get_info(self.device)[0]
        torch.cuda.reset_peak_memory_stats(self.device)
        before = torch.cuda.memory_allocated(self.device)
        self._run(np.zeros((1, self.input_slices, tile, tile), np.float32))
        per_tile = torch.cuda.max_memory_allocated(self.device) - before
        self.batch_size = batch_from_memory(free_bytes, per_tile, self.batch_size)
        return self.batch_size

    def denoise(self, window: np.ndarray, tile: int = 512, stride: int = 256,
                cancel: CancelToken | None = None) -> Generator[tuple[int, int], None, np.ndarray]:
        """Denoise the centre slice of ``window`` (C, H, W) float32 on the working scale; a generator.

        Yields (tiles done, tiles in all); returns the (H, W) float32 result on the working scale.
        """
        if window.shape[0] != self.input_slices:
            raise ValueError(f"{self.card.family} takes {self.input_slices} slices, got {window.shape[0]}")
        tile, stride = self.tiling(tile, stride)
        if self.device.type == "cuda" and self._fitted_tile != tile:
            self.fit_batch(tile)
            self._fitted_tile = tile
        norm = Normaliser(self.card.normalisation, window)
        prepared = norm.forward(window)
        image = prepared[0] if self.input_slices == 1 else prepared
        out = yield from blend_tiles(image, self._tile_fn, tile=tile, stride=stride,
                                     batch_size=self.batch_size, multiple=max(16, self.info.multiple),
                                     cancel=cancel)
        return norm.inverse(out)


def batch_from_memory(free_bytes: int, per_tile_bytes: int, current: int = 4, cap: int = 64) -> int:
    """Tiles per batch that fit in 80 % of ``free_bytes`` when one tile needs ``per_tile_bytes``
    (both in bytes): at least 1, at most ``cap``; ``current`` when the probe measured nothing."""
    if per_tile_bytes <= 0:
        return max(1, current)
    return int(max(1, min(cap, (0.8 * free_bytes) // per_tile_bytes)))
