"""TIFF: reading plain, BigTIFF, ImageJ hyperstacks, OME-TIFF and Zeiss SEM files; creating outputs.

Voxel sizes are looked up in this order: OME-XML, ImageJ metadata, the Zeiss
SEM tag, the TIFF resolution tags when their unit is centimetres.

Output is an ImageJ hyperstack (Fiji reads the calibration) for uint8, uint16
and float32 below 4 GiB; int8/int16 or larger stacks are written as OME-TIFF
(BigTIFF when needed), which Fiji opens through Bio-Formats.
"""

from __future__ import annotations

import logging
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import tifffile

from emdenoise_gui import __version__
from emdenoise_gui.core.atomic import written_name
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io.stack import (
    RawSliceReader,
    StackMeta,
    check_data_size,
    check_dtype,
    check_shape,
    stored_dtype_extra,
)
from emdenoise_gui.core.io.units import TIME_POINTS, Y_UNKNOWN, Z_UNKNOWN, unit_to_nm

_SPATIAL = set("YX")
#: What of an input ``create`` keeps (``writer.StackWriter``'s ``kept``): a MINISWHITE input's tag.
KEEPS = frozenset({"white_is_zero", "imagej_info", "description"})
SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".tf2")
MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
IMAGEJ_DTYPES = (np.uint8, np.uint16, np.float32)
IMAGEJ_MAX_BYTES = 2**32 - 2**25  # leave room for the header and IFDs of a classic TIFF


class PageReader:
    """Reads slice z as page z of a TIFF series (compressed or scattered data)."""

    def __init__(self, tif: tifffile.TiffFile, series: tifffile.TiffPageSeries):
        self.tif, self.series = tif, series

    def read(self, z: int) -> np.ndarray:
        return self.series.asarray(key=z)

    def close(self) -> None:
        self.tif.close()


class WholeReader:
    """Fallback for layouts that do not map a page to a slice: reads the series once."""

    def __init__(self, tif: tifffile.TiffFile, series: tifffile.TiffPageSeries, shape):
        self.tif, self.series, self.shape, self._data = tif, series, shape, None

    def read(self, z: int) -> np.ndarray:
        if self._data is None:
            self._data = self.series.asarray().reshape(self.shape)
        return self._data[z]

    def close(self) -> None:
        self._data = None
        self.tif.close()


def _squeeze_axes(series: tifffile.TiffPageSeries, path: Path) -> tuple[int, ...]:
    """The series shape without singleton axes; InputError for colour or multichannel data."""
    axes, shape = series.axes, series.shape
    kept = [(a, n) for a, n in zip(axes, shape) if n > 1 or a in _SPATIAL]
    for index, (axis, n) in enumerate(kept):
        if axis == "S" and n in (3, 4):
            planar = index == 0  # colour planes stored one after another, like slices
            hint = ("; if these planes are really slices of a stack, re-save them as separate pages"
                    if planar else "")
            raise InputError(
                f"is an RGB colour image (shape {tuple(shape)}); EMDenoise needs greyscale: convert "
                f"it first (Fiji: Image > Type > 8-bit){hint}",
                path,
            )
    extra = [(a, n) for a, n in kept if a not in _SPATIAL]
    if len(extra) == 1 and extra[0][0] in "CS":
        raise InputError(
            f"has {extra[0][1]} channels (axes {axes}); EMDenoise needs one greyscale channel: "
            "split the channels first (Fiji: Image > Color > Split Channels)",
            path,
        )
    return tuple(n for _, n in kept)


def _series_pixels(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries):
    """The OME ``Pixels`` element that describes ``series`` (the one read), or None: the image of
    the series' index when its width and height match, else the first image of that width and
    height (a file of several images once gave a thumbnail's 5 um pixels to the 10 nm stack)."""
    root = ET.fromstring(tif.ome_metadata)
    every = [el for el in root.iter() if el.tag.endswith("Pixels")]
    height, width = series.shape[series.axes.index("Y")], series.shape[series.axes.index("X")]

    def fits(el) -> bool:
        return el.get("SizeX") == str(width) and el.get("SizeY") == str(height)

    index = next((i for i, one in enumerate(tif.series) if one is series), None)
    if index is not None and index < len(every) and fits(every[index]):
        return every[index]
    return next((el for el in every if fits(el)), None)


def _ome_voxel(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> tuple[float | None, float, float] | None:
    pixels = _series_pixels(tif, series)
    if pixels is None:
        return None
    sizes = []
    for axis in "ZYX":
        value = pixels.get(f"PhysicalSize{axis}")
        scale = unit_to_nm(pixels.get(f"PhysicalSize{axis}Unit", "µm"))
        sizes.append(float(value) * scale if value and scale else None)
    if sizes[2] is None:
        return None
    return (sizes[0], sizes[1], sizes[2])  # y None: not given (taken as x, and said, by tiff_voxel_size)


def _resolution_px_size(page: tifffile.TiffPage) -> tuple[float, float] | None:
    """(y, x) pixel size in the resolution tags' own unit, or None."""
    tags = page.tags
    if "XResolution" not in tags:
        return None
    xnum, xden = tags["XResolution"].value
    ynum, yden = tags["YResolution"].value if "YResolution" in tags else (xnum, xden)
    if not (xnum and ynum):
        return None
    return (yden / ynum, xden / xnum)


def _imagej_voxel(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> tuple[float | None, float, float] | None:
    """ImageJ's calibration: x in ``unit``; y and z in ``yunit`` and ``zunit`` where given (a z step of 0.05
    with ``zunit`` micron is 50 nm, not 0.05), else in ``unit``. A y or z in a unit not known is not given."""
    meta = tif.imagej_metadata or {}
    scale = unit_to_nm(meta.get("unit"))
    px = _resolution_px_size(series.keyframe)
    if scale is None or px is None:
        return None
    y_scale, z_scale = (unit_to_nm(meta[key]) if meta.get(key) else scale for key in ("yunit", "zunit"))
    y = px[0] * y_scale if y_scale else None
    z = float(meta["spacing"]) * z_scale if meta.get("spacing") and z_scale else None
    return (z, y, px[1] * scale)


def _zeiss_voxel(tif: tifffile.TiffFile, _series=None) -> tuple[float | None, float, float] | None:
    meta = tif.sem_metadata or {}
    for key in ("ap_image_pixel_size", "ap_pixel_size"):
        entry = meta.get(key)
        if isinstance(entry, tuple) and len(entry) == 3:
            scale = unit_to_nm(entry[2])
            if scale and entry[1]:
                size = float(entry[1]) * scale
                return (None, size, size)
    return None


def _fei_voxel(tif: tifffile.TiffFile, _series=None) -> tuple[float | None, float, float] | None:
    """The pixel size a Thermo Fisher / FEI microscope (Helios, Scios, Quanta...) writes in its own tag
    (34680/34682: ``[Scan]`` or ``[EScan]`` ``PixelWidth`` and ``PixelHeight``, in metres), in nm."""
    meta = tif.fei_metadata or {}
    for section in ("Scan", "EScan"):
        entry = meta.get(section) or {}
        width = float(entry.get("PixelWidth") or 0)
        if width > 0:
            height = float(entry.get("PixelHeight") or 0)
            return (None, height * 1e9 if height > 0 else None, width * 1e9)
    return None


def _tag_voxel(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries) -> tuple[float | None, float, float] | None:
    page = series.keyframe  # the series read, not the file's first page (a thumbnail's, in a file of several)
    px = _resolution_px_size(page)
    unit = page.tags.get("ResolutionUnit")
    if px is None or unit is None or int(unit.value) != 3:  # only centimetres carry a real size
        return None
    y, x = px[0] * 1e7, px[1] * 1e7
    return (None, y, x)


def tiff_voxel_size(tif: tifffile.TiffFile, series: tifffile.TiffPageSeries
                    ) -> tuple[tuple[float, float, float] | None, str, bool, bool]:
    """((z, y, x) in nm or None, where it came from, whether z was given, whether y was given) of ``series``
    (the one read): a z step or y size the file does not give (each finder returns None for it) is taken as
    the x pixel size."""
    finders = [
        (tif.is_ome, _ome_voxel, "OME metadata"),
        (tif.is_imagej, _imagej_voxel, "ImageJ metadata"),
        (tif.is_sem, _zeiss_voxel, "Zeiss SEM metadata"),
        (tif.is_fei, _fei_voxel, "Thermo Fisher (FEI) metadata"),
        (True, _tag_voxel, "TIFF resolution tags"),
    ]
    for applies, finder, source in finders:
        if not applies:
            continue
        try:
            voxel = finder(tif, series)
        except (KeyError, ValueError, TypeError, ZeroDivisionError, AttributeError, ET.ParseError):
            voxel = None
        if voxel is not None and all(v is None or math.isfinite(v) for v in voxel) and voxel[2] > 0 \
                and (voxel[1] is None or voxel[1] > 0):  # an infinite size was written out as Infinity
            z_given, y_given = voxel[0] is not None and voxel[0] > 0, voxel[1] is not None
            return ((float(voxel[0] if z_given else voxel[2]), float(voxel[1] if y_given else voxel[2]),
                     float(voxel[2])), source, z_given, y_given)
    return None, "", False, True


def _format_name(tif: tifffile.TiffFile) -> str:
    kind = "OME-TIFF" if tif.is_ome else "ImageJ TIFF" if tif.is_imagej else (
        "Zeiss SEM TIFF" if tif.is_sem else "Thermo Fisher (FEI) TIFF" if tif.is_fei else "TIFF"
    )
    return f"{kind} (BigTIFF)" if tif.is_bigtiff else kind


def _check_codec(path: Path, series: tifffile.TiffPageSeries) -> None:
    """InputError if the pixels are compressed in a way this installation cannot decode (said at once,
    not as damage when the first slice is read)."""
    page = series.keyframe
    compression = page.compression
    if compression == tifffile.COMPRESSION.NONE:
        return
    if compression in tifffile.TIFF.DECOMPRESSORS:  # a codec tifffile knows and imagecodecs has installed ...
        try:  # ... or lends a stand-in that raises on use (the installed app's left-out codecs): decode the
            next(iter(page.segments(maxworkers=1)), None)  # first strip or tile only
            return
        except ImportError:
            pass
        except Exception:  # damage: said when a slice is read
            return
    name = getattr(compression, "name", f"code {int(compression)}")
    raise InputError(f"is compressed with {name}, which EMDenoise cannot decode; save it uncompressed "
                     "(Fiji: File > Save As > Tiff...) or with LZW or ZIP compression", path)


def _check_pages(path: Path, series: tifffile.TiffPageSeries) -> None:
    """InputError if any page's strips or tiles point past the end of the file."""
    size = path.stat().st_size
    for index, page in enumerate(series.pages):
        if page is None:
            raise InputError(f"page {index} is missing: the file is truncated (copy it again)", path)
        offsets = getattr(page, "dataoffsets", ()) or ()
        counts = getattr(page, "databytecounts", ()) or ()
        ends = [o + c for o, c in zip(offsets, counts)]
        if ends and max(ends) > size:
            raise InputError(
                f"page {index} points to pixel data beyond the end of the file "
                f"({max(ends):,} > {size:,} bytes): it is truncated (copy it again)",
                path,
            )


class _Complaints(logging.Handler):
    """Collects what tifffile logs while it parses a file: it logs, not raises, on broken IFD chains."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().split("> ", 1)[-1])


def _open_checked(path: Path, **options) -> tifffile.TiffFile:
    """TiffFile (``options`` as tifffile takes them) with its page chain and series parsed; InputError if
    tifffile found damage."""
    logger, complaints = logging.getLogger("tifffile"), _Complaints()
    logger.addHandler(complaints)
    tif = None
    try:
        tif = tifffile.TiffFile(path, **options)
        len(tif.pages)  # walks the whole IFD chain now, so a cut-off file shows at once
        _ = tif.series
    except Exception as exc:
        if tif is not None:
            tif.close()
        raise InputError(f"cannot be read as TIFF ({exc}); it is damaged or truncated", path) from exc
    finally:
        logger.removeHandler(complaints)
    if complaints.messages:
        tif.close()
        raise InputError(
            f"is damaged or truncated (TIFF reader: {complaints.messages[0]}); copy it again", path
        )
    return tif


def _pages_of_one_stack(tif: tifffile.TiffFile) -> bool:
    """Whether ``tif`` holds tifffile's own series of one 2-D image each, all of one size and type: a stack
    written a page at a time (``TiffWriter.write`` per slice), which Fiji opens as one stack; read as its
    first image alone it gave a one-slice result with exit 0 (I/O audit)."""
    all_series = tif.series
    if not tif.is_shaped or len(all_series) < 2:
        return False
    first = all_series[0]
    return all(len(s.pages) == 1 and [n for n in s.shape if n > 1] == [n for n in first.shape if n > 1]
               and s.dtype == first.dtype and len([n for n in s.shape if n > 1]) == 2 for s in all_series)


def _largest_series(all_series) -> tuple[tifffile.TiffPageSeries, str]:
    """The image series holding the most pixels (the stack, not a thumbnail or a preview), and a sentence
    naming it when the file holds several ("" otherwise): no data is dropped without a word."""
    sizes = [int(np.prod(s.shape)) for s in all_series]
    index = max(range(len(sizes)), key=lambda i: (sizes[i], -i))
    if len(all_series) == 1:
        return all_series[0], ""
    others = ", ".join("x".join(map(str, s.shape)) for i, s in enumerate(all_series) if i != index)
    return all_series[index], (f"read image series {index + 1} of {len(all_series)} (the largest); the file also "
                               f"holds {others}")


def open_file(path: Path):
    """(StackMeta, reader) for a TIFF file; InputError for anything unreadable."""
    tif = _open_checked(path)
    paged = ""
    if _pages_of_one_stack(tif):
        count = len(tif.series)
        generic = _open_checked(path, is_shaped=False)  # tifffile's generic series: consecutive pages alike
        if len(generic.series) == 1 and len(generic.series[0].pages) == count:  # every page, in one series
            tif.close()
            tif, paged = generic, f"its {count} images of one size (saved one at a time) are read as the slices " \
                                  "of one stack"
        else:  # pages told apart by more than their size (one compressed otherwise): not merged, a slice dropped
            generic.close()
    try:
        if not tif.series:
            raise InputError("contains no image (its image directory is empty or damaged): copy it again, or "
                             "re-save it from the program that made it", path)
        series, note = _largest_series(tif.series)
        dtype = check_dtype(series.dtype, path)
        shape = check_shape(_squeeze_axes(series, path), path)
        voxel, source, z_given, y_given = tiff_voxel_size(tif, series)
        offset = series.dataoffset
        if offset is not None and dtype == series.dtype:
            check_data_size(path, offset, int(np.prod(shape)) * series.dtype.itemsize)
            raw_dtype = series.dtype.newbyteorder(tif.byteorder)
            reader = RawSliceReader(path, offset, shape, raw_dtype)
            tif.close()
        else:
            _check_codec(path, series)
            _check_pages(path, series)
            one_page_per_slice = len(series.pages) == shape[0] and all(
                int(np.prod(p.shape)) == shape[1] * shape[2] for p in series.pages[:1]
            )
            reader = PageReader(tif, series) if one_page_per_slice else WholeReader(tif, series, shape)
        extra = {"axes": series.axes}
        white = series.keyframe.photometric == tifffile.PHOTOMETRIC.MINISWHITE  # dropped without a word (I/O audit)
        notes = [text for text in (paged, note) if text]
        if white:
            notes.append("stored white-is-zero (MINISWHITE): 0 shows white")
        over_time = [a for a, n in zip(series.axes, series.shape) if n > 1 and a not in _SPATIAL] == ["T"]
        if voxel and over_time and shape[0] > 1:  # a z step of a one-plane Z axis is not the frames' spacing
            if z_given and voxel[0] != voxel[2]:  # named, not dropped unsaid (metadata audit)
                notes.append(f"{TIME_POINTS}, not the file's z step of {voxel[0]:.4g} nm (set the slices as z "
                             "planes, e.g. Fiji: Image > Hyperstacks > Re-order Hyperstack, if they are)")
                extra["z_step_not_taken"] = float(voxel[0])
            else:
                notes.append(TIME_POINTS)
            voxel = (voxel[2], voxel[1], voxel[2])
        elif voxel and not z_given and shape[0] > 1:
            notes.append(Z_UNKNOWN)
        if voxel and not y_given:
            notes.append(Y_UNKNOWN)
        if notes:
            extra["note"] = "; ".join(notes)
        if note:
            extra["unread"] = note  # said again by every command that writes from this file
        if white:
            extra["white_is_zero"] = True  # kept by a TIFF result, said by an MRC or OME-Zarr one
        extra.update(stored_dtype_extra(series.dtype, dtype))
        imagej = (tif.imagej_metadata or {}) if tif.is_imagej else {}
        if imagej.get("Info"):  # acquisition notes: kept by a TIFF output, said dropped by the others
            extra["imagej_info"] = str(imagej["Info"])[:IMAGEJ_INFO_CHARS]
        origin = any(_number(imagej.get(f"{axis}origin")) for axis in "xyz")
        dropped = [words for present, words in ((imagej.get("Labels"), "its slice labels (ImageJ)"),
                                                (origin, "its origin (ImageJ xorigin, yorigin, zorigin)"),
                                                (tif.is_sem, "its Zeiss SEM acquisition settings (the CZ_SEM tag)"),
                                                (tif.is_fei, "its Thermo Fisher (FEI) acquisition settings"))
                   if present]
        if dropped:  # said by every command that writes from it (metadata audit)
            extra["not_kept"] = "; ".join(dropped) + ": not written to outputs"
        meta = StackMeta(
            path=path, format=_format_name(tif), shape=shape, dtype=dtype, voxel_size_nm=voxel,
            source=source, raw_slices=isinstance(reader, RawSliceReader), extra=extra,
        )
        return meta, reader
    except InputError:
        tif.close()
        raise
    except Exception as exc:
        tif.close()
        raise InputError(f"cannot be read as TIFF ({exc}); it is damaged or truncated", path) from exc


def _number(value) -> float:
    """An ImageJ metadata value as a number (0.0 when absent or not a number)."""
    try:
        return float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0


#: The most of an ImageJ Info text (acquisition notes) read and written back into a TIFF output, in characters.
IMAGEJ_INFO_CHARS = 60_000


def create(path: Path, shape: tuple[int, int, int], dtype: np.dtype,
           voxel_size_nm: tuple[float, float, float] | None, white_is_zero: bool = False,
           imagej_info: str | None = None, description: str | None = None) -> tuple[int, np.dtype]:
    """Create an all-zero (Z, Y, X) TIFF of ``dtype`` at ``path`` whose pixels lie contiguously; tagged
    white-is-zero (MINISWHITE, as its input was) when ``white_is_zero``, else black-is-zero. ``imagej_info``
    (the input's ImageJ Info text) and ``description`` (how it was made) go into an ImageJ TIFF's Info, one
    after the other (Fiji: Image > Show Info), or an OME-TIFF image's Description.

    An ImageJ TIFF where ImageJ can hold it, else OME-TIFF (BigTIFF over 4 GiB); always OME-TIFF when the name
    ends in .ome.tif or .ome.tiff (the staging name ``.NAME.<pid>@<host>-<hex>.partial`` keeps it), which readers such
    as Bio-Formats take as a promise of OME-XML. Returns (byte offset of the pixel data, dtype stored on disk,
    little-endian).
    """
    nbytes = int(np.prod(shape)) * dtype.itemsize
    ome_name = re.search(r"\.ome\.tiff?$", written_name(path), re.IGNORECASE) is not None
    imagej = dtype in [np.dtype(t) for t in IMAGEJ_DTYPES] and nbytes < IMAGEJ_MAX_BYTES and not ome_name
    kwargs: dict = {"shape": shape, "dtype": dtype, "byteorder": "<", "software": f"EMDenoise {__version__}",
                    "photometric": "miniswhite" if white_is_zero else "minisblack"}
    z, y, x = voxel_size_nm if voxel_size_nm else (None, None, None)
    info = "\n\n".join(text for text in (imagej_info, description) if text)
    if imagej:
        kwargs["imagej"] = True
        kwargs["metadata"] = {"axes": "ZYX"}
        if voxel_size_nm:
            kwargs["resolution"] = (1.0 / x, 1.0 / y)
            kwargs["metadata"].update(spacing=z, unit="nm")
        if info:
            kwargs["metadata"]["Info"] = info
    else:
        kwargs.update(ome=True, bigtiff=nbytes >= IMAGEJ_MAX_BYTES)
        kwargs["metadata"] = {"axes": "ZYX"}
        if voxel_size_nm:
            for axis, size in zip("ZYX", (z, y, x)):
                kwargs["metadata"][f"PhysicalSize{axis}"] = size
                kwargs["metadata"][f"PhysicalSize{axis}Unit"] = "nm"
        if info:  # an int16, 4 GiB+ or .ome.tif output: no ImageJ Info, the image's Description instead
            kwargs["metadata"]["Description"] = info
    tifffile.imwrite(path, **kwargs)
    with tifffile.TiffFile(path) as tif:
        offset = tif.series[0].dataoffset
    if offset is None:  # tifffile always writes empty data contiguously; guard anyway
        raise OSError("the TIFF writer did not lay out contiguous data")
    return int(offset), dtype


def finish(path: Path, stats: tuple[float, float, float, float], count: int) -> None:
    """Nothing to update in a TIFF once its pixels are written."""
