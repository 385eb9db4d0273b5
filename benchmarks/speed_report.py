"""Tables and the figure of benchmarks/speed.py: docs/benchmarks.md sections and docs/images/speed_*.png."""

from __future__ import annotations

import math
from pathlib import Path

from benchmarks.common import DOC, write_section
from benchmarks.figures import on_white, save_window

LITE_LIMIT_S_PER_MP = 5.0  # issue 9: every shipped lite model at most 5 s per finished megapixel (CPU)
TODAY_RATIO = 5.0  # ... and at least 5x today's code
NAIVE_RATIO = 3.0  # every family at least 3x the naive loop
TRAIN_RATIO = 3.0  # training at least 3x today's steps/s
PEAK_SHARE = 40.0  # GPU: at least 40 % of the device's peak for the paper-size networks
XCEPTION_TILE_MS = 3.9  # GPU: Xception paper at most 3.9 ms per 512 px tile, blending included
_VARIANT_COLOURS = {"naive": "#7f7f7f", "today": "#bcbd22", "fast-fp32": "#1f77b4", "fast-auto": "#d62728",
                    "fast-bf16": "#d62728", "fast-fp16": "#9467bd", "fast-bf16-host": "#ff9896"}


def _model(row: dict) -> str:
    return f"{row['family']} {row['config']}"


def _index(rows: list[dict]) -> dict:
    return {(_model(r), r["variant"]): r for r in rows if "error" not in r}


def _seconds(row: dict) -> str:
    return ("~" if row["extrapolated"] else "") + f"{row['s_per_mp']:.2f}"


def _replaced(model: str) -> str:
    """The network a variant replaces ("nrrn lite+mean" -> "nrrn lite"); a plain model is its own."""
    return model.split("+")[0]


def _peak_share(row: dict, peak: dict) -> float:
    """A row's achieved FLOP/s as % of the GEMM peak of its precision (nan where none was measured)."""
    return 100 * row["gflops"] / peak.get(row["precision"], math.nan)


def _references(index: dict, model: str) -> tuple[dict | None, dict | None]:
    """The naive and today rows a model is compared with: those of the network it replaces (for a
    variant, the code and the network before)."""
    return index.get((_replaced(model), "naive")), index.get((_replaced(model), "today"))


def inference_table(payload: dict) -> tuple[str, list[str]]:
    """The markdown table and the target verdicts for the inference rows."""
    rows, peak = payload["inference"], payload["peak_gflops"]
    index = _index(rows)
    lines = ["| model | variant | precision | batch x tile (px) | tiles | s/MP | x naive | x today | "
             "GFLOP/MP | GFLOP/s | % of GEMM peak | peak RSS (MB) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for row in rows:
        if "error" in row:
            lines.append(f"| {_model(row)} | {row['variant']} | failed: {row['error']} |||||||||")
            continue
        naive, today = _references(index, _model(row))
        x_naive = f"{naive['s_per_mp'] / row['s_per_mp']:.1f}" if naive else "-"
        x_today = f"{today['s_per_mp'] / row['s_per_mp']:.1f}" if today else "-"
        share = _peak_share(row, peak)
        memory = row["device_mb"] if row.get("device_mb") is not None else row["peak_rss_mb"]
        lines.append(f"| {_model(row)} | {row['variant']} | {row['precision']} | {row['batch']} x {row['tile_px']} | "
                     f"{row['tiles']} | {_seconds(row)} | {x_naive} | {x_today} | {row['gflop_per_mp']:.0f} | "
                     f"{row['gflops']:.0f} | {share:.0f} | {memory:.0f} |")
    default = "fast-auto" if payload["device"] == "cpu" else "fast-bf16"
    for (model, variant), row in index.items():
        if variant != default:
            continue
        naive, today = _references(index, model)
        parts = []
        if _replaced(model).endswith("lite") and payload["device"] == "cpu":
            ok = row["s_per_mp"] <= LITE_LIMIT_S_PER_MP
            parts.append(f"{row['s_per_mp']:.2f} s/MP ({'met' if ok else 'MISSED'}, limit {LITE_LIMIT_S_PER_MP:g})")
            if today:
                ratio = today["s_per_mp"] / row["s_per_mp"]
                parts.append(f"{ratio:.1f}x today ({'met' if ratio >= TODAY_RATIO else 'MISSED'}, "
                             f"target {TODAY_RATIO:g}x)")
        if naive:
            ratio = naive["s_per_mp"] / row["s_per_mp"]
            parts.append(f"{ratio:.1f}x naive ({'met' if ratio >= NAIVE_RATIO else 'MISSED'}, target {NAIVE_RATIO:g}x)")
        else:
            parts.append(f"no naive row of {_replaced(model)} in this run")
        if payload["device"] != "cpu" and model.endswith("paper"):
            share = _peak_share(row, peak)
            parts.append(f"{share:.0f} % of the {row['precision']} GEMM peak "
                         f"({'met' if share >= PEAK_SHARE else 'MISSED'}, target {PEAK_SHARE:g} %)")
        verdicts.append(f"- {model} ({default}): " + "; ".join(parts))
    if payload["device"] != "cpu":
        verdicts.append(_xception_tile_verdict(index, default))
    return "\n".join(lines), verdicts


def _xception_tile_verdict(index: dict, default: str) -> str:
    """Issue 9's GPU target for Xception paper: ms per 512 px tile, blending included (the default
    variant's; else the fastest measured, said so)."""
    rows = {variant: row for (model, variant), row in index.items() if model == "xception paper"}
    if not rows:
        return "- xception paper: not measured"
    variant = default if default in rows else max(rows, key=lambda v: rows[v]["tiles_per_s"])
    ms = 1000 / rows[variant]["tiles_per_s"]
    which = "" if variant == default else f" ({default} not measured; fastest measured: {variant})"
    return (f"- xception paper: {ms:.1f} ms per {rows[variant]['tile_px']} px tile{which} "
            f"({'met' if ms <= XCEPTION_TILE_MS else 'MISSED'}, target {XCEPTION_TILE_MS:g} ms)")


def training_table(payload: dict) -> tuple[str, list[str]]:
    rows, peak = payload["training"], payload.get("train_peak_gflops") or payload["peak_gflops"]
    by_key = {(_model(r), r["variant"]): r for r in rows if "error" not in r}
    lines = ["| model | crop x batch | before: steps/s | now: steps/s | now / before | precision now | "
             "GFLOP/step | GFLOP/s now | % of GEMM peak | now / before at the GEMM peak |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    verdicts = []
    for model in dict.fromkeys(_model(r) for r in rows):
        before, now = by_key.get((model, "before")), by_key.get((model, "now"))
        if not before or not now:
            lines.append(f"| {model} | failed |||||||||")
            continue
        ratio = now["steps_per_s"] / before["steps_per_s"]
        share = _peak_share(now, peak)
        # the ceiling: every FLOP of today's step at the GEMM peak of its precision
        ceiling = ratio * 100 / share if share > 0 else math.nan
        lines.append(f"| {model} | {now['crop']} x {now['batch']} | {before['steps_per_s']:.2f} | "
                     f"{now['steps_per_s']:.2f} | {ratio:.2f} | {now['precision']} | {now['gflop_per_step']:.1f} | "
                     f"{now['gflops']:.0f} | {share:.0f} | {ceiling:.1f} |")
        reach = (f"; at most {ceiling:.1f}x with this step's FLOPs at the GEMM peak"
                 if ratio < TRAIN_RATIO and ceiling < TRAIN_RATIO else "")
        verdicts.append(f"- training {model}: {ratio:.2f}x ({'met' if ratio >= TRAIN_RATIO else 'MISSED'}, "
                        f"target {TRAIN_RATIO:g}x{reach})")
    return "\n".join(lines), verdicts


@on_white
def plot(payload: dict, path: Path) -> Path:
    """Grouped bars of s/MP (log scale) per model and variant; a PNG at ``path``."""
    import pyqtgraph as pg

    index = _index(payload["inference"])
    models = list(dict.fromkeys(m for m, _ in index))
    variants = list(dict.fromkeys(v for _, v in index))
    win = pg.GraphicsLayoutWidget()
    win.resize(1400, 640)
    chart = win.addPlot()
    chart.setTitle(f"Seconds per finished megapixel ({payload['device']}, {payload['size']} px slice; "
                   f"log scale, lower is better)", size="13pt")
    chart.setLabel("left", "s per megapixel (log10)")
    chart.showGrid(y=True, alpha=0.25)
    legend = chart.addLegend(offset=(10, 10), labelTextSize="10pt")
    legend.setColumnCount(len(variants))  # one row along the top, above the bars (headroom below)
    width = 0.8 / max(1, len(variants))
    tallest = 0.0
    for k, variant in enumerate(variants):
        xs, heights = [], []
        for i, model in enumerate(models):
            row = index.get((model, variant))
            if row:
                xs.append(i - 0.4 + width * (k + 0.5))
                heights.append(math.log10(row["s_per_mp"]) + 2)  # bars start at 0.01 s/MP
                tallest = max(tallest, heights[-1])
        colour = _VARIANT_COLOURS.get(variant, "#000000")
        bars = pg.BarGraphItem(x=xs, height=heights, y0=-2, width=width * 0.9, brush=colour, pen=colour)
        chart.addItem(bars)
        legend.addItem(bars, variant)
    chart.setYRange(-2, tallest - 2 + 0.8, padding=0)  # a clear band at the top for the legend
    chart.getAxis("bottom").setTicks([[(i, m) for i, m in enumerate(models)]])
    chart.getAxis("left").setTicks([[(v, f"{10 ** v:g}") for v in (-2, -1, 0, 1, 2, 3)]])
    return save_window(win, path, 1400)


def report(payload: dict, doc: Path = DOC, label: str | None = None) -> None:
    """Write the speed section of ``doc`` for ``payload``'s device and its figure; ``label`` names a
    section of its own (``speed_cpu_LABEL``, another machine) instead of the device's main one."""
    device = "cuda" if payload["device"].startswith("cuda") else "cpu"
    key = f"speed_{device}" + (f"_{label}" if label else "")
    figure = plot(payload, doc.parent / "images" / f"{key}.png")
    bf16 = "this one does" if payload.get("native_bf16") else "this one does not: fast-auto runs float32"
    infer, infer_verdicts = inference_table(payload)
    train, train_verdicts = training_table(payload)
    peak = ", ".join(f"{k} {v:.0f}" for k, v in payload["peak_gflops"].items())
    write_section(key, f"""## S: inference and training speed ({device}{', ' + label if label else ''})

Command: `{payload['command']}`. Machine: {payload['machine']}; device {payload['device']}. Date: {payload['date']}.
Wall time {payload['wall_s'] / 60:.0f} min. GEMM peak measured in the same run (square matrix product, side 512 to 4096, GFLOP/s):
{peak}. One {payload['size']} x {payload['size']} float32 slice through `Predictor.denoise` (normalisation, tiling,
blending), random weights of each configuration's size; each variant in a fresh process after a {payload.get('warmup', 'one-tile')} warm-up.
`~`: stopped after {payload['budget_s']:g} s and extrapolated from the tiles finished. naive = batch 1, float32,
contiguous, 512 px tiles at stride 256 (Gaussian blend); today = the code's settings before issue 9 (batch 4,
otherwise as naive; on CUDA with its autocast); fast = band tiles from the network's measured halo, CPU-sized batches (CUDA: from free memory), channels_last, inference_mode{_device_tiles_words(payload)};
fast-auto adds bf16 autocast where the CPU computes bf16 natively ({bf16}). "+mean": one branch on the
neighbours' mean (the shipped NRRNs); its x naive and x today compare with the two-branch network's rows. % of GEMM peak compares the
achieved FLOP/s (torch's FLOP counter, 2 per multiply-add) with the GEMM rate of the same precision. The
counter counts direct convolution; oneDNN's Winograd kernels for 3x3 convolutions multiply less, so a rate
above 100 % means such a kernel ran (the FLOPs saved are real work not done).

{infer}
{_note(payload)}
Targets (issue 9):
{chr(10).join(infer_verdicts)}

![s/MP per model and back end]({figure.relative_to(doc.parent).as_posix()})

{_training_text(payload, train, train_verdicts)}

{_startup_text(payload)}""", doc)


def _device_tiles_words(payload: dict) -> str:
    """How the run's fast rows scaled, cut and blended their tiles (rows from before 2026-12-04 say nothing)."""
    rows = [r for r in payload["inference"] if r.get("variant", "").startswith("fast") and "device_tiles" in r]
    if not rows:
        return ""
    if all(r["device_tiles"] for r in rows):
        return ", tiles scaled, cut and blended on the device (`inference.device_tiles`)"
    if not any(r["device_tiles"] for r in rows):
        return ", tiles scaled, cut and blended on the host"
    return (", tiles scaled, cut and blended on the device (`inference.device_tiles`) except in the fast-*-host "
            "rows, which do it on the host as before 2026-12-04")


def _note(payload: dict) -> str:
    """A run's own remarks (``payload["note"]``: what went wrong or differs), as a paragraph."""
    return f"\n{payload['note']}\n" if payload.get("note") else ""


def _training_text(payload: dict, table: str, verdicts: list[str]) -> str:
    if not payload["training"]:
        return "Training: not part of this run."
    return f"""Training: optimizer steps/s per family at its configuration's crop and batch (on the CPU the paper sizes at
batch 1) on a synthetic EM-like volume (nrrn: the shipped recipe, clean slices with synthetic noise), after one
warm-up step (whose FLOPs are counted), at least 2 steps and for up to
{payload.get('train_budget_s', payload['budget_s'] / 3):g} s. before = the code before issue 9 (each step draws its data, learns, and its losses are read back); now =
the engine's loop (the next step's data drawn on a background thread while this one learns; losses read back as
the engine does, every step on the CPU and ten at a time on a GPU since 2026-12-04; mixed precision on
CUDA and, since 2026-12-04, on CPUs that compute bfloat16 natively; other CPUs stay float32: the precision
column says which; and since 2026-12-04 N2V and Xception train in channels-last memory on the CPU). The last
column is the limit of the ratio: before's steps/s against this step's FLOPs all run at the GEMM peak of its
precision (a step can pass it where Winograd convolutions do fewer multiplications than counted).{_nrrn_structure_text(payload)}

{table}

{chr(10).join(verdicts)}"""


def _nrrn_structure_text(payload: dict) -> str:
    """What the NRRN rows trained (rows from before 2026-12-04 do not say: both the paper's two branches)."""
    if not any(r.get("neighbours") == "mean" for r in payload["training"]):
        return ""
    return ("\nNRRN: before = the paper's two branches, float32; now = one branch on the neighbours' mean, the default "
            "on clean data\nsince 2026-12-04 (it learns as much per step: docs/benchmarks.md). Both draw their data "
            "as the code does now\n(one noise-statistics draw per triplet instead of three), so before is a little "
            "faster than the code before issue 9 was.")


def _startup_text(payload: dict) -> str:
    if payload.get("startup_s") is None:
        return "GUI start-up: not part of this run."
    return f"GUI start-up (launching Python to the main window shown, offscreen Qt, median of 3): {payload['startup_s']} s."
