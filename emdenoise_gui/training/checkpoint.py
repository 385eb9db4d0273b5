"""Checkpoints without pickle: tensors to safetensors, everything else to JSON.

A nested state (dicts, lists, numbers, strings, tensors, numpy arrays) is split
by :func:`pack` into a flat ``{key: tensor}`` map and a JSON skeleton holding
``{"__tensor__": key}`` placeholders; :func:`unpack` reverses it exactly.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import torch

from emdenoise_gui.core import atomic
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.zoo.package import STATE_JSON, STATE_TENSORS  # noqa: F401 - the file names, also read here


def pack(obj, tensors: dict, prefix: str = "s"):
    """The JSON-able skeleton of ``obj``; its tensors are added to ``tensors`` under unique keys."""
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}.{len(tensors)}"
        tensors[key] = obj.detach().cpu().contiguous()
        return {"__tensor__": key}
    if isinstance(obj, np.ndarray):
        key = f"{prefix}.{len(tensors)}"
        tensors[key] = torch.from_numpy(np.ascontiguousarray(obj))
        return {"__ndarray__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[pack(k, tensors, prefix), pack(v, tensors, prefix)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__" if isinstance(obj, list) else "__tuple__": [pack(v, tensors, prefix) for v in obj]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"cannot checkpoint a {type(obj).__name__}")


def unpack(skeleton, tensors: dict):
    """Rebuild what :func:`pack` took apart."""
    if isinstance(skeleton, dict):
        if "__tensor__" in skeleton:
            return tensors[skeleton["__tensor__"]].clone()
        if "__ndarray__" in skeleton:
            return tensors[skeleton["__ndarray__"]].numpy().copy()
        if "__dict__" in skeleton:
            return {unpack(k, tensors): unpack(v, tensors) for k, v in skeleton["__dict__"]}
        if "__list__" in skeleton:
            return [unpack(v, tensors) for v in skeleton["__list__"]]
        if "__tuple__" in skeleton:
            return tuple(unpack(v, tensors) for v in skeleton["__tuple__"])
    return skeleton


def _old_path(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}.old")


def _write_state(staging: Path, tensors: dict, skeleton) -> None:
    """Fill ``staging``: the tensors first, then state.json (fsynced): a readable state.json means a
    complete copy."""
    from safetensors.torch import save_file

    save_file(tensors, str(staging / STATE_TENSORS))
    atomic.follow_umask(staging / STATE_TENSORS)
    atomic.fsync_tree(staging / STATE_TENSORS)
    atomic.write_text(staging / STATE_JSON, json.dumps(skeleton))


def save_checkpoint(folder: Path, state: dict) -> Path:
    """Write ``state`` to ``folder`` (state.json + state.safetensors), replacing it atomically.

    The new copy is staged as ``.NAME.partial``; the previous one is moved to ``.NAME.old`` for the
    instant of the swap. A kill at any point leaves at least one complete copy that
    :func:`load_checkpoint` finds. If the disk fills, the staging copy is removed, the previous
    checkpoint stays, and InputError says how much space was needed.
    """
    folder = Path(folder)
    tensors: dict = {}
    skeleton = pack(state, tensors)
    staging = atomic.staging_path(folder)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _write_state(staging, tensors, skeleton)
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise _not_saved(exc, folder, tensors) from None
    old = _old_path(folder)
    try:
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(staging, folder)
    except OSError as exc:  # the copy aside or the staged one is complete: load_checkpoint finds it
        raise _not_saved(exc, folder, tensors) from None
    atomic.fsync_dir(folder.parent)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def _not_saved(exc: Exception, folder: Path, tensors: dict) -> Exception:
    """The InputError for a checkpoint the system would not write (a full disk, a disk error, a quota; also as
    safetensors reports them): what was needed and how to go on; ``exc`` itself when it is no such error."""
    need = sum(t.numel() * t.element_size() for t in tensors.values())
    failure = atomic.write_failure(exc, need, folder)
    if failure is None:
        return exc
    then = ("the previous checkpoint is kept: fix that and resume" if folder.exists() or _old_path(folder).exists()
            else "this run had no checkpoint yet, so it cannot resume: fix that and train again")
    if atomic.is_disk_full(exc):
        return InputError(f"the disk is full: about {atomic.size_words(need)} needed for the checkpoint; "
                          f"{then.replace('fix that', 'free some space')}", folder)
    return InputError(f"the checkpoint {failure.problem.removesuffix('. Nothing was written')}; {then}", folder)


def _read(folder: Path, problems: list | None = None) -> dict | None:
    """The state in ``folder`` if it is a complete copy, else None; why a copy that is there cannot be
    read is appended to ``problems``."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not (folder / STATE_JSON).is_file() or not (folder / STATE_TENSORS).is_file():
        return None
    try:
        skeleton = json.loads((folder / STATE_JSON).read_text())
    except (OSError, ValueError, RecursionError) as exc:  # truncated or damaged: not a complete copy
        problem = f"{STATE_JSON} is damaged ({exc})"
    else:
        try:
            state = unpack(skeleton, load_file(str(folder / STATE_TENSORS)))
        except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
            problem = f"{STATE_TENSORS} is damaged or truncated ({exc})"
        else:
            if isinstance(state, dict):
                return state
            problem = f"{STATE_JSON} holds no training state"
    if problems is not None:
        problems.append(problem)
    return None


def read_spec(folder: str | Path) -> dict | None:
    """The RunSpec dict the checkpoint in ``folder`` was started with, read from its ``state.json`` alone (no
    tensors: the spec holds none); None where it cannot be read."""
    try:
        skeleton = json.loads((Path(folder) / STATE_JSON).read_text(encoding="utf-8"))
        spec = next(value for key, value in skeleton["__dict__"] if key == "spec")
        return unpack(spec, {})
    except (OSError, ValueError, RecursionError, KeyError, TypeError, StopIteration):
        return None


def load_checkpoint(folder: Path, notes: list | None = None) -> dict:
    """The state saved by :func:`save_checkpoint` (never unpickles).

    When a run was killed while its checkpoint was being replaced, ``folder`` may be missing or
    incomplete while the hidden ``.NAME.partial`` (newer) or ``.NAME.old`` copy is complete: the newest
    complete copy is moved back under ``folder``'s name and used, and a sentence saying so is appended
    to ``notes``. InputError if there is no complete copy.
    """
    folder = Path(os.path.abspath(folder))  # '.' has no name to derive the hidden copies' names from
    problems: list[str] = []
    state = _read(folder, problems)
    if state is not None:
        return state
    copies = [(c, _read(c)) for c in (atomic.staging_path(folder), _old_path(folder))]
    copies = [(c, s) for c, s in copies if s is not None]
    if not copies and problems:
        raise InputError(f"is a damaged training checkpoint: {problems[0]}; it cannot be resumed: restore it "
                         "from a backup or start the run again with `emdenoise train`", folder)
    if not copies and not folder.exists():  # it said "is not a training checkpoint" (training audit)
        raise InputError("not found: give the .checkpoint folder a training run left (`emdenoise zoo list` shows "
                         "paused runs of your zoo)", folder)
    if not copies:
        raise InputError(f"is not a training checkpoint (needs {STATE_JSON} and {STATE_TENSORS})", folder)
    source, state = max(copies, key=lambda cs: int(cs[1].get("step", 0)))
    broken = folder.with_name(f".{folder.name}.broken")
    if folder.exists():
        shutil.rmtree(broken, ignore_errors=True)
        os.replace(folder, broken)
    os.replace(source, folder)
    shutil.rmtree(broken, ignore_errors=True)
    for other, _ in copies:
        if other != source:
            shutil.rmtree(other, ignore_errors=True)
    if notes is not None:
        notes.append(f"the run stopped while its checkpoint was being saved; going on from the complete copy "
                     f"of step {state.get('step', 0)}")
    return state
