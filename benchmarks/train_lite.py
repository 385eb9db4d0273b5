"""Q (lite): train each family's lite configuration on the CPU through the CLI; PSNR on held-back slices.

Data (../shared/data, FlyEM FIB-SEM, 10 nm):
- noisy: the validation volume with Poisson noise at 50 counts per pixel (seed 0), stored as uint8;
  slices 0-95 train (nrrn, n2v, and cyclic's noisy pool), slices 96-111 are the held-back test set;
- clean: every second slice of the other volume (training_sample1) for xception; for cyclic the
  clean slices 0-47 of the validation volume, unpaired with its noisy pool (noisy slices 48-95);
- noise patterns (cyclic): flat 256x256 patches at the volume's mean intensity with the same
  Poisson noise, the stand-in for images of blank support film.

Every step runs the real ``emdenoise`` command in a subprocess: train, denoise the test slices,
compare against the clean test slices. The median filter is run on the same test set for reference.

    .venv/bin/python benchmarks/train_lite.py                # full run (about 15-25 min on 2 cores)
    .venv/bin/python benchmarks/train_lite.py --quick        # a few steps on small crops; no docs
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, save_json, today, write_section  # noqa: E402
from emdenoise_gui.core.noise import poisson_dose, slice_rng  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
VAL = DATA / "fibsem_flyem_medulla_val_z000-127_128x520x520.tif"
TRAIN = DATA / "fibsem_flyem_medulla_train1_250x250x250.tif"
DOSE = 50.0
RESULTS_FILE = ROOT / "benchmarks" / "results" / "train_lite.json"
STEPS = {"nrrn": 300, "n2v": 400, "xception": 400, "cyclic": 800}
KW = dict(imagej=True, resolution=(0.1, 0.1), metadata={"axes": "ZYX", "spacing": 10.0, "unit": "nm"})


def emdenoise(*args) -> tuple[str, float]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "emdenoise_gui", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"emdenoise {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr, time.perf_counter() - started


def prepare(folder: Path, quick: bool) -> dict:
    """Write the benchmark's input files; returns their paths."""
    side = 128 if quick else None
    val = tifffile.imread(VAL)
    clean_train = tifffile.imread(TRAIN, key=range(0, 250, 2))
    if side:
        val, clean_train = val[:, :side, :side], clean_train[:, :side, :side]
    noisy = np.stack([poisson_dose(s.astype(np.float32) / 255.0, DOSE, slice_rng(0, z)) for z, s in enumerate(val)])
    noisy = np.clip(np.rint(noisy * 255.0), 0, 255).astype(np.uint8)
    flat = np.full((256, 256), val.mean() / 255.0, np.float32)
    patches = np.stack([poisson_dose(flat, DOSE, slice_rng(1, k)) for k in range(16)])
    paths = {name: folder / f"{name}.tif" for name in ("noisy_train", "noisy_test", "clean_test", "clean_train",
                                                         "noise_patches", "cyclic_clean", "cyclic_noisy")}
    tifffile.imwrite(paths["cyclic_clean"], val[:48], **KW)
    tifffile.imwrite(paths["cyclic_noisy"], noisy[48:96], **KW)
    tifffile.imwrite(paths["noisy_train"], noisy[:96], **KW)
    tifffile.imwrite(paths["noisy_test"], noisy[96:112], **KW)
    tifffile.imwrite(paths["clean_test"], val[96:112], **KW)
    tifffile.imwrite(paths["clean_train"], clean_train, **KW)
    tifffile.imwrite(paths["noise_patches"], np.clip(np.rint(patches * 255), 0, 255).astype(np.uint8), **KW)
    return paths


def psnr_table(text: str) -> dict:
    rows = {}
    for line in text.splitlines()[2:]:
        parts = line.split()
        if len(parts) >= 7 and parts[2] == "±" and parts[5] == "±":  # a table row, not a progress line
            rows[parts[0]] = (float(parts[1]), float(parts[3]), float(parts[4]), float(parts[6]))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--families", default="nrrn,n2v,xception,cyclic")
    parser.add_argument("--ship", metavar="DIR", help="copy the trained packages to DIR as flyem-FAMILY-lite "
                                                      "(the shipped zoo is models/)")
    args = parser.parse_args(argv)
    families = args.families.split(",")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        p = prepare(folder, args.quick)
        data = {"nrrn": ["--noisy", p["noisy_train"]], "n2v": ["--noisy", p["noisy_train"]],
                "xception": ["--clean", p["clean_train"], "--dose", "25:100"],
                "cyclic": ["--clean", p["cyclic_clean"], "--noise", p["noise_patches"], "--noisy", p["cyclic_noisy"]]}
        emdenoise("denoise", p["noisy_test"], "-o", folder / "median.tif", "--method", "median")
        outputs, rows = [folder / "median.tif"], []
        for fam in families:
            steps = 4 if args.quick else STEPS[fam]
            extra = ["--crop", "32", "--batch-size", "2"] if args.quick else []
            _, train_s = emdenoise("train", fam, *data[fam], "--steps", steps, "--device", "cpu",
                                   "--validate-every", max(1, steps // 4), "-o", folder / f"{fam}_lite", *extra)
            out = folder / f"{fam}.tif"
            _, infer_s = emdenoise("denoise", p["noisy_test"], "-o", out, "--model", folder / f"{fam}_lite",
                                   "--device", "cpu")
            outputs.append(out)
            if args.ship:
                import shutil

                target = Path(args.ship) / f"flyem-{fam}-lite"
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(folder / f"{fam}_lite", target)
                card = json.loads((target / "card.json").read_text())
                card["name"] = target.name
                card["training_data"] = ("Janelia FlyEM FIB-SEM (CC BY 3.0), " + card["training_data"]
                                         + f"; Poisson noise at {DOSE:g} counts per pixel")
                (target / "card.json").write_text(json.dumps(card, indent=2) + "\n")
            rows.append({"family": fam, "steps": steps, "train_s": round(train_s, 1), "infer_s": round(infer_s, 1),
                         "date": today()})
            print(rows[-1], flush=True)
        table, _ = emdenoise("compare", p["clean_test"], p["noisy_test"], *outputs)
    print(table)
    scores = psnr_table(table)
    noisy_psnr = scores["noisy_test.tif"][0]
    for row in rows:
        psnr, psnr_sd, ssim, _ = scores[f"{row['family']}.tif"]
        row.update(psnr_db=psnr, psnr_sd=psnr_sd, ssim=ssim, beats_input=psnr > noisy_psnr)
    payload = {"benchmark": "train_lite", "date": today(), "machine": machine(), "dose": DOSE,
               "input": {"psnr_db": noisy_psnr, "ssim": scores["noisy_test.tif"][2]},
               "median": {"psnr_db": scores["median.tif"][0], "ssim": scores["median.tif"][2]}, "rows": rows,
               "command": "python benchmarks/train_lite.py" + (" --quick" if args.quick else "")}
    if not args.quick:
        previous = RESULTS_FILE.exists() and json.loads(RESULTS_FILE.read_text())
        if previous and previous.get("input") == payload["input"]:  # same data: keep the other families' rows
            done = {r["family"] for r in rows}
            rows[:0] = [r for r in previous["rows"] if r["family"] not in done]
            payload["rows"] = rows
        save_json("train_lite", payload)
        lines = "\n".join(
            f"| {r['family']} | {r['steps']} | {r['train_s']:.0f} | {r['infer_s']:.0f} | "
            f"{r['psnr_db']:.2f} ± {r['psnr_sd']:.2f} | {r['ssim']:.3f} | {'yes' if r['beats_input'] else 'NO'} |"
            for r in rows)
        write_section("train_lite", f"""## Q (lite): each family's lite configuration trained on the CPU

Command: `{payload['command']}`. Machine: {payload['machine']}, no GPU. Date: {payload['date']}.
Noisy data: FlyEM FIB-SEM validation volume with Poisson noise at {DOSE:g} counts per pixel (uint8);
train on slices 0-95 (nrrn, n2v), test on the held-back slices 96-111. Clean data for xception
(synthetic Poisson 25-100 counts): the other FlyEM volume (training_sample1). Cyclic: clean slices
0-47 and noisy slices 48-95 (unpaired), plus flat blank-film patches with the same noise. Train and denoise times are wall-clock for the whole CLI command (16 test slices
of 520x520, 512 px tiles, stride 256). PSNR and SSIM against the clean test slices, mean ± std.

| model | steps | train (s) | denoise (s) | PSNR (dB) | SSIM | beats input |
|---|---|---|---|---|---|---|
| noisy input | | | | {noisy_psnr:.2f} | {payload['input']['ssim']:.3f} | |
| median 3x3 | | | | {payload['median']['psnr_db']:.2f} | {payload['median']['ssim']:.3f} | |
{lines}""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
