"""S (out-of-core): denoise 4096x4096 uint16 stacks of depth 8, 32 and 128 from disk to disk.

Each depth runs ``emdenoise denoise IN -o OUT --method median --dtype input``
(or ``--model NAME``) with the default tiling in a fresh Python process that reports its own peak resident set size
(``VmHWM``; ``ru_maxrss`` before 2026-12-06, which also counted the forking parent's). Peak RSS must stay below 1.5 GB and must not grow with depth.

    .venv/bin/python benchmarks/memory_stream.py            # full run, updates docs/benchmarks.md
    .venv/bin/python benchmarks/memory_stream.py --quick    # tiny smoke run (256x256, depths 2 and 4)

Inputs are synthetic (smooth structure plus Poisson-like noise), generated
slice by slice, so generating them is itself bounded in memory.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, save_json, today, write_section  # noqa: E402
from emdenoise_gui.core.io import StackWriter  # noqa: E402

LIMIT_MB = 1500.0
#: The child reports its peak RSS (kB) as VmHWM, the high-water mark of its own memory since exec: ru_maxrss
#: keeps the forking parent's across exec on Linux (an 8192 px benchmark's 1.8 GB parent read as the child's).
CHILD = """
import resource, sys, time
from emdenoise_gui.cli import main
t = time.perf_counter()
code = main(sys.argv[1:])
try:
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("RESULT", code, peak, time.perf_counter() - t)
"""


def make_stack(path: Path, depth: int, side: int, seed: int = 0) -> None:
    """Write a (depth, side, side) uint16 stack of blobs plus noise, one slice at a time."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32) / side
    with StackWriter(path, (depth, side, side), np.uint16, (10.0, 5.0, 5.0)) as writer:
        for z in range(depth):
            signal = 2000 + 1500 * np.sin(40 * xx + z / 7) * np.cos(33 * yy - z / 5)
            writer.write(z, signal + rng.normal(0, 300, (side, side)).astype(np.float32))
        writer.commit()


def run_child(args: list[str], what: str) -> tuple[float, float]:
    """``emdenoise ARGS`` in a fresh Python process: (its peak RSS in MB, its wall time in s); exits naming
    ``what`` when it fails."""
    cmd = [sys.executable, "-c", CHILD, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
    if proc.returncode != 0 or line is None:
        raise SystemExit(f"{what} failed:\n{proc.stdout}\n{proc.stderr}")
    _, code, maxrss_kb, seconds = line.split()
    if int(code) != 0:
        raise SystemExit(f"{what}: emdenoise exited {code}:\n{proc.stderr}")
    return round(int(maxrss_kb) / 1024, 1), float(seconds)


def run_depth(folder: Path, depth: int, side: int, tile: int, stride: int | None, model: str | None = None) -> dict:
    src, out = folder / f"in_{depth}.tif", folder / f"out_{depth}.tif"
    make_stack(src, depth, side)
    how = ["--model", model] if model else ["--method", "median"]
    peak_mb, seconds = run_child(["denoise", str(src), "-o", str(out), *how, "--dtype", "input", "--tile", str(tile),
                                  *(["--stride", str(stride)] if stride else [])], f"depth {depth}")
    size_gb = src.stat().st_size / 1e9
    src.unlink()
    out.unlink()
    return {"depth": depth, "side": side, "input_gb": round(size_gb, 3), "peak_rss_mb": peak_mb,
            "seconds": round(seconds, 1), "slices_per_s": round(depth / seconds, 3)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run; does not touch the docs")
    parser.add_argument("--dir", help="scratch folder (default: a temporary folder)")
    parser.add_argument("--model", help="denoise with this model (zoo name) in its default fast tiling instead of "
                                        "the median filter; results go to a section of their own")
    parser.add_argument("--depths", type=int, nargs="+", help="stack depths (default 8 32 128)")
    args = parser.parse_args(argv)
    side, depths, tile, stride = (256, (2, 4), 128, 64) if args.quick else (4096, (8, 32, 128), 512, None)
    depths = tuple(args.depths or depths)
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        rows = []
        for depth in depths:
            started = time.perf_counter()
            rows.append(run_depth(Path(scratch), depth, side, tile, stride, args.model))
            print(rows[-1], f"({time.perf_counter() - started:.0f} s with generation)", flush=True)
    peak = [r["peak_rss_mb"] for r in rows]
    flat = max(peak) - min(peak) < 0.1 * min(peak) + 50
    ok = max(peak) < LIMIT_MB and flat
    payload = {"benchmark": "memory_stream", "date": today(), "machine": machine(), "rows": rows,
               "limit_mb": LIMIT_MB, "flat_in_depth": flat, "passed": ok,
               "model": args.model, "command": ("python benchmarks/" + Path(__file__).name + " " +
                                                " ".join(argv if argv is not None else sys.argv[1:])).rstrip()}
    key = "memory_stream" + (f"_{args.model}" if args.model else "")
    what = (f"model {args.model}, default tiling and precision" if args.model else
            "median 3x3, default tiling: 512 px tiles overlapping by a quarter")
    if not args.quick:
        save_json(key, payload)
        table = "\n".join(
            f"| {r['depth']} | {r['input_gb']:.2f} | {r['peak_rss_mb']:.0f} | {r['seconds']:.0f} | {r['slices_per_s']:.2f} |"
            for r in rows)
        write_section(key, f"""## S: out-of-core denoising, peak memory against stack depth{f' ({args.model})' if args.model else ''}

Command: `{payload['command']}` ({what},
uint16 in and out, disk to disk). Machine: {payload['machine']}, no GPU. Date: {payload['date']}.

| depth (4096x4096 uint16 slices) | input (GB) | peak RSS (MB) | wall time (s) | slices/s |
|---|---|---|---|---|
{table}

Peak RSS limit {LIMIT_MB:.0f} MB: {'met' if max(peak) < LIMIT_MB else 'NOT met'}; flat in depth
(spread under 10 % + 50 MB): {'yes' if flat else 'NO'}.""")
    print("PASSED" if ok else "FAILED", f"peak RSS {peak} MB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
