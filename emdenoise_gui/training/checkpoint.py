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

STATE_JSON, STATE_TENSORS = "state.json", "state.safetensors"


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


def save_checkpoint(folder: Path, state: dict) -> Path:
    """Write ``state`` to ``folder`` (state.json + state.safetensors), replacing it atomically."""
    from safetensors.torch import save_file

    folder = Path(folder)
    tensors: dict = {}
    skeleton = pack(state, tensors)
    staging = atomic.staging_path(folder)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    save_file(tensors, str(staging / STATE_TENSORS))
    (staging / STATE_JSON).write_text(json.dumps(skeleton))
    old = folder.with_name(f".{folder.name}.old")
    if folder.exists():
        shutil.rmtree(old, ignore_errors=True)
        os.replace(folder, old)
    os.replace(staging, folder)
    shutil.rmtree(old, ignore_errors=True)
    return folder


def load_checkpoint(folder: Path) -> dict:
    """The state saved by :func:`save_checkpoint` (never unpickles)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    if not (folder / STATE_JSON).is_file() or not (folder / STATE_TENSORS).is_file():
        from emdenoise_gui.core.errors import InputError

        raise InputError(f"is not a training checkpoint (needs {STATE_JSON} and {STATE_TENSORS})", folder)
    return unpack(json.loads((folder / STATE_JSON).read_text()), load_file(str(folder / STATE_TENSORS)))
