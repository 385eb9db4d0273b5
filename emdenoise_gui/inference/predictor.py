"""Tiled prediction with a model package on any device.

A :class:`Predictor` loads a verified package (safetensors, never pickle),
rebuilds its network from the card, and denoises slices through the core's
tile engine. By default ("quality: fast") tiles overlap by about twice the network's
measured receptive-field halo and are band-blended (``core.tiling.TilePlan.band``),
so each pixel is computed about once; a stride (the papers' 512 px tiles at stride
256, "quality: paper") gives Gaussian blending instead. Tiles run batched, in
``channels_last`` under ``inference_mode``, with autocast where the device computes
a lower precision natively (``models.device.autocast_dtype``). Inputs are on the
[0, 1] working scale of their stack; the card's normalisation (``core.normalise``) is
applied per slice before tiling and undone after blending, so tiles agree with each
other, or, for per-tile kinds, to each tile inside the tile function.
On CUDA the window goes to the GPU once and is scaled, tiled and blended there
(``inference.device_tiles``; the host path stays for the CPU and the naive loop), the tile batch
is sized from free device memory, and on an out-of-memory error it is halved and the run goes on
without losing finished tiles. On the CPU a batch holds about one 512 px tile
and is halved when it takes over ``CPU_BATCH_SECONDS``.

A cancel stops a tile between two layers: the job's ``CancelToken`` is checked before every
submodule of the network runs (a paper-size network takes seconds per tile on a CPU; a layer takes
milliseconds to a few hundred), besides between batches.
"""

from __future__ import annotations

import time
from typing import Generator

import numpy as np
import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.core.fill import keep_fill, mend_window
from emdenoise_gui.core.normalise import PER_TILE_KINDS, Normaliser, minmax_tiles
from emdenoise_gui.core.tiling import TileGrid, TilePlan, blend_tiles
from emdenoise_gui.inference.device_tiles import blend_on_device, upload_scaled
from emdenoise_gui.inference.halo import receptive_halo
from emdenoise_gui.models.blocks import channels_last_instance_norms, fold_batch_norms
from emdenoise_gui.models.device import autocast_dtype, native_bf16_cpu
from emdenoise_gui.models.registry import family
from emdenoise_gui.zoo.package import Package, load_network


class Predictor:
    """A package's denoiser on a device.

    ``input_slices`` adjacent slices (NRRN: 3, others 1) go in; one comes out.
    ``precision``: "auto", "fp32", "bf16" or "fp16" (``models.device.autocast_dtype``).
    ``optimised`` False keeps the reference layout (contiguous, no cuDNN autotuning); with
    ``precision="fp32"`` and batch 1 that is the naive loop the benchmarks compare against.
    ``batch_size`` None: tiles per batch chosen per tile size (CPU: ``cpu_batch``; CUDA: from free memory).
    ``device_tiles``: scale, cut and blend the tiles on the device (``inference.device_tiles``); None
    (default): on CUDA when ``optimised``. The host path is the naive loop's.
    """

    def __init__(self, package: Package, device: torch.device, batch_size: int | None = None,
                 precision: str = "auto", optimised: bool = True, device_tiles: bool | None = None):
        card = package.card
        self.package, self.card, self.device = package, card, device
        self.info = family(card.family)
        self.model = load_network(package).to(device).eval()
        if optimised:  # batch norms folded into their convolutions (the naive loop keeps them)
            fold_batch_norms(self.model)
        self.amp_dtype = autocast_dtype(device, precision)
        float32_cpu = device.type == "cpu" and self.amp_dtype is None
        channels_last = optimised and (self.info.channels_last or (float32_cpu and self.info.channels_last_float32))
        if channels_last and not self.info.channels_last:  # its instance norms made fast channels-last
            channels_last_instance_norms(self.model)
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model.to(memory_format=self.memory_format)
        self._auto_batch = batch_size is None
        self.batch_size = max(1, batch_size or 1)
        self._fitted_tile: int | None = None  # the tile size the batch was last chosen for
        self._per_tile = card.normalisation["kind"] in PER_TILE_KINDS
        if device.type == "cuda" and optimised:
            torch.backends.cudnn.benchmark = True
        self.device_tiles = (device.type == "cuda" and optimised) if device_tiles is None else device_tiles
        # FamilyInfo.bf16_weights: the same output as autocast without its cast of every weight for every tile
        self.weights_dtype = torch.float32
        if device.type == "cpu" and self.amp_dtype == torch.bfloat16 and self.info.bf16_weights and native_bf16_cpu():
            self.halo  # noqa: B018 - measured (and cached) in float32 first, as for every network
            self.weights_dtype, self.amp_dtype = torch.bfloat16, None
            self.model.to(torch.bfloat16)
        self._cancel = _CancelCheck()
        for module in self.model.modules():  # the hook holds no reference to the predictor
            module.register_forward_pre_hook(self._cancel)

    @property
    def compute_dtype(self) -> torch.dtype:
        """The precision the network computes in: its autocast type, its weights' type, or float32."""
        return self.amp_dtype or self.weights_dtype

    @property
    def input_slices(self) -> int:
        return self.info.input_slices

    @property
    def halo(self) -> int | None:
        """The network's receptive-field radius in px (``inference.halo``), None for a whole-tile context."""
        if self.info.context != "local":
            return None
        return receptive_halo(self.model, self.input_slices, self.tile_multiple,
                              key=(self.card.weights_sha256, self.device.type))

    def plan(self, tile: int = 512, stride: int | None = None) -> TilePlan:
        """The tiling: ``stride`` None is "quality: fast" (band blending, overlap from the halo; for
        whole-tile contexts tiles of at least FamilyInfo.min_tile px overlapping by its tile_overlap),
        a stride is the papers' Gaussian blending. Families whose context must match training
        (FamilyInfo.tile_is_training_crop) tile at the training crop, and at half of it in paper mode."""
        crop = self.card.training_crop
        fixed = bool(self.info.tile_is_training_crop and crop)
        if fixed:
            tile, stride = crop, None if stride is None else max(16, crop // 2)
        if stride is not None:
            return TilePlan.paper(tile, stride, self._guard(tile, stride))
        halo = self.halo
        if halo is None:
            return TilePlan.whole_tile(max(tile, self.info.min_tile), fixed, self.info.tile_overlap or None)
        return TilePlan.band(tile, halo + 1, 16, fixed=fixed)

    def _guard(self, tile: int, stride: int) -> int:
        """The px at a Gaussian-blended tile's edge its neighbours' results stand in for: the network's reach (its
        halo and a pixel; 0 for whole-tile and training-crop contexts). InputError when ``tile`` px tiles every
        ``stride`` px overlap by less than twice that: some pixels would only have results computed from the
        network's zero padding, and seams show (NRRN lite at tile 64, stride 64: 7.9 grey levels; inference
        audit of 2026-12-07)."""
        halo = None if self.info.tile_is_training_crop else self.halo
        if halo is None:
            return 0
        guard = halo + 1
        if tile - stride < 2 * guard:
            # the least tile whose halves overlap enough (a stride of half a tile, the paper's), and at least what
            # this stride needs (a --stride given: 32 px was advised for tiles every 64 px, and refused)
            half = max(-(-4 * guard // 16), -(-(stride + 2 * guard) // 16)) * 16
            other = f", tiles every {tile - 2 * guard} px or less (--stride)" if tile - 2 * guard >= tile // 4 else ""
            raise InputError(f"tiles of {tile} px every {stride} px overlap by {tile - stride} px, and this model "
                             f"needs {2 * guard} (twice the {guard} px it sees around each pixel), or their seams "
                             f"show: use tiles of {half} px or more (--tile; the tile size in Settings){other}, or "
                             "the fast quality, which overlaps them by what the model needs")
        return guard

    def _run(self, batch: np.ndarray) -> np.ndarray:
        """(B, [C,] h, w) normalised host tiles -> (B, h, w) float32 network output on the host."""
        x = torch.from_numpy(np.ascontiguousarray(batch, np.float32))
        if x.ndim == 3:
            x = x[:, None]
        if self.device.type == "cuda":
            x = x.pin_memory()  # page-locked: the copy to the GPU runs asynchronously
        return self._forward(x.to(self.device, non_blocking=True)).cpu().numpy()

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, h, w) float32 tiles on the device, normalised -> (B, h, w) float32 output there."""
        # float32 in: a bf16_weights network casts its input itself, keeping float32 for any skip from
        # input to output (the gated cyclic G2), as under autocast
        x = x.contiguous(memory_format=self.memory_format)
        with torch.inference_mode(), torch.autocast(device_type=self.device.type, dtype=self.amp_dtype,
                                                    enabled=self.amp_dtype is not None):
            y = self.model.denoise(x)
        return y[:, 0].float()

    def _tile_fn(self, batch: np.ndarray) -> np.ndarray:
        """Runs a batch, halving it on CUDA out-of-memory until one tile at a time."""
        if self._per_tile:
            # Ede & Beanland: each crop min-max scaled, its prediction clipped to [0, 1], scaled back
            scaled, lo, span = minmax_tiles(batch)
            out = np.clip(self._run_batches(scaled), 0.0, 1.0)
            return (out * span[:, None, None] + lo[:, None, None]).astype(np.float32)
        return self._run_batches(batch)

    def _run_batches(self, batch, run=None):
        """Run ``batch`` (host numpy tiles through ``_run``, or device tensors through ``run``) in chunks
        of ``self.batch_size`` tiles, the outputs joined in order. On an out-of-memory error the chunk
        size is halved and the run goes on from the chunk that failed: tiles already done are kept.
        Raises InputError when even one tile does not fit."""
        run = run or self._run
        done, start = [], 0
        while start < len(batch):
            self._cancel.check()
            size = self.batch_size
            try:
                began = time.perf_counter()
                done.append(run(batch[start:start + size]))
                self._after_batch(size, time.perf_counter() - began)
            except torch.OutOfMemoryError:
                if size == 1:
                    raise InputError("the GPU ran out of memory even for one tile; choose a smaller tile "
                                     "size in the settings or use the CPU") from None
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
                self.batch_size = max(1, size // 2)
                continue
            start += size
        return torch.cat(done) if isinstance(done[0], torch.Tensor) else np.concatenate(done)

    def _after_batch(self, size: int, seconds: float) -> None:
        """On the CPU, an automatic batch of several tiles that took over CPU_BATCH_SECONDS is halved
        (for the rest of the run): progress and the cancel check between batches come that often."""
        if self._auto_batch and self.device.type == "cpu" and size > 1 and seconds > CPU_BATCH_SECONDS:
            self.batch_size = max(1, size // 2)

    def _choose_batch(self, tile: int) -> None:
        """An automatic batch (``batch_size`` None) for ``tile`` px tiles: from free memory on CUDA,
        ``cpu_batch`` elsewhere; once per tile size. A batch the caller gave is kept (an out-of-memory
        error still halves it)."""
        if not self._auto_batch or self._fitted_tile == tile:
            return
        if self.device.type == "cuda":
            self.fit_batch(tile)
        else:
            self.batch_size = cpu_batch(tile)
        self._fitted_tile = tile

    def fit_batch(self, tile: int, free_bytes: int | None = None) -> int:
        """On CUDA, set ``batch_size`` from the free device memory: a ``tile`` x ``tile`` probe measures
        the peak bytes a tile needs, and the batch takes 80 % of ``free_bytes`` (default: what
        ``torch.cuda.mem_get_info`` reports), at most CUDA_BATCH_CAP tiles. The probe runs twice and the
        second counts: a shape's first call can include cuDNN's search with its large workspaces (on the
        H200 the first probe's figure left cyclic paper a batch of 3 in 33 GB). Elsewhere the batch
        stays. Returns the batch size."""
        if self.device.type != "cuda":
            return self.batch_size
        if free_bytes is None:
            free_bytes = torch.cuda.mem_get_info(self.device)[0]
        for _ in range(2):
            torch.cuda.reset_peak_memory_stats(self.device)
            before = torch.cuda.memory_allocated(self.device)
            self._run(np.zeros((1, self.input_slices, tile, tile), np.float32))
            per_tile = torch.cuda.max_memory_allocated(self.device) - before
        self.batch_size = batch_from_memory(free_bytes, per_tile, self.batch_size, CUDA_BATCH_CAP)
        return self.batch_size

    @property
    def tile_multiple(self) -> int:
        """Tile sides and strides are multiples of this (px): the network's downsampling, at least 16."""
        return max(16, self.info.multiple)

    def normaliser(self, window: np.ndarray, mended: tuple[np.ndarray, np.ndarray | None] | None = None
                   ) -> Normaliser:
        """The card's input scaling with its numbers taken from ``window`` (C, H, W), e.g. a whole slice
        (``mended``: ``core.fill.mend_window(window)`` where the caller has it)."""
        return Normaliser(self.card.normalisation, window, mended)

    def is_local(self, stride: int | None) -> bool:
        """Whether a pixel's result depends only on its neighbourhood (of ``halo`` px) and not on where the
        tiles fall: a local network band-blended (``stride`` None). Parts of a slice with more context
        than the halo then give the whole slice's result."""
        return stride is None and self.halo is not None

    def tile_count(self, shape: tuple[int, int], tile: int = 512, stride: int | None = None) -> int:
        """Tiles :meth:`denoise` runs for an (H, W) ``shape``."""
        return len(TileGrid.build(*shape, self.plan(tile, stride), self.tile_multiple))

    def denoise(self, window: np.ndarray, tile: int = 512, stride: int | None = None,
                cancel: CancelToken | None = None, normaliser: Normaliser | None = None,
                mend: bool = True) -> Generator[tuple[int, int], None, np.ndarray]:
        """Denoise the centre slice of ``window`` (C, H, W) float32 on the working scale; a generator.

        ``tile`` px tiles; ``stride`` None band-blends (fast), a stride Gaussian-blends (paper).
        Yields (tiles done, tiles in all); returns the (H, W) float32 result on the working scale.
        ``cancel`` is checked between batches and before every layer of the network (raises
        ``core.errors.Cancelled``). ``normaliser``: the scaling to use (``self.normaliser`` of the whole
        slice when ``window`` is a part of it), else one computed from ``window``. ``mend``: keep an aligned
        stack's fill out of the work here (``core.fill``); False for a part of a window mended whole, whose
        caller passes the fill through (a part mended alone differed from the whole slice's result near it).
        """
        self._cancel.token = cancel
        if window.shape[0] != self.input_slices:
            raise ValueError(f"{self.card.family} takes {self.input_slices} slices, got {window.shape[0]}")
        centre = window[window.shape[0] // 2]
        # a blank slice: nothing to remove, and scaling by its zero spread would make a grey one up (cyclic); a
        # blank part of a slice that is not (a region, a preview's view) is denoised as the whole slice's job does
        blank = normaliser.blank if normaliser is not None else centre.size and centre.min() == centre.max()
        if blank:
            return np.array(centre, np.float32)
        plan = self.plan(tile, stride)
        self._choose_batch(plan.tile)
        mended = mend_window(window) if mend else (window, None)  # a stack's fill out of the work (core.fill)
        norm = normaliser or self.normaliser(window, mended if mend else None)  # from the data, not its fill
        window, fill = mended
        kept = None if fill is None else centre[fill]
        del centre
        started = self._device_blend(window, plan, norm, cancel) if self.device_tiles else None
        if started is not None:
            first, tiles = started
            del window  # the window on the device is referenced by the blend alone, which frees it
            yield first
            return keep_fill((yield from tiles), kept, fill)
        self.device_tiles = False  # the host path: chosen, or no room on the device (then for later slices too)
        prepared = norm.forward(window)
        # blend_tiles gets the only reference to the normalised copy (cut into tiles where it lies, never
        # padded: core.tiling) and drops it once the last tile is cut; the window itself goes here
        tiles = blend_tiles(prepared[0] if self.input_slices == 1 else prepared, self._tile_fn, plan,
                            batch_size=self.batch_size, multiple=self.tile_multiple, cancel=cancel)
        del window, prepared
        return keep_fill(norm.inverse((yield from tiles)), kept, fill)

    def _device_blend(self, window: np.ndarray, plan: TilePlan, norm: Normaliser, cancel: CancelToken | None):
        """:func:`device_tiles.blend_on_device` of ``window`` started: (its first progress, the blend generator
        to go on with), or None when the window and the blend's whole-slice buffers do not fit in the
        device's memory (the network's own batches halve on their own)."""
        grid = TileGrid.build(*window.shape[-2:], plan, self.tile_multiple)
        try:
            tiles = blend_on_device(upload_scaled(window, norm.channel_params(window.shape[0]), grid, self.device,
                                                  norm.bounds),
                                    lambda x: self._run_batches(x, self._forward), grid, self.batch_size,
                                    (norm.offset, norm.scale), self._per_tile, cancel)
            return next(tiles), tiles
        except torch.OutOfMemoryError:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            return None


#: A CPU batch of several tiles that takes longer than this (s) is halved: a cancel between batches and
#: the progress bar's steps come at least this often (a cancel inside a batch stops at the next layer).
CPU_BATCH_SECONDS = 0.5

#: Pixels per batch on the CPU. Measured on 2 AVX-512 cores (docs/benchmarks.md, speed): NRRN lite
#: takes 1.1 s/MP with one 512 px tile per batch and 1.5 s/MP with four (the feature maps of a bigger
#: batch fall out of the caches); smaller tiles batch up to the same pixel count.
CPU_BATCH_PIXELS = 512 * 512


def cpu_batch(tile: int) -> int:
    """Tiles of ``tile`` px per batch on the CPU: as many as fit in CPU_BATCH_PIXELS, 1..16."""
    return int(max(1, min(16, CPU_BATCH_PIXELS // (tile * tile))))


#: Most tiles per batch on CUDA. On the H200 (docs/benchmarks.md, cuda speed) NRRN paper in bf16 ran at
#: 68 TFLOP/s in batches of 4 and 42 in batches of 64 (21 GB; 38 GB in float32): large batches bought no
#: speed there and would fill a shared workstation GPU. 16 tiles of 512 px: a few GB for the paper sizes.
CUDA_BATCH_CAP = 16


def batch_from_memory(free_bytes: int, per_tile_bytes: int, current: int = 4, cap: int = 64) -> int:
    """Tiles per batch that fit in 80 % of ``free_bytes`` when one tile needs ``per_tile_bytes``
    (both in bytes): at least 1, at most ``cap``; ``current`` when the probe measured nothing."""
    if per_tile_bytes <= 0:
        return max(1, current)
    return int(max(1, min(cap, (0.8 * free_bytes) // per_tile_bytes)))


class _CancelCheck:
    """A forward pre-hook for every submodule of a network: raises ``Cancelled`` once ``token`` (the
    running job's CancelToken, None outside a job) is cancelled."""

    def __init__(self) -> None:
        self.token: CancelToken | None = None

    def check(self) -> None:
        if self.token is not None:
            self.token.raise_if_cancelled()

    def __call__(self, _module, _inputs) -> None:
        self.check()
