"""What a drop onto the window holds: a project to open, model packages for the zoo, stacks to add; and how
the files that could not be added are told.

Dropping a project folder had listed its project.json and project.json.bak as "unsupported file types", and a
model package dropped on the zoo was taken for stacks (drag-and-drop audit of 2026-12-06)."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from PySide6 import QtCore, QtGui

from emdenoise_gui.core.io import READ_SUFFIXES, omezarr
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
    """A model package: a folder holding a card, or a zip holding one (EMDenoise's own, its bioimage.io export,
    which carries the card among its attachments) or a bioimage.io rdf.yaml (another tool's: the import says why
    not), or a zip that cannot be read (the import says so)."""
    if path.is_dir():
        return (path / CARD).is_file()
    if path.suffix.lower() != ".zip" or not path.is_file():
        return False
    try:  # a zipped stack (stack.tif.zip) goes to the stack opener, which says to decompress it
        with zipfile.ZipFile(path) as zf:
            return any(Path(name).name in (CARD, "rdf.yaml") for name in zf.namelist())
    except (OSError, zipfile.BadZipFile):  # damaged: the importer says what is wrong with it ("unsupported file
        return True  # type '.zip'" did not: zoo panel audit)


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
    if drop.packages:
        window.zoo_panel.import_paths(drop.packages)
    if not drop.stacks:
        return
    if window.controller.project is None:  # not asked to make a project for files that cannot join it
        readable, rejected = screen(drop.stacks)
        if not readable:
            window.warn(*not_added(rejected, False))
            return
    if window.ensure_project(len(drop.stacks)):
        window.controller.add_paths([str(path) for path in drop.stacks])


def screen(given: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Split ``given`` (files and folders) before any header is read: (the stack files and stores to read,
    [(path, why it cannot be added)]): a .zarr folder with no image, a folder with no stack directly inside,
    a file of a type EMDenoise does not open."""
    no_image = ("is named .zarr but holds no OME-Zarr image (no NGFF metadata in zarr.json or .zattrs): it may be "
                "incomplete; copy it again")
    no_stack = ("no TIFF, MRC or OME-Zarr stack directly inside (sub-folders are not searched): drop the sub-folders "
                "or the files themselves")
    folders = [p for p in given if p.is_dir() and not omezarr.is_store(p)]
    rejected = [(folder, no_image) for folder in folders if folder.suffix.lower() == ".zarr"]
    rejected += [(folder, no_stack) for folder in folders
                 if folder.suffix.lower() != ".zarr" and not expand_paths([folder])]
    given = [p for p in given if all(p != folder for folder, _ in rejected)]
    readable = []
    for path in expand_paths(given):
        if path.suffix.lower() not in READ_SUFFIXES and not path.is_dir():
            rejected.append((path, f"unsupported file type '{path.suffix or 'none'}' (EMDenoise opens TIFF, MRC "
                                   "and OME-Zarr)"))
        else:
            readable.append(path)
    return readable, rejected


def not_added(rejected: list[tuple[Path, str]], some_added: bool) -> tuple[str, str]:
    """(title, text) of the message listing the ``rejected`` paths and why, when ``some_added`` or none was."""
    others = "; the others were" if some_added else ""
    return ("Some files were not added" if some_added else "Nothing was added",
            f"{len(rejected)} file(s) or folder(s) could not be added{others}.\n\n{rejection_lines(rejected)}")


def accepts(event: QtGui.QDragEnterEvent | QtGui.QDragMoveEvent) -> bool:
    """Accept a drag that carries at least one local file (a web link alone gets the refusing cursor)."""
    if any(url.isLocalFile() for url in event.mimeData().urls()):
        event.acceptProposedAction()
        return True
    return False


def receive(window, event: QtGui.QDropEvent) -> None:
    """Take the files of ``event`` into the main ``window`` (nothing when it holds no local file)."""
    urls = event.mimeData().urls()
    paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
    if not paths:
        return
    event.acceptProposedAction()
    dropped = sort_drop([u.toString() for u in urls], paths)
    if window.controller.project is not None:
        take(window, dropped)
    else:  # ask about a new project after the drop has ended: the file manager waits for it
        QtCore.QTimer.singleShot(0, lambda: take(window, dropped))


class ForwardDrops(QtCore.QObject):
    """Event filter for a dock: drops onto it, floating or docked, are the main window's.

    A floating dock is a window of its own: a file dropped on it got the refusing cursor (audit of
    2026-12-06). Docked, its drops reached the main window by way of its parent."""

    def __init__(self, window) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QtCore.QObject, event: QtCore.QEvent) -> bool:  # noqa: N802 (Qt's name)
        kind = event.type()
        if kind in (QtCore.QEvent.Type.DragEnter, QtCore.QEvent.Type.DragMove):
            return accepts(event)
        if kind == QtCore.QEvent.Type.Drop:
            receive(self._window, event)
            return True
        return False


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
