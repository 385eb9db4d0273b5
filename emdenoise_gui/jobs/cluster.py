"""Block processing on a Dask cluster: a local one, a running scheduler, or Slurm / LSF / PBS jobs.

``--scheduler`` names where the blocks of :mod:`jobs.blocks` run:

- ``local`` or ``local:N``: a LocalCluster of N worker processes on this machine (default: one per
  core, one thread each, which benchmarks/cluster.py measured fastest), the cores shared out;
- ``tcp://HOST:PORT`` (or ``HOST:PORT``): a running Dask scheduler;
- ``slurm``, ``lsf``, ``pbs``: batch jobs through dask-jobqueue, configured by a YAML file
  (``--cluster-config``: cores, memory, queue, walltime, job_extra_directives, ...; see
  docs/cluster.md) and ``--jobs N``. :func:`job_script` prints the batch script a job would run,
  for checking it without a cluster.

The workers run :func:`jobs.blocks.run_block` (the same code as the single-machine path); each
worker loads the model once and keeps it. Progress comes from the futures as they finish, in the
app's vocabulary (Progress in blocks); a cancel cancels the futures that have not finished and
closes the cluster this process started. Dask and dask-jobqueue are optional (``pip install
emdenoise_gui[cluster]``): only this module imports them, when a scheduler is asked for.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import math
import os
import signal
import socket
import struct
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from emdenoise_gui.core.errors import Cancelled, InputError
from emdenoise_gui.core.events import CancelToken, Message, Progress, Stage
from emdenoise_gui.jobs import blocks
from emdenoise_gui.jobs.stack import stage
from emdenoise_gui.paths import is_installed_program

BATCH_SYSTEMS = ("slurm", "lsf", "pbs")
#: How often (s) the driver looks at the cancel token while waiting for blocks.
POLL_S = 0.2
#: Seconds a scheduler's address gets to connect, then to greet: a Dask scheduler sends its handshake
#: as soon as it accepts a connection; a web server waits for a request, and distributed's client
#: then waited for ever (its own timeout covers the connection, not the handshake).
CONNECT_S, GREETING_S = 10.0, 5.0
#: Seconds a run on a scheduler at an address goes on with no worker there before it stops: one started
#: with none waited for ever, saying "on 0 workers" (a batch system's queue may hold the workers back for
#: hours: those runs wait).
NO_WORKERS_S = 120.0
#: How often (s) a run with that limit asks the scheduler how many workers it has.
WORKER_CHECK_S = 2.0
#: Seconds a scheduler gets to say how many workers it has: one that stopped answering (stopped, its machine
#: gone) held the run for ever, saying nothing.
ANSWER_S = 30.0
#: What is kept when the cluster stops a run, said after why.
KEPT = "the blocks written are kept, and the same command again goes on from them"
#: A Dask TCP message starts with its length in bytes (uint64, little-endian): far below this.
_MAX_FIRST_MESSAGE = 1 << 40


@dataclass(frozen=True)
class Scheduler:
    """A parsed ``--scheduler``: kind "local" (``workers``), "address", or a batch system."""

    kind: str
    workers: int | None = None
    address: str | None = None


def parse_scheduler(text: str) -> Scheduler:
    """``local[:N]``, ``HOST:PORT`` / ``tcp://HOST:PORT``, or one of :data:`BATCH_SYSTEMS`; InputError otherwise."""
    text = text.strip()
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2]
        if count and (not count.isdigit() or int(count) < 1):
            raise InputError(f"--scheduler {text}: the worker count must be a positive number, e.g. local:4")
        return Scheduler("local", workers=int(count) if count else None)
    if text in BATCH_SYSTEMS:
        return Scheduler(text)
    host, _, port = text.removeprefix("tcp://").rpartition(":")
    if host and port.isdigit():
        return Scheduler("address", address=text if text.startswith("tcp://") else f"tcp://{text}")
    raise InputError(f"--scheduler {text}: give here, local, local:N, a scheduler address HOST:PORT, or one of "
                     f"{', '.join(BATCH_SYSTEMS)}")


def _import_distributed():
    try:
        import distributed
    except ImportError as exc:
        raise InputError(DASK_MISSING) from exc
    return distributed


def _dask_missing() -> str:
    """Why --scheduler (other than ``here``) cannot run here, and what to do: the installed program has no
    pip environment to add Dask to (the advice to pip install was no use there)."""
    if is_installed_program():
        return ("--scheduler needs Dask, which the installed program does not include: use --scheduler here (the "
                "same blocks and resume on this computer), or install the Python package with its cluster extra "
                "(pip install 'emdenoise_gui[cluster]', see docs/cluster.md) to run blocks on a Dask cluster")
    return ("--scheduler needs Dask: pip install 'emdenoise_gui[cluster]' (dask, distributed, dask-jobqueue) into "
            "the environment EMDenoise runs in")


DASK_MISSING = _dask_missing()


def batch_cluster(kind: str, config: dict, jobs: int):
    """A dask-jobqueue cluster of ``kind`` (slurm, lsf, pbs) from ``config`` (its keyword arguments),
    scaled to ``jobs`` batch jobs. Nothing is submitted until it is scaled."""
    try:
        with _sigint_kept():  # dask-jobqueue makes Ctrl-C sys.exit() when imported: the run ended with exit 0
            import dask_jobqueue
    except ImportError as exc:
        raise InputError(DASK_MISSING if is_installed_program() else
                         f"--scheduler {kind} needs dask-jobqueue: pip install 'emdenoise_gui[cluster]'") from exc
    classes = {"slurm": dask_jobqueue.SLURMCluster, "lsf": dask_jobqueue.LSFCluster,
               "pbs": dask_jobqueue.PBSCluster}
    try:
        cluster = classes[kind](**config)
    except (TypeError, ValueError, ArithmeticError) as exc:  # processes: 0 divided by zero (block audit)
        hint = "" if config else ("; give --cluster-config FILE, a YAML file of its dask-jobqueue settings "
                                  "(cores, memory, queue, ...)")
        raise InputError(f"the cluster configuration for {kind} is not valid: {exc}{hint}") from exc
    if jobs:
        cluster.scale(jobs=jobs)
    return cluster


#: dask-jobqueue settings that are lists of lines (their older names too)
LIST_SETTINGS = frozenset({"job_extra_directives", "job_script_prologue", "worker_extra_args", "job_directives_skip",
                           "job_extra", "env_extra", "extra", "header_skip"})


def read_config(path: str | None) -> dict:
    """The batch-system settings in a YAML (or JSON) file, as keyword arguments; {} without a file. A list
    setting given as one string (``job_extra_directives: "--gres=gpu:1"``) is that one line."""
    if path is None:
        return {}
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise InputError(f"cannot read the cluster configuration ({exc.strerror})", path) from exc
    except UnicodeDecodeError:
        raise InputError("is not a YAML text file; give the YAML file of dask-jobqueue settings (see "
                         "docs/cluster.md)", path) from None
    except yaml.YAMLError as exc:
        raise InputError(f"is not valid YAML: {' '.join(str(exc).split())}", path) from exc
    if not isinstance(data, dict):
        raise InputError("must hold settings as `name: value` lines (cores, memory, queue, walltime, ...)", path)
    for key in LIST_SETTINGS.intersection(data):  # dask-jobqueue takes a string as its characters: `#SBATCH -`
        if isinstance(data[key], str):
            data[key] = [data[key]]
        elif not (isinstance(data[key], list) and all(isinstance(v, str) for v in data[key])):
            raise InputError(f"{key} must be a list of lines, e.g. {key}: [\"--gres=gpu:1\"]", path)
    return data


def job_script(kind: str, config: dict) -> str:
    """The batch script one worker job of ``kind`` would run (submits nothing)."""
    cluster = batch_cluster(kind, config, jobs=0)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def local_cluster(workers: int):
    """A LocalCluster of ``workers`` processes, one task at a time each, tuned for blocks that keep
    every core busy (measured with benchmarks/cluster.py on 2 cores, see docs/cluster.md):

    - this machine's cores shared out between the workers for torch and the numeric libraries
      (Dask gives every worker one thread);
    - without the ``MALLOC_TRIM_THRESHOLD_`` Dask sets for its workers: it freezes glibc's mmap
      threshold, so every slice-sized array becomes a fresh mmap with its page faults (a worker ran
      2.1x slower than the same blocks in this process; NRRN on one thread 2.8x);
    - without the workers' statistical profiler and GIL monitor, and with slower bookkeeping ticks:
      they kept a worker's event loop busy next to the blocks (NRRN: 48 s against 24 s here)."""
    import dask

    distributed = _import_distributed()
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    spawn = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ").items()
             if k != "MALLOC_TRIM_THRESHOLD_"}
    # the workers' own warnings (a cancelled run's tasks as they are closed) went to the terminal over the line
    # that says what was kept: the workers read their logging levels from the environment they start with
    spawn["DASK_LOGGING__DISTRIBUTED"] = "error"
    quiet = {"distributed.nanny.pre-spawn-environ": spawn,
             "distributed.worker.profile.enabled": False, "distributed.admin.system-monitor.gil.enabled": False,
             "distributed.admin.tick.interval": "1s", "distributed.admin.system-monitor.interval": "2s",
             "distributed.worker.memory.monitor-interval": "1s"}
    # the workers start with Ctrl-C ignored (an ignored signal stays ignored in a child): a Ctrl-C in the
    # terminal reaches the whole process group, and each worker printed its traceback over the one line that
    # says what was kept; this process cancels and closes them itself
    with _sigint_kept(signal.SIG_IGN), dask.config.set(quiet):
        return distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
            env={"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads})


@contextlib.contextmanager
def _sigint_kept(handler=None):
    """Ctrl-C (SIGINT) handled by ``handler`` inside the block (None: as it is), and by this process's own
    handler again after it, whatever the block set; in the main thread only (no other may set one)."""
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGINT) if main_thread else None
    if main_thread and handler is not None:
        signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)


def check_greeting(address: str, greeting_s: float = GREETING_S) -> None:
    """InputError in words unless what listens at ``tcp://HOST:PORT`` greets like a Dask scheduler:
    nothing answers there, it says nothing within ``greeting_s`` s, or its first 8 bytes are not a
    Dask message's length (an SSH or mail server's banner)."""
    host, _, port = address.removeprefix("tcp://").rpartition(":")
    where = f"{host}:{port}"
    fix = "is the scheduler running, and is that its address (tcp://HOST:8786, not its dashboard's port)?"
    try:
        sock = socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_S)
    except OSError as exc:  # refused, unknown host, no route, or no answer in CONNECT_S
        why = f"no answer in {CONNECT_S:g} s" if isinstance(exc, TimeoutError) else exc.strerror or str(exc)
        raise InputError(f"cannot reach a Dask scheduler at {where} ({why}); {fix}") from exc
    first = b""
    with sock:
        sock.settimeout(greeting_s)
        try:
            while len(first) < 8 and (chunk := sock.recv(8 - len(first))):
                first += chunk
        except TimeoutError as exc:
            raise InputError(f"--scheduler {where}: what listens there accepted the connection but said "
                             f"nothing in {greeting_s:g} s, so it is not a Dask scheduler; {fix}") from exc
        except OSError:  # it hung up: judged by what it said
            pass
    if len(first) < 8 or not 0 < struct.unpack("<Q", first)[0] < _MAX_FIRST_MESSAGE:
        shown = first.decode("ascii", "replace").strip() or "nothing"
        raise InputError(f"--scheduler {where}: what listens there is not a Dask scheduler (it began with "
                         f"{shown!r}); {fix}")


def open_client(scheduler: Scheduler, config: dict | None = None, jobs: int = 1):
    """(a distributed Client, the cluster this process started or None) for ``scheduler``."""
    distributed = _import_distributed()
    if scheduler.kind == "address":
        check_greeting(scheduler.address, GREETING_S)
        try:
            client = distributed.Client(scheduler.address, timeout=f"{CONNECT_S:g}s")
        except (OSError, TimeoutError, ValueError, MemoryError) as exc:  # also what answers there is not Dask
            raise InputError(f"cannot reach a Dask scheduler at {scheduler.address} ({type(exc).__name__}: "
                             f"{str(exc)[:120]}); is it running, and is that its address (tcp://HOST:8786)?") from exc
        except TypeError as exc:  # "Worker.identity() got an unexpected keyword argument": an internal error
            raise _not_a_scheduler(exc) from None
        try:
            worker_count(client)  # a worker's or a nanny's address answers the client, not this question
        except BaseException:
            client.close()
            raise
        return client, None
    if scheduler.kind == "local":
        cluster = local_cluster(scheduler.workers or (os.cpu_count() or 1))  # one thread each: measured fastest
    else:
        cluster = batch_cluster(scheduler.kind, config or {}, jobs)
    return distributed.Client(cluster), cluster


def _run_block(job: blocks.BlockJob, block: tuple[int, int]) -> tuple[int, int] | InputError:
    """:func:`jobs.blocks.run_block` on a worker; bad input (a NaN slice, values beyond the output type) comes
    back as the InputError for this process to say in one line (raised there, the worker logged it with its
    traceback first)."""
    try:
        return blocks.run_block(job, block)
    except InputError as exc:
        return exc


def run_blocks(client, job: blocks.BlockJob, todo: list[tuple[int, int]], label: str,
               cancel: CancelToken | None = None, idle_limit_s: float | None = None) -> Iterator[Progress]:
    """Submit ``todo`` blocks to ``client``'s workers; yield Progress as they finish. A cancel cancels
    the unfinished futures and raises Cancelled; a failed block raises its error; ``idle_limit_s``: the
    seconds the scheduler may have no worker at all before an InputError says so (None: wait)."""
    run = uuid.uuid4().hex[:12]  # a run's own keys: two runs on one scheduler shared a block's task (block audit)
    futures = [client.submit(_run_block, job, block, key=f"emdenoise-block-{job.output}-{block[0]}-{run}",
                             pure=False) for block in todo]
    pending, done, idle_since, checked = set(futures), 0, None, -math.inf
    try:
        while pending:
            if cancel is not None and cancel.cancelled:
                raise Cancelled()
            finished = {f for f in pending if f.done()}
            if not finished:
                now = time.monotonic()
                if idle_limit_s is not None and now - checked >= WORKER_CHECK_S:
                    checked, idle_since = now, None if worker_count(client) else (idle_since or now)
                    if idle_since is not None and now - idle_since > idle_limit_s:
                        raise blocks.Unfinished(f"the Dask scheduler has had no workers for {idle_limit_s:.0f} s, so "
                                                "no block can run: start workers for it (`dask worker ADDRESS`), give "
                                                f"it longer (--wait-for-workers SECONDS) or use --scheduler local; {KEPT}")
                time.sleep(POLL_S)
                continue
            pending -= finished
            for future in finished:
                outcome = _outcome(future)
                if isinstance(outcome, InputError):
                    raise outcome
                done += 1
            yield Progress(label, done, len(todo), "block")
    except BaseException:
        client.cancel(list(pending))
        raise


def _outcome(future):
    """A finished block future's result (a block, or the InputError its input raised); Unfinished when the
    cluster lost it (distributed's KilledWorker and cancellations were internal errors, exit 1); a worker's
    unexpected exception as it is."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker:
        raise blocks.Unfinished("the workers running a block died one after another: out of memory? Give them more "
                                f"memory, or a smaller --tile or --batch-size; {KEPT}") from None
    except concurrent.futures.CancelledError as exc:
        raise blocks.Unfinished(f"the Dask scheduler lost or cancelled the run ({str(exc)[:160] or 'cancelled'}): "
                                f"check that it and its workers still run; {KEPT}") from None


def worker_count(client) -> int:
    """How many workers ``client``'s scheduler has now (asked without the list of them). Unfinished when it
    does not answer within ANSWER_S; InputError when what answers is not a scheduler (a worker or a nanny)."""
    try:
        info = client.sync(client.scheduler.identity, n_workers=0, callback_timeout=ANSWER_S)
    except TimeoutError:
        raise blocks.Unfinished(f"the Dask scheduler has not answered for {ANSWER_S:g} s: check that it still runs; "
                                f"{KEPT}") from None
    except TypeError as exc:  # Worker.identity() got an unexpected keyword argument 'n_workers'
        raise _not_a_scheduler(exc) from None
    return int(info.get("n_workers", len(info.get("workers", {}))))


def task_memory(client) -> int | None:
    """The least memory (bytes) a task of the workers ``client``'s scheduler has now may use: each worker's memory
    limit over its threads (a worker runs that many blocks at once, and its nanny restarts it past its limit).
    None where none has a limit (no workers yet, or workers started without one)."""
    try:
        info = client.sync(client.scheduler.identity, callback_timeout=ANSWER_S)
    except (TimeoutError, TypeError):  # said by worker_count, which comes next
        return None
    shares = [(w.get("memory_limit") or 0) // max(1, int(w.get("nthreads") or 1))
              for w in info.get("workers", {}).values()]
    return min((v for v in shares if v > 0), default=None)


def _not_a_scheduler(exc: TypeError) -> InputError:
    """What to say when a worker or a nanny answered the scheduler's question (``exc``: its TypeError)."""
    return InputError(f"what answers at the --scheduler address is not a Dask scheduler but another part of a "
                      f"cluster (a worker or a nanny: {str(exc)[:80]}): give the scheduler's address, the one "
                      "`dask worker` was given")


def denoise_on_cluster(source, output, denoiser, scheduler: str, tile=512, stride=None, dtype="float32",
                       device="auto", overwrite=False, ngff: str | None = None, config_file: str | None = None,
                       jobs: int = 1, client=None, cancel: CancelToken | None = None, precision: str = "auto",
                       batch_size: int | None = None, wait_for_workers_s: float | None = None
                       ) -> Iterator[Progress | Stage | Message]:
    """Denoise ``source`` into the OME-Zarr store ``output`` on a Dask cluster (see the module doc);
    resumable like :func:`jobs.blocks.denoise_blocks`. ``client``: an existing Client (tests, the
    benchmark) instead of ``scheduler``; ``wait_for_workers_s``: how long a scheduler at an address may have
    no worker before the run stops (:data:`NO_WORKERS_S` for None)."""
    parsed = parse_scheduler(scheduler) if client is None else None
    config = read_config(config_file)
    wait_s = NO_WORKERS_S if wait_for_workers_s is None else float(wait_for_workers_s)
    opened, cluster = client is None, None
    if opened:  # before the output is touched: an unreachable scheduler with --overwrite removed the old result
        yield stage("starting workers", cancel)
        client, cluster = open_client(parsed, config, jobs)
    try:
        job, todo = yield from blocks.start(source, output, denoiser, tile, stride, dtype, device, overwrite, ngff,
                                            cancel, precision, batch_size, task_memory(client), cluster=True)
        if not todo:
            blocks.finish(output)
            return
        workers = worker_count(client)
        remote = parsed is not None and parsed.kind == "address"
        wait = f" for now: waiting up to {wait_s:.0f} s for some" if remote and not workers else ""
        yield Message(f"{len(todo)} block{'' if len(todo) == 1 else 's'} on {workers} "
                      f"worker{'' if workers == 1 else 's'}{wait} ({scheduler if parsed else 'the given client'})")
        yield from run_blocks(client, job, todo, f"denoise blocks ({denoiser.label})", cancel,
                              wait_s if remote else None)
        blocks.finish(output)
    finally:
        if opened or cluster is not None:
            _close_quietly(client if opened else None, cluster)


def _close_quietly(client, cluster) -> None:
    """Close the ``client`` and the ``cluster`` this run opened (either may be None) with distributed's
    shutdown warnings unsaid: a cancelled run printed "... still alive after 4.0 seconds, killing" and
    task-state warnings above the one line that says what was kept (kill audit of 2026-12-06)."""
    names = ["distributed", *(name for name in logging.root.manager.loggerDict if name.startswith("distributed."))]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
