"""Q benchmark ``--merge``: combine the rows of earlier runs' result files into one result, recomputing
nothing, and finish it as a run would (``quality_output.finish``: targets, JSON, Markdown, plot).

    .venv/bin/python benchmarks/quality.py --methods filters,peer --out-dir /tmp/q-filters
    .venv/bin/python benchmarks/quality.py --methods models --models runs/flyem-nrrn --out-dir /tmp/q-models
    .venv/bin/python benchmarks/quality.py --merge /tmp/q-filters/quality.json /tmp/q-models/quality.json

Rules. The files must be complete results of the same mode (full, quick or tiny: it names the
outputs), and agree on every dataset they share (file, crop, scored slices, seed offset) and on every
condition they share (kind, parameters, seed); the noisy-input row must have the same numbers
wherever two files have it (to a relative 1e-9: one machine's floating-point sums differ from
another's in the last digits); the files the model rows come from must have tiled alike (--tile,
--stride). A row (method) in several files comes whole from the last file given, with a warning. Conditions, datasets and rows are the unions, in canonical order (conditions as
``quality_data.CONDITIONS``; rows input, filters as ``baselines.FILTERS``, models, peer). The
result records the merged runs (each one's command, date, wall time) in ``merged_from``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

from benchmarks.common import today
from benchmarks.quality_data import CONDITIONS
from benchmarks.quality_output import PEER_KEY, command_line, finish, outputs
from benchmarks.quality_report import models_device
from emdenoise_gui.core.baselines import FILTERS

DATASET_ORDER = ("flyem", "sstem")
KIND_ORDER = {"input": 0, "filter": 1, "model": 2, "peer": 3}
TIMINGS = ("seconds", "s_per_mp")
SAME_DATASET = (("file", "file"), ("shape", "crop (volume shape)"), ("slices", "test slices"),
                ("seed_offset", "noise seed offset"))


class MergeRefused(Exception):
    """The files cannot be merged; the message is one line."""


def merge_main(paths: list[str], out_dir: str | None, argv: list[str]) -> int:
    """``quality.py --merge``: 0 when written, 2 (and a one-line error) when refused."""
    try:
        files = [(path, _load(Path(path))) for path in paths]
        payload, warnings = merge_results(files, command_line(argv))
        if payload["mode"] == "tiny" and not out_dir:
            raise MergeRefused("tiny results go into a scratch folder: give --out-dir")
    except MergeRefused as exc:
        print(f"quality.py: error: --merge: {exc}", file=sys.stderr)
        return 2
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(f"Q merge ({payload['mode']}): {len(files)} files, {len(payload['merged_from'])} runs, "
          f"{len(payload['methods'])} methods, {len(payload['conditions_run'])} conditions, datasets "
          f"{', '.join(payload['datasets'])}", flush=True)
    finish(payload, outputs(payload["mode"], out_dir))
    return 0


def _load(path: Path) -> dict:
    try:
        payload = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise MergeRefused(f"cannot read {path}: {exc}") from None
    if not isinstance(payload, dict) or payload.get("benchmark") != "quality":
        raise MergeRefused(f"{path} is not a quality benchmark result")
    if not payload.get("complete"):
        raise MergeRefused(f"{path} is an unfinished run (complete: false); rerun it first")
    return payload


def _only(values: list, what: str, names: list[str]):
    """The one value all of ``values`` share, or refuse naming the files that disagree."""
    if len({json.dumps(v, sort_keys=True) for v in values}) > 1:
        listed = ", ".join(f"{n}: {v}" for n, v in zip(names, values))
        raise MergeRefused(f"the files disagree on {what} ({listed})")
    return values[0]


def _joined(values: list, names: list[str]):
    """The one value if all agree, else 'value (file), ...' (for what a header reports, not a rule)."""
    distinct = list(dict.fromkeys(str(v) for v in values))
    return values[0] if len(distinct) == 1 else ", ".join(f"{v} ({n})" for v, n in zip(values, names))


def _runs(path: str, payload: dict) -> list[dict]:
    """What ``merged_from`` records of a file: its own run, or (a merged file) the runs it merged."""
    if payload.get("merged_from"):
        return payload["merged_from"]
    return [{"file": path, "command": payload.get("command", ""), "date": payload.get("date", ""),
             "wall_s": payload.get("wall_s", 0.0), "machine": payload.get("machine", ""),
             "torch_threads": payload.get("torch_threads"), "jobs": payload.get("jobs", 1),
             "tile": payload.get("tile", 512), "stride": payload.get("stride", 256),
             "methods": list(payload["methods"]), "conditions": list(payload["conditions_run"])}]


def _check_shared(files: list[tuple[str, dict]]) -> tuple[dict, dict]:
    """The union of the datasets and of the conditions, refusing where two files describe one differently."""
    datasets, conditions, first = {}, {}, {}
    for name, payload in files:
        for ds, info in payload["datasets"].items():
            if ds in datasets:
                for key, what in SAME_DATASET:
                    if info.get(key) != datasets[ds].get(key):
                        raise MergeRefused(f"{name} and {first[ds]} disagree on the {what} of {ds}: "
                                           f"{info.get(key)} vs {datasets[ds].get(key)}")
            else:
                datasets[ds], first[ds] = info, name
        for cond in payload["conditions_run"]:
            spec = payload["conditions"][cond]
            if cond in conditions and spec != conditions[cond]:
                raise MergeRefused(f"{name} and {first[cond]} disagree on condition {cond!r} (kind, "
                                   f"parameters or seed): {spec} vs {conditions[cond]}")
            conditions.setdefault(cond, spec)
            first.setdefault(cond, name)
    order = list(CONDITIONS)
    conditions = {c: conditions[c] for c in sorted(conditions, key=lambda c: order.index(c) if c in order
                                                   else len(order))}
    ds_order = sorted(datasets, key=lambda d: DATASET_ORDER.index(d) if d in DATASET_ORDER else len(DATASET_ORDER))
    return {d: datasets[d] for d in ds_order}, conditions


def _input_row(files: list[tuple[str, dict]]) -> dict:
    """The noisy-input row, ``{dataset: {condition: cell}}``: the union, refusing where files differ."""
    row, seen = {}, {}
    for name, payload in files:
        for ds, rows in payload["results"].items():
            for cond, cell in rows.get("input", {}).items():
                numbers = {k: v for k, v in cell.items() if k not in TIMINGS}
                if (ds, cond) in seen and not _same_numbers(numbers, seen[ds, cond][1]):
                    other = seen[ds, cond][0]
                    raise MergeRefused(f"{name} and {other} disagree on the noisy input ({ds}, {cond}): "
                                       "not the same noisy data")
                seen.setdefault((ds, cond), (name, numbers))
                row.setdefault(ds, {}).setdefault(cond, cell)
    return row


def _same_numbers(a, b, rel: float = 1e-9) -> bool:
    """Whether two JSON values are equal, floats to a relative ``rel`` (sums over the same data differ in
    the last bits between machines: the noisy input's PSNR by 1e-13 dB between two AMD EPYCs)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_numbers(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_numbers(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=rel)
    return a == b


def _row_order(methods: dict, first_seen: list[str]) -> list[str]:
    filters = list(FILTERS)

    def rank(key):
        kind = methods[key]["kind"]
        within = filters.index(key) if kind == "filter" and key in filters else len(filters)
        return KIND_ORDER.get(kind, len(KIND_ORDER)), within, first_seen.index(key)
    return sorted(methods, key=rank)


def merge_results(files: list[tuple[str, dict]], command: str) -> tuple[dict, list[str]]:
    """One result payload (``targets`` still empty) from ``[(name, payload)]``, and the warning lines."""
    mode = _only([p["mode"] for _, p in files], "the mode (full, quick or tiny)", [n for n, _ in files])
    datasets, conditions = _check_shared(files)
    owner, holders, first_seen = {}, {}, []
    for i, (name, payload) in enumerate(files):
        for key in payload["methods"]:
            owner[key] = i
            holders.setdefault(key, []).append(name)
            if key not in first_seen:
                first_seen.append(key)
    warnings = [f"{key} is in {', '.join(names)}: its row is taken from the last, {names[-1]}"
                for key, names in holders.items() if len(names) > 1 and key != "input"]
    methods = {key: files[owner[key]][1]["methods"][key] for key in first_seen}
    keys = _row_order(methods, first_seen)
    methods = {key: methods[key] for key in keys}
    inputs = _input_row(files)
    results = {}
    for ds in datasets:
        rows = {}
        for key in keys:
            row = inputs.get(ds) if key == "input" else files[owner[key]][1]["results"].get(ds, {}).get(key)
            if row is not None:
                rows[key] = {c: row[c] for c in conditions if c in row}
        results[ds] = rows

    names = [n for n, _ in files]
    model_files = sorted({owner[k] for k in keys if methods[k]["kind"] == "model"})
    tiled = [files[i][1] for i in model_files] or [files[-1][1]]
    tile, stride = _only([[p.get("tile", 512), p.get("stride", 256)] for p in tiled],
                         "the models' tile and stride", [names[i] for i in model_files])
    threads = (_joined([files[i][1]["torch_threads"] for i in model_files], [names[i] for i in model_files])
               if model_files else "n/a")
    device = (_joined([models_device(files[i][1]) for i in model_files], [names[i] for i in model_files])
              if model_files else "cpu")
    runs = list({json.dumps([r["command"], r["date"], r["wall_s"], r["machine"]]): r  # a run merged twice: once
                 for name, payload in files for r in _runs(name, payload)}.values())
    jobs = {run.get("jobs", 1) for run in runs}
    peer_file = files[owner[PEER_KEY]][1] if PEER_KEY in owner else files[-1][1]
    problems = list(dict.fromkeys(p for _, payload in files for p in payload.get("package_problems", [])))
    payload = {"benchmark": "quality", "mode": mode, "complete": False,
               "date": max(run["date"] for run in runs), "merged_on": today(),
               "machine": " / ".join(dict.fromkeys(run["machine"] for run in runs)),
               "command": command, "merged_from": runs, "torch_threads": threads, "device": device,
               "jobs": jobs.pop() if len(jobs) == 1 else None, "tile": tile, "stride": stride,
               "conditions_run": list(conditions), "conditions": conditions, "datasets": datasets,
               "methods": methods, "package_problems": problems, "results": results,
               "peer": peer_file["peer"], "targets": [],
               "wall_s": round(sum(run.get("wall_s", 0.0) for run in runs), 1)}
    return payload, warnings
