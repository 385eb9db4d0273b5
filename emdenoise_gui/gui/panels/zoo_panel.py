"""The model zoo panel: shipped and user models with their cards, and the classical filters.

Picking an entry makes it the denoiser for Preview / Denoise. Import and export
use the zoo's verified package functions; deleting a user model asks first.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from emdenoise_gui.core import baselines
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.jobs.denoise import Denoiser
from emdenoise_gui.models.registry import by_preference

ROLE = QtCore.Qt.ItemDataRole.UserRole


def card_html(card, shipped: bool) -> str:
    """A readable summary of a model card."""
    metrics = ", ".join(f"{k} {v:.4g}" for k, v in card.metrics.items()) or "none recorded"
    pixel = (f"{card.pixel_size_nm[0]:.4g}–{card.pixel_size_nm[1]:.4g} nm" if card.pixel_size_nm else "unknown")
    rows = [
        ("Family", f"{card.family} ({card.config})"), ("Suits", card.description),
        ("Trained on", card.training_data or "not recorded"), ("Noise", card.noise_condition or "not recorded"),
        ("Dose range", f"{card.dose_range[0]:g}–{card.dose_range[1]:g} counts per pixel" if card.dose_range
         else "learned from real noisy data"),
        ("How", card.training.get("recipe", "not recorded")),
        ("Validated on", card.training.get("validation", "not recorded")),
        ("Pixel size", pixel), ("Parameters", f"{card.parameters / 1e6:.3f} M"), ("Steps", f"{card.steps:,}"),
        ("Metrics", metrics), ("Created", f"{card.created} (EMDenoise {card.app_version})"),
        ("Weights", f"sha256 {card.weights_sha256[:16]}…"), ("Source", "ships with EMDenoise" if shipped else "your model"),
    ]
    rows += [(label, card.training[key]) for key, label in (("init_from", "Fine-tuned from"),
                                                            ("adapted_to", "Self-trained on")) if key in card.training]
    body = "".join(f"<tr><td><b>{k}</b></td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<h3>{html.escape(card.name)}</h3><table cellspacing=4>{body}</table>"


class ZooPanel(QtWidgets.QWidget):
    """Lists models (shipped, user) and filters. Signal ``chosen(object)`` carries a :class:`Denoiser`.

    ``message(str, str)`` (title, text) asks the window to show a warning.
    """

    chosen = QtCore.Signal(object)
    message = QtCore.Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.list = QtWidgets.QTreeWidget()
        self.list.setHeaderLabels(["Denoiser", "Kind"])
        self.list.setRootIsDecorated(True)
        self.list.currentItemChanged.connect(self._changed)
        self.details = QtWidgets.QTextBrowser()
        self.details.setOpenExternalLinks(False)
        self.import_button = QtWidgets.QPushButton("Import…")
        self.export_button = QtWidgets.QPushButton("Export…")
        self.delete_button = QtWidgets.QPushButton("Delete")
        self.import_button.clicked.connect(self.import_dialog)
        self.export_button.clicked.connect(self.export_dialog)
        self.delete_button.clicked.connect(self.delete_current)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.import_button, self.export_button, self.delete_button):
            buttons.addWidget(b)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(self.list)
        splitter.addWidget(self.details)
        splitter.setSizes([260, 240])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        self.entries: dict[str, object] = {}
        self.refresh()

    # -- listing -------------------------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        from emdenoise_gui.zoo import registry

        keep = select or self.current_key()
        self.list.blockSignals(True)
        self.list.clear()
        self.entries = {}
        groups = {}
        for title in ("Shipped models", "Your models", "Classical filters"):
            group = QtWidgets.QTreeWidgetItem([title, ""])
            group.setFlags(QtCore.Qt.ItemFlag.ItemIsEnabled)
            self.list.addTopLevelItem(group)
            groups[title] = group
        for entry in registry.list_entries():
            group = groups["Shipped models" if entry.shipped else "Your models"]
            key = f"model:{entry.path}"
            kind = entry.package.card.family if entry.package else "unusable"
            item = QtWidgets.QTreeWidgetItem([entry.name, kind])
            item.setData(0, ROLE, key)
            if entry.package is None:
                item.setToolTip(0, entry.problem)
                item.setDisabled(True)
            group.addChild(item)
            self.entries[key] = entry
        for f in baselines.FILTERS.values():
            key = f"filter:{f.name}"
            item = QtWidgets.QTreeWidgetItem([f.label, "filter"])
            item.setData(0, ROLE, key)
            item.setToolTip(0, f.description)
            groups["Classical filters"].addChild(item)
            self.entries[key] = f
        for group in groups.values():
            group.setExpanded(True)
        self.list.resizeColumnToContents(0)
        self.list.blockSignals(False)
        self.select(keep or self.default_key())

    def default_key(self) -> str | None:
        """A usable shipped model (NRRN first: it suits FIB-SEM stacks; of a family the smallest, which is
        the fastest on a CPU), else the median filter."""
        shipped = sorted((entry.package.card.parameters, key, entry.package.card.family)
                         for key, entry in self.entries.items()
                         if key.startswith("model:") and getattr(entry, "shipped", False) and entry.package)
        for family in by_preference():
            for _, key, fam in shipped:
                if fam == family:
                    return key
        return "filter:median"

    def current_key(self) -> str | None:
        item = self.list.currentItem()
        return item.data(0, ROLE) if item else None

    def select(self, key: str | None) -> None:
        for i in range(self.list.topLevelItemCount()):
            group = self.list.topLevelItem(i)
            for j in range(group.childCount()):
                if group.child(j).data(0, ROLE) == key:
                    self.list.setCurrentItem(group.child(j))
                    return

    def current(self) -> Denoiser | None:
        key = self.current_key()
        return self._denoiser(key) if key else None

    def _denoiser(self, key: str) -> Denoiser | None:
        entry = self.entries.get(key)
        if key.startswith("filter:"):
            return Denoiser("filter", entry.name)
        if entry is None or entry.package is None:
            return None
        card = entry.package.card
        return Denoiser("model", card.name, str(entry.package.path), card.weights_sha256)

    def _changed(self, item, _previous) -> None:
        key = item.data(0, ROLE) if item else None
        entry = self.entries.get(key) if key else None
        if entry is None:
            self.details.clear()
            self.delete_button.setEnabled(False)
            self.export_button.setEnabled(False)
            return
        if key.startswith("filter:"):
            self.details.setHtml(f"<h3>{html.escape(entry.label)}</h3><p>{html.escape(entry.description)}</p>"
                                 f"<p>Uses {entry.slices} slice(s) per output slice.</p>")
        elif entry.package is None:
            self.details.setHtml(f"<h3>{html.escape(entry.name)}</h3><p>Cannot be used: {html.escape(entry.problem)}</p>")
        else:
            self.details.setHtml(card_html(entry.package.card, entry.shipped))
        is_user_model = key.startswith("model:") and not entry.shipped
        self.delete_button.setEnabled(bool(is_user_model))
        self.export_button.setEnabled(key.startswith("model:") and getattr(entry, "package", None) is not None)
        denoiser = self._denoiser(key)
        if denoiser is not None:
            self.chosen.emit(denoiser)

    # -- import / export / delete ----------------------------------------------------------------------
    def import_path(self, path: str | Path) -> bool:
        from emdenoise_gui.zoo import registry

        try:
            package = registry.import_package(path)
        except InputError as exc:
            self.message.emit("Cannot import model", str(exc))
            return False
        self.refresh(select=f"model:{package.path}")
        return True

    def export_to(self, destination: str | Path) -> bool:
        from emdenoise_gui.zoo.package import export_zip

        entry = self.entries.get(self.current_key() or "")
        if entry is None or not hasattr(entry, "package") or entry.package is None:
            return False
        try:
            export_zip(entry.package, Path(destination), overwrite=True)
        except (InputError, OSError) as exc:
            self.message.emit("Cannot export model", str(exc))
            return False
        return True

    def delete_current(self, confirm: bool = True) -> bool:
        from emdenoise_gui.zoo import registry

        entry = self.entries.get(self.current_key() or "")
        if entry is None or not hasattr(entry, "shipped") or entry.shipped or entry.package is None:
            return False
        if confirm:
            answer = QtWidgets.QMessageBox.question(
                self, "Delete model", f"Delete your model “{entry.name}”? This cannot be undone.")
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return False
        try:
            registry.delete_package(entry.package.card.name, entry.path)
        except (InputError, OSError) as exc:
            self.message.emit("Cannot delete model", str(exc))
            return False
        self.refresh()
        return True

    def import_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Import model package", "", "Model packages (*.zip)")
        if path:
            self.import_path(path)

    def export_dialog(self) -> None:
        entry = self.entries.get(self.current_key() or "")
        name = getattr(entry, "name", "model")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export model package", f"{name}.zip",
                                                        "Model packages (*.zip)")
        if path:
            self.export_to(path)
