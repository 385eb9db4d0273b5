"""Finding a project's input stacks again after they moved.

Inputs are recorded by absolute path (they are never copied). Beside it, ``project.json`` keeps each
stack's path relative to the project folder (``"relative": "../data/cells.tif"``), so a project moved
or copied together with its data (a folder holding both, taken to another disk or another computer)
finds its stacks at their new place when it is opened. A stack found that way, or picked by the user
with Locate File, is taken only when its file opens as a stack of the recorded shape and data type:
another file that happens to have the same name is never mistaken for the data.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import numpy as np

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.project.records import file_size, sampled_digest


def relative_path(path: str | Path, folder: str | Path) -> str | None:
    """``path`` relative to ``folder`` with ``/`` separators (``"data/a.tif"``, ``"../raw/a.tif"``), or
    None when the two share no root (another drive letter on Windows)."""
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:
        return None


def from_relative(folder: str | Path, relative: str) -> Path:
    """The absolute path ``relative`` (``/`` separators, as :func:`relative_path` gives) names from
    ``folder``, normalised (``..`` taken out) but with links not followed."""
    return Path(os.path.normpath(Path(folder).joinpath(*PurePosixPath(relative).parts)))


def stack_header(path: str | Path) -> tuple[list[int], str]:
    """The (shape [Z, Y, X], dtype name) of the stack at ``path``, read from its header only.

    Raises InputError when it cannot be opened as a stack.
    """
    with open_stack(path) as stack:
        meta = stack.meta
    return [int(n) for n in meta.shape], np.dtype(meta.dtype).name


def describe_header(shape: list[int], dtype: str) -> str:
    """``"16x256x256 uint8"``: a stack's size and type in a message."""
    return "x".join(map(str, shape)) + f" {dtype}"


def mismatch(record, path: str | Path) -> str | None:
    """Why the file at ``path`` is not the stack ``record`` describes (a StackRecord), or None when it
    opens with the recorded shape and dtype."""
    try:
        shape, dtype = stack_header(path)
    except InputError as exc:
        return exc.problem
    if (shape, dtype) != (list(record.shape), record.dtype):
        return (f"is {describe_header(shape, dtype)}, but the stack '{record.name}' was "
                f"{describe_header(record.shape, record.dtype)}: pick the same data")
    return None


def found_at(record, candidate: Path) -> bool:
    """Whether ``candidate`` exists and holds the stack ``record`` describes (see :func:`mismatch`), of the size
    and sampled bytes it had when it was added where those were recorded (another acquisition of the same shape
    and type found under its name was taken for it)."""
    if not candidate.exists() or mismatch(record, candidate) is not None:
        return False
    return ((record.size_bytes is None or file_size(candidate) == record.size_bytes)
            and (record.sampled_digest is None or sampled_digest(candidate) == record.sampled_digest))


def siblings_moved(records, old_folder: Path, new_folder: Path) -> list[tuple[object, Path]]:
    """For the missing ``records`` that lay in ``old_folder``, the ones found under the same name in
    ``new_folder`` (with their recorded shape and dtype): [(record, new path)]. A stack the user located
    is rarely the only one that moved with its folder."""
    moved = []
    for record in records:
        old = Path(record.path)
        if old.parent == old_folder and not old.exists() and found_at(record, new_folder / old.name):
            moved.append((record, new_folder / old.name))
    return moved
