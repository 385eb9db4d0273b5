"""Block processing: denoise a volume into an OME-Zarr store block by block, resumable.

The volume is cut along z into blocks aligned to what the output store writes at once
(:func:`omezarr.write_depth`: a shard of NGFF 0.5, so two workers never write the same stored
object), whole slices each. A block reads its slices and, for a model or filter that takes
neighbours (NRRN, the "-avg" filters), one slice above and below (the z halo, reflected at the
ends of the volume as in the single-machine path); in the plane the model's own tiling overlaps
tiles by its receptive field, so there is no seam at a block border. Every block sees the
intensity scale measured once for the whole volume: a block's output equals what
``emdenoise denoise`` writes for the same slices.

The output store is created first (NGFF metadata, the job's parameters in its attributes), and
each finished block leaves a record (``OUT.zarr/.emdenoise-blocks/<z0>-<z1>``) after its pixels
are written, so a run that was killed and started again with the same parameters skips the
finished blocks; until every block has its record, readers refuse the store (its "emdenoise" attribute
says how many blocks the run has). :func:`denoise_blocks` runs the blocks here, one after another;
:mod:`jobs.cluster` hands the same :func:`run_block` to Dask workers.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Generator, Iterator

import numpy as np

from emdenoise_gui.core import atomic, baselines, memory
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken, Message, Progress, Stage, run_to_end
from emdenoise_gui.core.io import omezarr, open_stack
from emdenoise_gui.core.io.writer import cast_to
from emdenoise_gui.core.pipeline import IntensityScale, SliceCache
from emdenoise_gui.jobs.stack import (
    StackJob,
    check_tiling,
    filter_window,
    provenance,
    resolve_dtype,
    scale_for_output,
    stage,
)

RECORDS = omezarr.BLOCK_RECORDS


@dataclass(frozen=True)
class StoreCreated:
    """Event: the run created its output store, whose run token (:func:`store_run`) is ``run``: the store a run
    that fails on its input removes (and no other: another run may write one of that name meanwhile)."""

    run: str


class Unfinished(InputError):
    """A block run stopped by its cluster (no workers, a lost scheduler, a worker killed again and again), not
    by its input: the blocks written are kept, and the same command goes on from them."""


@dataclass(frozen=True)
class BlockJob:
    """Everything a worker needs to denoise one block, picklable (paths as strings).

    kind / name / path: the denoiser (``"filter"`` and a baselines name, or ``"model"``, its zoo
    name and package folder); lo / hi: the volume's intensity scale; tile / stride: tiling as in
    ``emdenoise denoise``; dtype: the output pixel type; source_stamp: :func:`source_stamp` of the
    source when the job began (a source changed since is another job); weights: the model's weights
    sha256 (a package replaced under the same name is another job: its blocks were resumed into the
    old model's store); precision ("auto", "fp32", ...), device and batch_size: how a model runs.
    """

    source: str
    output: str
    kind: str
    name: str
    path: str | None
    lo: float
    hi: float
    tile: int
    stride: int | None
    dtype: str
    source_stamp: str = ""
    device: str = "auto"
    weights: str = ""
    precision: str = "auto"
    batch_size: int | None = None

    def parameters(self) -> dict:
        """What makes two runs the same job (the device and batch size do not change the result's meaning;
        the precision does, a little)."""
        record = asdict(self)
        record.pop("device")
        record.pop("batch_size")
        return record


def source_stamp(path: str | Path) -> str:
    """Size and modification time of a source file, or for a folder (an OME-Zarr store) the count, total
    size and newest time of its files: what changes when the data are rewritten, cheaply."""
    path = Path(path)
    if path.is_file():
        stat = path.stat()
        return f"file {stat.st_size} {stat.st_mtime_ns}"
    count = size = newest = 0
    for folder, _dirs, names in os.walk(path):
        for name in names:
            stat = os.stat(os.path.join(folder, name))
            count, size, newest = count + 1, size + stat.st_size, max(newest, stat.st_mtime_ns)
    return f"folder {count} {size} {newest}"


def plan_blocks(depth: int, block_depth: int) -> list[tuple[int, int]]:
    """(z0, z1) ranges covering ``depth`` slices, ``block_depth`` each (the last may be shorter)."""
    if block_depth < 1:
        raise ValueError("block_depth must be at least 1")
    return [(z0, min(z0 + block_depth, depth)) for z0 in range(0, depth, block_depth)]


def _record(output: str | Path, block: tuple[int, int]) -> Path:
    return Path(output) / RECORDS / f"{block[0]}-{block[1]}"


def finished_blocks(output: str | Path) -> set[tuple[int, int]]:
    """The blocks whose records are in the output store."""
    folder = Path(output) / RECORDS
    if not folder.is_dir():
        return set()
    return {tuple(int(v) for v in item.name.split("-")) for item in folder.iterdir() if item.name[0].isdigit()}


#: Predictors by (package folder, device), one per worker process: a model is loaded once per worker.
_PREDICTORS: dict[tuple[str, str], object] = {}


def _predictor(job: BlockJob):
    key = (job.path, job.weights, job.device, job.precision, job.batch_size)
    if key not in _PREDICTORS:
        from emdenoise_gui.jobs.denoise import _predictor as make
        from emdenoise_gui.zoo.package import verify_folder

        _PREDICTORS[key] = make(verify_folder(Path(job.path)), job.device, job.batch_size, job.precision)
    return _PREDICTORS[key]


def run_block(job: BlockJob, block: tuple[int, int], cancel: CancelToken | None = None) -> tuple[int, int]:
    """Denoise slices ``block`` = (z0, z1) of the job's source into its output store, then record the
    block as finished. Returns the block. Runs on a Dask worker as well as here."""
    return run_to_end(block_slices(job, block, cancel))


def block_slices(job: BlockJob, block: tuple[int, int], cancel: CancelToken | None = None
                 ) -> Generator[int, None, tuple[int, int]]:
    """:func:`run_block` as a generator: yields each slice z once it is denoised (a run here shows slices
    done, not only blocks: one block of a small volume said nothing until its end), returns the block."""
    z0, z1 = block
    for path, what in ((job.output, "output"), (job.source, "input")):
        if not Path(path).exists():  # a worker on a machine without the path: "another run's store" was said
            raise InputError(f"the {what} is not there for the worker that ran slices {z0}-{z1 - 1}: a cluster's "
                             "workers must see the input and the output at the same paths, on a file system they "
                             "share (docs/cluster.md)", path)
    scale = IntensityScale(job.lo, job.hi)
    if job.kind == "model":
        predictor = _predictor(job)
        count = predictor.input_slices
    else:
        count = baselines.FILTERS[job.name].slices
    # the block's result in the output's type, each slice cast in as it is done: a list of float32 slices, then
    # their stack, then its cast held a 16-slice block three times over (about 230 bytes per slice pixel; review)
    out = None
    with open_stack(job.source) as stack:
        stack.hold_still(range(max(0, z0 - count // 2), min(len(stack), z1 + count // 2)))  # this block's files
        cache = SliceCache(stack, size=count + 1)
        for z in range(z0, z1):
            window = cache.window(z, count, scale)
            if job.kind == "model":
                steps = predictor.denoise(window, job.tile, job.stride, cancel)
            else:
                steps = filter_window(job.name, window, job.tile, job.stride, cancel)
            result = scale.from_unit(run_to_end(steps))
            del window, steps
            if not np.isfinite(result).all():  # before the cast: an integer type would hide them
                raise InputError(f"slice {z} of the result holds NaN or infinite values: the model does not fit "
                                 "this data or its weights are damaged", job.output)
            if out is None:
                out = np.empty((z1 - z0, *result.shape), np.dtype(job.dtype))
            try:
                out[z - z0] = cast_to(result, out.dtype, f"slice {z} of the result")
            except InputError as exc:
                raise InputError(exc.problem, job.output) from None
            yield z
    if not _holds_job(Path(job.output), job):  # a cancelled run's block, still running on a scheduler's worker,
        # wrote into the store of the next run at that path, and nothing showed it (block audit)
        raise InputError(f"now holds another run's store (this run was stopped meanwhile): slices {z0}-{z1 - 1} "
                         "were not written to it", job.output)
    array, _, _ = omezarr.open_image(Path(job.output), mode="r+")
    array[z0:z1] = out
    # on the disk before the record that says so: after a power cut a recorded block was skipped by the next
    # run though its pixels never reached the disk, and the store read as finished (kill audit of 2026-12-06)
    for stored in omezarr.stored_files(array, Path(job.output), range(z0, z1)):
        if stored.exists():
            atomic.fsync_tree(stored)
    record = _record(job.output, block)
    record.parent.mkdir(exist_ok=True)
    with open(record, "w", encoding="utf-8") as fh:  # its name is the record (no temporary name in this folder)
        fh.write(json.dumps({"min": float(out.min()), "max": float(out.max()), "worker": os.getpid()}))
        fh.flush()
        os.fsync(fh.fileno())
    atomic.fsync_dir(record.parent)
    return block


def prepare(source, output, denoiser, tile=512, stride=None, dtype="float32", device="auto",
            overwrite=False, ngff: str | None = None, precision: str = "auto",
            batch_size: int | None = None, task_memory: int | None = None,
            cluster: bool = False) -> tuple[BlockJob, list[tuple[int, int]], int]:
    """Check the job, create (or, for the same job, reopen) the output store; (job, blocks to do,
    blocks in all).

    ``denoiser`` is a :class:`jobs.denoise.Denoiser`. An existing store that holds another job's
    result is refused unless ``overwrite``; then a finished one is moved aside (:func:`previous_path`)
    until this run finishes (:func:`finish`), and an unfinished one is replaced. A finished store of
    the same job has nothing left to do. Before any of that, :func:`check_memory` with ``task_memory`` and
    ``cluster``.
    """
    from emdenoise_gui.core.io.formats import check_output

    source, output = Path(source), Path(output)
    if output.suffix.lower() != ".zarr":
        raise InputError("block processing writes an OME-Zarr store: name the output .zarr", output)
    check_tiling(tile, stride)
    exists = output.exists()
    check_output(output, [source], overwrite=True)  # the same job may be resumed: checked below
    with open_stack(source) as stack:
        out_dtype = resolve_dtype(dtype, stack)
        scale = scale_for_output(stack, out_dtype)
        meta = stack.meta
    if denoiser.kind == "model":
        from emdenoise_gui.jobs.denoise import check_batch_size, check_tile_multiple
        from emdenoise_gui.zoo.registry import resolve

        check_batch_size(batch_size)  # refused by a run of the stack as a whole, taken here (block audit)
        package = resolve(denoiser.path)
        check_tile_multiple(package.card.family, tile, stride)
        path, weights = str(package.path), package.card.weights_sha256
    else:
        if denoiser.name not in baselines.FILTERS:
            raise InputError(f"unknown method '{denoiser.name}'; choose one of {', '.join(baselines.FILTERS)}")
        baselines.FILTERS[denoiser.name].check_available()
        path, weights, precision, batch_size = None, "", "auto", None  # a filter runs one way only
    job = BlockJob(str(source.resolve()), str(output.resolve()), denoiser.kind, denoiser.name, path,
                   scale.lo, scale.hi, tile, stride, out_dtype.name, source_stamp(source), device, weights,
                   precision, batch_size)
    # before a finished result is moved aside or an unfinished one removed (review): the deepest block there can be
    depth = min(meta.shape[0], omezarr.MIN_BLOCK_DEPTH if ngff == "0.4" else omezarr.SHARD_DEPTH)
    check_memory(job, meta.shape, meta.dtype, depth, task_memory, cluster)
    if exists:
        same = _holds_job(output, job)
        version = omezarr.open_image(output)[2] if same and ngff else ngff
        if version != ngff and not overwrite:  # --ngff 0.4 finished a 0.5 store as 0.5, exit 0
            raise InputError(f"is the OME-Zarr {version} store of this job, not {ngff}: leave out --ngff to "
                             f"finish it as {version}, choose another name, or pass --overwrite", output)
        same = same and version == ngff
        if not same and not overwrite:
            raise InputError("already exists and holds another job's result (or this job's, for an input "
                             "changed since); choose another name or pass --overwrite", output)
        if not same:
            _set_aside(output)
    if not output.exists():
        blocks = _create(output, job, meta, out_dtype, ngff)
    else:
        # (a store without its block count, from a version before 2026-12-06, is counted by its readers)
        blocks = plan_blocks(meta.shape[0], omezarr.block_depth_for(omezarr.open_image(output)[0]))
    done = finished_blocks(output)
    return job, [b for b in blocks if b not in done], len(blocks)


def _create(output: Path, job: BlockJob, meta, dtype: np.dtype, ngff: str | None) -> list[tuple[int, int]]:
    """Create the job's empty store at ``output`` with its parameters and block count (readers refuse it
    until every block is done), staged beside it and renamed into place: a run killed while creating it
    left a store without its count, which read as a finished result of zeros. Returns its blocks."""
    staging = output.with_name(f".{output.name}.creating")
    shutil.rmtree(staging, ignore_errors=True)
    from emdenoise_gui.jobs.denoise import model_words

    # where it runs is not said: each worker of a cluster picks its own device
    made_by = (model_words(job.name, job.weights) if job.kind == "model" else f"the filter {job.name}") + ", in blocks"
    ours = {"job": job.parameters(), "run": uuid.uuid4().hex,  # the run: which of two runs' stores this is
            "made_by": provenance(made_by, Path(job.source).name, range(meta.shape[0]), meta.shape[0])}
    array = omezarr.create(staging, meta.shape, dtype, meta.voxel_size_nm, ngff, extra_attributes={"emdenoise": ours},
                           placement=meta.extra.get("placement"))  # where an MRC or OME-Zarr input sits
    blocks = plan_blocks(meta.shape[0], omezarr.block_depth_for(array))  # the count needs the store's write unit
    _store_attribute(staging, {**ours, "blocks": len(blocks)})
    os.replace(staging, output)
    return blocks


def start(source, output, denoiser, tile, stride, dtype, device, overwrite, ngff,
          cancel: CancelToken | None, precision: str = "auto", batch_size: int | None = None,
          task_memory: int | None = None, cluster: bool = False
          ) -> Generator[Stage | Message, None, tuple[BlockJob, list[tuple[int, int]]]]:
    """The first steps of every block run, here or on a cluster: a Stage, :func:`prepare` (``task_memory`` and
    ``cluster``: its memory check's), and what a resumed run skips, in the user's words. Returns (job, blocks to
    do)."""
    yield stage("preparing blocks", cancel)
    before = store_run(output)
    job, todo, total = prepare(source, output, denoiser, tile, stride, dtype, device, overwrite, ngff, precision,
                               batch_size, task_memory, cluster)
    if (run := store_run(output)) is not None and run != before:  # made now (a new name, or --overwrite)
        yield StoreCreated(run)
    with open_stack(source) as stack:  # what the result cannot keep, as a run of the whole stack says it
        dtype = np.dtype(job.dtype)
        yield from StackJob(stack, Path(output), range(len(stack)), dtype).output_notes(dtype)
    if not todo:
        yield Message(f"{output}: all {total} blocks were already done; nothing to compute")
    elif len(todo) < total:
        yield Message(f"{output}: resuming; {total - len(todo)} of {total} blocks were already done")
    return job, todo


def check_memory(job: BlockJob, shape: tuple[int, ...], input_dtype, depth: int, task_memory: int | None = None,
                 cluster: bool = False) -> None:
    """InputError where a block of ``depth`` slices of ``job`` on a (Z, Y, X) ``shape`` stack of ``input_dtype``
    cannot fit the memory (``core.memory.check_block_memory``): this computer's, or on a ``cluster`` the least a
    task of its workers may use (``task_memory`` bytes: a worker's limit over its threads; None: no worker has
    said one yet, e.g. batch jobs still queued, and nothing is checked). A block's results stay until it is
    written: 16 slices of 4096^2 px take about 3 GB."""
    if cluster and task_memory is None:
        return
    if job.kind == "model":
        from emdenoise_gui.zoo.package import open_package

        figure = memory.model_bytes_per_px(open_package(job.path).card.family, input_dtype, job.dtype)
    else:
        filt = baselines.FILTERS[job.name]
        figure = memory.filter_bytes_per_px(filt.slices, filt.whole_slice, input_dtype, job.dtype)
    if not cluster:  # a slice at a time cannot fit either: say that, not "denoise without --scheduler" (review)
        memory.check_slice_memory(shape[1:], figure, job.source, writes=False, model=job.kind == "model")
    memory.check_block_memory(shape[1:], depth, memory.block_bytes_per_px(figure, depth, job.dtype), job.source,
                              task_memory, cluster, job.kind == "model")


def previous_path(output: str | Path) -> Path:
    """Where a run with ``--overwrite`` keeps the finished result it replaces (``omezarr.previous_path``)."""
    return omezarr.previous_path(output)


def _set_aside(output: Path) -> None:
    """Make room for a new run at ``output``: an unfinished block run's store (``omezarr.unfinished_block_run``)
    is deleted; any other store is moved to :func:`previous_path` (the last one wins; it is deleted by
    :func:`finish`). An unfinished store was taken for finished (its image opened), and a second failed
    ``--overwrite`` run replaced the finished result kept aside with it (block audit); a store the app cannot
    read as a stack (with channels, say) is kept aside too, not deleted."""
    previous = previous_path(output)
    if omezarr.unfinished_block_run(output):
        shutil.rmtree(output)
    else:
        if previous.exists():
            shutil.rmtree(previous)
        os.replace(output, previous)


def finish(output: str | Path) -> None:
    """A block run at ``output`` has written every block: the result it replaced (if any) goes."""
    shutil.rmtree(previous_path(output), ignore_errors=True)


def _store_attribute(output: Path, value: dict) -> None:
    """Set the store's "emdenoise" attribute to ``value``."""
    import zarr

    zarr.open_group(str(output), mode="r+").attrs["emdenoise"] = value


def _holds_job(output: Path, job: BlockJob) -> bool:
    """Whether the store ``output`` was created for ``job`` (its parameters; a store of a version that did not
    record the weights or precision: the defaults, a model's any weights)."""
    stored = _stored_parameters(output)
    if stored is not None:
        stored = {"weights": job.weights, "precision": "auto", **stored}
    return stored == job.parameters()


def _stored_parameters(output: Path) -> dict | None:
    """The job parameters an existing output store was created with (None: not ours)."""
    return _ours(output).get("job")


def store_run(output: str | Path) -> str | None:
    """The run that created the store at ``output`` (a token made then; None: none there, not ours, or made
    before 2026-12-07): a store of the same name another run made meanwhile has another."""
    return _ours(Path(output)).get("run")


def _ours(output: Path) -> dict:
    """The "emdenoise" attribute of the store at ``output``; {} when there is none (not a store, not ours)."""
    try:
        import zarr

        ours = dict(zarr.open_group(str(output), mode="r").attrs).get("emdenoise", {})
    except Exception:
        return {}
    return ours if isinstance(ours, dict) else {}


def denoise_blocks(source, output, denoiser, tile=512, stride=None, dtype="float32", device="auto",
                   overwrite=False, ngff: str | None = None, cancel: CancelToken | None = None,
                   precision: str = "auto", batch_size: int | None = None, tell_device: bool = False
                   ) -> Iterator[Progress | Stage | Message]:
    """Denoise ``source`` into the OME-Zarr store ``output`` block by block in this process (the
    single-machine path of block processing; resumable). Yields Stage, (with ``tell_device``, for a model with
    blocks to do: a Message, ``jobs.denoise.device_line``), then Progress in slices."""
    job, todo = yield from start(source, output, denoiser, tile, stride, dtype, device, overwrite, ngff, cancel,
                                 precision, batch_size)
    if tell_device and job.kind == "model" and todo:
        from emdenoise_gui.jobs.denoise import device_message

        yield device_message(_predictor(job), job.tile, job.stride, job.precision)  # loaded once: the blocks use it
    done, total = 0, sum(z1 - z0 for z0, z1 in todo)
    for block in todo:
        if cancel is not None:
            cancel.raise_if_cancelled()
        for _ in block_slices(job, block, cancel):
            done += 1
            yield Progress(f"denoise blocks ({denoiser.label})", done, total, "slice")
    finish(output)
