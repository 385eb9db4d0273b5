"""C (cluster): block processing on a local Dask cluster of 1, 2 and 4 workers against one process.

On a generated EM-like volume stored as OME-Zarr (default 64 x 2048 x 2048 uint8), one run:

* ``single``: ``emdenoise denoise`` in one process (the plain path: StackWriter, one slice at a time);
* ``blocks-here``: the block path in this process (``--scheduler here``), the cost of blocks themselves;
* ``dask-N``: a LocalCluster of N worker processes (threads per worker = cores / N, at least 1),
  blocks submitted by ``jobs.cluster.denoise_on_cluster``; start-up of the workers timed apart.

Per row: seconds, megapixels per second, speed-up and scaling efficiency against ``dask-1``
(speed-up / N), and the largest difference to the ``single`` output (must be 0 within float32
rounding: the block path is the same computation). JSON in benchmarks/results/cluster.json, the
table in docs/benchmarks.md.

    .venv/bin/python benchmarks/cluster.py                              # 64 x 2048^2, gaussian-avg
    .venv/bin/python benchmarks/cluster.py --model flyem-nrrn-lite --depth 32 --side 1024
    .venv/bin/python benchmarks/cluster.py --quick                      # smoke run; docs untouched
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, save_json, today, write_section  # noqa: E402
from emdenoise_gui.core.events import run_to_end  # noqa: E402
from emdenoise_gui.core.io import StackWriter, open_stack  # noqa: E402
from emdenoise_gui.jobs.denoise import Denoiser, denoise_stack  # noqa: E402


def make_volume(path: Path, depth: int, side: int) -> Path:
    """A seeded (depth, side, side) uint8 volume: smooth 'cells' drifting through z, Poisson-like noise."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    base = ndimage.gaussian_filter(rng.standard_normal((side // 8, side // 8)), 3)
    with StackWriter(path, (depth, side, side), np.uint8, (10.0, 4.0, 4.0)) as writer:
        for z in range(depth):
            field = ndimage.zoom(np.roll(base, z, axis=0), 8, order=1)
            clean = 150 - 90 * np.exp(-(field / (0.3 * base.std())) ** 2)
            writer.write(z, np.clip(rng.poisson(np.maximum(clean, 0) / 4) * 4, 0, 255))
        writer.commit()
    return path


def timed(job) -> float:
    started = time.perf_counter()
    run_to_end(job)
    return time.perf_counter() - started


def largest_difference(a: Path, b: Path) -> float:
    with open_stack(a) as x, open_stack(b) as y:
        return max(float(np.abs(x[z].astype(np.float64) - y[z]).max()) for z in range(len(x)))


def run(args) -> dict:
    import distributed

    from emdenoise_gui.jobs.blocks import denoise_blocks
    from emdenoise_gui.jobs.cluster import denoise_on_cluster, local_cluster

    denoiser = Denoiser("model", args.model, args.model) if args.model else Denoiser("filter", args.method)
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="emdenoise-cluster-bench-"))
    source = make_volume(work / "volume.zarr", args.depth, args.side)
    megapixels = args.depth * args.side * args.side / 1e6
    rows = []
    single = work / "single.zarr"
    seconds = timed(denoise_stack(source, single, denoiser))
    rows.append({"path": "single", "workers": 1, "seconds": seconds, "startup_s": 0.0, "difference": 0.0})
    print(f"single       {seconds:8.1f} s", flush=True)
    seconds = timed(denoise_blocks(source, work / "here.zarr", denoiser))
    rows.append({"path": "blocks-here", "workers": 1, "seconds": seconds, "startup_s": 0.0,
                 "difference": largest_difference(single, work / "here.zarr")})
    print(f"blocks-here  {seconds:8.1f} s", flush=True)
    for n in args.workers:
        started = time.perf_counter()
        threads = max(1, cores // n)
        with local_cluster(n) as cluster, distributed.Client(cluster) as client:
            startup = time.perf_counter() - started
            out = work / f"dask{n}.zarr"
            seconds = timed(denoise_on_cluster(source, out, denoiser, "local", client=client))
        rows.append({"path": f"dask-{n}", "workers": n, "threads_per_worker": threads, "seconds": seconds,
                     "startup_s": startup, "difference": largest_difference(single, out)})
        print(f"dask-{n:<7} {seconds:8.1f} s (workers started in {startup:.1f} s)", flush=True)
    base = next((r["seconds"] for r in rows if r["path"] == "dask-1"), rows[0]["seconds"])
    for row in rows:
        row["megapixels_per_s"] = megapixels / row["seconds"]
        row["speedup_vs_dask1"] = base / row["seconds"]
        row["efficiency"] = row["speedup_vs_dask1"] / row["workers"]
    return {"date": today(), "machine": machine(), "cores": cores, "denoiser": denoiser.label,
            "volume": [args.depth, args.side, args.side], "rows": rows,
            "command": "python benchmarks/cluster.py " + " ".join(sys.argv[1:])}


def table(result: dict) -> str:
    depth, side, _ = result["volume"]
    lines = [f"### C: block processing on a local Dask cluster ({result['denoiser']}, {depth} x {side} x {side})",
             "",
             f"`{result['command'].strip()}` on {result['machine']}, {result['date']}. Speed-up and efficiency "
             "against one Dask worker; 'difference' is the largest absolute difference to the one-process "
             "output (grey levels).", "",
             "| path | workers | threads each | s | MP/s | speed-up | efficiency | worker start-up s | difference |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['path']} | {r['workers']} | {r.get('threads_per_worker', result['cores'])} | "
                     f"{r['seconds']:.1f} | {r['megapixels_per_s']:.2f} | {r['speedup_vs_dask1']:.2f} | "
                     f"{r['efficiency']:.2f} | {r['startup_s']:.1f} | {r['difference']:.2g} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--depth", type=int, default=64)
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--method", default="gaussian-avg", help="a classical filter (default gaussian-avg)")
    parser.add_argument("--model", help="a zoo model instead of --method")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--quick", action="store_true", help="a tiny volume, 1 and 2 workers; docs untouched")
    args = parser.parse_args()
    if args.quick:
        args.depth, args.side, args.workers = 20, 128, [1, 2]
    result = run(args)
    print(table(result))
    worst = max(r["difference"] for r in result["rows"])
    if worst > 1e-3:
        print(f"FAILED: the block output differs from the one-process output by {worst}")
        return 1
    if not args.quick:
        save_json("cluster" + ("" if not args.model else f"-{args.model}"), result)
        write_section("cluster" + ("" if not args.model else f"-{args.model}"), table(result))
    print("PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
