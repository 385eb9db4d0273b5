"""``emdenoise`` image commands: info, convert, noise, denoise (filters, models, --adapt), compare, filters.

torch is imported only when a model is used, so these commands start fast.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import replace
from pathlib import Path

from emdenoise_gui import paths
from emdenoise_gui.cli import arguments
from emdenoise_gui.cli import blocks as cli_blocks
from emdenoise_gui.cli import compare as cli_compare
from emdenoise_gui.cli import info as cli_info
from emdenoise_gui.cli import recording as cli_recording
from emdenoise_gui.cli import several as cli_several
from emdenoise_gui.cli.exits import EXIT_CANCELLED, EXIT_INPUT, EXIT_OK, say
from emdenoise_gui.cli.progress import drive_training, run_with_bar
from emdenoise_gui.core import baselines, noise
from emdenoise_gui.core.errors import Cancelled, InputError
from emdenoise_gui.core.io import omezarr, open_stack
from emdenoise_gui.core.memory import check_slice_memory, model_bytes_per_px
from emdenoise_gui.core.pipeline import parse_slices
from emdenoise_gui.jobs.denoise import Denoiser, check_batch_size, denoise_stack
from emdenoise_gui.jobs.stack import (
    OUTPUT_DTYPES,
    QUALITIES,
    check_levels,
    check_tiling,
    convert_job,
    noise_job,
    quality_stride,
    resolve_dtype,
)
from emdenoise_gui.models.registry import ADAPT_FAMILIES, FAMILIES, PRECISIONS
from emdenoise_gui.project.naming import check_pattern
from emdenoise_gui.zoo.card import AUTO_MODEL

#: ``denoise --tile`` when none is given (px).
TILE_DEFAULT = 512


def _check_ngff(args) -> None:
    """InputError for ``--ngff`` with an output that is not an OME-Zarr store (it was ignored without a word)."""
    if args.ngff and not str(args.output).lower().rstrip("/\\").endswith(".zarr"):
        raise InputError(f"--ngff {args.ngff} is the OME-Zarr version of a .zarr output, and {args.output} is not "
                         "one: leave --ngff out, or name a .zarr output")


def cmd_convert(args) -> int:  # a store's missing chunks are noted by the job (jobs.stack.StackJob)
    _check_ngff(args)
    run_with_bar(convert_job(args.input, args.output, args.slices, args.dtype, args.overwrite, args.ngff))
    print(f"wrote {args.output}")
    return EXIT_OK


#: The largest count (per pixel) a noise parameter may ask for: far beyond any EM dose, and within what
#: numpy's Poisson sampler takes.
MAX_COUNTS = 1e9


#: Limits of noise parameters beyond the finite, non-negative ones: (parameter, test, what it needs).
NOISE_LIMITS = (
    ("strength", lambda v: v < 1, "a strength below 1 (1 would make the pattern reach zero)"),
    ("scale", lambda v: v > 0, "a pattern scale above 0 px"),
    ("radius", lambda v: v > 0, "a blob radius above 0 px"),
    ("n_blobs", lambda v: v <= noise.MAX_BLOBS, f"at most {noise.MAX_BLOBS} blobs per 512 x 512 px"),
)


def cmd_noise(args) -> int:
    _check_ngff(args)
    kind = noise.NOISE_KINDS.get(args.kind)
    if args.seed < 0:
        raise InputError(f"--seed {args.seed}: need a seed of 0 or more")
    params = {}
    for key in (kind.params if kind else {}):
        value = getattr(args, key, None)
        if value is not None:
            positive = key in ("dose", "peak")  # counts: zero would be no image at all
            if not (math.isfinite(value) and (0 < value if positive else 0 <= value) and value <= MAX_COUNTS):
                low = "above 0" if positive else "from 0"
                flag = f"--{key.replace('_', '-')}"
                raise InputError(f"{flag} {value:g}: need a finite number {low} up to {MAX_COUNTS:g}")
            params[key] = value
    for key, ok, need in NOISE_LIMITS:  # said by flag before any work, not as "cannot add ... to slice 0"
        if key in params and not ok(params[key]):
            raise InputError(f"--{key.replace('_', '-')} {params[key]:g}: need {need}")
    taken = kind.params if kind else {}
    others = {key for other in noise.NOISE_KINDS.values() for key in other.params} - set(taken)
    ignored = [f"--{key.replace('_', '-')}" for key in sorted(others) if getattr(args, key, None) is not None]
    if ignored:  # dropped, first without a word, then with a note and exit 0: a script got another condition
        takes = ", ".join("--" + k.replace("_", "-") for k in taken) or "no parameters"
        raise InputError(f"{', '.join(ignored)}: not a parameter of --kind {args.kind} (which takes {takes}); leave "
                         "it out, or choose the --kind it belongs to")
    run_with_bar(noise_job(args.input, args.output, args.kind, params, args.seed, args.slices, args.dtype,
                           args.overwrite, args.ngff))
    print(f"wrote {args.output}")
    return EXIT_OK


def cmd_denoise(args) -> int:
    args.recording = cli_recording.check(args)
    try:
        return _denoise(args)
    finally:
        if args.recording is not None:
            args.recording.release()


def _denoise(args) -> int:
    if len(args.inputs) > 1:
        return cli_several.denoise_several(args)
    cli_several.check_single(args)
    args.input = args.inputs[0]
    if args.recording is not None and args.output is not None:
        args.recording.check_free(args.output)
    if args.print_job_script:
        print(cli_blocks.print_job_script(args))
        return EXIT_OK
    if args.adapt:
        run_with_bar(adapt_then_denoise(args))
    else:
        run_with_bar(denoise_with(args))
    print(f"wrote {args.output}")
    if args.recording is not None and not cli_recording.record_or_say(args, args.output, args.denoiser):
        return EXIT_INPUT
    return EXIT_OK


def cmd_filters(args) -> int:
    """The filters ``--method`` takes; the papers' baselines with fixed published settings apart."""
    names = max(len(f.name) for f in baselines.FILTERS.values())
    labels = max(len(f.label) for f in baselines.FILTERS.values())
    for published in (False, True):
        if published:
            print("\npaper baselines (published settings that ignore the image's noise; to reproduce the papers' "
                  "comparisons, not for real data):")
        for f in baselines.FILTERS.values():
            if f.as_published == published:
                where = ("not in the installed program" if paths.is_installed_program()
                         else f"not installed here: pip install {f.requires}")
                missing = "" if f.available else f"  [{where}]"
                print(f"{f.name:<{names}}  {f.label:<{labels}}  {f.description}{missing}")
    return EXIT_OK


def _note_a_poor_fit(model: str, source: str) -> None:
    """A line on stderr when the zoo grades ``model`` a poor fit for the stack ``source`` (the app marks it in
    the zoo: e.g. NRRN on ssTEM, whose 50 nm sections are not alike); the run goes on. Problems with either
    are left for the job to report."""
    from emdenoise_gui.zoo import fit
    from emdenoise_gui.zoo.registry import resolve

    try:
        card = resolve(model).card
        with open_stack(source) as stack:
            verdict = fit.assess_fit(card, fit.measure_facts(stack, stack.meta.voxel_size_nm, Path(source).name,
                                                             source))
    except InputError:
        return
    if verdict.grade == "poor":
        print(f"emdenoise: note: {card.name} is a poor fit for {Path(source).name} ({verdict.reason}); its result "
              "may be worse than a classical filter's", file=sys.stderr)


def _auto_model(source: str) -> tuple[str | None, str | None]:
    """``--model auto``: (model, None) with the name of the zoo model the app would preselect for the
    stack ``source`` (``zoo.fit.pick``, without measured speeds: among equal fits the lighter model), or
    (None, filter) when every model fits it poorly, with the classical filter the app then falls back to
    (``zoo.fit.fallback_filter``). Says which on stderr."""
    from emdenoise_gui.zoo import fit
    from emdenoise_gui.zoo.registry import list_entries

    if Path(AUTO_MODEL).exists():  # it used to be read as that package
        print(f"emdenoise: note: --model {AUTO_MODEL} picks the best-fitting zoo model; for the package "
              f"'{AUTO_MODEL}' in this folder give --model ./{AUTO_MODEL}", file=sys.stderr)
    name = Path(source).name
    with open_stack(source) as stack:
        facts = fit.measure_facts(stack, stack.meta.voxel_size_nm, name, source)
    entry, verdict = fit.pick(list_entries(), facts)
    if entry is None:
        fallback = fit.fallback_filter(facts)
        why = ("the zoo is empty" if verdict is None else verdict.reason if verdict.reason == fit.ONLY_ARTIFACT_MODELS
               or verdict.grade != "poor" else f"every zoo model fits it poorly (the closest: {verdict.reason})")
        print(f"emdenoise: --model auto: {why}; denoising {name} with the filter {fallback} "
              f"({baselines.FILTERS[fallback].label}), as the app does", file=sys.stderr)
        return None, fallback
    print(f"emdenoise: --model auto: {entry.name} for {name} ({verdict.grade} fit: {verdict.reason})",
          file=sys.stderr)
    return _by_name_if_unique(entry), None


def _by_name_if_unique(entry) -> str:
    """How a run names the picked zoo ``entry``: its name, as a run given it by hand records it (a block run's
    resume compares), where that name leads to this very package; else its folder. By name, a user copy named
    like a shipped model ran the shipped one, and two folders of one name failed after the pick (zoo audit)."""
    from emdenoise_gui.zoo.registry import find

    try:
        same = Path(find(entry.name).path).resolve() == Path(entry.path).resolve()
    except InputError:
        same = False
    return entry.name if same else str(entry.path)


_OUTPUT_HELP = "output file (.tif, .mrc) or OME-Zarr folder (.zarr); never an input"
#: What each parameter of ``emdenoise noise`` is, in its units (core.noise.NOISE_KINDS holds the defaults).
NOISE_PARAMETERS = {
    "dose": "electrons (counts) per pixel at the image's mean (zero counts at zero intensity, or at the "
            "stack's minimum when it holds values below zero)",
    "peak": "counts at the image's maximum (counted from zero as for --dose)",
    "sigma": "s.d. of the added Gaussian noise in 8-bit grey levels, 12.75 = 0.05 of the range",
    "n_blobs": "charging blobs per 512 x 512 px of a slice (a smaller slice gets at least one)",
    "amplitude": "charging blobs' strength, a fraction of the intensity range",
    "radius": "charging blobs' long-axis size in pixels",
    "strength": "film pattern's depth: intensities times 1 ± STRENGTH",
    "scale": "film pattern's correlation length in pixels",
}


def _add_output_args(p, output_flag: bool = True, dtype: str = "float32", output_help: str = _OUTPUT_HELP,
                     required: bool = True) -> None:
    help_text = output_help
    if output_flag:
        p.add_argument("-o", "--output", required=required, help=help_text)
    else:
        p.add_argument("output", metavar="OUT", help=help_text)
    p.add_argument("--slices", help="only these slices, START:STOP (e.g. 0:10; one slice: 5), counted from 0")
    p.add_argument("--dtype", default=dtype, choices=OUTPUT_DTYPES,
                   help="output pixel type: float32 keeps values on the input's scale; 'input' or an "
                        "integer type rounds to that type (a small overshoot is clipped; data far outside "
                        "its range, and float input that would keep under 16 grey levels, are refused) "
                        f"(default {dtype})")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")


def check_tiling_options(args) -> None:
    """InputError for a ``--tile`` / ``--stride`` / ``--quality`` no denoise can run with."""
    check_tiling(args.tile, quality_stride(args.quality, args.tile, args.stride))


def _note_model_options(args) -> None:
    """A line on stderr naming the model-only options a classical filter run ignores (it runs on the CPU,
    in float32, a slice at a time), and one when a filter of neighbouring slices gets a single image; the
    run goes on. Of several inputs, the options are named at the first only (``args.noted``). Tiling the run
    refuses is refused first (a note that --stride 9999 did not apply to a filter, then its refusal: CLI audit)."""
    check_tiling_options(args)
    ignored = [f"{flag} {value}" for flag, value, default in (("--device", args.device, "auto"),
                                                               ("--batch-size", args.batch_size, None),
                                                               ("--precision", args.precision, "auto"))
               if value != default]
    noted = getattr(args, "noted", False)
    if ignored and not noted:
        print(f"emdenoise: note: {', '.join(ignored)} {'applies' if len(ignored) == 1 else 'apply'} to --model "
              f"and --adapt only; the filter {args.method} "
              "runs on the CPU in float32", file=sys.stderr)
    chosen = baselines.FILTERS.get(args.method)
    tiling = [f"{flag} {value}" for flag, value, default in (("--tile", args.tile, TILE_DEFAULT),
                                                              ("--stride", args.stride, None),
                                                              ("--quality", args.quality, "fast")) if value != default]
    if chosen is not None and chosen.whole_slice and tiling and not noted:
        print(f"emdenoise: note: {', '.join(tiling)} do{'es' if len(tiling) == 1 else ''} not apply to "
              f"{chosen.name} ({chosen.label}): it works on the whole slice at once", file=sys.stderr)
    if chosen is not None and chosen.slices > 1:
        with open_stack(args.input) as stack:
            single = len(stack) == 1
        if single:  # it averages with neighbours there are none of: the plain filter, without a word
            print(f"emdenoise: note: {args.input}: one slice, so {chosen.name} ({chosen.label}) has no neighbours "
                  "to average and works as the single-slice filter", file=sys.stderr)


def check_method_args(args) -> None:
    """InputError for a --model / --method / --adapt combination that cannot be meant."""
    if args.model is not None and not args.model.strip():  # an unset shell variable, not "the default filter"
        raise InputError("--model is empty: give a zoo name (`emdenoise zoo list`), a package, or auto")
    if args.model and args.method:  # the model used to win without a word
        raise InputError(f"--model and --method {args.method} both given: choose a model or a classical filter")
    if not args.adapt:
        given = [flag for flag, value in (("--steps", args.steps), ("--init", args.init)) if value is not None]
        if given:  # they were ignored: the user most likely left out --adapt
            raise InputError(f"{' and '.join(given)} go{'es' if len(given) == 1 else ''} with --adapt (self-training "
                             "on the input): add --adapt nrrn or --adapt n2v, or leave "
                             f"{'it' if len(given) == 1 else 'them'} out")


def pick_denoiser(args) -> Denoiser:
    """The filter or model that denoises ``args.input`` (``--model auto`` settled for this stack; the default
    filter when neither is given), with the notes on stderr that the choice calls for."""
    if getattr(args, "scheduler", None):  # block mode; other jobs note a store's missing chunks themselves
        cli_info.note_missing_chunks(args.input)
    check_method_args(args)
    scheduler = getattr(args, "scheduler", None) or "here"
    if args.model and (scheduler == "here" or scheduler.split(":")[0] == "local"):
        # a device that is not here is the one message, not after a note on the model's fit (a batch system's
        # or a remote scheduler's workers pick it on their machines: a CPU login node submits to GPU nodes)
        from emdenoise_gui.models.device import pick_device

        if pick_device(args.device).type == "cpu" and args.device == "auto" and not getattr(args, "noted", False):
            _note_an_unused_gpu()
    chosen = args.model == AUTO_MODEL  # zoo.registry reserves the name
    if chosen:
        args.model, args.method = _auto_model(args.input)
    elif not (args.model or args.method):  # the default ran without a word: a microscopist expects a model
        open_stack(args.input).close()  # an input that cannot be read is the one message, not after the note
        args.method = baselines.DEFAULT_FILTER
        print(f"emdenoise: note: neither --model nor --method given: the filter {args.method} "
              f"({baselines.FILTERS[args.method].label}); --model auto picks the zoo model that fits this stack",
              file=sys.stderr)
    denoiser = Denoiser("model", args.model, args.model) if args.model else Denoiser("filter", args.method)
    if args.model and not chosen:
        _note_a_poor_fit(args.model, args.input)
    elif not args.model:
        _note_model_options(args)
    return denoiser


def _note_an_unused_gpu() -> None:
    """A line on stderr when ``--device auto`` leaves an NVIDIA GPU unused (torch cannot use it: the CPU edition,
    a driver too old for its CUDA), saying why (``doctor.gpu_advice``): the run's device line says the CPU."""
    import torch

    from emdenoise_gui.cli.doctor import gpu_advice, nvidia_present

    hidden = os.environ.get("CUDA_VISIBLE_DEVICES", "unset").strip() in ("", "-1")  # a CPU job on a GPU node
    if nvidia_present() and not hidden:
        say(f"emdenoise: note: --device auto: {gpu_advice(torch.version.cuda, False, True)}; models run on the CPU")


def denoise_with(args):
    """``emdenoise denoise`` with ``--model`` or ``--method``: returns the job generator (``args.denoiser``:
    what it denoises with; without -o, ``args.output`` is named in the ``--project`` now)."""
    args.denoiser = pick_denoiser(args)
    if args.output is None:
        check_pattern(cli_several.name_pattern(args))
        suffix = ".zarr" if args.scheduler else cli_several.suffix_for(args.format, args.input)
        args.output = str(args.recording.output_for(args.input, args.denoiser, suffix,
                                                    cli_several.name_pattern(args)))
    return denoise_job(args, args.denoiser)


def denoise_job(args, denoiser: Denoiser):
    """The job generator that denoises ``args.input`` into ``args.output`` with ``denoiser``."""
    stride = quality_stride(args.quality, args.tile, args.stride)
    if args.scheduler:
        return cli_blocks.block_job(args, denoiser, stride)
    cli_blocks.check_block_options(args)
    return denoise_stack(args.input, args.output, denoiser, args.slices, args.tile, stride, args.dtype,
                         args.overwrite, args.device, args.batch_size, args.precision, tell_device=args.tell_device)


def adapt_then_denoise(args):
    """``denoise --adapt``: self-train on the input (into the user's zoo), then denoise with it."""
    from emdenoise_gui.jobs.stack import StackJob
    from emdenoise_gui.jobs.train import adapt_spec, resume_job, train_job

    if args.model or args.method:
        raise InputError("--adapt trains its own model; use --init PACKAGE to start it from a zoo model, "
                         "not --model or --method")
    # what the denoise after the training would refuse, said before minutes of training (it was said after,
    # and the corrected command trained a new model: CLI audit)
    cli_blocks.check_block_options(args)
    check_tiling_options(args)
    check_batch_size(args.batch_size)
    if args.output is None:  # named in the --project after the training, when its model's name is known
        with open_stack(args.input) as stack:  # fail early
            parse_slices(args.slices, len(stack))
            check_levels(stack, resolve_dtype(args.dtype, stack))
    else:
        StackJob.prepare(args.input, args.output, args.slices, args.dtype, args.overwrite).source.close()
    spec = adapt_spec(args.input, args.adapt, args.steps, args.init or "", args.device)
    if not getattr(args, "scheduler", None):  # a block run's memory is not checked (its workers may be elsewhere)
        with open_stack(args.input) as stack:  # the denoise after it would be refused: before minutes of training
            check_slice_memory(stack.shape[1:], model_bytes_per_px(spec.family, stack.dtype), args.input)
    paused = None if args.init else _paused_adaptation(spec)
    if paused is not None:  # the same command again after a stop: go on, do not start over under a new name
        # --steps left out: on to the paused run's own total (the default stretched a 300-step run to 1,500);
        # --steps the run has passed: said, not ignored (it trained on to its own total: training audit)
        if args.steps is not None and args.steps <= paused.step:
            raise InputError(f"the paused self-training of {args.adapt} on this stack ({paused.name}) is at step "
                             f"{paused.step:,}, past --steps {args.steps:,}: give more steps, leave --steps out to "
                             f"finish its {paused.steps:,}, or give --init scratch to start anew")
        steps = args.steps
        say(f"emdenoise: note: continuing the self-training of {args.adapt} on this stack that stopped at step "
            f"{paused.step:,} of {paused.steps:,} ({paused.name}); --init scratch starts a new one")
        status = drive_training(resume_job(paused.path, steps, args.device))
        spec = replace(spec, output=str(paused.path.parent / paused.name))
    else:
        status = drive_training(train_job(spec))
    if status == EXIT_CANCELLED:  # EXIT_UNUSABLE: said, and another denoiser is taken below
        stopped = Cancelled("self-training stopped; nothing was denoised")
        stopped.kept = "its checkpoint was saved (resume it as above); nothing was denoised"
        raise stopped
    args.model = spec.output
    instead = _instead_of_a_failed_adaptation(spec, args.input)
    if instead is not None:
        args.model, args.method = instead
    try:
        return denoise_with(args)
    except InputError as exc:  # the model is trained: a rerun with --adapt would train another
        name = Path(spec.output).name
        raise InputError(f"{exc.problem}; the self-trained model is kept in the zoo as {name}: give --model "
                         f"{name} instead of --adapt to denoise with it", exc.path) from None


def _instead_of_a_failed_adaptation(spec, source: str) -> tuple[str | None, str | None] | None:
    """(model, method) to denoise with instead of the self-trained model of ``spec``, or None to use it.

    A model that failed its held-back check (``zoo.fit.failed_validation``) is not used: the model it started
    from takes its place, unless the stack's facts make that one a poor fit (``zoo.fit.assess_fit``: the
    shipped NRRN on ssTEM, 20.56 dB where the filter gave 25.25) or there is none (a run from scratch; a start
    package gone or replaced since): then the SURE-tuned Gaussian with the lower Stein's estimate on the
    held-back slices (``training.held_back.filter_named``; without estimates the filter ``--model auto``
    falls back to). The estimate does not judge the start model against the filter: on noise a little
    correlated between pixels, which passes for white, it read the shipped NRRN 52 % above the filter where it
    was 58 % below. A model that passed is replaced by the one it started from where that one's estimated
    error is lower (two networks, read alike). The self-trained model's result was used whatever it was: a
    5-step N2V gave 16.9 dB from a 20.6 dB input (training audit); on ssTEM, an NRRN adapted from the shipped
    one gave 25.76 dB where the 3x3 Gaussian gave 26.63."""
    from emdenoise_gui.training.held_back import filter_named
    from emdenoise_gui.zoo import fit
    from emdenoise_gui.zoo.package import open_package
    from emdenoise_gui.zoo.registry import recorded_name, recorded_start

    card = open_package(spec.output).card
    metrics, name = card.metrics, Path(source).name
    # the model the run started from: the command's start model, else the one its card names, where either still
    # holds those weights (a paused run resumed by a later command: that command's default is not the run's)
    recorded = str(card.training.get("init_from") or "")
    first, package = recorded_start(recorded, (spec.init, recorded_name(recorded))) or (None, None)
    start = metrics.get("init_risk") if first else None
    named = Path(first).name if first else ""  # the shipped default is a path into the app's own folder
    kept = f"{card.name} stays in the zoo"
    if fit.failed_validation(card) is None:
        value = metrics.get("val_risk")
        if start is None or value is None or start >= value:
            return None
        say(f"emdenoise: note: the model self-training started from, {named}, leaves less error on the held-back "
            f"slices than {card.name} ({fit.estimate_words(start, value)}): {name} is denoised with it ({kept})")
        return first, None
    with open_stack(source) as stack:
        facts = fit.measure_facts(stack, stack.meta.voxel_size_nm)
    unfit = fit.assess_fit(package.card, facts) if package else None
    if unfit is not None and unfit.grade != "poor":
        instead, words = (first, None), f"the model it started from, {named}"
    else:
        method = filter_named(metrics) or fit.fallback_filter(facts)
        why = f" (the model it started from, {named}, is a poor fit for it: {unfit.reason})" if unfit else ""
        instead, words = (None, method), f"the filter {method}{why}"
    say(f"emdenoise: note: so {name} is denoised with {words} instead of {card.name} ({kept}: train it longer with "
        "more --steps, or delete it)")
    return instead


def _paused_adaptation(spec):
    """The paused self-training of ``spec``'s family on the same stack (its name and fingerprint) furthest on,
    or None: rerunning a stopped ``denoise --adapt`` started again from step 0 under a new name, and the
    paused runs piled up in the zoo (kill audit of 2026-12-06)."""
    from emdenoise_gui.zoo.registry import list_paused

    runs = [run for run in list_paused()
            if run.family == spec.family and run.adapted_to and run.adapted_to == spec.notes.get("adapted_to")]
    return max(runs, key=lambda run: run.step, default=None)


def _add_ngff(p) -> None:
    p.add_argument("--ngff", choices=omezarr.VERSIONS,
                   help="OME-Zarr version of a .zarr output: 0.5 (zarr v3, sharded; the default) or 0.4 "
                        "(zarr v2, for readers without zarr v3)")


def add_parsers(sub) -> None:
    """Register info, convert, noise, denoise, compare and filters on the ``emdenoise`` subparsers."""
    p = sub.add_parser("info", help="format, shape, dtype, voxel size and intensity statistics")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=cli_info.cmd_info)

    p = sub.add_parser("convert", help="copy a stack between TIFF, MRC and OME-Zarr (voxel size kept)")
    p.add_argument("input", metavar="IN")
    _add_output_args(p, output_flag=False, dtype="input")
    _add_ngff(p)
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("noise", help="add seeded synthetic noise (benchmark conditions)")
    p.add_argument("input", metavar="IN")
    _add_output_args(p)
    p.add_argument("--kind", required=True, choices=list(noise.NOISE_KINDS),
                   help="; ".join(f"{k.name}: {k.description}" for k in noise.NOISE_KINDS.values()))
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    _add_ngff(p)
    defaults: dict[str, list[str]] = {}  # parameter -> "KIND: DEFAULT" for each kind that takes it
    for kind in noise.NOISE_KINDS.values():
        for key, default in kind.params.items():
            defaults.setdefault(key, []).append(f"{kind.name}: {default:g}")
    for key, kinds in defaults.items():
        p.add_argument(f"--{key.replace('_', '-')}", dest=key, type=float,
                       help=f"{NOISE_PARAMETERS.get(key, key)} (default {', '.join(kinds)})")
    p.set_defaults(func=cmd_noise)

    p = sub.add_parser("denoise", help="denoise a stack (or several) with a classical filter or a model")
    p.add_argument("inputs", nargs="+", metavar="IN",
                   help="the stack to denoise; several: each in turn, results named in the -o folder")
    _add_output_args(p, output_help=f"{_OUTPUT_HELP}; with several IN, the folder the results go to "
                                    "(made if missing); with --project, optional", required=False)
    p.add_argument("--method", "--filter", dest="method", choices=list(baselines.FILTERS), metavar="FILTER",
                   help=f"classical filter: {', '.join(baselines.FILTERS)} (see `emdenoise filters`; default "
                        f"{baselines.DEFAULT_FILTER} when no --model)")
    p.add_argument("--model", help="a model package (folder, .zip) or zoo name; replaces --method; 'auto': "
                                   "the zoo's best fit for the stack, as the app preselects it, without timing "
                                   "the models (among equal fits the lighter; when every model fits poorly, or "
                                   "for a single image a model of neighbouring slices would be the pick, the "
                                   "SURE-tuned Gaussian on the slice and its neighbours for alike slices, else on "
                                   "each slice)")
    p.add_argument("--device", default="auto", type=arguments.device,
                   help=f"for --model and --adapt: {arguments.DEVICE_HELP} (default: auto)")
    p.add_argument("--batch-size", type=int,
                   help="for --model: tiles per batch (default: from the tile size on the CPU, from free memory on a GPU)")
    p.add_argument("--tile", type=int, default=TILE_DEFAULT,
                   help=f"tile side in pixels (default {TILE_DEFAULT}; xception models use their training crop, "
                        "cyclic models at least 1024)")
    p.add_argument("--quality", choices=QUALITIES, default="fast",
                   help="fast: tiles overlap by what the network sees around a pixel, each pixel is computed "
                        "about once; paper: the papers' half-tile stride with Gaussian blending, 4x the work "
                        "(default fast)")
    p.add_argument("--stride", type=int, help="tile step in pixels, Gaussian blending (overrides --quality)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="for --model: auto uses bfloat16/float16 where the device computes it natively "
                        "(CUDA GPUs, CPUs with AVX512-BF16 or AMX), else float32 (default auto)")
    p.add_argument("--adapt", choices=ADAPT_FAMILIES,
                   help="first self-train this family on IN itself (no clean data needed), add it to your zoo, "
                        "then denoise IN with it")
    p.add_argument("--steps", type=int, help="for --adapt: training steps (default " + ", ".join(
        f"{name} {family.adapt_steps}" for name, family in FAMILIES.items() if family.adapt_steps)
        + ": minutes on 2 CPU cores)")
    p.add_argument("--init", metavar="PACKAGE",
                   help="for --adapt: start from this zoo model of the same family (default: the shipped one, "
                        "if there is one; 'scratch' for a fresh network)")
    cli_recording.add_argument(p)
    cli_blocks.add_arguments(p)
    cli_several.add_arguments(p)
    # tell_device: a model run says where it runs (jobs.denoise.device_line); several stacks: cli_several._run
    p.set_defaults(func=cmd_denoise, tell_device=True)

    cli_compare.add_parser(sub)

    p = sub.add_parser("filters", help="list the classical filters")
    p.set_defaults(func=cmd_filters)
