"""Reading ``project.json``: its path from what the user picked, its text, its JSON, and whether it is ours.

Each problem (a missing path, a folder that is no project, unreadable bytes, damaged JSON, NaN written by
hand, another program's project.json) is an :class:`InputError` naming the file and what to do."""

from __future__ import annotations

import json
from pathlib import Path

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.project.records import BACKUP_FILE, PROJECT_FILE

#: Marks a JSON file as ours, so another tool's project.json is not taken for a project.
FORMAT_TAG = "emdenoise-project"


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity in project.json (its text)."""


def _refuse_constant(name: str):
    raise _NotJson(name)


def is_project_text(text: str) -> bool:
    """Whether ``text`` reads as an EMDenoise project.json (of any version), not damage."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT_TAG


def _file_of(folder_or_file: str | Path) -> Path:
    """The project.json of a project folder or the file itself (absolute, links resolved)."""
    path = Path(folder_or_file).expanduser()
    if not path.exists():
        raise InputError("does not exist; check the name, or pick the project folder", path)
    if path.is_dir():
        file = path / PROJECT_FILE
        if not file.is_file():
            raise InputError("is not an EMDenoise project (no project.json inside); "
                             "pick a project folder or create a new project", path)
    elif path.name == PROJECT_FILE:
        file = path
    else:
        raise InputError("is not a project file; pick the project folder or its project.json", path)
    return file.resolve()


def read(folder_or_file: str | Path) -> tuple[Path, str, dict]:
    """(project.json's absolute path, its text, its JSON object) for a project folder or its file.

    The object's ``format`` is :data:`FORMAT_TAG`; its fields are not checked here (``Project.from_dict``)."""
    file = _file_of(folder_or_file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"cannot be read ({why}); check the file and its permissions",
                         file) from exc
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except _NotJson as exc:  # Python reads NaN and Infinity; a save writes JSON only, and refused it ever after
        raise InputError(f"holds {exc} (written by hand?), which JSON does not allow, so the project could never "
                         "be saved again; replace it with a number or null in a text editor", file) from None
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python parses
        fix = (f"restore {BACKUP_FILE} from the same folder (the previous save) by renaming it to {PROJECT_FILE}"
               if (file.parent / BACKUP_FILE).exists() else
               "there is no backup beside it (never saved twice): repair it in a text editor, or make a new "
               "project and add the stacks again")
        raise InputError(f"is not valid JSON ({exc}); it is damaged: {fix}", file) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_TAG:
        raise InputError("is not an EMDenoise project file (another program's "
                         "project.json?); pick another folder", file)
    return file, text, data
