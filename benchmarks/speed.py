"""S (speed): inference per model and back end against the naive loop, training steps/s, GUI start-up.

Every figure is measured in the same run as its references, on the same machine:

* **inference**: one S x S float32 slice (default 2048 on the CPU, 4096 on a GPU) through
  ``Predictor.denoise`` (normalisation, tiling, blending: the app's path), per family and
  configuration, with these variants:
    - ``naive``: batch 1, float32, contiguous layout, the papers' 512 px tiles at stride 256;
    - ``today``: the code before issue 9 (batch 4, float32, contiguous, stride 256);
    - ``fast-fp32``: band tiling from the network's halo, CPU-sized batches, channels_last;
    - ``fast-auto``: the default (adds bf16 autocast where the CPU has native bf16);
    - on CUDA ``fast-bf16`` and ``fast-fp16`` (the window scaled, tiled and blended on the GPU,
      ``inference.device_tiles``), and on request (``--variants``) ``fast-bf16-host``: the same with
      that work on the host, as before 2026-12-04.
  Each variant runs in a fresh process (its peak RSS is its own) after a one-tile warm-up
  (CUDA: a whole-slice one, so that cuDNN's search for each batch shape is not timed).
  A run that would take longer than ``--budget`` seconds stops there and is extrapolated from
  the tiles it finished (marked ``~``). FLOPs per tile come from torch's FLOP counter; the
  fraction of peak divides the achieved FLOP/s by the GEMM rate measured in the same run.
* **training**: optimizer steps/s per family at the lite and paper crops, before (float32)
  and now (the trainers' defaults), on a synthetic EM-like volume.
* **start-up**: seconds from launching Python to the main window shown (offscreen Qt).

    .venv/bin/python benchmarks/speed.py                 # CPU run, updates docs/benchmarks.md
    .venv/bin/python benchmarks/speed.py --quick         # smoke run (small slice, lite models); docs untouched
    .venv/bin/python benchmarks/speed.py --device cuda   # the GPU run (4096 px slice)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT, machine, save_json, today  # noqa: E402
from benchmarks.speed_parts import gemm_peak, startup_seconds  # noqa: E402
from emdenoise_gui.models.device import native_bf16_cpu  # noqa: E402

MODELS = [("nrrn", "lite"), ("nrrn", "lite+mean"), ("nrrn", "base"), ("nrrn", "base+mean"), ("n2v", "lite"),
          ("cyclic", "lite"), ("xception", "lite"),
          ("nrrn", "paper"), ("n2v", "paper"), ("cyclic", "paper"), ("xception", "paper")]
CPU_VARIANTS = ("naive", "today", "fast-fp32", "fast-auto")
CUDA_VARIANTS = ("naive", "today", "fast-fp32", "fast-bf16", "fast-fp16")


def run_child(job: dict) -> dict:
    """Run one measurement in a fresh Python process; its JSON result (peak RSS included)."""
    proc = subprocess.run([sys.executable, "-m", "benchmarks.speed_parts", json.dumps(job)],
                          capture_output=True, text=True, cwd=ROOT)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        return {**job, "error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(line[len("RESULT "):])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--size", type=int, help="slice side in px (default 2048 on the CPU, 4096 on CUDA)")
    p.add_argument("--budget", type=float,
                   help="seconds per variant before it stops and is extrapolated (default 90; --quick: 2)")
    p.add_argument("--models", nargs="*", help="FAMILY:CONFIG pairs (default: all lite and paper sizes); "
                   "nrrn:lite+mean is lite with one branch on the neighbours' mean (the shipped NRRNs)")
    p.add_argument("--train-budget", type=float,
                   help="seconds of timed training steps per variant (default a third of --budget)")
    p.add_argument("--parts", default="infer,train,startup",
                   help="comma-separated parts to run: infer, train, startup (default all)")
    p.add_argument("--quick", action="store_true",
                   help="512 px slice, lite models, 2 s budget, a small GEMM and one start-up; docs untouched")
    p.add_argument("--variants", help="comma-separated inference variants (default: naive,today,fast-fp32,"
                   "fast-auto on the CPU; naive,today,fast-fp32,fast-bf16,fast-fp16 on CUDA)")
    p.add_argument("--out-dir", help="write speed.json here instead of benchmarks/results")
    p.add_argument("--label", help="another machine's run: its own section speed_DEVICE_LABEL and JSON")
    args = p.parse_args(argv)
    cuda = args.device.startswith("cuda")
    size = args.size or (512 if args.quick else 4096 if cuda else 2048)
    budget = args.budget if args.budget is not None else 2.0 if args.quick else 90.0
    models = [tuple(m.split(":")) for m in args.models] if args.models else \
        [m for m in MODELS if not args.quick or m[1] == "lite"]
    started = time.perf_counter()
    payload = {"benchmark": "speed", "date": today(), "machine": machine(), "device": args.device, "size": size,
               "budget_s": budget, "train_budget_s": args.train_budget or budget / 3,
               "warmup": "whole-slice" if cuda else "one-tile",
               "command": "python benchmarks/speed.py " + " ".join(argv or sys.argv[1:]),
               "peak_gflops": gemm_peak(args.device, 1024 if args.quick else 4096), "native_bf16": native_bf16_cpu(),
               "inference": [], "training": []}
    print("GEMM peak (GFLOP/s):", payload["peak_gflops"], flush=True)
    parts = set(args.parts.split(","))
    with tempfile.TemporaryDirectory() as scratch:
        for family, config in models if "infer" in parts else []:
            variants = args.variants.split(",") if args.variants else CUDA_VARIANTS if cuda else CPU_VARIANTS
            if "+" in config:  # a variant network: compared with the naive and today rows of the one it replaces
                variants = [v for v in variants if v not in ("naive", "today")]
            for variant in variants:
                row = run_child({"what": "infer", "family": family, "config": config, "variant": variant,
                                 "device": args.device, "size": size, "budget": budget, "scratch": scratch})
                payload["inference"].append(row)
                print(json.dumps(row), flush=True)
        if "train" in parts:
            for family, config in dict.fromkeys((f, c) for f, c in models if c in ("lite", "paper")):
                for variant in ("before", "now"):
                    row = run_child({"what": "train", "family": family, "config": config, "variant": variant,
                                     "device": args.device, "budget": payload["train_budget_s"],
                                     "scratch": scratch})
                    payload["training"].append(row)
                    print(json.dumps(row), flush=True)
    payload["startup_s"] = startup_seconds(1 if args.quick else 3) if "startup" in parts else None
    payload["wall_s"] = round(time.perf_counter() - started, 1)
    out_dir = Path(args.out_dir) if args.out_dir else None
    name = f"speed-{'cuda' if cuda else 'cpu'}" + (f"-{args.label}" if args.label else "")
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    elif not args.quick:
        from benchmarks.speed_report import report

        save_json(name, payload)
        report(payload, label=args.label)
    failed = [r for r in payload["inference"] + payload["training"] if "error" in r]
    print(f"done in {payload['wall_s']:.0f} s; {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
