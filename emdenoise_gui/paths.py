"""Where EMDenoise keeps things: the user's folders and the files it ships. Paths are computed here only.

User folders: ``$EMDENOISE_HOME`` when that variable is set (tests, portable installs), else the
platform's folders (platformdirs): ``user_config_dir`` for settings and the recent-projects list,
``user_data_dir`` for the user's model packages.

Shipped files (the model zoo's read-only packages in ``models/``, the demo in ``demo/``, the icon in ``icons/``) are package
data in ``emdenoise_gui/resources/``: found beside this module in a source checkout, an editable install
and an installed wheel, and in ``emdenoise_gui/resources/`` under the bundle's folder (``sys._MEIPASS``)
when frozen by PyInstaller (which puts package data there, e.g. ``--collect-data emdenoise_gui``).
"""

from __future__ import annotations

import os
import re
import sys
import unicodedata
from pathlib import Path

APP_NAME = "EMDenoise"
HOME_VARIABLE = "EMDENOISE_HOME"


def _home() -> Path | None:
    home = os.environ.get(HOME_VARIABLE)
    return Path(home).expanduser() if home else None


def _user_dir(kind: str) -> Path:
    """``$EMDENOISE_HOME``, else platformdirs' ``user_<kind>_dir`` for EMDenoise (not created here)."""
    home = _home()
    if home is not None:
        return home
    import platformdirs

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    """Settings and the recent-projects list (not created here)."""
    return _user_dir("config")


def user_data_dir() -> Path:
    """The user's data, e.g. their model packages under ``models/`` (not created here)."""
    return _user_dir("data")


def user_models_dir() -> Path:
    """The folder holding the user's model packages (not created here)."""
    return user_data_dir() / "models"


def is_installed_program() -> bool:
    """Whether this is the installed program (frozen by PyInstaller), which has no Python environment a
    ``pip install`` could add to (Dask, bm3d): messages say so instead of advising pip."""
    return bool(getattr(sys, "frozen", False))


def shipped_root() -> Path:
    """The folder that holds ``models/`` and ``demo/``: ``emdenoise_gui/resources`` in the package, or in
    the bundle's folder (``sys._MEIPASS``) when frozen by PyInstaller."""
    frozen = getattr(sys, "_MEIPASS", None)
    package = Path(frozen, "emdenoise_gui") if frozen else Path(__file__).resolve().parent
    return package / "resources"


def shipped_models_dir() -> Path:
    """The shipped (read-only) model packages, one folder each: ``emdenoise_gui/resources/models``."""
    return shipped_root() / "models"


def icon_file(size: int = 256) -> Path:
    """The app icon as a ``size`` x ``size`` PNG (48, 128, 256 or 512 px): ``resources/icons``."""
    return shipped_root() / "icons" / f"emdenoise_{size}.png"


def demo_dir() -> Path:
    """The bundled FlyEM FIB-SEM demo (CC BY 3.0, see its ATTRIBUTION.md): ``emdenoise_gui/resources/demo``."""
    return shipped_root() / "demo"


def file_name_part(text: str, replacement: str) -> str:
    """``text`` as part of a file or model name: letters, digits and their marks in any script (in Unicode's
    composed form: an accent typed apart stays on its letter; Devanagari vowel signs stay on theirs), ``.``,
    ``_`` and ``-`` kept; each run of anything else (spaces, slashes, the characters Windows refuses, emoji)
    becomes ``replacement``."""
    kept = "".join(c if c.isalnum() or c in "._-" or unicodedata.category(c)[0] == "M" else "\0"
                   for c in unicodedata.normalize("NFC", text))
    return re.sub("\0+", replacement, kept)
