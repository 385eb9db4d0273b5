"""``emdenoise`` commands that need torch: families, train, resume, zoo; and model denoising.

torch is imported inside the handlers, so the classical commands start fast
and work where torch is missing.
"""

from __future__ import annotations

import os
import sys

from emdenoise_gui.cli import arguments
from emdenoise_gui.cli.progress import drive_training
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.models.registry import CONFIG_NAMES, FAMILIES
from emdenoise_gui.training.synthetic import DOSE_DISTRIBUTIONS

#: The Gaussian sigma range of synthetic noise when --sigma is not given (8-bit grey levels).
SIGMA_DEFAULT = "5:80"


def _parse_range(text: str, flag: str, unit: str, example: str = "25:100") -> tuple[float, float]:
    try:
        parts = [float(p) for p in text.split(":")]
    except ValueError:
        point = " (with a decimal point, not a comma)" if "," in text else ""
        raise InputError(f"{flag} '{text}' should be LOW:HIGH {unit}{point}, e.g. {example}") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2:
        raise InputError(f"{flag} '{text}' should be LOW:HIGH {unit}, e.g. {example}")
    return parts[0], parts[1]


def _parse_dose(text: str) -> tuple[float, float]:
    return _parse_range(text, "--dose", "counts per pixel")


def _split_region(spec: str) -> tuple[str, str, str]:
    """A data argument (``PATH`` or ``PATH@y0:y1,x0:x1``) as (path, "@" or "", region or ""); a path that
    exists with an "@" in its name is a path."""
    return spec.rpartition("@") if not os.path.exists(spec) and "@" in spec else (spec, "", "")


def _absolute(spec: str) -> str:
    """A data argument with its path made absolute: the checkpoint keeps it, and ``resume`` may run from another
    folder."""
    path, at, rect = _split_region(spec)
    return os.path.abspath(path) + at + rect


def cmd_train(args) -> int:
    from emdenoise_gui.cli.info import note_missing_chunks
    from emdenoise_gui.jobs.train import train_job
    from emdenoise_gui.training.spec import RunSpec

    data = {role: [_absolute(spec) for spec in getattr(args, role)]
            for role in ("clean", "noise", "noisy") if getattr(args, role)}
    for spec in (spec for specs in data.values() for spec in specs):  # chunks not stored would train on zeros
        note_missing_chunks(_split_region(spec)[0])
    _refuse_unused_options(args, data)
    init = os.path.abspath(args.init) if args.init and os.path.exists(args.init) else args.init or ""
    if args.config is None and init:  # fine-tuning: the start model's size (its crop, batch and rate follow)
        from emdenoise_gui.zoo.registry import start_config

        args.config = start_config(init, args.family)
    output = os.path.abspath(args.output)
    checkpoint_dir = _zoo_checkpoint(output, args.name or os.path.basename(os.path.normpath(output)))
    spec = RunSpec(family=args.family, config=args.config or "lite", steps=args.steps, data=data,
                   output=output, checkpoint_dir=checkpoint_dir,
                   name=args.name or "", crop=args.crop, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                   device=args.device, amp=not args.no_amp, **({"dose": _parse_dose(args.dose)} if args.dose else {}),
                   dose_dist=args.dose_dist or ("log-uniform" if args.dose else ""),
                   sigma=_parse_range(args.sigma or SIGMA_DEFAULT, "--sigma", "grey levels"),
                   gaussian_fraction=args.gaussian_fraction or 0.0,
                   init=init, objective=args.objective or "", neighbours=args.neighbours or "",
                   validate_every=args.validate_every, checkpoint_every=args.checkpoint_every,
                   gan_mode=args.gan_mode or "lsgan", artifacts=args.artifacts or "", clean_output=args.clean_output or "",
                   shot_noise=args.shot_noise)
    if not checkpoint_dir:
        _note_a_taken_name(args.name or os.path.basename(os.path.normpath(output)))
    return drive_training(train_job(spec))


def _refuse_unused_options(args, data: dict) -> None:
    """InputError for an option the run would ignore: each was ignored without a word, and the card then said
    nothing of it (--dose; the training audit found --objective, --gan-mode, --gaussian-fraction and --sigma,
    and --dose on cyclic --artifacts without --shot-noise, the same way)."""
    family, artifacts = args.family, bool(args.artifacts)
    synthetic = (family in ("xception", "nrrn") and "clean" in data) or (family == "cyclic" and artifacts
                                                                        and bool(args.shot_noise))
    if family == "cyclic" and artifacts:
        without = "this cyclic run adds no shot noise: give --shot-noise too, or leave {it} out"
    else:
        without = f"this {family} run learns from the noise in your data: leave {{it}} out"
    noise = (("--dose", args.dose), ("--dose-dist", args.dose_dist), ("--sigma", args.sigma),
             ("--gaussian-fraction", args.gaussian_fraction is not None))
    rules = [
        (noise, synthetic, "synthetic noise on --clean data (xception, nrrn) or on cyclic --artifacts with "
                           "--shot-noise; " + without),
        ((("--objective", args.objective),), family == "nrrn" and "noisy" in data,
         f"the loss of nrrn on --noisy data; this {family} run{' on --clean data' if 'clean' in data else ''} has no "
         "such choice: leave {it} out"),
        ((("--gan-mode", args.gan_mode),), family == "cyclic" and not artifacts,
         "the adversarial loss of the cyclic GAN on its three pools (--clean, --noise, --noisy); this run has no "
         "GAN: leave {it} out"),
    ]
    for options, used, what in rules:
        given = [flag for flag, value in options if value]
        if given and not used:
            verb = "sets" if len(given) == 1 else "set"
            raise InputError(f"{' and '.join(given)} {verb} {what.format(it='it' if len(given) == 1 else 'them')}")
    if args.sigma and not args.gaussian_fraction:  # unused where no sample gets Gaussian noise (review)
        raise InputError("--sigma sets the Gaussian noise of the share of samples --gaussian-fraction gives: give "
                         "that too (above 0), or leave --sigma out")
    if args.dose and (args.dose_dist or "log-uniform") != "log-uniform":
        raise InputError(f"--dose-dist {args.dose_dist} draws Ede & Beanland's doses, not --dose's range: leave one "
                         "of them out")


def _zoo_checkpoint(output: str, name: str) -> str:
    """For an ``-o`` inside the user zoo's folder: the zoo's hidden checkpoint beside it (``.NAME.checkpoint``:
    a plain ``NAME.checkpoint`` there was listed as an unusable model, and a paused run was not shown as paused);
    InputError when ``name`` is taken, since the package joins the zoo at once (two models of one name made
    ``--model NAME`` fail). "" for an output elsewhere."""
    from emdenoise_gui.zoo.registry import name_taken, run_checkpoint, user_dir

    if os.path.dirname(os.path.realpath(output)) != os.path.realpath(user_dir()):
        return ""
    taken = name_taken(name)
    if taken:
        raise InputError(f"{taken}; a model written into the zoo's folder joins the zoo at once: give it another "
                         "--name (or write it elsewhere with -o)")
    return str(run_checkpoint(os.path.basename(output)))


def _note_a_taken_name(name: str) -> None:
    """A line on stderr when the new model's name is one the zoo has (shipped or the user's): the package
    works by its path, but ``zoo import`` would refuse it; the run goes on (retraining a shipped model
    under its own name is how it is remade)."""
    from emdenoise_gui.zoo.registry import name_taken

    taken = name_taken(name)
    if taken:
        print(f"emdenoise: note: {taken}; this package works by its path (--model PATH), but joins the zoo only "
              "under another --name", file=sys.stderr)


def cmd_resume(args) -> int:
    from emdenoise_gui.jobs.train import resume_job

    return drive_training(resume_job(args.checkpoint, args.steps, args.device))


def cmd_families(args) -> int:
    from emdenoise_gui.models.blocks import parameter_counts
    from emdenoise_gui.models.registry import architectures

    for info in FAMILIES.values():
        counts = parameter_counts(info.name)
        print(f"{info.name}: {info.title}")
        print(f"  for:     {info.purpose}")
        print(f"  needs:   {info.needs_text(flags=True)}")
        for config, arch in architectures(info.name).items():
            args_text = ", ".join(f"{k}={v}" for k, v in arch.items())
            parts = counts[config]
            nets = "".join(f", {net} {n / 1e6:.3f} M" for net, n in parts.items() if net != "total")
            print(f"  {config:<6}   {parts['total'] / 1e6:8.3f} M parameters{nets}  ({args_text})")
    return 0


def _shortened(text: str, most: int) -> str:
    """``text`` in at most ``most`` characters (cut with "…"): a card's noise condition ran lines to 476 characters
    in `zoo list` (`zoo show` prints it whole)."""
    return text if len(text) <= most else text[:most - 1].rstrip() + "…"


def _holds(words: list[str], *texts: str) -> bool:
    """Whether every one of ``words`` is in one of ``texts`` (case aside), as the app's zoo search finds them."""
    joined = " ".join(texts).casefold()
    return all(word.casefold() in joined for word in words)


def _card_words(entry) -> tuple[str, ...]:
    card = entry.package.card if entry.package else None
    return ("unusable", entry.problem or "") if card is None else (card.family, card.config, card.description,
                                                                    card.noise_condition)


def cmd_zoo(args) -> int:
    from emdenoise_gui.zoo import registry

    if args.zoo_command == "list":
        entries, paused = registry.list_entries(), registry.list_paused()
        if not entries:
            print(f"no models yet; train one with `emdenoise train` or import one (user zoo: {registry.user_dir()})")
        if args.words:
            entries = [e for e in entries if _holds(args.words, e.name, *_card_words(e))]
            paused = [run for run in paused if _holds(args.words, run.name, run.family, "paused")]
            if not entries and not paused:
                print(f"no model in the zoo holds {' '.join(args.words)!r} in its name, family, size or "
                      "description; `emdenoise zoo list` shows them all")
        width = min(48, max([28, *(len(e.name) for e in entries), *(len(run.name) for run in paused)]))
        names = [e.name.casefold() for e in entries]
        for e in entries:
            where = "shipped" if e.shipped else "user"
            # a name carried by several folders: each shown with its own (what `zoo delete --folder` asks for)
            folder = f"  [{e.path}]" if names.count(e.name.casefold()) > 1 else ""
            if e.package is None:
                print(f"{e.name:<{width}} {where:<8} UNUSABLE: {e.problem}{folder}")
                continue
            c = e.package.card
            print(f"{c.name:<{width}} {where:<8} {c.family:<9} {c.config:<6} {c.parameters / 1e6:7.3f} M  "
                  f"{_shortened(c.noise_condition, 60)}{folder}")
        for run in paused:  # as the app's zoo lists them (Kind "paused")
            print(f"{run.name:<{width}} {'paused':<8} step {run.step:,} of {run.steps:,}: go on with `emdenoise resume "
                  f"{run.path}`")
    elif args.zoo_command == "show":
        import json

        card = registry.find(args.name).package.card
        print(json.dumps(card.to_dict(), indent=2))
    elif args.zoo_command == "import":
        package = registry.import_package(args.file)
        print(f"imported {package.card.name} into {package.path}")
    elif args.zoo_command == "export" and args.format == "bioimageio":
        print(f"wrote {export_bioimageio(args.name, args.file, args.overwrite)}")
    elif args.zoo_command == "export":
        print(f"wrote {registry.export_package(args.name, args.file, args.overwrite)}")
    elif args.zoo_command == "delete":
        if not args.yes:
            raise InputError(f"deleting '{args.name}' cannot be undone; add --yes to confirm")
        paused = [run for run in registry.list_paused() if run.name == args.name]
        if paused and args.folder is None and not any(e.name == args.name and not e.shipped
                                                       for e in registry.list_entries()):
            print(f"discarded the paused training {registry.discard_paused(paused[0])} (step {paused[0].step:,} of "
                  f"{paused[0].steps:,})")
        else:
            print(f"deleted {registry.delete_package(args.name, args.folder)}")
    return 0


def export_bioimageio(name: str, destination: str, overwrite: bool):
    """``zoo export NAME --format bioimageio OUT.zip``: the network's halo measured on the CPU, then the zip."""
    import torch

    from emdenoise_gui.inference.predictor import Predictor
    from emdenoise_gui.zoo import bioimageio, registry

    package = registry.find(name).package
    halo = Predictor(package, torch.device("cpu")).halo or 0
    return bioimageio.export(package, destination, halo, overwrite)


def add_parsers(sub) -> None:
    """Register families, train, resume and zoo on the ``emdenoise`` subparsers."""
    p = sub.add_parser("families", help="the model families, their configurations and parameter counts")
    p.set_defaults(func=cmd_families)

    p = sub.add_parser("train", help="train a model family on your data and write a model package")
    p.add_argument("family", choices=list(FAMILIES))
    p.add_argument("--config", choices=CONFIG_NAMES,
                   help="network size: lite (every family; minutes on a CPU), base (nrrn: twice lite's width; "
                        "xception: lite with a full-resolution input skip, "
                        "an experiment that did not beat lite), paper (as published; use a GPU) (default lite; "
                        "with --init, the start model's)")
    p.add_argument("--noisy", action="append", metavar="STACK", help="noisy data (nrrn, n2v, cyclic); repeatable")
    p.add_argument("--clean", action="append", metavar="STACK",
                   help="clean data (xception, nrrn, cyclic); repeatable")
    p.add_argument("--noise", action="append", metavar="STACK[@y0:y1,x0:x1]",
                   help="pure noise patterns (cyclic): files or rectangles of blank regions; repeatable")
    p.add_argument("--dose",
                   help="synthetic Poisson noise on --clean data (xception, nrrn; cyclic --artifacts with --shot-noise): "
                        "counts per pixel at the mean, "
                        "LOW:HIGH, log-uniform (default 25:100)")
    p.add_argument("--dose-dist", choices=list(DOSE_DISTRIBUTIONS),
                   help="how synthetic doses are drawn: " + "; ".join(f"{k}: {v}" for k, v in DOSE_DISTRIBUTIONS.items())
                        + " (default: ede-low for the paper xception unless --dose is given, else log-uniform)")
    p.add_argument("--sigma",
                   help="synthetic noise on --clean data (xception, nrrn) with --gaussian-fraction above 0: Gaussian "
                        f"sigma LOW:HIGH in 8-bit grey levels (default {SIGMA_DEFAULT})")
    p.add_argument("--gaussian-fraction", type=float,
                   help="synthetic noise on --clean data (xception, nrrn): share of samples with Gaussian instead "
                        "of Poisson noise (default 0)")
    p.add_argument("--init", metavar="PACKAGE",
                   help="fine-tune: start from this model (zoo name or package) of the same family; "
                        "a third of the default learning rate")
    p.add_argument("--objective", choices=["consensus", "blind-spot"],
                   help="nrrn on --noisy data: consensus Noise2Noise between neighbours (the paper's; the default "
                        "for --neighbours pair) or a blind spot in the centre slice with the neighbours intact (the "
                        "default for --neighbours mean)")
    p.add_argument("--neighbours", choices=["pair", "mean"],
                   help="nrrn: the paper's two branches, one per neighbour (pair; the default on --noisy data), or "
                        "one branch on the neighbours' mean (mean: half the compute; the default on --clean data; "
                        "see docs/benchmarks.md); --init keeps its package's")
    p.add_argument("--artifacts", metavar="film,charge",
                   help="cyclic on --clean data alone: the denoiser learns to remove these synthetic artifacts "
                        "(film, charge or both, comma-separated) instead of learning them from --noise and --noisy; "
                        "lite defaults to 240 px crops, 4 per step")
    p.add_argument("--shot-noise", type=float, default=0.0, metavar="FRACTION",
                   help="cyclic with --artifacts: this share of the samples (0-1) also gets shot noise after the "
                        "artifact, at a dose drawn from --dose (default 0: the artifacts alone; --init does not "
                        "carry it over, give it again)")
    p.add_argument("--clean-output", choices=["direct", "gated"],
                   help="cyclic: the denoiser's clean image is its own output (direct, the paper's; the default "
                        "for the paper's GAN) or that output blended, by a gate it learns, with its input less the "
                        "artifact it finds (gated: an image without artifacts can pass through unchanged; the "
                        "default with --artifacts); --init keeps its package's unless given (a direct package "
                        "gets a gate that starts at an even blend)")
    p.add_argument("--steps", type=int, default=300, help="optimiser steps (default 300)")
    p.add_argument("-o", "--output", required=True, help="the model package folder to write")
    p.add_argument("--name", help="model name in the zoo (default: the package folder name)")
    p.add_argument("--crop", type=int, help="training crop in px (default per family and config)")
    p.add_argument("--batch-size", type=int, help="crops per step (default per family and config)")
    p.add_argument("--lr", type=float, help="learning rate (default per family and config)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the crops, noise and network (default 0)")
    p.add_argument("--device", default="auto", type=arguments.device, help=f"{arguments.DEVICE_HELP} (default: auto)")
    p.add_argument("--no-amp", action="store_true",
                   help="train in float32 throughout (default: mixed precision on CUDA GPUs and on CPUs that "
                        "compute bfloat16 natively)")
    p.add_argument("--validate-every", type=int, default=50, metavar="STEPS",
                   help="score the held-back slices every STEPS steps; the best scored model is the one written "
                        "(default 50)")
    p.add_argument("--checkpoint-every", type=int, default=100, metavar="STEPS",
                   help="save a checkpoint to resume from every STEPS steps (default 100)")
    p.add_argument("--gan-mode", choices=["lsgan", "vanilla"],
                   help="cyclic: the adversarial loss, least squares or the original GAN's (default lsgan)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("resume", help="continue a training run from its checkpoint")
    p.add_argument("checkpoint", metavar="CHECKPOINT",
                   help="the NAME.checkpoint folder the stopped run saved beside its package (see `emdenoise zoo list`)")
    p.add_argument("--steps", type=int, help="a new total number of steps")
    p.add_argument("--device", type=arguments.device,
                   help=f"{arguments.DEVICE_HELP}, for this resume only: a later one without --device goes on "
                        "on the device the run started on (default: that device)")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("zoo", help="list, show, import, export or delete model packages")
    zoo = p.add_subparsers(dest="zoo_command", required=True, metavar="ACTION")
    q = zoo.add_parser("list", help="every model in the zoo, or those matching WORDS")
    q.add_argument("words", nargs="*", metavar="WORD",
                   help="only the models whose name, family, size or description holds every word (case aside)")
    q = zoo.add_parser("show", help="a model's card")
    q.add_argument("name", metavar="NAME", help="a model's name in the zoo (see `emdenoise zoo list`)")
    q = zoo.add_parser("import", help="add a package (folder or .zip) to your zoo")
    q.add_argument("file", metavar="PACKAGE", help="a model package folder, or its .zip (EMDenoise's or bioimage.io's)")
    q = zoo.add_parser("export", help="write a model as a .zip package (EMDenoise's own, or bioimage.io)")
    q.add_argument("name", metavar="NAME", help="a model's name in the zoo")
    q.add_argument("file", metavar="FILE.zip", help="the .zip to write")
    q.add_argument("--format", choices=("emdenoise", "bioimageio"), default="emdenoise",
                   help="emdenoise: card and weights, for another EMDenoise; bioimageio: a bioimage.io model "
                        "(spec 0.5: PyTorch state dict and TorchScript, test tensors) for other tools")
    q.add_argument("--overwrite", action="store_true", help="replace FILE.zip if it exists")
    q = zoo.add_parser("delete", help="remove one of your models")
    q.add_argument("name", metavar="NAME", help="one of your models (shipped ones cannot be deleted), or a paused run")
    q.add_argument("--folder", help="the package folder in your zoo (or its path) to delete, where two of your "
                                    "models carry one name")
    q.add_argument("--yes", action="store_true", help="confirm: deleting cannot be undone, and nothing is deleted without it")
    p.set_defaults(func=cmd_zoo)

