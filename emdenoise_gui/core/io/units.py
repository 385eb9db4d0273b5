"""Lengths as files spell them: nanometres per unit, for every format's pixel sizes.

One table for TIFF (ImageJ, OME-XML, Zeiss SEM) and OME-Zarr: NGFF names the units in words
("micrometer"), but stores written by other tools say "nm", "µm" or "micron", as ImageJ does; a store
whose axes said "nm" was read with its voxel size unknown (I/O audit of 2026-12-07).
"""

from __future__ import annotations

#: nm per unit, by the unit's name in lower case.
UNIT_NM = {
    "nm": 1.0, "nanometer": 1.0, "nanometre": 1.0, "nanometers": 1.0, "nanometres": 1.0,
    "um": 1e3, "µm": 1e3, "\u03bcm": 1e3, "micron": 1e3, "microns": 1e3, "\\u00b5m": 1e3,
    "micrometer": 1e3, "micrometre": 1e3, "micrometers": 1e3, "micrometres": 1e3,
    "mm": 1e6, "millimeter": 1e6, "millimetre": 1e6, "cm": 1e7, "centimeter": 1e7, "centimetre": 1e7,
    "m": 1e9, "meter": 1e9, "metre": 1e9,
    "a": 0.1, "å": 0.1, "\u212b": 0.1, "\\u00c5": 0.1, "\\u212b": 0.1,  # ImageJ's escapes
    "angstrom": 0.1, "angstroms": 0.1, "ångström": 0.1,
    "pm": 1e-3, "picometer": 1e-3, "picometre": 1e-3, "fm": 1e-6, "femtometer": 1e-6, "femtometre": 1e-6,
}


#: The notes on a stack whose file leaves a length out: the z step (taken as the pixel size), the y pixel size
#: (taken as x), and slices along time, not z (their spacing taken as the pixel size).
Z_UNKNOWN = "the z spacing is unknown (the file gives only the pixel size); taken as the pixel size"
Y_UNKNOWN = "the y pixel size is unknown (the file gives only x); taken as the x pixel size"
TIME_POINTS = "the slices are not z planes (time points): their spacing is taken as the pixel size"


def unit_to_nm(unit: str | None) -> float | None:
    """Nanometres per ``unit`` (``'micron'`` -> 1000.0), or ``None`` when it is missing or not a length
    known here (ImageJ's text metadata can make a number of it); TypeError for a list or a mapping (damaged
    metadata, refused by the reader)."""
    if unit is None or unit == "":
        return None
    if not isinstance(unit, (str, int, float)):
        raise TypeError(f"a unit must be a name, not {unit!r}")
    return UNIT_NM.get(str(unit).strip().lower())
