"""``emdenoise denoise ... --scheduler``: block processing into OME-Zarr, here or on a Dask cluster.

``--scheduler here`` runs the blocks in this process (resumable, no Dask needed); ``local[:N]``, an
address, or ``slurm`` / ``lsf`` / ``pbs`` hand them to Dask (:mod:`jobs.cluster`).
``--print-job-script`` prints the batch script a worker job would run and submits nothing.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

from emdenoise_gui.core import atomic
from emdenoise_gui.core.errors import Cancelled, InputError
from emdenoise_gui.core.io import omezarr
from emdenoise_gui.jobs import blocks

SCHEDULER_HELP = ("denoise block by block into an OME-Zarr OUT (resumable: run the same command again after "
                  "a kill and finished blocks are skipped): 'here' in this process, 'local' or 'local:N' on N "
                  "Dask worker processes, HOST:PORT on a running Dask scheduler, or slurm / lsf / pbs batch "
                  "jobs (dask-jobqueue; see --cluster-config)")


def add_arguments(p) -> None:
    """The block-processing options of ``emdenoise denoise``."""
    group = p.add_argument_group("block processing (OME-Zarr output, Dask)")
    group.add_argument("--scheduler", help=SCHEDULER_HELP)
    group.add_argument("--cluster-config", metavar="FILE",
                       help="for slurm / lsf / pbs: YAML with the dask-jobqueue settings (cores, memory, queue, "
                            "walltime, job_extra_directives, ...); see docs/cluster.md")
    group.add_argument("--jobs", type=int, default=1, help="for slurm / lsf / pbs: batch jobs to start (default 1)")
    group.add_argument("--wait-for-workers", type=float, metavar="SECONDS", default=None,
                       help="for HOST:PORT: how long the run goes on while the scheduler has no worker before it "
                            "stops (default 120; a scheduler that starts workers on demand may need longer)")
    group.add_argument("--print-job-script", action="store_true",
                       help="print the batch script one worker job would run, and exit (submits nothing)")
    group.add_argument("--ngff", choices=omezarr.VERSIONS,
                       help="OME-Zarr version of OUT: 0.5 (zarr v3, sharded; default) or 0.4 (zarr v2)")


def print_job_script(args) -> str:
    """The batch script for ``--scheduler`` slurm / lsf / pbs with ``--cluster-config``."""
    from emdenoise_gui.jobs.cluster import BATCH_SYSTEMS, job_script, read_config

    if args.scheduler not in BATCH_SYSTEMS:
        raise InputError(f"--print-job-script needs --scheduler {' / '.join(BATCH_SYSTEMS)} (got {args.scheduler or 'no --scheduler'})")
    return job_script(args.scheduler, read_config(args.cluster_config))


def check_batch_options(args) -> None:
    """InputError when --jobs is below 1, or --jobs or --cluster-config is given without a batch-system
    --scheduler (they were ignored without a word)."""
    from emdenoise_gui.jobs.cluster import BATCH_SYSTEMS, parse_scheduler

    if args.jobs < 1:  # 0 waited for ever for workers; -1 was an internal error
        raise InputError(f"--jobs must be 1 or more (batch jobs to start), got {args.jobs}")
    wait = getattr(args, "wait_for_workers", None)
    if wait is not None and not 0 < wait < math.inf:
        raise InputError(f"--wait-for-workers must be a number of seconds above 0, got {wait:g}")
    if wait is not None and (args.scheduler in (None, "here") or parse_scheduler(args.scheduler).kind != "address"):
        raise InputError(f"--wait-for-workers goes with --scheduler HOST:PORT, a running Dask scheduler (got "
                         f"{args.scheduler or 'no --scheduler'}): leave it out")
    given = [flag for flag, value, default in (("--jobs", args.jobs, 1), ("--cluster-config", args.cluster_config,
                                                                            None)) if value != default]
    if given and args.scheduler not in BATCH_SYSTEMS:
        raise InputError(f"{' and '.join(given)} go{'es' if len(given) == 1 else ''} with --scheduler "
                         f"{' / '.join(BATCH_SYSTEMS)} (got {args.scheduler or 'no --scheduler'}): leave "
                         f"{'it' if len(given) == 1 else 'them'} out, or name the batch system")


def check_block_options(args) -> None:
    """InputError for options a ``denoise`` cannot run with, as to ``--scheduler`` and ``--ngff`` (said before
    ``--adapt``'s minutes of training, not after)."""
    from emdenoise_gui.jobs.cluster import parse_scheduler

    check_batch_options(args)
    if args.scheduler is None:
        if args.ngff:
            raise InputError("--ngff goes with --scheduler (or `emdenoise convert`); a plain denoise writes OME-Zarr "
                             "0.5")
        return
    if args.slices:
        raise InputError("--scheduler denoises the whole volume; leave out --slices (or convert the slices you "
                         "want first: emdenoise convert IN part.zarr --slices A:B)")
    if args.scheduler != "here":
        parse_scheduler(args.scheduler)


def block_job(args, denoiser, stride):
    """The job generator of ``denoise --scheduler``."""
    check_block_options(args)
    runtime = {"precision": args.precision, "batch_size": args.batch_size}
    if args.scheduler == "here":  # a cluster's workers each pick their device: no device line
        return _saying_what_is_kept(blocks.denoise_blocks(args.input, args.output, denoiser, args.tile, stride,
                                                          args.dtype, args.device, args.overwrite, args.ngff,
                                                          **runtime, tell_device=args.tell_device), Path(args.output))
    from emdenoise_gui.jobs.cluster import denoise_on_cluster

    return _saying_what_is_kept(denoise_on_cluster(args.input, args.output, denoiser, args.scheduler, args.tile,
                                                   stride, args.dtype, args.device, args.overwrite, args.ngff,
                                                   args.cluster_config, args.jobs, **runtime,
                                                   wait_for_workers_s=args.wait_for_workers), Path(args.output))


def _noting_the_store(steps, made: list):
    """``steps`` as they are (their value returned); ``made`` gets the run token of the store the run created
    (``jobs.blocks.StoreCreated``), if it created one."""
    steps = iter(steps)
    try:
        while True:
            try:
                event = next(steps)
            except StopIteration as stop:
                return stop.value
            if isinstance(event, blocks.StoreCreated):
                made.append(event.run)
            yield event
    finally:  # closed early (a consumer that stops): the run's own cleanup (its cluster) now, not at collection
        getattr(steps, "close", lambda: None)()


def _saying_what_is_kept(steps, output: Path):
    """``steps``, a block run; when it is stopped (Ctrl-C, a cancel) the store it started stays for the next
    run to resume: the Cancelled it raises then carries ``kept``, which the CLI says instead of 'nothing
    was written'. A store this run created goes when the run fails on its input (a slice with NaN, values
    beyond --dtype): the same command would fail again, and the empty store refused the corrected one."""
    previous = blocks.previous_path(output)
    before = (f"; the result it was to replace is kept as {previous.name} beside it until a run finishes: rename "
              f"it back to {output.name} to keep it")
    made = []
    try:
        return (yield from _noting_the_store(steps, made))
    except blocks.Unfinished as exc:  # the cluster stopped it, not its input: the blocks written stay
        raise blocks.Unfinished(exc.problem + (before if previous.exists() else ""), exc.path) from None
    except InputError as exc:
        problem = exc.problem
        if made and output.is_dir() and blocks.store_run(output) == made[0]:  # only the store this run made: another
            shutil.rmtree(output, ignore_errors=True)  # run's, written there with --overwrite meanwhile, went
            problem += f"; {output.name} was not written"
        raise InputError(problem + (before if previous.exists() else ""), exc.path) from None
    except OSError as exc:  # a full or failing disk, a lost cluster: the blocks written stay for the same command
        failure = atomic.write_failure(exc, 0, output)
        problem = failure.problem.removesuffix(". Nothing was written") if failure is not None else (
            f"the run stopped ({exc}): if it ran on a cluster, check that its scheduler and workers still answer")
        done = len(blocks.finished_blocks(output)) if output.exists() else 0
        if done:
            problem += (f"; the {done} block(s) finished so far are kept in {output.name}: run the same command again "
                        "to finish it")
        elif output.exists():  # said kept when none was, with a disk that could not hold one (big-data audit)
            problem += f"; no block was finished: {output.name} holds only its layout"
        raise InputError(problem + (before if previous.exists() else ""), output) from None
    except (Cancelled, KeyboardInterrupt) as exc:
        if not output.exists():
            raise
        stopped = Cancelled(str(exc) or "stopped")
        stopped.kept = (f"the blocks finished so far are kept in {output}: run the same command again to "
                        "finish it, or delete it") + (before if previous.exists() else "")
        raise stopped from None
