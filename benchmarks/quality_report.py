"""Q benchmark results: per-cell statistics, the target checks and the Markdown section.

A results table is ``results[dataset][method][condition]`` = a cell: either
``{"psnr": [mean, sd], "ssim": [mean, sd], "mse": [mean, sd], "per_slice": {...}, "seconds": s,
"megapixels": MP, "s_per_mp": s/MP}`` (PSNR in dB, data range 1; SSIM dimensionless; MSE in squared
[0, 1] units; sd over slices, ddof 0 as ``emdenoise compare``), or ``{"na": reason}``.
"""

from __future__ import annotations

import numpy as np

from benchmarks.quality_data import (
    CONDITIONS,
    DOSE_CONDITIONS,
    PEAK_CONDITIONS,
    SIGMA8_CONDITIONS,
)
from emdenoise_gui.core import metrics

NA = "n/a"


def score(reference: np.ndarray, pred: np.ndarray, seconds: float) -> dict:
    """A cell from clean float32 (N, Y, X) on [0, 1] and a prediction of the same shape (clipped here)."""
    values = {"psnr": [], "ssim": [], "mse": []}
    for ref, img in zip(reference, np.clip(pred, 0.0, 1.0)):
        ref = np.clip(ref, 0.0, 1.0)
        values["psnr"].append(metrics.psnr(ref, img))
        values["ssim"].append(metrics.ssim(ref, img))
        values["mse"].append(metrics.mse(ref, img))
    megapixels = reference.size / 1e6
    cell = {k: [float(np.mean(v)), float(np.std(v))] for k, v in values.items()}
    cell.update(per_slice=values, seconds=round(seconds, 3), megapixels=megapixels,
                s_per_mp=seconds / megapixels if seconds > 0 else None)
    return cell


def value(results: dict, dataset: str, method: str, condition: str, metric: str = "psnr") -> float | None:
    """The mean of ``metric`` in a cell, or None where the cell is n/a or was not run."""
    cell = results.get(dataset, {}).get(method, {}).get(condition)
    return cell[metric][0] if cell and metric in cell else None


def _best(results, dataset, keys, condition, metric="psnr"):
    """(key, value) of the best of ``keys`` in a condition (max PSNR/SSIM, min MSE), or (None, None)."""
    found = [(k, value(results, dataset, k, condition, metric)) for k in keys]
    found = [(k, v) for k, v in found if v is not None]
    if not found:
        return None, None
    pick = min if metric == "mse" else max
    return pick(found, key=lambda kv: kv[1])


def _status(parts: list[str]) -> str:
    if not parts or all(p == "not run" for p in parts):
        return "not run"
    return "missed" if "missed" in parts else ("met" if all(p == "met" for p in parts) else "not run")


def _change(cut: float) -> str:
    """A fractional MSE cut as words: 0.35 -> '35.0 % lower', -0.8 -> '80.0 % higher'."""
    return f"{abs(cut) * 100:.1f} % {'lower' if cut >= 0 else 'higher'}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "missed"


def check_targets(results: dict, methods: dict, peer_key: str | None) -> list[dict]:
    """The four Q targets on FlyEM; each {"id", "target", "status": met|missed|not run, "details": [...]}.

    ``methods`` maps a row key to its description (``Method.describe()``).
    """
    ds = "flyem"
    models = [k for k, m in methods.items() if m["kind"] == "model"]
    filters = [k for k, m in methods.items() if m["kind"] == "filter"]
    targets = []

    parts, details = [], []
    for cond in ("poisson-dose 25", "poisson-dose 100"):
        bm, bm_mse = _best(results, ds, models, cond, "mse")
        bf, bf_mse = _best(results, ds, filters, cond, "mse")
        if bm is None or bf is None:
            parts.append("not run")
            details.append(f"{cond}: not run" + ("" if models and filters else " (needs a model and a filter row)"))
            continue
        cut = 1.0 - bm_mse / bf_mse
        parts.append(_verdict(cut >= 0.30))
        details.append(f"{cond}: best model {bm} MSE {bm_mse * 1e3:.3f}e-3 vs best filter {bf} "
                       f"{bf_mse * 1e3:.3f}e-3 ({_change(cut)}; need >= 30 % lower): {parts[-1]}")
        pm, pm_psnr = _best(results, ds, models, cond)
        peer_psnr = value(results, ds, peer_key, cond) if peer_key else None
        if peer_psnr is None:
            parts.append("not run")
            details.append(f"{cond}: peer not run")
        else:
            parts.append(_verdict(pm_psnr > peer_psnr))
            details.append(f"{cond}: best model {pm} PSNR {pm_psnr:.2f} dB vs peer {peer_psnr:.2f} dB: {parts[-1]}")
    targets.append({"id": 1, "target": "poisson-dose 25 and 100: best model's MSE >= 30 % below the best "
                    "classical filter's, and best model's PSNR above the peer's", "status": _status(parts),
                    "details": details})

    parts, details = [], []
    for key in models:
        dose_range = methods[key].get("dose_range")
        if not dose_range:
            details.append(f"{key}: its card has no dose_range, nothing claimed")
            continue
        lo, hi = dose_range
        inside = [c for c in DOSE_CONDITIONS if lo <= CONDITIONS[c].value <= hi and value(results, ds, key, c) is not None]
        if not inside:
            parts.append("not run")
            details.append(f"{key}: no dose in [{lo:g}, {hi:g}] was run")
        for cond in inside:
            p, g, n = (value(results, ds, k, cond) for k in (key, "gaussian", "input"))
            if g is None:
                parts.append("not run")
                details.append(f"{key} {cond}: Gaussian 3x3 not run")
                continue
            parts.append(_verdict(p > g and p > n))
            details.append(f"{key} {cond}: {p:.2f} dB vs Gaussian 3x3 {g:.2f}, input {n:.2f}: {parts[-1]}")
    if not models:
        details.append("no model was run")
    targets.append({"id": 2, "target": "every shipped model (and --models package) beats Gaussian 3x3 and the "
                    "noisy input (PSNR) at every poisson dose inside its card's dose_range", "status": _status(parts), "details": details})

    parts, details = [], []
    nrrn = [k for k in models if methods[k].get("family") == "nrrn"]
    for key in nrrn:
        for cond in PEAK_CONDITIONS + SIGMA8_CONDITIONS:
            p, g = value(results, ds, key, cond), value(results, ds, "gaussian-avg", cond)
            if p is None or g is None:
                continue
            parts.append(_verdict(p > g))
            details.append(f"{key} {cond}: {p:.2f} dB vs Gaussian-avg {g:.2f}: {parts[-1]}")
    if not parts:
        details.append("no NRRN model, or no poisson-peak / 8-bit gaussian condition, was run")
    targets.append({"id": 3, "target": "each NRRN model beats gaussian-avg at every poisson peak and every "
                    "8-bit gaussian sigma", "status": _status(parts), "details": details})

    parts, details = [], []
    cyclic = [k for k in models if methods[k].get("family") == "cyclic"]
    for cond in ("charge", "film"):
        ck, cv = _best(results, ds, cyclic, cond)
        others = [k for k in methods if k not in cyclic]
        ok, ov = _best(results, ds, others, cond)
        if ck is None or ok is None:
            parts.append("not run")
            details.append(f"{cond}: not run" + ("" if cyclic else " (no cyclic model)"))
            continue
        parts.append(_verdict(cv > ov))
        details.append(f"{cond}: {ck} {cv:.2f} dB vs best other {ok} {ov:.2f} dB: {parts[-1]}")
    targets.append({"id": 4, "target": "the cyclic model has the best PSNR of all methods on charge and film",
                    "status": _status(parts), "details": details})
    return targets


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _cells(results, ds, keys, cond, metric, fmt, scale=1.0, sd=True):
    """Formatted cells of one column, the best in bold; n/a and not-run cells as such."""
    best, _ = _best(results, ds, keys, cond, metric)
    out = []
    for k in keys:
        cell = results[ds].get(k, {}).get(cond)
        if cell is None:
            out.append("–")
        elif metric not in cell:
            out.append(NA)
        else:
            m, s = cell[metric]
            text = f"{m * scale:{fmt}}" + (f" ± {s * scale:{fmt}}" if sd else "")
            out.append(f"**{text}**" if k == best else text)
    return out


def psnr_table(results: dict, ds: str, methods: dict, conditions: list[str]) -> str:
    """Rows = methods, columns = conditions, cells "PSNR ± sd" in dB, best per column in bold."""
    keys = [k for k in methods if k in results[ds]]
    columns = [_cells(results, ds, keys, c, "psnr", ".2f") for c in conditions]
    rows = [[methods[k]["label"], *(col[i] for col in columns)] for i, k in enumerate(keys)]
    return _table(["method", *conditions], rows)


def dose_table(results: dict, ds: str, methods: dict, conditions: list[str]) -> str:
    """SSIM and MSE (x1e-3) per poisson-dose condition, and each method's median s/MP over the run."""
    keys = [k for k in methods if k in results[ds]]
    doses = [c for c in conditions if c in DOSE_CONDITIONS]
    header, columns = ["method"], []
    for c in doses:
        short = c.replace("poisson-dose ", "d")
        header += [f"{short} SSIM", f"{short} MSE×1e-3"]
        columns += [_cells(results, ds, keys, c, "ssim", ".3f", sd=False),
                    _cells(results, ds, keys, c, "mse", ".3f", 1e3, sd=False)]
    header.append("s/MP")
    rows = []
    for i, k in enumerate(keys):
        rates = [cell["s_per_mp"] for cell in results[ds][k].values() if cell.get("s_per_mp")]
        rows.append([methods[k]["label"], *(col[i] for col in columns),
                     f"{np.median(rates):.3g}" if rates else "–"])
    return _table(header, rows)


def models_table(methods: dict) -> str:
    rows = []
    for k, m in methods.items():
        if m["kind"] != "model":
            continue
        train_s = (m.get("training") or {}).get("wall_s") or (m.get("metrics") or {}).get("train_seconds")
        rows.append([k, f"{m['family']} {m['config']}", f"{m['parameters']:,}", str(m["steps"]),
                     f"{train_s:.0f}" if train_s else "not recorded", str(m.get("dose_range") or "–"),
                     "shipped" if m.get("shipped") else "--models", m.get("training_data") or ""])
    return _table(["model", "family", "parameters", "steps", "train (s)", "dose_range", "source",
                   "training data"], rows)


def markdown(payload: dict, plot_name: str | None) -> str:
    """The docs section: command, machine, date, slices, tables per dataset, targets, plot."""
    methods, results, conds = payload["methods"], payload["results"], payload["conditions_run"]
    peer = payload["peer"]
    mode = "" if payload["mode"] == "full" else f" ({payload['mode']})"
    parts = [f"## Q{mode}: denoising quality, every method side by side",
             "",
             _header(payload),
             "",
             "Protocol Q (../shared/docs/benchmarks.md): clean reference = the uint8 volume / 255; noise with a "
             "fixed seed per (condition, slice), stored as uint8 (round(clip(x, 0, 1) * 255)) as a microscope "
             "would; every method reads those uint8 data. Metrics against the clean reference after clipping "
             "every image (the input too) to [0, 1]: PSNR (dB, data range 1), SSIM (scikit-image defaults), "
             "MSE; mean ± sd over the slices. Models run through `denoise_model_job` (the CLI's path: ImageJ "
             f"TIFF in, float32 TIFF out, {_models_on(payload)}; "
             f"models: {_tiling_words(payload)}, xception models "
             "tile with their training crop). Stack methods (3-slice filters, NRRN) "
             "are n/a on ssTEM (its 50 nm sections are not alike); – = not run. s/MP = wall seconds per "
             "megapixel of finished output (models: whole `denoise_model_job` calls, loading the package and "
             "the TIFF I/O included, one call per run of consecutive scored slices).",
             ""]
    for ds, info in payload["datasets"].items():
        parts += [f"**{info['label']}** ({info['file']}, {len(info['slices'])} slices: "
                  f"{_ranges(info['slices'])}, {info['shape'][1]}x{info['shape'][2]} px). PSNR (dB):", "",
                  psnr_table(results, ds, methods, conds), ""]
        if any(c in DOSE_CONDITIONS for c in conds):
            parts += [f"{info['label']}, poisson-dose conditions: SSIM, MSE (x1e-3), seconds per MP "
                      "(median over the conditions run):", "", dose_table(results, ds, methods, conds), ""]
    if plot_name:
        parts += [f"![PSNR against Poisson dose, FlyEM](images/{plot_name})", ""]
    parts += ["Models:", "", models_table(methods), ""]
    parts.append(f"Peer ({peer.get('name') or 'CAREamics N2V'}): {peer['status']}"
                 + (f" — {peer['reason']}" if peer.get("reason") else "")
                 + (f"; trained on FlyEM slices 0-95 per condition ({', '.join(peer['conditions'])}) with a "
                    f"{peer['budget_s']:g} s budget" if peer["status"] == "ran" else "") + ".")
    parts += ["", "Targets (FlyEM):", ""]
    for t in payload["targets"]:
        parts.append(f"{t['id']}. {t['target']}: **{t['status']}**")
        parts += [f"   - {d}" for d in t["details"]]
    return "\n".join(parts) + "\n"


def _header(payload: dict) -> str:
    """The command (or, for a merged result, every merged run and the merge), machine, date and wall time."""
    runs, jobs = payload.get("merged_from"), payload.get("jobs") or 1
    minutes = f"{payload['wall_s'] / 60:.1f} min ({payload['wall_s']:.0f} s)"
    workers = f"; {jobs} worker processes, one condition each" if jobs > 1 and not runs else ""
    if runs:
        listed = "; ".join(f"({i}) `{r['command']}` ({r['date']}, {_duration(r['wall_s'])}"
                           + (f", {r['jobs']} worker processes" if (r.get("jobs") or 1) > 1 else "") + ")"
                           for i, r in enumerate(runs, start=1))
        command = (f"Command: {len(runs)} runs, {listed}; merged by `{payload['command']}` on "
                   f"{payload.get('merged_on', payload['date'])}, recomputing nothing.")
        wall = f"Wall time: {minutes}, the merged runs' sum."
    else:
        command, wall = f"Command: `{payload['command']}`.", f"Wall time: {minutes}."
    return (f"{command} Machine: {payload['machine']}; models on {_models_on(payload)} (torch threads: "
            f"{payload['torch_threads']}{workers}). Date: {payload['date']}. {wall}")


def _models_on(payload: dict) -> str:
    """Where the models ran (:func:`models_device`) in words: "the CPU", or "device cuda" (per file for merged
    runs on several); the report said CPU for every run."""
    device = models_device(payload)
    return "the CPU" if device == "cpu" else f"device {device}"


def models_device(payload: dict) -> str:
    """The device a run's models ran on ("cpu", "cuda", ...): its "device", else (runs recorded before it
    was kept) "cuda" where its machine line names a GPU the models ran on, else "cpu"."""
    return payload.get("device") or ("cuda" if ", models on " in payload.get("machine", "") else "cpu")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _ranges(zs: list[int]) -> str:
    """[96, 97, 98, 104] -> '96-98, 104'; evenly stepped lists as 'a-b every k'."""
    if len(zs) > 2 and len({b - a for a, b in zip(zs, zs[1:])}) == 1:
        step = zs[1] - zs[0]
        return f"{zs[0]}-{zs[-1]}" + (f" every {step}" if step > 1 else "")
    return ", ".join(map(str, zs))


def _tiling_words(payload: dict) -> str:
    """The models' tiling of a run: the papers' stride, or the CLI's "quality: fast" band tiles (stride
    None; results before 2026-12-04 have no None and ran at stride 256 unless they say otherwise)."""
    tile, stride = payload.get("tile", 512), payload.get("stride", 256)
    if stride is None:
        return f"\"quality: fast\" band tiles of {tile} px (the CLI's default; cyclic: at least 1024 px)"
    return f"tiles {tile} px, stride {stride} px"
