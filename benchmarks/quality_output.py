"""Q benchmark outputs: where a result goes, and finishing it (target checks, JSON, Markdown, plot).

A normal run (benchmarks/quality.py) and ``--merge`` (benchmarks/quality_merge.py) both end in
:func:`finish`, so a merged result is written and checked exactly as a run's.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.common import DOC, RESULTS, ROOT, save_json, write_section
from benchmarks.quality_report import check_targets, markdown

PEER_KEY = "peer"


def command_line(argv: list[str]) -> str:
    """The command as recorded in the JSON and the Markdown: ``python benchmarks/quality.py ARGS``."""
    return "python benchmarks/quality.py " + " ".join(f'"{a}"' if " " in a else a for a in argv)


def outputs(mode: str, out_dir: str | None) -> dict:
    """Where the JSON, the Markdown section and the PNG go for ``mode`` (full, quick, tiny)."""
    suffix = "" if mode == "full" else f"-{mode}"
    plot_name = f"quality_dose{suffix.replace('-', '_')}.png"
    if out_dir:
        out = Path(out_dir)
        return {"json": out / f"quality{suffix}.json", "doc": out / f"quality{suffix}.md",
                "plot": out / plot_name, "key": f"quality{suffix}", "out_dir": True}
    return {"json": RESULTS / f"quality{suffix}.json", "doc": DOC, "plot": ROOT / "docs" / "images" / plot_name,
            "key": f"quality{suffix}", "out_dir": False}


def save(path: Path, payload: dict) -> None:
    """The results JSON: through ``common.save_json`` into benchmarks/results, or straight into --out-dir."""
    if path.parent == RESULTS:
        save_json(path.stem, payload)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=2) + "\n")


def finish(payload: dict, where: dict) -> None:
    """Check the targets on ``payload["results"]``, mark it complete, draw the plot, write the JSON and
    the Markdown (the docs section, or a file in --out-dir) and print the target checks."""
    results = payload["results"]
    payload["targets"] = check_targets(results, payload["methods"],
                                       PEER_KEY if PEER_KEY in payload["methods"] else None)
    payload["complete"] = True
    plot = None
    if "flyem" in results:
        try:
            from benchmarks.quality_plot import plot_dose

            plot = plot_dose(payload, where["plot"])
        except ImportError as exc:  # a GPU machine's image has no Qt: the numbers matter, the plot can wait
            print(f"no plot: {exc}")
    save(where["json"], payload)
    text = markdown(payload, plot.name if plot else None)
    if where["out_dir"]:
        where["doc"].write_text(text)
    else:
        write_section(where["key"], text, where["doc"])
    print("\nTargets:")
    for t in payload["targets"]:
        print(f"  {t['id']}. {t['target']}: {t['status'].upper()}")
        for d in t["details"]:
            print(f"       {d}")
    took = "" if payload.get("merged_from") else f" in {payload['wall_s']:.0f} s"
    print(f"\nwrote {where['json']}, {where['doc']}" + (f", {plot}" if plot else "") + took)
