"""``emdenoise info``: what a file holds (format, shape, type, voxel size, position, what EMDenoise notes of it,
intensity statistics), and the note on an OME-Zarr store's chunks not stored that other commands print too."""

from __future__ import annotations

import sys
from pathlib import Path

from emdenoise_gui.cli.exits import EXIT_INPUT, EXIT_OK, one_line
from emdenoise_gui.cli.progress import run_with_bar
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io import omezarr, open_stack
from emdenoise_gui.core.io.stack import float32_loss
from emdenoise_gui.jobs.stack import stack_stats


def _fmt_voxel(meta) -> str:
    if meta.voxel_size_nm is None:
        return "unknown (the file does not say)"
    z, y, x = meta.voxel_size_nm
    text = f"{x:.4g} x {y:.4g} nm (x, y), {z:.4g} nm (z)"
    if meta.format.startswith("MRC"):
        text += f"  [{x * 10:.4g} x {y * 10:.4g}, {z * 10:.4g} Å]"
    return f"{text}, from {meta.source}"


def _fmt_position(meta) -> str:
    """Where the image sits in space, as its file says (an MRC origin and start indices, an OME-Zarr
    translation), or "" when it says nothing (all zero)."""
    placement = meta.extra.get("placement")
    if placement is None:
        return "given by a transformation EMDenoise does not read" if meta.extra.get("translated") else ""
    ox, oy, oz = placement.origin
    sx, sy, sz = placement.start
    parts = []
    if any(placement.origin):
        parts.append(f"origin {ox / 10:.6g}, {oy / 10:.6g}, {oz / 10:.6g} nm (x, y, z)  "
                     f"[{ox:.6g}, {oy:.6g}, {oz:.6g} Å]")
    if any(placement.start):
        parts.append(f"starts at voxel {sx}, {sy}, {sz} (x, y, z)")
    return "; ".join(parts)


def cmd_info(args) -> int:
    """Describe each file; one that cannot be read is named on stderr and the others still described
    (exit 2 if any failed)."""
    status = EXIT_OK
    for name in args.files:
        try:
            status = max(status, _info(name))
        except InputError as exc:
            if len(args.files) == 1:
                raise
            print(f"emdenoise: error: {one_line(str(exc))}", file=sys.stderr)
            status = EXIT_INPUT
    return status


def _info(name) -> int:
    """Print one file's description; EXIT_INPUT when it holds NaN or infinite pixels."""
    status = EXIT_OK
    with open_stack(name) as stack:
        meta = stack.meta
        z, y, x = meta.shape
        print(f"{meta.path}")
        print(f"  format      {meta.format}{' (raw slices)' if meta.raw_slices else ''}")
        print(f"  shape       {z} x {y} x {x} (Z, Y, X)  {meta.nbytes / 2**20:.1f} MiB")
        stored = meta.extra.get("stored_dtype")
        print(f"  dtype       {meta.dtype}" + (f" (stored as {stored}, read as {meta.dtype}: {float32_loss(stored)})"
                                                if stored else ""))
        print(f"  voxel size  {_fmt_voxel(meta)}")
        position = _fmt_position(meta)
        if position:
            print(f"  position    {position}")
        for key in ("note", "unread", "not_kept"):
            if meta.extra.get(key) and not (key == "unread" and meta.extra[key] in meta.extra.get("note", "")):
                print(f"  note        {meta.extra[key]}")
        note = missing_chunks_note(meta.path)
        if note:
            print(f"  note        {note}")
        stats = run_with_bar(stack_stats(stack))
        print(f"  min/max     {stats.minimum:.6g} / {stats.maximum:.6g}")
        print(f"  mean        {stats.mean:.6g}")
        if stats.nonfinite:
            print(
                f"emdenoise: error: {meta.path}: {stats.nonfinite:,} pixels are NaN or infinite; "
                "replace them before denoising (Fiji: Process > Math > Remove NaNs)",
                file=sys.stderr,
            )
            status = EXIT_INPUT
    return status


def missing_chunks_note(path) -> str:
    """For an OME-Zarr store some of whose chunks are not stored, what that means; "" otherwise (and for
    other formats). Writers may leave out chunks of the fill value on purpose, so it is a note, not an error."""
    path = Path(path)
    if not omezarr.is_store(path):
        return ""
    try:
        missing, total, unit = omezarr.missing_chunks(path)
    except InputError:
        return ""  # said by the open that follows
    return omezarr.missing_words(missing, total, unit)


def note_missing_chunks(path) -> None:
    note = missing_chunks_note(path)
    if note:
        print(f"emdenoise: note: {path}: {note}", file=sys.stderr)
