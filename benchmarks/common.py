"""Shared helpers for benchmarks: machine description and writing result tables into docs."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path

from emdenoise_gui.models.device import cpu_name

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "benchmarks.md"


def cpu_features() -> str:
    """' (family F model M, widest vector ISA)' from /proc/cpuinfo, '' where it cannot be read.

    Machines sold under one name differ a lot: an AMD EPYC of family 23 (Zen 1) has AVX2 only, one
    of family 25 (Zen 4) AVX-512 with native bf16, several times faster for these networks.
    """
    try:
        info = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
    except OSError:
        return ""
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    flags = set(fields.get("flags", "").split())
    isa = next((name for flag, name in (("amx_bf16", "AMX-BF16"), ("avx512_bf16", "AVX-512 BF16"),
                                        ("avx512f", "AVX-512"), ("avx2", "AVX2")) if flag in flags), "no AVX2")
    return f" (family {fields.get('cpu family', '?')} model {fields.get('model', '?')}, {isa})"


def machine() -> str:
    """'CPU model (family, model, ISA), N cores, RAM, OS' for the table headers."""
    cpu = cpu_name() + cpu_features()
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
