"""What the controller knows of a project stack's file without keeping it open: its signature (size and time)
and, read on a worker thread for a batch, its header and sampled bytes (:func:`read_state`).

A stack is checked before every denoise (``Controller.unchanged_stack``): still the shape and type it was
added with, and, once its file changed, still the same bytes where ``project.records.sampled_digest`` looks.
For one stack the window's open reader answers at once; a batch of hundreds read every header and 256 KiB of
each file on the window's thread (400 small TIFFs: 1.5 s frozen on a local disk, far more on a network drive),
so a batch reads them here, on a thread, while the window keeps drawing.
"""

from __future__ import annotations

from pathlib import Path

from emdenoise_gui.core.io import open_stack
from emdenoise_gui.gui.drops import STORE_FILES
from emdenoise_gui.project.records import file_size, sampled_digest


def file_signature(path: str | Path) -> tuple:
    """(size, modification time in ns) of a file, or of an OME-Zarr folder's metadata file; () when
    there is none (the reader then says what is wrong)."""
    path = Path(path)
    for candidate in ([path / name for name in STORE_FILES] if path.is_dir() else [path]):
        try:
            info = candidate.stat()
        except OSError:
            continue
        return info.st_size, info.st_mtime_ns
    return ()


def read_bytes_state(path: str | Path) -> tuple[int | None, str | None]:
    """(size in bytes, ``sampled_digest``) of the file at ``path``, None for what cannot be read."""
    size = file_size(path)
    return size, sampled_digest(path, size)


def read_state(path: str | Path, checked: tuple | None) -> tuple:
    """(its ``StackMeta``, :func:`file_signature`, :func:`read_bytes_state` or None when the signature is
    ``checked``, the one its bytes were last compared at) of the stack at ``path``; any thread. InputError when
    it cannot be opened. The header only is read (and closed again): the pixels stay where they are."""
    signature = file_signature(path)
    with open_stack(path) as stack:
        meta = stack.meta
    return meta, signature, None if signature == checked else read_bytes_state(path)
