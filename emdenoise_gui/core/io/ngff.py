"""What an OME-Zarr image's NGFF multiscales metadata says of its pixels: which axes hold the plane and the
slices (channels refused, planes stored x before y read as y, x), level 0's scale, the voxel size in nm and
the first voxel's position. The store itself is read and written by :mod:`.omezarr`.

Axes are named as NGFF 0.3 and later name them; NGFF 0.1 and 0.2 name none, and their images are always
(t, c, z, y, x). Malformed metadata raises TypeError, KeyError and the like: the caller turns them into one
InputError.
"""

from __future__ import annotations

import math
from pathlib import Path

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.io.units import TIME_POINTS, Z_UNKNOWN, unit_to_nm

#: The space axes of an image EMDenoise writes, in NGFF's order.
SPACE_AXES = ("z", "y", "x")


def first_multiscales(group, path: Path) -> tuple[dict, str]:
    """(the first multiscales entry, NGFF version) of an opened group, or InputError."""
    attrs = dict(group.attrs)
    if "ome" in attrs:
        ome = attrs["ome"]
        entries, version = ome.get("multiscales"), str(ome.get("version", "0.5"))
    else:
        entries = attrs.get("multiscales")
        version = str(entries[0].get("version", "0.4")) if entries else ""
    if not entries and "bioformats2raw.layout" in attrs:  # its images in numbered groups (metadata audit)
        images = sorted((name for name in group.group_keys() if name.isdigit()), key=int) \
            if hasattr(group, "group_keys") else ["0"]
        more = f" (the first of its {len(images)} images)" if len(images) > 1 else ""
        raise InputError(f"is a bioformats2raw store, which keeps each image in a numbered folder inside it: "
                         f"open {Path(path) / (images[0] if images else '0')}{more}", path)
    if not entries:
        raise InputError("is a zarr store without OME-Zarr (NGFF) image metadata; EMDenoise opens OME-Zarr "
                         "images (e.g. written by EMDenoise, ome-zarr-py, bioformats2raw or napari)", path)
    return entries[0], version


def _axis_names(entry: dict) -> list[str]:
    """The axes' names of a multiscales entry (NGFF 0.4+ gives dicts, older ones plain names)."""
    return [a["name"] if isinstance(a, dict) else a for a in entry.get("axes", [])]


#: The axes of NGFF 0.1 and 0.2 images, which name none: always five, in this order.
IMPLICIT_AXES = ("t", "c", "z", "y", "x")
#: Names of a channel axis (in lower case) where its type is not given (NGFF makes "type" optional).
CHANNEL_NAMES = frozenset({"c", "ch", "channel", "channels"})


def axis_names(entry: dict, ndim: int) -> list[str]:
    """The axes' names of an image of ``ndim`` axes; without (usable) axes metadata a 5-D image's are NGFF
    0.1/0.2's t, c, z, y, x (read as z slices, its channels were averaged by the filters), other images' last
    ones are taken as z, y, x and any before them as unnamed ("?")."""
    names = _axis_names(entry)
    if len(names) == ndim:
        return names
    if not names and ndim == len(IMPLICIT_AXES):
        return list(IMPLICIT_AXES)
    space = list(SPACE_AXES[-min(ndim, 3):])
    return ["?"] * (ndim - len(space)) + space


def _is_channel(entry: dict, names: list[str], index: int) -> bool:
    """Whether axis ``index`` holds channels (of NGFF type "channel", or named so: :data:`CHANNEL_NAMES`)."""
    axes = entry.get("axes") or []
    axis = axes[index] if len(axes) == len(names) else None
    return str(names[index]).lower() in CHANNEL_NAMES or (isinstance(axis, dict) and axis.get("type") == "channel")


def transposed(names: list[str], path: Path) -> bool:
    """Whether the planes are stored x before y (NGFF only asks that space axes be z, y, x); InputError when
    z is one of the two last axes, the plane the app reads (its planes would be cuts through the volume)."""
    if names[-2:] == ["x", "y"]:
        return True
    if "z" in names[-2:]:
        raise InputError(f"stores z as one of its two last axes ({', '.join(map(str, names))}); EMDenoise reads "
                         "images as planes of y and x: save it with its axes in the order z, y, x", path)
    return False


def slice_axis(entry: dict, names: list[str], shape: tuple[int, ...], path: Path) -> int | None:
    """The array axis that holds the slices: z, else the one other axis longer than 1 (time points of repeat
    scans, as a TIFF's T axis is read); None for one plane. InputError for channels or two such axes."""
    many = [i for i, n in enumerate(shape[:-2]) if n > 1 and names[i] != "z"]
    for i in many:
        if _is_channel(entry, names, i):
            raise InputError(f"has {shape[i]} channels (axes {', '.join(names)}); EMDenoise needs one greyscale "
                             "channel: export one channel first", path)
        if names[i] == "?":  # slices, channels or time points: read as slices, channels were blended
            raise InputError(f"has an axis of {shape[i]} its metadata does not name (shape {shape}), which may hold "
                             "channels: save it with named axes (NGFF 0.4 or later) or as TIFF", path)
    if "z" in names and shape[names.index("z")] > 1:
        many.append(names.index("z"))
    if len(many) > 1:
        extra = ", ".join(f"{names[i]}={shape[i]}" for i in sorted(many))
        raise InputError(f"holds more than one volume ({extra}); EMDenoise works on one (Z, Y, X) volume: export "
                         "one channel / time point first", path)
    if many:
        return many[0]
    return names.index("z") if "z" in names[:-2] else (len(shape) - 3 if len(shape) > 2 else None)


def _scale(entry: dict, ndim: int) -> list[float] | None:
    """Level 0's scale per axis: its dataset's scale times the multiscale's own (NGFF lets both be given)."""
    scale, found = [1.0] * ndim, False
    for transforms in (entry["datasets"][0].get("coordinateTransformations"), entry.get("coordinateTransformations")):
        for transform in transforms or []:
            values = transform.get("scale") if transform.get("type") == "scale" else None
            if values and len(values) == ndim:
                try:
                    scale, found = [a * float(b) for a, b in zip(scale, values)], True
                except (TypeError, ValueError):  # not numbers: the voxel size is unknown, the image still opens
                    return None
    return scale if found else None


def translated(entry: dict) -> bool:
    """Whether level 0 (or the multiscale) has a translation other than zero: a position in space, which the
    app does not carry to its outputs (they say so)."""
    for transforms in (entry["datasets"][0].get("coordinateTransformations"), entry.get("coordinateTransformations")):
        for transform in transforms or []:
            values = transform.get("translation") if isinstance(transform, dict) else None
            if transform.get("type") == "translation" and isinstance(values, list) and any(values):
                return True
    return False


def translation_nm(entry: dict, names: list[str]) -> tuple[float, float, float] | None:
    """The first voxel's (z, y, x) position in nm: the multiscale's scale times its dataset's translation, plus
    the multiscale's own translation (NGFF applies the dataset's transforms first); None when it is zero, or
    unknown (an axis without a length unit, values that are not numbers)."""
    axes = entry.get("axes", [])
    if len(axes) != len(names) or not all(n in names for n in SPACE_AXES):
        return None
    position, scale = [0.0] * len(names), [1.0] * len(names)
    try:
        for level in (entry["datasets"][0].get("coordinateTransformations"), entry.get("coordinateTransformations")):
            level_scale = [1.0] * len(names)
            for transform in level or []:
                kind, values = transform.get("type"), transform.get(transform.get("type"))
                if kind in ("scale", "translation") and not (isinstance(values, list) and len(values) == len(names)):
                    return None
                if kind == "scale":
                    level_scale = [float(v) for v in values]
                    position = [p * v for p, v in zip(position, level_scale)]
                elif kind == "translation":
                    position = [p + float(v) for p, v in zip(position, values)]
            scale = [a * b for a, b in zip(scale, level_scale)]
    except (TypeError, ValueError, AttributeError):
        return None
    result = []
    for name in SPACE_AXES:
        axis = axes[names.index(name)]
        factor = unit_to_nm(axis.get("unit")) if isinstance(axis, dict) else None
        value = position[names.index(name)] * factor if factor else None
        if value is None or not math.isfinite(value):
            return None
        result.append(value)
    return tuple(result) if any(result) else None


def voxel_size(entry: dict, names: list[str], slices: str = "z") -> tuple[tuple[float, float, float] | None, str]:
    """((z, y, x) in nm of level 0 from the axes' units and scale transforms, or None; a note for the user).

    ``slices``: the name of the axis read as slices. Slices that are not z (time points) or an image without
    a z axis take the x pixel size as their spacing, and the note says so (shown when there are slices)."""
    axes, scale = entry.get("axes", []), _scale(entry, len(names))
    if scale is None or len(axes) != len(names):
        return None, ""

    def size(name: str) -> float | None:
        """nm per px along ``name``; None when the unit is unknown or the scale not a positive number."""
        axis = axes[names.index(name)]
        factor = unit_to_nm(axis.get("unit")) if isinstance(axis, dict) else None
        value = scale[names.index(name)] * factor if factor else None
        return value if value is not None and math.isfinite(value) and value > 0 else None

    if "x" not in names or "y" not in names:
        return None, ""
    x, y = size("x"), size("y")
    if x is None or y is None:
        return None, ""
    if "z" in names and slices == "z":
        z = size("z")
        return ((z, y, x), "") if z is not None else ((x, y, x), Z_UNKNOWN)
    return (x, y, x), TIME_POINTS
