"""``emdenoise denoise IN IN ... -o FOLDER``: several stacks, one after another, into one folder.

The headless form of the app's Denoise All: every input is denoised with the same filter or model (or,
with ``--model auto``, the zoo model that fits each stack), and each result is named by a pattern in the
output folder, as the app names results (``project.naming``: ``{stem}_{method}``, in the input's own
format). What can be checked without the pixels is checked before anything is made: the options, every
input readable, no two the same file, every result name free (or ``--overwrite``), none of them an
input. A stack that still fails (e.g. float data an integer ``--dtype`` would flatten, or too little
memory) is reported in one line and the others go on; the exit status is then 2. A stop (Ctrl-C,
SIGTERM, a closed terminal) or an internal error keeps the results already finished and says which.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from emdenoise_gui.cli.exits import EXIT_INPUT, EXIT_OK, one_line, say, silence_stdout
from emdenoise_gui.cli.progress import run_with_bar
from emdenoise_gui.cli.recording import record_or_say
from emdenoise_gui.core import atomic, baselines
from emdenoise_gui.core.errors import Cancelled, InputError, out_of_memory
from emdenoise_gui.core.io import (
    READ_SUFFIXES,
    check_output,
    image_stem,
    open_stack,
    result_suffix,
)
from emdenoise_gui.core.io.formats import same_file
from emdenoise_gui.jobs.stack import parse_slices, resolve_dtype
from emdenoise_gui.project.naming import (
    DEFAULT_PATTERN,
    check_pattern,
    check_suffix,
    render,
)
from emdenoise_gui.project.records import RESULTS_DIR

#: ``--format``: the results' file type; "same": each input's own (a format we only read becomes .tif).
FORMAT_CHOICES = ("same", ".tif", ".mrc", ".zarr")
#: In an output folder: which stack each result a batch wrote there was made from (JSON, result name: the
#: source's absolute path). A later batch of another stack of the same name (stack.tif from another session's
#: folder) took its result for done, or with --overwrite replaced it (paths audit); it now gets a name of its own.
SOURCES_RECORD = ".emdenoise-sources.json"


def add_arguments(p) -> None:
    """The options that name the results of several inputs (``emdenoise denoise``)."""
    group = p.add_argument_group("several stacks (IN IN ... -o FOLDER)")
    group.add_argument("--name-pattern", metavar="PATTERN",
                       help=f"with several IN: each result's file name in the -o folder, from the fields "
                            f"{{stem}} (the input's name without extension), {{method}} (filter or model) and "
                            f"{{date}} (default {DEFAULT_PATTERN}, as the app names results)")
    group.add_argument("--format", choices=FORMAT_CHOICES,
                       help="with several IN: the results' file type (default same: each input's own)")


def check_single(args) -> None:
    """InputError when an option that only names several inputs' results is given with one input and ``-o``
    (without ``-o`` a ``--project`` names the result: they apply)."""
    given = [flag for flag, value in (("--name-pattern", args.name_pattern), ("--format", args.format))
             if value is not None]
    if given and args.output is not None:
        raise InputError(f"{' and '.join(given)} go{'es' if len(given) == 1 else ''} with several inputs "
                         "(-o then names a folder); with one input, -o names the result file itself")


def _check_options(args) -> None:
    """InputError for the options that take one stack only, and for options no stack can run with (said once,
    before the folder is made, not once per stack)."""
    for flag, given, why in (("--adapt", args.adapt, "self-trains a model on one stack"),
                             ("--scheduler", args.scheduler, "writes one volume block by block"),
                             ("--print-job-script", args.print_job_script, "describes one volume's batch job"),
                             ("--ngff", args.ngff, "goes with --scheduler")):
        if given:
            raise InputError(f"{flag} {why}: give one input, or run the command once per stack")
    from emdenoise_gui.cli.blocks import check_batch_options
    from emdenoise_gui.cli.images import check_tiling_options
    from emdenoise_gui.jobs.denoise import check_batch_size

    check_batch_options(args)  # --jobs / --cluster-config without a batch system
    check_tiling_options(args)
    check_batch_size(args.batch_size)  # a device that is not here: pick_denoiser, before the folder is made


def _distinct_inputs(inputs: list[str]) -> None:
    """InputError when an input is missing or two inputs are the same file (a link, or named twice)."""
    seen: dict[tuple, str] = {}
    for name in inputs:
        path = Path(name)
        if not path.exists():
            raise InputError("does not exist; check the name and the folder", path)
        st = path.stat()
        key = (st.st_dev, st.st_ino) if st.st_ino else (str(path.resolve()).lower(),)
        if key in seen:
            raise InputError(f"is given twice (also as {seen[key]}); name each stack once", path)
        seen[key] = name


def _output_folder(output: str) -> tuple[Path, bool]:
    """The -o folder of several inputs and whether it must be made; InputError when -o names a file."""
    if not output.strip():  # an unset shell variable: not "here"
        raise InputError("-o is empty: give the folder the results go to (made if missing)")
    folder = Path(output).expanduser()
    try:
        folder.exists()
    except OSError as exc:  # a name too long for the file system (exists() is False only for a missing one)
        raise (atomic.write_failure(exc, 0, folder) or exc) from None
    if folder.is_dir() and folder.suffix.lower() == ".zarr":  # a result store, replaced whole by --overwrite
        raise InputError("is named as an OME-Zarr store (.zarr); with several inputs, -o names the folder the "
                         "results go to: choose a name without .zarr", folder)
    if folder.exists() and not folder.is_dir():
        raise InputError("is a file; with several inputs, -o names the folder the results go to", folder)
    if not folder.exists() and folder.suffix.lower() in READ_SUFFIXES:
        raise InputError(f"names one {folder.suffix} file, but several inputs were given; give -o a folder "
                         f"(their results are named {DEFAULT_PATTERN} there)", folder)
    if not folder.exists() and folder.parent.exists() and not folder.parent.is_dir():
        raise InputError(f"{folder.parent} is a file, not a folder: choose another place for the results", folder)
    if not folder.exists() and not folder.parent.is_dir():
        raise InputError(f"the folder {folder.parent} does not exist; create it first", folder)
    return folder, not folder.exists()


def suffix_for(fmt: str | None, source: str) -> str:
    """A result's extension: ``fmt``, or the input's own (``core.io.result_suffix``), as the app's "same"."""
    return check_suffix(fmt) if fmt and fmt != "same" else result_suffix(source)


def result_names(sources: list[str], methods: list[str], pattern: str, fmt: str | None,
                 folder: Path | None = None) -> list[str]:
    """Each source's result file name: ``pattern`` filled in (``naming.render``) with the source's stem and
    its method, then its extension; names that come out alike within the batch (a.tif from two folders), or
    that name a file in ``folder`` not recorded (:func:`recorded_sources`) as this source's result (another
    stack's, or one of unknown origin: a single run's, an older version's), get ``_2``, ``_3``, ... in the order
    given, compared without regard to case."""
    names, taken = [], set()
    made_from = recorded_sources(folder) if folder is not None else {}
    for source, method in zip(sources, methods):
        stem, suffix = render(pattern, image_stem(source), method), suffix_for(fmt, source)
        n, name = 1, stem + suffix
        while name.lower() in taken or (folder is not None and (folder / name).exists()
                                        and made_from.get(name.lower()) != _source_key(source)):
            n += 1
            name = f"{stem}_{n}{suffix}"
        taken.add(name.lower())
        names.append(name)
    return names


def _source_key(source: str | Path) -> str:
    """How :data:`SOURCES_RECORD` names a source: its absolute path (in the case the system compares names in)."""
    return os.path.normcase(str(Path(source).resolve()))


def recorded_sources(folder: Path) -> dict[str, str]:
    """{result name in lower case: its source (:func:`_source_key`)}: what the batches that wrote into ``folder``
    recorded in its :data:`SOURCES_RECORD`; {} where there is none or it cannot be read (its results are then of
    unknown origin, never taken for done nor written over)."""
    try:
        record = json.loads((folder / SOURCES_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k).lower(): str(v) for k, v in record.items()} if isinstance(record, dict) else {}


def _record_source(output: Path, source: str) -> None:
    """Add ``output``'s source to its folder's :data:`SOURCES_RECORD`, under that record's lock (two batches
    writing into one folder lost each other's entries; review); a failure to write it is no failure of the
    result, said in a note."""
    from emdenoise_gui.project.project_file import writing

    try:
        with writing(output.parent, lock_name=SOURCES_RECORD + ".lock"):
            made_from = recorded_sources(output.parent)
            made_from[output.name.lower()] = _source_key(source)
            atomic.write_text(output.parent / SOURCES_RECORD, json.dumps(made_from, indent=1, sort_keys=True))
    except (OSError, InputError) as exc:  # a read-only folder, another batch holding the lock for seconds
        say(f"emdenoise: note: could not record which stack {output.name} was made from "
            f"({getattr(exc, 'strerror', None) or one_line(str(exc))}); a later batch into this folder will name "
            "a result of its own")


def name_pattern(args) -> str:
    """The result name pattern: ``--name-pattern`` (an empty one is refused, not taken for the default)."""
    return DEFAULT_PATTERN if args.name_pattern is None else args.name_pattern


def _method(args) -> None:
    """Settle the method once for all stacks: the default filter (said once) when none is given."""
    from emdenoise_gui.cli.images import check_method_args

    check_method_args(args)
    if not (args.model or args.method):
        args.method = baselines.DEFAULT_FILTER
        say(f"emdenoise: note: neither --model nor --method given: the filter {args.method} "
            f"({baselines.FILTERS[args.method].label}) for every stack; --model auto picks the zoo model that "
            "fits each one")


def _method_name(denoiser) -> str:
    """The {method} of a result name: the filter's key, or the model's card name (also for a package
    given as a folder or .zip), as the app names its results."""
    from emdenoise_gui.cli.recording import zoo_denoiser

    return zoo_denoiser(denoiser).name


def _plan(args, folder: Path) -> list[argparse.Namespace]:
    """One namespace per input (``input``, ``output``, ``denoiser``), every check done that needs no
    pixels (but ``--model auto``, which measures each stack); nothing written."""
    from emdenoise_gui.cli.images import pick_denoiser

    plan = []
    for index, source in enumerate(args.inputs):
        one = argparse.Namespace(**vars(args))
        one.input, one.noted, one.record_source = source, index > 0, args.output is not None
        with open_stack(source) as stack:  # one line for an unreadable input, before any work
            parse_slices(args.slices, len(stack))
            resolve_dtype(args.dtype, stack)
        one.denoiser = pick_denoiser(one)
        plan.append(one)
    if args.output is None:  # --project without -o: fresh names in its results folder, as the app gives
        for one in plan:
            one.output = args.recording.output_for(one.input, one.denoiser, suffix_for(args.format, one.input),
                                                   name_pattern(args))
        return plan
    names = result_names(args.inputs, [_method_name(one.denoiser) for one in plan],
                         name_pattern(args), args.format, folder)
    for one, name in zip(plan, names):
        one.output = folder / name
    return plan


def denoise_several(args) -> int:
    """``emdenoise denoise IN IN ... -o FOLDER``; returns the exit status."""
    _check_options(args)
    check_pattern(name_pattern(args))
    _distinct_inputs(args.inputs)
    if args.output is None:  # --project without -o
        folder, make = args.recording.folder / RESULTS_DIR, False
    else:
        folder, make = _output_folder(args.output)
    _method(args)
    plan = _plan(args, folder)
    if make:
        try:
            folder.mkdir()
        except OSError as exc:  # a name too long for the file system, a read-only disk
            raise (atomic.write_failure(exc, 0, folder) or exc) from None
    try:
        _check_no_result_is_an_input(plan, args.inputs)
        _check_not_done(plan, args.overwrite)
        for one in plan:
            check_output(one.output, args.inputs, args.overwrite)
            if args.recording is not None:
                args.recording.check_free(one.output)
    except InputError:
        if make:
            folder.rmdir()
        raise
    if make:
        say(f"emdenoise: made the folder {folder}")
    return _run(plan, folder)


def _check_no_result_is_an_input(plan: list[argparse.Namespace], inputs: list[str]) -> None:
    """InputError when a stack's result would take the name of one of the ``inputs`` (a.tif's gaussian result
    is a_gaussian.tif, and a_gaussian.tif is also given): such an input was taken for a finished result ("1 of
    2 results exist already ...: pass --overwrite")."""
    for one in plan:
        output = Path(one.output)
        if any(same_file(Path(inp), output) for inp in inputs):
            raise InputError(f"is also an input, and the result of {Path(one.input).name} would take its name; "
                             "EMDenoise never writes over its input: give another -o folder or --name-pattern",
                             output)


def _check_not_done(plan: list[argparse.Namespace], overwrite: bool) -> None:
    """InputError naming every result that exists already and the stacks still to do, when some exist and
    ``overwrite`` is off: a batch killed midway was refused at its first result alone, with no word of how to
    go on with the rest (kill audit of 2026-12-06)."""
    done = [one for one in plan if Path(one.output).exists()]
    if overwrite or not done or len(done) == len(plan):  # all there: check_output's words for the first
        return
    names = ", ".join(Path(one.output).name for one in done[:3]) + (f" and {len(done) - 3} more" if len(done) > 3
                                                                     else "")
    todo = " ".join(one.input for one in plan if one not in done)
    raise InputError(f"{len(done)} of {len(plan)} results exist already ({names}): to finish the batch, give only "
                     f"the stacks not done ({todo}); or pass --overwrite to redo them all")


def _run(plan: list[argparse.Namespace], folder: Path) -> int:
    """Denoise each planned stack in turn; a stack that fails is told in one line and the rest go on."""
    from emdenoise_gui.cli.images import denoise_job

    written, failed, pending = [], [], 0  # pending: the first stack of the plan not yet done or failed
    unrecorded = 0  # results written that the --project could not take (each said)
    told = set()  # the models a stack was denoised with: where they run was said (--model auto: several)
    try:
        for index, one in enumerate(plan, 1):
            say(f"[{index}/{len(plan)}] {one.input} -> {one.output}")
            one.tell_device = one.denoiser not in told
            try:
                run_with_bar(denoise_job(one, one.denoiser))
            except (InputError, MemoryError, OSError, RuntimeError) as exc:
                if isinstance(exc, RuntimeError) and not out_of_memory(exc):  # torch's allocator fails so
                    raise
                why = _why_failed(one, exc)
                say(f"emdenoise: error: {why}")
                failed.append(one.input)
                pending = index
                continue
            written.append(one.output)
            if one.record_source:  # -o FOLDER (a --project records its results itself)
                _record_source(Path(one.output), one.input)
            told.add(one.denoiser)
            pending = index
            _tell(f"wrote {one.output}")
            if one.recording is not None and not record_or_say(one, one.output, one.denoiser):
                unrecorded += 1
    except (Cancelled, KeyboardInterrupt) as exc:
        stopped = Cancelled(str(exc))
        stopped.kept = _what_is_kept(plan, written, pending, folder)
        raise stopped from None
    except Exception:
        say(f"emdenoise: {_what_is_kept(plan, written, pending, folder)}; then:")
        raise
    if failed:
        say(f"emdenoise: error: {len(failed)} of {len(plan)} stacks failed ({', '.join(failed)}); "
            f"{len(written)} result{'' if len(written) == 1 else 's'} written in {folder}")
        return EXIT_INPUT
    return EXIT_INPUT if unrecorded else EXIT_OK


def _why_failed(one: argparse.Namespace, exc: BaseException) -> str:
    """One line on why the stack ``one`` failed: a user's error as raised, memory, or the system refusing a
    read or write (a disk error on one file need not end the batch)."""
    if isinstance(exc, InputError):
        return one_line(str(exc))
    if out_of_memory(exc):
        return f"out of memory ({one_line(str(exc)) or 'an allocation failed'}): give it a smaller --tile"
    return f"{one.input}: failed ({exc.strerror or exc}) while reading it or writing {one.output}; check the disk"


def _tell(line: str) -> None:
    """``line`` on stdout; a reader that has gone (``| head``) does not end the batch."""
    try:
        print(line, flush=True)
    except BrokenPipeError:
        silence_stdout()


def _what_is_kept(plan, written: list[Path], pending: int, folder: Path) -> str:
    """In words: the results finished (in ``folder``) and the stacks of ``plan`` from ``pending`` on, which
    were not denoised."""
    finished = (f"{len(written)} of {len(plan)} results finished in {folder} "
                f"({', '.join(p.name for p in written)})" if written else "no result was finished")
    left = [one.input for one in plan[pending:]]  # as given: two may share a name
    if not left:
        return finished
    more = f" and {len(left) - 5} more" if len(left) > 5 else ""
    return f"{finished}; not denoised: {', '.join(left[:5])}{more}"
