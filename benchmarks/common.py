"""Shared helpers for benchmarks: machine description and writing result tables into docs."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path

from emdenoise_gui.models.device import cpu_description

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
#: the real EM stacks (../shared/data beside the checkout); EMDENOISE_SHARED_DATA points elsewhere, e.g. at the
#: copy a GPU lease carries (benchmarks/gpu_session.py)
SHARED_DATA = Path(os.environ.get("EMDENOISE_SHARED_DATA") or ROOT.parent / "shared" / "data")
FLYEM_VAL = SHARED_DATA / "fibsem_flyem_medulla_val_z000-127_128x520x520.tif"


def machine() -> str:
    """'CPU model (family, model, ISA), N cores, RAM, OS' for the table headers."""
    cpu = cpu_description()
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem_text = f", {mem:.0f} GiB RAM"
    except (ValueError, OSError, AttributeError):
        mem_text = ""
    return f"{cpu}, {os.cpu_count()} cores{mem_text}, {platform.system()} {platform.release()}"


def today() -> str:
    return _dt.date.today().isoformat()


def save_json(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path


def write_section(key: str, markdown: str, doc: Path = DOC) -> None:
    """Replace the text between ``<!-- key:start -->`` and ``<!-- key:end -->`` in ``doc``
    (appending the section if it is not there yet)."""
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    block = f"{start}\n{markdown.rstrip()}\n{end}"
    text = doc.read_text() if doc.exists() else "# Benchmarks\n"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)


def publish(name: str, payload: dict, markdown: str, out_dir: str | None = None) -> None:
    """Write a probe's results and print its table: ``payload`` as ``name``.json in ``out_dir`` (docs untouched),
    or in benchmarks/results with ``markdown`` as the docs section ``name`` when ``out_dir`` is None."""
    if out_dir:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    else:
        save_json(name, payload)
        write_section(name, markdown)
    print(markdown)
