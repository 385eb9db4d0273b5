"""The recent-projects list (File > Recent Projects), kept in the user config folder.

``$EMDENOISE_HOME/recent.json`` when that variable is set (tests, portable installs),
else ``<user config dir>/EMDenoise/recent.json``. Reading never raises: a damaged
list is an empty one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from emdenoise_gui import paths
from emdenoise_gui.core import atomic
from emdenoise_gui.project.project import PROJECT_FILE

RECENT_FILE = "recent.json"
RECENT_MAX = 10

def recent_file() -> Path:
    """Where the recent-projects list lives: ``$EMDENOISE_HOME/recent.json`` if the
    variable is set, else ``<user config dir>/EMDenoise/recent.json``."""
    return paths.user_config_dir() / RECENT_FILE


def _key(path: str) -> str:
    return os.path.normcase(os.path.normpath(path))


def _read_recent() -> list[str]:
    """The stored list of folders, most recent first; [] if missing or damaged."""
    try:
        data = json.loads(recent_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    out, seen = [], set()
    for item in data:
        if isinstance(item, str) and item and _key(item) not in seen:
            seen.add(_key(item))
            out.append(item)
    return out


def recent_projects() -> list[Path]:
    """Recently used project folders, most recent first, at most 10.

    Folders that no longer exist or no longer hold a ``project.json`` are skipped
    (but stay stored, in case a drive is just disconnected). Never raises.
    """
    return [Path(p) for p in _read_recent() if _holds_project(Path(p))][:RECENT_MAX]


def _holds_project(folder: Path) -> bool:
    """Whether ``folder`` holds a project file; False also where it cannot be looked into (a folder without
    permission, a name too long: ``is_file`` raises those, which opened File ▸ Recent Projects with a
    traceback each time)."""
    try:
        return (folder / PROJECT_FILE).is_file()
    except (OSError, ValueError):
        return False


def remember_project(folder: str | Path) -> bool:
    """Put ``folder`` first in the recent list (deduplicated, at most 10 kept).

    Written atomically. Returns False, instead of raising, if the list cannot be
    written: remembering is a convenience and must not stop the user's work.
    """
    folder = str(Path(folder).expanduser().resolve())
    entries = [folder] + [p for p in _read_recent() if _key(p) != _key(folder)]
    path = recent_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(path, json.dumps(entries[:RECENT_MAX], indent=2) + "\n")
    except OSError:
        return False
    return True
