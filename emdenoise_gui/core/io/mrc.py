"""MRC / MRCS / MAP: reading, tolerant of old-style (pre-2014) headers; creating outputs.

The header is checked by our own code first (dimensions, mode, declared data
size against the file size), so a corrupt or truncated file gets a precise
message; pixels are then read by slice-sized memory maps. Voxel sizes in MRC
headers are in Angstrom; they are carried in nm. Output keeps the voxel size in
Angstrom, and where the map sits (:class:`Placement`: its origin and start indices,
moved for a cropped output as ChimeraX and EMAN read them); uint8 is stored as mode 6 (uint16).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import mrcfile
import numpy as np

from emdenoise_gui.core.atomic import written_name
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io.stack import (
    Placement,
    RawSliceReader,
    StackMeta,
    check_data_size,
    check_dtype,
    check_shape,
    stored_dtype_extra,
)

SUFFIXES = (".mrc", ".mrcs", ".map", ".rec", ".st", ".ali", ".ccp4", ".preali")
HEADER_BYTES = 1024
#: Output dtype -> MRC mode written (uint8 is stored widened to mode 6).
WRITE_MODES = {np.dtype(np.int8): 0, np.dtype(np.int16): 1, np.dtype(np.float32): 2,
               np.dtype(np.uint16): 6, np.dtype(np.uint8): 6}
IMOD_STAMP = 1146047817  # 'IMOD' at header word 38
#: The header label EMDenoise writes beside 8-bit data stored widened to mode 6 (MRC's own 8-bit mode 0 is
#: signed to most readers), so that it reads the file back as 8-bit: read as 16-bit, the data was scaled by
#: its own minimum and maximum, not 0-255 (an 8-bit reference saved as .mrc scored 3.7 dB lower in compare).
WIDENED_LABEL = b"EMDenoise: 8-bit data (0-255) stored as mode 6"
#: MRC mode -> pixel dtype (little-endian form). 3 and 4 are complex, refused by check_dtype.
MODE_DTYPES = {
    0: np.int8, 1: np.int16, 2: np.float32, 3: np.complex64, 4: np.complex64,
    6: np.uint16, 12: np.float16,
}


#: Output formats whose ``create`` takes a ``placement`` (``writer.RawFileSink``).
KEEPS_PLACEMENT = True
#: What else of an input ``create`` keeps (``writer.StackWriter``'s ``kept``): a volume stack's volume depth.
KEEPS = frozenset({"volume_depth", "description"})


def _byte_orders(raw: bytes) -> str:
    """The byte orders to try, the machine stamp's first (0x11 0x11: big-endian); a file without a stamp
    (old CCP4) is told by which order gives sensible dimensions."""
    return "><" if raw[212:214] == b"\x11\x11" else "<>"


def _check_axis_order(ints: np.ndarray, path: Path) -> None:
    """InputError unless the columns, rows and sections are X, Y and Z (mapc, mapr, maps = 1, 2, 3; 0, 0, 0
    in headers that leave them unset): another order would be read transposed, its voxel sizes on the
    wrong axes."""
    order = tuple(int(v) for v in ints[16:19])
    if order in ((1, 2, 3), (0, 0, 0)):
        return
    names = dict(zip((1, 2, 3), "XYZ"))
    stored = ", ".join(names.get(v, "?") for v in order)
    raise InputError(f"stores its axes in the order {stored} (mapc, mapr, maps = {order[0]}, {order[1]}, "
                     f"{order[2]}), not X, Y, Z; EMDenoise reads X, Y, Z only: resave it in that order "
                     "(e.g. open and save it in ChimeraX, or IMOD's newstack)", path)


def _parse_header(raw: bytes, path: Path) -> dict:
    """Dimensions, mode, extended-header size and byte order from the first 1024 bytes."""
    for order in _byte_orders(raw):
        ints = np.frombuffer(raw[:96], dtype=f"{order}i4")
        nx, ny, nz, mode = (int(v) for v in ints[:4])
        nsymbt = int(ints[23])
        if 0 < nx < 2**24 and 0 < ny < 2**24 and 0 < nz < 2**31 and 0 <= mode < 2**16:
            _check_axis_order(ints, path)
            if mode == 101:
                raise InputError("uses 4-bit packed pixels (mode 101), which EMDenoise cannot read", path)
            if mode not in MODE_DTYPES:
                raise InputError(
                    f"has an unknown MRC data mode {mode} in its header; the header is corrupt "
                    "or the file is not an MRC file",
                    path,
                )
            if nsymbt < 0:
                raise InputError("the header declares a negative extended-header size: it is corrupt", path)
            imod_stamp, imod_flags = (int(v) for v in np.frombuffer(raw[152:160], dtype=f"{order}i4"))
            # IMOD (.st, .ali, .rec) stores mode 0 as UNSIGNED bytes unless bit 0 of imodFlags says signed
            unsigned_bytes = mode == 0 and imod_stamp == IMOD_STAMP and not imod_flags & 1
            origin = np.frombuffer(raw[196:208], dtype=f"{order}f4")
            placement = Placement(tuple(int(v) for v in ints[4:7]),
                                  tuple(float(v) if np.isfinite(v) else 0.0 for v in origin))
            kind = raw[104:108].decode("ascii", "replace").strip("\x00 ")
            nlabl = int(np.frombuffer(raw[220:224], dtype=f"{order}i4")[0])
            dmax = float(np.frombuffer(raw[80:84], dtype=f"{order}f4")[0])
            # 8-bit data EMDenoise stored widened (its label, and values that still fit): read back as 8-bit
            widened = mode == 6 and 0 <= dmax <= 255 and any(
                raw[224 + 80 * i:304 + 80 * i].startswith(WIDENED_LABEL) for i in range(min(max(nlabl, 0), 10)))
            cell = tuple(float(v) for v in np.frombuffer(raw[40:52], dtype=f"{order}f4"))  # x, y, z lengths (Å)
            return {"nx": nx, "ny": ny, "nz": nz, "mode": mode, "nsymbt": nsymbt, "order": order,
                    "unsigned_bytes": unsigned_bytes, "widened": widened, "placement": placement, "exttyp": kind,
                    "cell": cell, "sampling": tuple(int(v) for v in ints[7:10]), "ispg": int(ints[22])}
    raise InputError(
        "has a corrupt MRC header (its image dimensions are not positive numbers); the file is "
        "damaged or not an MRC file",
        path,
    )


def _voxel_size(header: dict) -> tuple[tuple[float, float, float] | None, list[str]]:
    """((z, y, x) in nm from the ``header``'s cell and sampling (:func:`_parse_header`), or None when unset;
    notes for the user). Read from the 1024 bytes already read: mrcfile's header reader also read the whole
    extended header (800 MB of one froze the window for 3 s).

    A missing z sampling (mz = 0) or y cell is taken as the x pixel size, and a note says so; a
    volume stack (space group 401) is read as its volumes' slices one after another, and a note says so
    (:func:`volume_depth`).
    """
    notes = []
    # in float32 as the header stores them (and mrcfile divides): one size per axis where the cell says so
    x, y, z = (float(np.float32(length) / np.float32(m)) if m else 0.0
               for length, m in zip(header["cell"], header["sampling"]))
    mz = header["sampling"][2]
    if header["ispg"] == 401:
        if volume_depth(header):
            notes.append(f"a volume stack (space group 401) of {header['nz'] // mz} volumes of {mz} slices: read "
                         "one after another as slices; filters and models that use the slices beside each one stay "
                         "inside its volume")
        elif mz == header["nz"]:
            notes.append("a volume stack (space group 401) of one volume")
        else:
            notes.append(f"a volume stack (space group 401) whose mz ({mz}) does not divide its {header['nz']} "
                         "slices: read as one volume (the slices beside each one may come from the next volume)")
    if not (x > 0 and np.isfinite(x)):
        return None, notes
    if not (y > 0 and np.isfinite(y)):
        notes.append("the y pixel size is unknown (the header's y cell is not a positive number); taken as the x "
                     "pixel size")
        y = x
    if not (z > 0 and np.isfinite(z)) or mz == 0:
        why = "the header's mz is 0" if mz == 0 else f"the header's z cell over mz = {mz} is {z:g} Å"
        notes.append(f"the z spacing is unknown ({why}); taken as the pixel size")
        z = x
    return (z / 10.0, y / 10.0, x / 10.0), notes


def volume_depth(header: dict) -> int | None:
    """Slices per volume of a volume stack (space group 401 whose mz divides nz into two or more volumes),
    else None. ``header`` as :func:`_parse_header` returns it."""
    nz, mz = header["nz"], header["sampling"][2]
    return mz if header["ispg"] == 401 and 0 < mz < nz and nz % mz == 0 else None


def _trailing_data(extra: int, slice_bytes: int, nz: int) -> list[str]:
    """A note when the file holds ``extra`` > 0 bytes beyond the ``nz`` slices its header declares (of
    ``slice_bytes`` each): they are not read, and the user is told, with how many slices they would make."""
    if extra <= 0:
        return []
    whole = extra // slice_bytes
    more = f" (as many as {whole:,} more slices)" if whole else ""
    return [f"the file holds {extra:,} bytes beyond the {nz:,} slices its header declares{more}; they are not "
            "read: if the header's nz is wrong, correct it (IMOD: alterheader)"]


def is_mrc_header(head: bytes) -> bool:
    """Whether the first 1024 bytes of a file carry the MRC2014 'MAP ' stamp."""
    return head[208:212] == b"MAP "


def open_file(path: Path):
    """(StackMeta, reader) for an MRC-family file; InputError for anything unreadable."""
    size = path.stat().st_size
    if size < HEADER_BYTES:
        raise InputError(
            f"is too small to be an MRC file ({size:,} bytes; the header alone has {HEADER_BYTES:,})",
            path,
        )
    with open(path, "rb") as fh:
        header = _parse_header(fh.read(HEADER_BYTES), path)
    pixel_type = np.uint8 if header["unsigned_bytes"] else MODE_DTYPES[header["mode"]]
    raw_dtype = np.dtype(pixel_type).newbyteorder(header["order"])
    dtype = np.dtype(np.uint8) if header["widened"] else check_dtype(raw_dtype, path)
    nz, ny, nx = header["nz"], header["ny"], header["nx"]
    shape = check_shape((ny, nx) if nz == 1 else (nz, ny, nx), path)
    offset = HEADER_BYTES + header["nsymbt"]
    check_data_size(path, offset, nz * ny * nx * raw_dtype.itemsize)
    voxel, notes = _voxel_size(header)
    if shape[0] == 1 and notes:  # a single image has no z spacing to speak of
        notes = [n for n in notes if "z spacing" not in n]
    unread = _trailing_data(size - offset - nz * ny * nx * raw_dtype.itemsize, ny * nx * raw_dtype.itemsize, nz)
    notes += unread
    volumes = volume_depth(header)
    meta = StackMeta(
        path=path, format=f"MRC (mode {header['mode']}{' of 8-bit data' if header['widened'] else ''})", shape=shape,
        dtype=dtype,
        voxel_size_nm=voxel, source="MRC header" if voxel else "", raw_slices=True,
        extra={"mode": header["mode"], **({"note": "; ".join(notes)} if notes else {}),
               **({"unread": unread[0]} if unread else {}),
               **({"not_kept": f"its {header['nsymbt']:,}-byte extended header"
                   + (f" ({header['exttyp']})" if header["exttyp"] else "")
                   + " (per-section data such as tilt angles) is not written to outputs"}
                  if header["nsymbt"] else {}),
               **({} if header["widened"] else stored_dtype_extra(raw_dtype, dtype)),
               **({"placement": header["placement"]} if header["placement"] != Placement() else {}),
               **({"volume_depth": volumes} if volumes else {})},
    )
    reader = (WidenedSliceReader if header["widened"] else RawSliceReader)(path, offset, shape, raw_dtype)
    return meta, reader


class WidenedSliceReader(RawSliceReader):
    """Slices of 8-bit data stored widened to 16 bits (:data:`WIDENED_LABEL`), as uint8; InputError for a
    slice holding a value above 255: another program changed the data without updating the header's dmax,
    and a cast would wrap it (868 read as 100)."""

    def read(self, z: int) -> np.ndarray:
        data = super().read(z)
        if data.size and int(data.max()) > 255:
            raise InputError(f"slice {z} holds values up to {int(data.max())}, though its header labels it 8-bit "
                             "data (written by EMDenoise, changed since by another program?): remove the label "
                             f"'{WIDENED_LABEL.decode()}' (IMOD: alterheader), or save it again", self.path)
        return data.astype(np.uint8)


def image_stack_name(path: Path) -> bool:
    """Whether ``path`` (or the name its staging name is written for) ends in ``.mrcs``, the MRC2014 name of a
    stack of images, which :func:`create` writes as images (space group 0), never as volumes."""
    return written_name(path).lower().endswith(".mrcs")


def _add_labels(header, text: str) -> None:
    """Write ``text`` as ASCII (other characters as "?") into the header's free 80-character labels, cut at
    the last free one."""
    data = text.encode("ascii", "replace")
    used = min(int(header.nlabl), 10)
    pieces = [data[i:i + 80] for i in range(0, len(data), 80)][:10 - used]
    for k, piece in enumerate(pieces):
        header.label[used + k] = piece
    header.nlabl = used + len(pieces)


def stored_type(dtype: np.dtype) -> np.dtype:
    """The type :func:`create` stores pixels of ``dtype`` as: uint8 widened to uint16 (see :data:`WIDENED_LABEL`)."""
    return np.dtype(np.uint16) if np.dtype(dtype) == np.uint8 else np.dtype(dtype)


def create(path: Path, shape: tuple[int, int, int], dtype: np.dtype,
           voxel_size_nm: tuple[float, float, float] | None,
           placement: Placement | None = None, volume_depth: int | None = None,
           description: str | None = None) -> tuple[int, np.dtype]:
    """Create an all-zero (Z, Y, X) MRC file at ``path``; voxel size written in Angstrom, and the
    ``placement`` (from an MRC input) when given; a volume stack (space group 401) of volumes of
    ``volume_depth`` slices when that divides Z into two or more. A ``.mrcs`` name (the MRC2014 name of an image stack, e.g.
    particles; its staging name keeps it) or a single image is written as images (space group 0), a volume
    otherwise (every result was a volume: mrcfile's is_image_stack() turned False on denoised particles; I/O
    audit). ``description`` (how it was made) fills the header's free 80-character text labels (ASCII).

    Returns (byte offset of the pixel data, dtype stored on disk: uint8 is widened to uint16, with a header
    label (:data:`WIDENED_LABEL`) by which it is read back as uint8).
    """
    store = stored_type(dtype)
    images = shape[0] == 1 or image_stack_name(path)
    with mrcfile.new_mmap(path, shape=shape, mrc_mode=WRITE_MODES[dtype], overwrite=True) as mrc:
        if images:
            mrc.set_image_stack()
        elif volume_depth and 0 < volume_depth < shape[0] and shape[0] % volume_depth == 0:
            mrc.header.ispg, mrc.header.mz = 401, volume_depth  # mz before the voxel size, which scales the cell
        if dtype == np.uint8:  # read back as 8-bit (WIDENED_LABEL), where the data still fits
            header = mrc.header
            header.label[min(int(header.nlabl), 9)] = WIDENED_LABEL
            header.nlabl = min(int(header.nlabl) + 1, 10)
        if description:
            _add_labels(mrc.header, description)
        if voxel_size_nm:
            z, y, x = voxel_size_nm
            mrc.voxel_size = (x * 10.0, y * 10.0, z * 10.0)
        if placement is not None:
            header = mrc.header
            header.nxstart, header.nystart, header.nzstart = placement.start
            header.origin.x, header.origin.y, header.origin.z = placement.origin
        offset = mrc.header.nbytes + mrc.extended_header.nbytes
    return int(offset), store


def finish(path: Path, stats: tuple[float, float, float, float], count: int) -> None:
    """Write min, max, mean and rms into the header; ``stats`` = (min, max, sum, sum of squares)
    of the ``count`` stored values."""
    lo, hi, total, squares = stats
    mean = total / count
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with mrcfile.mmap(path, mode="r+", permissive=True) as mrc:
            mrc.header.dmin, mrc.header.dmax, mrc.header.dmean = lo, hi, mean
            mrc.header.rms = float(np.sqrt(max(squares / count - mean * mean, 0.0)))
