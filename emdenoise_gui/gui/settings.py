"""Persisted app settings and window layout (an INI file in the user config folder).

The file is ``<user config dir>/EMDenoise/settings.ini``, or ``$EMDENOISE_HOME/settings.ini``
when that variable is set (tests, portable installs).

This module is imported before the main window is shown, so it stays light: the job
vocabulary (``OUTPUT_DTYPES``, ``QUALITIES``; ``jobs.stack``, which loads the classical
filters) is imported on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from PySide6 import QtCore

from emdenoise_gui import paths

DEVICES = ("auto", "cpu", "cuda", "mps")
#: "same": the input's own format (an MRC stays MRC, a TIFF stays TIFF); or always TIFF / MRC.
OUTPUT_FORMATS = ("same", ".tif", ".mrc", ".zarr")
#: Light or dark windows, or whatever the desktop uses (``gui.theme``).
APPEARANCES = ("system", "light", "dark")
#: The largest tile the Settings take (px); 0 is automatic.
MAX_TILE_PX = 4096
_JOB_NAMES = ("OUTPUT_DTYPES", "QUALITIES")


def __getattr__(name: str):
    """``OUTPUT_DTYPES`` and ``QUALITIES`` from ``jobs.stack``, imported when first asked for."""
    if name in _JOB_NAMES:
        from emdenoise_gui.jobs import stack

        return getattr(stack, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def settings_path() -> Path:
    return paths.user_config_dir() / "settings.ini"


def settings_problem() -> str:
    """Why the settings file's folder cannot be used ("" when it can): it is a file, or cannot be
    created (a missing drive, no permission). The app then runs on defaults and says so once."""
    folder = settings_path().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return (f"The settings folder {folder} cannot be used ({exc.strerror or exc}): the app runs with default "
                "settings and cannot save changes to them")
    return ""


def qsettings() -> QtCore.QSettings:
    """The settings file (read as empty, and not written, when its folder cannot be used:
    :func:`settings_problem`; the app started with a traceback there)."""
    settings_problem()
    return QtCore.QSettings(str(settings_path()), QtCore.QSettings.Format.IniFormat)


def stored_layout(key: str) -> QtCore.QByteArray | None:
    """The window geometry or dock layout stored under ``key``, or None where it is missing or not the
    bytes Qt saved (a hand-edited or damaged settings file: ``geometry=garbage`` stopped start-up)."""
    value = qsettings().value(key)
    if isinstance(value, (bytes, bytearray)):
        return QtCore.QByteArray(bytes(value))
    return value if isinstance(value, QtCore.QByteArray) else None


def stored_appearance() -> str:
    """The stored appearance (one of :data:`APPEARANCES`) without loading anything else."""
    value = qsettings().value("app/appearance")
    return value if value in APPEARANCES else "system"


@dataclass
class AppSettings:
    """What the Settings dialog edits.

    tile: 0 means automatic (512 px; the model engine halves the batch on GPU memory errors).
    threads: CPU threads for torch and the filters; 0 means all cores.
    output_format: "same" (the input's format and extension), ".tif", ".mrc" or ".zarr" (OME-Zarr 0.5).
    output_dtype: "input" (the input's pixel type: same file size, values rounded and clipped),
        "float32" (the computed values, 2x a 16-bit file) or a type name.
    output_folder: where results are written; "" means the project's ``results/`` folder.
    name_pattern: result file names (``project.naming``: {stem}, {method}, {date}).
    appearance: "system", "light" or "dark" (``gui.theme``).
    """

    device: str = "auto"
    tile: int = 0
    quality: str = "fast"
    output_format: str = "same"
    output_dtype: str = "input"
    threads: int = 0
    output_folder: str = ""
    name_pattern: str = "{stem}_{method}"
    appearance: str = "system"

    @property
    def tile_px(self) -> int:
        return self.tile or 512

    @property
    def stride_px(self) -> int | None:
        """None: band blending from the network's receptive field ("fast"); half a tile for "paper"."""
        from emdenoise_gui.jobs.stack import quality_stride

        return quality_stride(self.quality, self.tile_px)

    def output_suffix(self, input_path: str | Path) -> str:
        """The extension of a result of ``input_path``: the input's own for "same", else the chosen one."""
        if self.output_format != "same":
            return self.output_format
        from emdenoise_gui.core.io import result_suffix

        return result_suffix(input_path)

    @classmethod
    def load(cls, reset: list[str] | None = None) -> AppSettings:
        """The stored settings; ``reset`` gets the names of those stored with a value the app cannot use
        (hand-edited, another version's), which run on their defaults (the threads a computer with more cores
        stored are this one's cores, not said)."""
        store, out = qsettings(), cls()
        stored = {}
        for f in fields(cls):
            raw = store.value(f"app/{f.name}")
            if raw is None:
                continue
            stored[f.name] = raw
            try:
                setattr(out, f.name, type(getattr(out, f.name))(raw))
            except (TypeError, ValueError):
                pass  # a hand-edited bad value falls back to the default
        out.checked()
        if reset is not None:
            reset.extend(name for name, raw in stored.items()
                         if name != "threads" and str(getattr(out, name)) != str(raw))
        return out

    def checked(self) -> AppSettings:
        """Every field valid: a bad value (hand-edited file, older version) becomes its default."""
        from emdenoise_gui.core.errors import InputError
        from emdenoise_gui.jobs.stack import OUTPUT_DTYPES, QUALITIES
        from emdenoise_gui.project.naming import check_pattern

        defaults = AppSettings()
        if self.device not in DEVICES:
            self.device = defaults.device
        if self.output_format not in OUTPUT_FORMATS:
            self.output_format = defaults.output_format
        if self.output_dtype not in OUTPUT_DTYPES:
            self.output_dtype = defaults.output_dtype
        if self.tile and (self.tile < 64 or self.tile > MAX_TILE_PX or self.tile % 16):
            self.tile = 0  # the Settings box's range: 100000 hand-edited ran, then became 4096 at the next OK
        self.threads = max(0, min(int(self.threads), os.cpu_count() or 1))
        if self.quality not in QUALITIES:
            self.quality = defaults.quality
        if self.appearance not in APPEARANCES:
            self.appearance = defaults.appearance
        try:
            check_pattern(self.name_pattern)
        except InputError:
            self.name_pattern = defaults.name_pattern
        return self

    def save(self) -> str:
        """Write to the settings file; "" when done, else why not in one line (the values stay in use for this
        session: a read-only file lost them without a word)."""
        problem = settings_problem()
        if problem:
            return problem
        store = qsettings()
        for f in fields(self):
            store.setValue(f"app/{f.name}", getattr(self, f.name))
        store.sync()
        if store.status() != QtCore.QSettings.Status.NoError:
            return (f"The settings could not be saved to {settings_path()} (it is read-only or the disk is full): "
                    "they apply until the app is closed")
        return ""

    def apply_threads(self) -> None:
        """Set torch's CPU thread count and the jobs' cap to ``threads`` (0: ``workers.thread_limit``, one per core
        unless OMP_NUM_THREADS sets fewer); imports torch (call
        it off the window's thread). A change after the first job was not taken: the jobs' cap stayed at the
        count the first one found, and 0 ("all") never gave the cores back (help audit)."""
        import torch

        from emdenoise_gui.gui.workers import set_thread_cap, thread_limit

        count = self.threads or thread_limit()
        torch.set_num_threads(count)
        set_thread_cap(count)
