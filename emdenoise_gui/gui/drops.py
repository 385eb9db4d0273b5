"""What a drop onto the window holds: a project to open, model packages for the zoo, stacks to add.

Dropping a project folder had listed its project.json and project.json.bak as "unsupported file types", and a
model package dropped on the zoo was taken for stacks (drag-and-drop audit of 2026-12-06)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

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
