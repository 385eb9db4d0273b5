"""Write the quality benchmark's FlyEM numbers into the shipped models' cards.

Each shipped card carries its PSNR at the Poisson doses of ``benchmarks/results/quality.json`` (the
merged table of docs/benchmarks.md) as ``metrics.q_flyem_doseN_psnr_db``, and on the charge and film
artifacts where its row scored them as ``metrics.q_flyem_charge_psnr_db`` / ``..._film_...``, and names the run in
``training.benchmark``, so the app's model details show how the model scored on data it never saw.
Only the card changes (its weights and checksum do not). Run after a quality run that scored them:

    .venv/bin/python benchmarks/card_metrics.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import ROOT  # noqa: E402
from emdenoise_gui.paths import shipped_models_dir  # noqa: E402

QUALITY = ROOT / "benchmarks" / "results" / "quality.json"
DOSES = (25, 50, 100, 300)
#: metric key -> benchmark condition
CONDITIONS = {**{f"dose{d}": f"poisson-dose {d}" for d in DOSES}, "charge": "charge", "film": "film"}


def stamp(card: dict, flyem: dict, date: str) -> dict:
    """``card`` (a card.json dict) with the PSNR (dB, 2 decimals) of its row in ``flyem`` at each of
    CONDITIONS that the row scored."""
    row = flyem.get(card["name"])
    if not row:
        raise SystemExit(f"{card['name']} has no row in {QUALITY}; run the quality benchmark on it first")
    metrics = {k: v for k, v in card.get("metrics", {}).items() if not k.startswith("q_flyem_")}
    for key, condition in CONDITIONS.items():
        cell = row.get(condition)
        if isinstance(cell, dict) and cell.get("psnr"):
            metrics[f"q_flyem_{key}_psnr_db"] = round(float(cell["psnr"][0]), 2)
    card["metrics"] = metrics
    card.setdefault("training", {})["benchmark"] = (
        f"benchmarks/quality.py (docs/benchmarks.md, {date}): FlyEM validation slices 96-124 every 8th, "
        "never trained on")
    return card


def main() -> int:
    quality = json.loads(QUALITY.read_text())
    flyem, date = quality["results"]["flyem"], quality.get("date", "")
    for folder in sorted(p for p in shipped_models_dir().iterdir() if (p / "card.json").is_file()):
        card = stamp(json.loads((folder / "card.json").read_text()), flyem, date)
        (folder / "card.json").write_text(json.dumps(card, indent=2) + "\n")
        print(folder.name, {k: v for k, v in card["metrics"].items() if k.startswith("q_flyem_")})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
