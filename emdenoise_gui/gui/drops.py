"""What a drop onto the window holds: a project to open, model packages for the zoo, stacks to add; and how
the files that could not be added are told.

Dropping a project folder had listed its project.json and project.json.bak as "unsupported file types", and a
model package dropped on the zoo was taken for stacks (drag-and-drop audit of 2026-12-06)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from emdenoise_gui.core.io import omezarr
from emdenoise_gui.project.records import PROJECT_FILE
from emdenoise_gui.zoo.package import CARD


@dataclass
class Drop:
    """Local paths of one drop, sorted by what they are; ``web``: links that are no local file (skipped)."""

    projects: list[Path] = field(default_factory=list)
    packages: list[Path] = field(default_factory=list)
    stacks: list[Path] = field(default_factory=list)
    web: int = 0


def is_package(path: Path) -> bool:
    """A model package: a folder holding a card, or a zip holding one (EMDenoise's own or its bioimage.io
    export, which carries the card among its attachments)."""
    if path.is_dir():
        return (path / CARD).is_file()
    if path.suffix.lower() != ".zip" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return any(Path(name).name == CARD for name in zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def sort_drop(urls: list[str], local: list[str]) -> Drop:
    """``local``: the dropped URLs that are local files (``urls``: all of them)."""
    drop = Drop(web=len(urls) - len(local))
    for text in local:
        path = Path(text)
        if path.name == PROJECT_FILE and path.is_file():
            drop.projects.append(path.parent)
        elif path.is_dir() and (path / PROJECT_FILE).is_file():
            drop.projects.append(path)
        elif is_package(path):
            drop.packages.append(path)
        else:
            drop.stacks.append(path)
    return drop


def take(window, drop: Drop) -> None:
    """Act on ``drop`` in the main ``window``: a project folder opens (dropped alone), model packages go to the
    zoo, stacks join the project (one is offered first when none is open), web links are said to be skipped."""
    if drop.web:
        window.statusBar().showMessage(f"{drop.web} web link(s) not added: download the file, then drop it", 8000)
    if drop.projects:
        if len(drop.projects) > 1 or drop.packages or drop.stacks:
            window.warn("Open one project", "A project folder was dropped with other things: drop it alone to "
                        "open it, or use File ▸ Open Project.")
        else:
            window.open_project(drop.projects[0])
        return
    for package in drop.packages:
        window.zoo_panel.import_path(package)
    if drop.stacks and window.ensure_project(len(drop.stacks)):
        window.controller.add_paths([str(path) for path in drop.stacks])


#: Lines of a "not added" message at most: a folder of 80 PNGs gave an 82-line box taller than the screen.
MAX_LINES = 12


def rejection_lines(rejected: list[tuple[Path, str]]) -> str:
    """One line per file that could not be added ("• NAME: why"), files of one unsupported type in one line
    when there are more than two, at most :data:`MAX_LINES` lines."""
    by_type: dict[str, list[Path]] = {}
    for path, why in rejected:
        if why.startswith("unsupported file type"):
            by_type.setdefault(path.suffix.lower() or "none", []).append(path)
    lines = []
    for path, why in rejected:
        group = by_type.get(path.suffix.lower() or "none", []) if why.startswith("unsupported file type") else []
        if len(group) <= 2:
            lines.append(f"• {path.name}: {why}")
        elif path == group[0]:
            lines.append(f"• {len(group)} '{path.suffix or 'none'}' files ({group[0].name}, {group[1].name}, …): {why}")
    if len(lines) > MAX_LINES:
        lines = lines[:MAX_LINES - 1] + [f"• … and {len(lines) - MAX_LINES + 1} more"]
    return "\n".join(lines)


def unsearched_folders(given: list[Path]) -> list[Path]:
    """Sub-folders (not OME-Zarr stores, not hidden) of the plain folders in ``given``: not searched for stacks."""
    found = []
    for folder in given:
        if folder.is_dir() and not omezarr.is_store(folder):
            found += [sub for sub in sorted(folder.iterdir()) if sub.is_dir() and not sub.name.startswith(".")
                      and not omezarr.is_store(sub)]
    return found


#: Files at the top of a zarr store that a file dialog can pick to mean the store.
STORE_FILES = ("zarr.json", ".zattrs", ".zgroup")


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files and OME-Zarr folders as given, plus the files and OME-Zarr folders directly inside other
    given folders (sorted; hidden ones skipped)."""
    out = []
    for path in paths:
        if path.name in STORE_FILES and omezarr.is_store(path.parent):  # picked inside the store: the store
            path = path.parent
        path = _store_around(path)
        if path.is_dir() and not omezarr.is_store(path):
            out.extend(sorted(p for p in path.iterdir() if not p.name.startswith(".")
                              and (p.is_file() or omezarr.is_store(p))))
        else:
            out.append(path)
    return out


def _store_around(path: Path) -> Path:
    """The OME-Zarr image store ``path`` lies in (its level folder "0", a metadata or chunk file inside it),
    else ``path``: such a path was refused as "a plain zarr array", though its store is a good image."""
    for parent in list(path.parents)[:4]:
        if omezarr.image_store(parent):
            return parent
    return path
