"""Persisted app settings and window layout (an INI file in the user config folder).

The file is ``<user config dir>/EMDenoise/settings.ini``, or ``$EMDENOISE_HOME/settings.ini``
when that variable is set (tests, portable installs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from PySide6 import QtCore

from emdenoise_gui import paths
from emdenoise_gui.jobs.stack import OUTPUT_DTYPES, QUALITIES, quality_stride

DEVICES = ("auto", "cpu", "cuda", "mps")
OUTPUT_FORMATS = (".tif", ".mrc")


def settings_path() -> Path:
    return paths.user_config_dir() / "settings.ini"


def qsettings() -> QtCore.QSettings:
    path = settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return QtCore.QSettings(str(path), QtCore.QSettings.Format.IniFormat)


@dataclass
class AppSettings:
    """What the Settings dialog edits.

    tile: 0 means automatic (512 px; the model engine halves the batch on GPU memory errors).
    threads: CPU threads for torch and the filters; 0 means all cores.
    """

    device: str = "auto"
    tile: int = 0
    quality: str = "fast"
    output_format: str = ".tif"
    output_dtype: str = "float32"
    threads: int = 0

    @property
    def tile_px(self) -> int:
        return self.tile or 512

    @property
    def stride_px(self) -> int | None:
        """None: band blending from the network's receptive field ("fast"); half a tile for "paper"."""
        return quality_stride(self.quality, self.tile_px)

    @classmethod
    def load(cls) -> "AppSettings":
        store, out = qsettings(), cls()
        for f in fields(cls):
            raw = store.value(f"app/{f.name}")
            if raw is None:
                continue
            try:
                setattr(out, f.name, type(getattr(out, f.name))(raw))
            except (TypeError, ValueError):
                pass  # a hand-edited bad value falls back to the default
        return out.checked()

    def checked(self) -> "AppSettings":
        if self.device not in DEVICES:
            self.device = "auto"
        if self.output_format not in OUTPUT_FORMATS:
            self.output_format = ".tif"
        if self.output_dtype not in OUTPUT_DTYPES:
            self.output_dtype = "float32"
        if self.tile and (self.tile < 64 or self.tile % 16):
            self.tile = 0
        self.threads = max(0, min(int(self.threads), os.cpu_count() or 1))
        if self.quality not in QUALITIES:
            self.quality = "fast"
        return self

    def save(self) -> None:
        store = qsettings()
        for f in fields(self):
            store.setValue(f"app/{f.name}", getattr(self, f.name))
        store.sync()

    def apply_threads(self) -> None:
        """Set torch's CPU thread count (imported lazily: the GUI starts without torch)."""
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)
