"""Q (quality): every method side by side on real EM data with synthetic noise, against the clean reference.

Data (../shared/data): the FlyEM FIB-SEM validation volume (uint8 / 255 = clean reference), test
slices 96-127 (the models were trained on other slices or volumes); single-image methods also on all
30 slices of the ISBI 2012 ssTEM stack (stack methods are n/a there). Conditions: Poisson dose 25, 50,
100, 300 counts/px; Poisson peak 1, 4, 8, 30; Gaussian sigma 10, 25, 35, 75 (8-bit) and 0.05
([0, 1]); charge; film. The noisy data are stored as uint8 and every method reads them. Rows: the
noisy input, the 12 classical filters, every shipped model package (emdenoise_gui/resources/models/)
and any ``--models`` package, run through ``denoise_model_job`` exactly as the CLI runs them, and the CAREamics N2V peer
(benchmarks/peer_careamics.py) trained on FlyEM slices 0-95 with the same noise.

    .venv/bin/python benchmarks/quality.py                      # everything (hours: BM3D ~13 s a slice)
    .venv/bin/python benchmarks/quality.py --quick --no-peer    # 4 FlyEM + 4 ssTEM slices, 4 conditions
    .venv/bin/python benchmarks/quality.py --conditions "poisson-dose 25,charge" --methods gaussian,models
    .venv/bin/python benchmarks/quality.py --tiny --out-dir /tmp/q   # smoke test: 64x64, 2 slices
    .venv/bin/python benchmarks/quality.py --jobs 2             # 2 spawn workers, one condition each
    .venv/bin/python benchmarks/quality.py --merge A.json B.json  # earlier runs' rows as one result

``--jobs N``: N spawn workers (1 torch thread each unless ``--threads``), one condition per task, each
scoring every row (and the peer) on both datasets with the same seeds: numbers equal ``--jobs 1``'s at
the same thread count. Models tile with ``--tile``/``--stride`` (xception: its training crop). Model
s/MP times whole ``denoise_model_job`` calls (package load and TIFF I/O included), one per run of
consecutive scored slices, so one per slice with ``--slices`` K > 1.

``--merge``: combine the rows of earlier runs' result files (e.g. one ``--methods filters,peer`` run
and one ``--methods models --models ...`` run, same conditions, datasets and slices) into one result,
recomputing nothing; rules in benchmarks/quality_merge.py. It writes and checks the result as a run.

Writes benchmarks/results/quality.json, the docs/benchmarks.md section between the quality markers
and docs/images/quality_dose.png (``--quick``: the quality-quick files; ``--out-dir``: all into it,
docs untouched).
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, today  # noqa: E402
from benchmarks.quality_data import (  # noqa: E402
    CONDITIONS,
    QUICK_CONDITIONS,
    TINY_CONDITIONS,
    Dataset,
    load_datasets,
    peer_training_data,
)
from benchmarks.quality_methods import (  # noqa: E402
    Method,
    filter_methods,
    input_method,
    load_peer,
    model_method,
    shipped_models,
)
from benchmarks.quality_output import PEER_KEY, command_line, finish, outputs, save  # noqa: E402
from benchmarks.quality_report import score  # noqa: E402
from emdenoise_gui.core.errors import InputError  # noqa: E402
from emdenoise_gui.jobs.stack import check_tiling  # noqa: E402

DEFAULT_PEER_CONDITIONS = ("poisson-dose 25", "poisson-dose 100")
QUICK_FLYEM = [96, 104, 112, 120]
TINY_CROP, TINY_FLYEM, TINY_SSTEM = 64, [96, 112], [0, 15]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="FlyEM slices 96,104,112,120, 4 ssTEM slices, "
                   f"conditions {', '.join(QUICK_CONDITIONS)}; no peer unless --peer")
    p.add_argument("--tiny", action="store_true", help="smoke test: 2 slices, 64x64 crop, 2 conditions, "
                   "gaussian + gaussian-avg + one shipped model, no peer unless --peer; needs --out-dir")
    p.add_argument("--conditions", help=f"comma-separated condition names (of: {', '.join(CONDITIONS)})")
    p.add_argument("--methods", help="comma-separated rows: filter names, model card names, 'filters', "
                   "'models', 'peer' (the noisy input is always a row)")
    p.add_argument("--slices", type=int, default=1, metavar="K", help="every K-th test slice (default 1: all)")
    p.add_argument("--models", nargs="+", action="extend", default=[], metavar="PATH",
                   help="extra model package folders (replace a shipped model of the same card name)")
    p.add_argument("--datasets", default="flyem,sstem", help="flyem and/or sstem (default both)")
    p.add_argument("--peer", action="store_true", help="run the peer in --quick and --tiny mode too")
    p.add_argument("--no-peer", action="store_true", help="skip the CAREamics N2V peer")
    p.add_argument("--peer-conditions", default=",".join(DEFAULT_PEER_CONDITIONS),
                   help="conditions the peer is trained and scored on (default: %(default)s)")
    p.add_argument("--peer-budget", type=float, help="peer training wall-time budget in s (default: the shipped "
                   "N2V card's metrics.train_seconds, else 600)")
    p.add_argument("--threads", type=int, help="torch intra-op threads for the models (default: torch's; "
                   "1 per worker with --jobs > 1)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="score the conditions in N spawn worker "
                   "processes, one condition per task (default 1: in this process)")
    p.add_argument("--tile", type=int, default=512, help="model tile side in px (default 512, the CLI's; "
                   "xception models use their training crop)")
    p.add_argument("--stride", type=int, help="model tile step in px: the papers' Gaussian-blended tiling "
                   "(default: none, the CLI's \"quality: fast\" band tiling)")
    p.add_argument("--device", default="cpu", help="where the models run: cpu, cuda, cuda:N (default cpu; the "
                   "filters and the peer always run on the CPU)")
    p.add_argument("--out-dir", help="write the JSON, Markdown and PNG here instead of benchmarks/results and docs/")
    p.add_argument("--merge", nargs="+", metavar="RESULT.json", help="combine the rows of earlier runs' result "
                   "files (same slices, crop and seeds) into one result and write it as a run would; "
                   "recomputes nothing; takes no other option but --out-dir")
    args = p.parse_args(argv)
    if args.merge:
        others = sorted({a.split("=")[0] for a in argv if a.startswith("--")} - {"--merge", "--out-dir"})
        if others:
            p.error(f"--merge takes no other option but --out-dir (the runs' options are in their files): "
                    f"drop {', '.join(others)}")
        return args
    if args.tiny and not args.out_dir:
        p.error("--tiny writes into a scratch folder: give --out-dir")
    if args.jobs < 1 or (args.threads is not None and args.threads < 1):
        p.error("--jobs and --threads must be at least 1")
    try:
        check_tiling(args.tile, args.stride)
        args.device, args.device_words = models_device(args.device)
    except InputError as exc:
        p.error(str(exc))
    names = args.conditions.split(",") if args.conditions else None
    args.condition_names = [n.strip() for n in names] if names else list(
        TINY_CONDITIONS if args.tiny else QUICK_CONDITIONS if args.quick else CONDITIONS)
    args.peer_condition_names = [n.strip() for n in args.peer_conditions.split(",") if n.strip()]
    for name in args.condition_names + args.peer_condition_names:
        if name not in CONDITIONS:
            p.error(f"unknown condition {name!r}; valid: {', '.join(CONDITIONS)}")
    args.want_peer = not args.no_peer and (args.peer or not (args.quick or args.tiny))
    return args


def models_device(choice: str) -> tuple[str, str]:
    """``choice`` (cpu, cuda, cuda:N, auto) -> (the device's name for the models, the machine line's tail:
    ', no GPU used' or ', models on NVIDIA H200 (139.8 GiB)'); InputError where it is not here."""
    from emdenoise_gui.models.device import device_label, pick_device

    device = pick_device(choice)
    return str(device), ", no GPU used" if device.type == "cpu" else f", models on {device_label(device)}"


def select_methods(args) -> tuple[list[Method], list[str]]:
    """The table rows in order (input, filters, models) and the problems met listing packages.

    A ``--models`` package replaces the shipped one of the same card name; ``--models`` rows are
    always kept, whatever ``--methods`` and ``--tiny`` select.
    """
    shipped, problems = shipped_models()
    extras = [model_method(Path(path)) for path in args.models]
    shipped = [m for m in shipped if m.key not in {e.key for e in extras}]
    filters = filter_methods()
    if args.tiny and not args.methods:
        shipped = ([m for m in shipped if m.card.get("family") == "nrrn"] or shipped)[:1]
        filters = [f for f in filters if f.key in ("gaussian", "gaussian-avg")]
    if args.methods:
        wanted = {w.strip() for w in args.methods.split(",") if w.strip()}
        valid = {m.key for m in filters + shipped + extras} | {"filters", "models", "peer", "input"}
        unknown = sorted(wanted - valid)
        if unknown:
            raise SystemExit(f"unknown method(s) {', '.join(unknown)}; valid: {', '.join(sorted(valid))}")
        filters = [f for f in filters if f.key in wanted or "filters" in wanted]
        shipped = [m for m in shipped if m.key in wanted or "models" in wanted]
        args.want_peer = args.want_peer and "peer" in wanted
    return [input_method(), *filters, *shipped, *extras], problems


def peer_budget(args, methods: list[Method]) -> float:
    """--peer-budget, else the shipped N2V card's metrics.train_seconds, else 600 s."""
    if args.peer_budget:
        return args.peer_budget
    for m in methods:
        seconds = (m.card.get("metrics") or {}).get("train_seconds") if m.card.get("family") == "n2v" else None
        if seconds:
            return float(seconds)
    return 600.0


@dataclass
class Plan:
    """What scoring a condition needs besides the data (picklable: a spawn worker gets it once). methods:
    input, filters, models (not the peer); data: ``load_datasets`` kwargs; peer_conditions: where the peer
    runs (empty: nowhere); threads: torch threads (None: torch's default); tile, stride, device: the
    models'."""

    methods: list[Method]
    data: dict
    dataset_keys: list[str]
    peer_conditions: list[str]
    peer_budget: float
    threads: int | None
    tile: int
    stride: int
    device: str = "cpu"

    def datasets(self) -> list[Dataset]:
        return [d for d in load_datasets(**self.data) if d.key in self.dataset_keys]


def dataset_spec(args) -> dict:
    """``load_datasets`` keyword arguments for this mode (--tiny, --quick or full; --slices, --datasets)."""
    with_sstem = "sstem" in {d.strip() for d in args.datasets.split(",")}
    if args.tiny:
        return dict(crop=TINY_CROP, flyem_slices=TINY_FLYEM, sstem_slices=TINY_SSTEM, with_sstem=with_sstem)
    if args.quick:
        return dict(flyem_slices=QUICK_FLYEM[::args.slices], step=8 * args.slices, with_sstem=with_sstem)
    return dict(step=args.slices, with_sstem=with_sstem)


def score_condition(plan: Plan, datasets: list[Dataset], cond_name: str, workdir: Path) -> dict:
    """Score every method on every dataset under one condition, and the peer on FlyEM where
    ``cond_name`` is a peer condition: ``{"results": {dataset: {method: cell}}, "peer": status or None}``.

    The one scoring routine: the single-process loop and the spawn workers both call it.
    """
    cond = CONDITIONS[cond_name]
    cond_dir = Path(tempfile.mkdtemp(dir=workdir))
    part = {"results": {ds.key: {} for ds in datasets}, "peer": None}
    for ds in datasets:
        reference = np.stack([ds.reference(z) for z in ds.slices])
        cells, noisy = part["results"][ds.key], None
        for m in plan.methods:
            if not m.applies_to(ds):
                cells[m.key] = {"na": "stack method; neighbouring sections are not alike"}
                continue
            pred, seconds = m.run(ds, cond, cond_dir, tile=plan.tile, stride=plan.stride, device=plan.device)
            if m.kind == "input":
                noisy = pred
            cells[m.key] = cell = score(reference, pred, seconds)
            rate = f", {cell['s_per_mp']:.3g} s/MP" if cell["s_per_mp"] else ""
            print(f"[{ds.key}] {cond_name}: {m.label}: PSNR {cell['psnr'][0]:.2f} ± {cell['psnr'][1]:.2f} dB"
                  f", SSIM {cell['ssim'][0]:.3f}{rate}", flush=True)
        if ds.key == "flyem" and cond_name in plan.peer_conditions:
            part["peer"] = run_peer(ds, cond_name, plan.peer_budget, cond_dir, noisy, reference)
            cells[PEER_KEY] = part["peer"].pop("cell")
    shutil.rmtree(cond_dir, ignore_errors=True)
    return part


def run_peer(flyem: Dataset, cond: str, budget: float, workdir: Path, noisy: np.ndarray,
             reference: np.ndarray) -> dict:
    """Train the peer on FlyEM slices 0-95 under ``cond`` and score it on the test slices.

    ``noisy`` is the stored noisy test stack, float32 (N, Y, X) on [0, 1]. Returns
    ``{"cell": cell or {"na": reason}, "status": "ran" | "unavailable", "reason", "name", "info"}``.
    """
    try:
        module = load_peer()
    except ImportError as exc:
        reason = f"benchmarks/peer_careamics.py cannot be imported: {exc}"
        return {"cell": {"na": reason}, "status": "unavailable", "reason": reason}
    name = getattr(module, "PEER_NAME", None)
    print(f"[flyem] {cond}: training the peer ({budget:g} s budget) ...", flush=True)
    train = peer_training_data(flyem, CONDITIONS[cond])
    folder = Path(tempfile.mkdtemp(prefix="peer_", dir=workdir))
    started = time.perf_counter()
    try:
        pred, info = module.train_predict(train, noisy, budget, folder)
    except module.PeerUnavailable as exc:
        print(f"[flyem] {cond}: peer unavailable: {exc}", flush=True)
        return {"cell": {"na": str(exc)}, "status": "unavailable", "reason": str(exc), "name": name}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    wall = time.perf_counter() - started
    info = json.loads(json.dumps(info or {}, default=str))
    info["wall_s"] = round(wall, 1)
    predict_s = next((float(info[k]) for k in ("predict_s", "predict_seconds") if k in info), 0.0)
    cell = score(reference, pred, predict_s)
    print(f"[flyem] {cond}: {name or 'peer'}: PSNR {cell['psnr'][0]:.2f} dB ({wall:.0f} s in all)", flush=True)
    return {"cell": cell, "status": "ran", "info": info, "name": name}


def merge(payload: dict, parts: dict, rows: dict, peer_base: dict) -> None:
    """Rebuild ``payload["results"]`` and ``payload["peer"]`` from the per-condition ``parts`` that
    have arrived, in the canonical condition order (so any arrival order gives the same JSON)."""
    results = {ds: {key: {} for key in keys} for ds, keys in rows.items()}
    peer = copy.deepcopy(peer_base)
    for cond in payload["conditions_run"]:
        if cond not in parts:
            continue
        for ds, cells in parts[cond]["results"].items():
            for key, cell in cells.items():
                results[ds][key][cond] = cell
        got = parts[cond]["peer"]
        if got:
            peer["name"] = got.get("name") or peer["name"]
            if got["status"] == "ran":
                peer["status"], peer["info"][cond] = "ran", got["info"]
            else:
                peer["status"], peer["reason"] = ("ran" if peer["status"] == "ran" else "unavailable"), got["reason"]
    payload["results"], payload["peer"] = results, peer
    if PEER_KEY in payload["methods"]:
        payload["methods"][PEER_KEY]["label"] = peer["name"]


def _set_threads(threads: int | None) -> None:
    if threads:
        import torch

        torch.set_num_threads(threads)


_WORKER: dict = {}  # a spawn worker's plan and datasets, loaded once by _worker_init


def _worker_init(plan: Plan) -> None:
    _set_threads(plan.threads)
    if plan.threads:  # the peer's own process (peer_careamics) takes its thread count from here
        os.environ.setdefault("EMDENOISE_PEER_THREADS", str(plan.threads))
    _WORKER.update(plan=plan, datasets=plan.datasets())


def _worker_task(cond_name: str) -> tuple[str, dict]:
    with tempfile.TemporaryDirectory(prefix="quality_") as scratch:
        return cond_name, score_condition(_WORKER["plan"], _WORKER["datasets"], cond_name, Path(scratch))


def run_conditions(plan: Plan, datasets: list[Dataset], names: list[str], jobs: int, arrived) -> None:
    """Score each condition (``score_condition``), calling ``arrived(name, part)`` as each finishes:
    in this process one after another (jobs 1), or in ``jobs`` spawn workers, one condition per task."""
    if jobs == 1:
        _set_threads(plan.threads)
        with tempfile.TemporaryDirectory(prefix="quality_") as scratch:
            for name in names:
                arrived(name, score_condition(plan, datasets, name, Path(scratch)))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(jobs, len(names)), mp_context=context, initializer=_worker_init,
                             initargs=(plan,)) as pool:
        futures = [pool.submit(_worker_task, name) for name in names]
        try:
            for future in as_completed(futures):
                arrived(*future.result())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.merge:
        from benchmarks.quality_merge import merge_main

        return merge_main(args.merge, args.out_dir, argv)
    started = time.perf_counter()
    where = outputs("tiny" if args.tiny else "quick" if args.quick else "full", args.out_dir)
    methods, problems = select_methods(args)
    threads = args.threads or (1 if args.jobs > 1 else None)
    wanted = [d.strip() for d in args.datasets.split(",")]
    peer = {"name": "CAREamics Noise2Void", "status": "skipped", "reason": "" if args.want_peer else
            "--no-peer" if args.no_peer else "not run in this mode (--peer runs it)",
            "conditions": [c for c in args.peer_condition_names if c in args.condition_names],
            "budget_s": peer_budget(args, methods), "info": {}}
    plan = Plan(methods, dataset_spec(args), wanted, peer["conditions"] if args.want_peer else [],
                peer["budget_s"], threads, args.tile, args.stride, args.device)
    datasets = plan.datasets()
    rows = {d.key: [m.key for m in methods] + ([PEER_KEY] if d.key == "flyem" and args.want_peer else [])
            for d in datasets}
    if args.want_peer:
        methods = [*methods, Method(PEER_KEY, peer["name"], "peer")]
    payload = {"benchmark": "quality", "mode": "tiny" if args.tiny else "quick" if args.quick else "full",
               "complete": False, "date": today(), "machine": machine() + args.device_words,
               "command": command_line(argv), "device": args.device,
               "torch_threads": threads or ("torch default" if any(m.kind == "model" for m in methods) else "n/a"),
               "jobs": args.jobs, "tile": args.tile, "stride": args.stride,
               "conditions_run": args.condition_names,
               "conditions": {c: CONDITIONS[c].to_dict() for c in args.condition_names},
               "datasets": {d.key: d.describe() for d in datasets},
               "methods": {m.key: m.describe() for m in methods}, "package_problems": problems,
               "results": {}, "peer": peer, "targets": [], "wall_s": 0.0}
    print(f"Q benchmark ({payload['mode']}): {len(methods)} methods, {len(args.condition_names)} conditions, "
          f"datasets {', '.join(f'{d.key} ({len(d.slices)} slices)' for d in datasets)}"
          + (f", {args.jobs} worker processes" if args.jobs > 1 else ""), flush=True)
    parts: dict = {}

    def arrived(name: str, part: dict) -> None:
        parts[name] = part
        merge(payload, parts, rows, peer)
        payload["wall_s"] = round(time.perf_counter() - started, 1)
        save(where["json"], payload)
        print(f"-- {name}: done ({len(parts)}/{len(args.condition_names)} conditions, "
              f"{payload['wall_s']:.0f} s)", flush=True)

    run_conditions(plan, datasets, args.condition_names, args.jobs, arrived)
    merge(payload, parts, rows, peer)
    payload["wall_s"] = round(time.perf_counter() - started, 1)
    finish(payload, where)
    return 0


if __name__ == "__main__":
    sys.exit(main())
