"""S (large slices): peak memory of denoising one large slice (an SEM montage, a stitched section).

A single (1, side, side) uint16 slice runs through ``emdenoise denoise IN -o OUT --method M --dtype input``
in a fresh Python process that reports its own peak resident set size (``ru_maxrss``), for the filters a
microscopist uses most: the 3x3 Gaussian and median (tiled) and the SURE-tuned Gaussian of three slices
(the app's fallback on stacks; whole slice at once). The figure to judge is the peak over the uint16
slice's size: the input, a float32 working copy (2x) and one float32 result (2x) are the floor, about 5x.

    .venv/bin/python benchmarks/large_slice.py            # sides 4096 and 8192, updates docs/benchmarks.md
    .venv/bin/python benchmarks/large_slice.py --quick    # tiny smoke run (side 512)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, save_json, today, write_section  # noqa: E402
from benchmarks.memory_stream import make_stack, run_child  # noqa: E402

METHODS = ("gaussian", "median", "gaussian-sure-avg")


def run_side(folder: Path, side: int, method: str) -> dict:
    """Peak RSS (MB), wall time (s) and the peak over the uint16 slice's bytes for ``method`` on one slice."""
    src, out = folder / f"in_{side}.tif", folder / f"out_{side}_{method}.tif"
    if not src.exists():
        make_stack(src, 1, side)
    peak_mb, seconds = run_child(["denoise", str(src), "-o", str(out), "--method", method, "--dtype", "input"],
                                 f"{method} at {side} px")
    out.unlink()
    slice_mb = side * side * 2 / 2**20
    return {"method": method, "side": side, "slice_mb": round(slice_mb, 1), "peak_rss_mb": peak_mb,
            "peak_over_slice": round(peak_mb / slice_mb, 2), "seconds": round(seconds, 1)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run; does not touch the docs")
    parser.add_argument("--dir", help="scratch folder (default: a temporary folder)")
    args = parser.parse_args(argv)
    sides = (512,) if args.quick else (4096, 8192)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        for side in sides:
            for method in METHODS:
                started = time.perf_counter()
                rows.append(run_side(Path(scratch), side, method))
                print(rows[-1], f"({time.perf_counter() - started:.0f} s)", flush=True)
    payload = {"benchmark": "large_slice", "date": today(), "machine": machine(), "rows": rows,
               "command": "python benchmarks/" + Path(__file__).name + " " +
               " ".join(argv if argv is not None else sys.argv[1:])}
    if not args.quick:
        save_json("large_slice", payload)
        table = "\n".join(f"| {r['method']} | {r['side']} | {r['slice_mb']:.0f} | {r['peak_rss_mb']:.0f} | "
                          f"{r['peak_over_slice']:.1f} | {r['seconds']:.1f} |" for r in rows)
        write_section("large_slice", f"""## S: one large slice, peak memory

Command: `{payload['command']}` (one uint16 slice, uint16 out, disk to disk; each run a fresh process).
Machine: {payload['machine']}, no GPU. Date: {payload['date']}.

| method | side (px) | slice (MB) | peak RSS (MB) | peak / slice | wall time (s) |
|---|---|---|---|---|---|
{table}

The floor is about 5x the uint16 slice (the input, a float32 working copy, a float32 result), and the
cast to uint16 rounds in float32 (2x more); the 3-slice filter builds three float32 slices (a one-slice
stack's neighbours are itself). Before 2026-12-06 (a padded copy of the image, a whole-slice weight
sum, float64 statistics, a copy of the slice to write it, a copy of the window for a whole-slice
filter) the same 8192 px slice took 1.64 GB (gaussian), 1.64 GB (median) and 2.30 GB (gaussian-sure-avg):
`/usr/bin/time -v` of the same `emdenoise denoise` command with the code of commit 58d9adb, same machine
and day.""")
    print("DONE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
