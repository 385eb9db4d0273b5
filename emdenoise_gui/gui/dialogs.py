"""Small dialogs: Settings, Train a model, record details, messages, and the question before quitting."""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6 import QtWidgets

from emdenoise_gui.gui.settings import (
    DEVICES,
    OUTPUT_DTYPES,
    OUTPUT_FORMATS,
    QUALITIES,
    AppSettings,
)
from emdenoise_gui.models.registry import FAMILIES, by_preference
from emdenoise_gui.zoo.card import valid_model_name


def _form_with_buttons(dialog, form: QtWidgets.QFormLayout) -> None:
    """Lay out ``form`` above OK / Cancel; OK calls ``dialog._accept`` (which validates), Cancel rejects."""
    buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                         | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog._accept)
    buttons.rejected.connect(dialog.reject)
    layout = QtWidgets.QVBoxLayout(dialog)
    layout.addLayout(form)
    layout.addWidget(buttons)


class SettingsDialog(QtWidgets.QDialog):
    """Device, tile size (auto or manual), output format and dtype, CPU threads."""

    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.device = QtWidgets.QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(settings.device)
        self.device.setToolTip("auto: an NVIDIA GPU if there is one, then Apple's GPU, then the CPU")
        self.tile = QtWidgets.QSpinBox()
        self.tile.setRange(0, 4096)
        self.tile.setSingleStep(64)
        self.tile.setSpecialValueText("auto (512 px)")
        self.tile.setSuffix(" px")
        self.tile.setValue(settings.tile)
        self.tile.setToolTip("Images are processed in overlapping tiles of this size; smaller tiles need less memory")
        self.quality = QtWidgets.QComboBox()
        self.quality.addItems(QUALITIES)
        self.quality.setCurrentText(settings.quality)
        self.quality.setToolTip("fast: tiles overlap only by what the network sees around a pixel, so each pixel "
                                "is computed about once. paper: half-tile steps with Gaussian blending, as in the "
                                "papers; about 4x slower, results differ by less than a grey level")
        self.format = QtWidgets.QComboBox()
        self.format.addItems(OUTPUT_FORMATS)
        self.format.setCurrentText(settings.output_format)
        self.dtype = QtWidgets.QComboBox()
        self.dtype.addItems(OUTPUT_DTYPES)
        self.dtype.setCurrentText(settings.output_dtype)
        self.dtype.setToolTip("float32 keeps the computed values; 'input' rounds and clips to the input's type")
        self.threads = QtWidgets.QSpinBox()
        self.threads.setRange(0, os.cpu_count() or 1)
        self.threads.setSpecialValueText(f"all ({os.cpu_count()})")
        self.threads.setValue(settings.threads)
        form = QtWidgets.QFormLayout()
        form.addRow("Device", self.device)
        form.addRow("Tile size", self.tile)
        form.addRow("Tiling quality", self.quality)
        form.addRow("Output format", self.format)
        form.addRow("Output pixel type", self.dtype)
        form.addRow("CPU threads", self.threads)
        _form_with_buttons(self, form)

    def _accept(self) -> None:
        tile = self.tile.value()
        if tile and (tile < 64 or tile % 16):
            QtWidgets.QMessageBox.warning(self, "Tile size", "Use a tile size of at least 64 px, a multiple of 16, "
                                                            "or 0 for automatic.")
            return
        self.accept()

    def result_settings(self) -> AppSettings:
        return AppSettings(device=self.device.currentText(), tile=self.tile.value(), quality=self.quality.currentText(),
                           output_format=self.format.currentText(), output_dtype=self.dtype.currentText(),
                           threads=self.threads.value()).checked()


class TrainDialog(QtWidgets.QDialog):
    """Train a family on project stacks: pick the family, size, data roles and steps."""

    def __init__(self, stacks: list, output_folder: Path, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Train a model")
        self.stacks, self.output_folder = stacks, Path(output_folder)
        self.family = QtWidgets.QComboBox()
        self.family.addItems(by_preference())
        self.family.setToolTip("\n".join(f"{name}: {FAMILIES[name].purpose}; trains on {FAMILIES[name].needs_text()}"
                                         for name in by_preference()))
        self.config = QtWidgets.QComboBox()
        self.config.addItems(["lite", "paper"])
        self.config.setToolTip("lite trains in minutes on a CPU; paper is the published size (use a GPU)")
        self.roles = {role: QtWidgets.QComboBox() for role in ("noisy", "clean", "noise")}
        for combo in self.roles.values():
            combo.addItem("(none)", None)
            for record in stacks:
                combo.addItem(record.name, record.path)
        self.steps = QtWidgets.QSpinBox()
        self.steps.setRange(1, 1_000_000)
        self.steps.setValue(300)
        self.name = QtWidgets.QLineEdit("my-model")
        form = QtWidgets.QFormLayout()
        form.addRow("Family", self.family)
        form.addRow("Size", self.config)
        form.addRow("Noisy data", self.roles["noisy"])
        form.addRow("Clean data", self.roles["clean"])
        form.addRow("Noise patterns", self.roles["noise"])
        form.addRow("Steps", self.steps)
        form.addRow("Model name", self.name)
        _form_with_buttons(self, form)
        if stacks:
            self.roles["noisy"].setCurrentIndex(1)
        self.spec = None

    def _accept(self) -> None:
        from emdenoise_gui.core.errors import InputError
        from emdenoise_gui.training.spec import RunSpec

        data = {role: [combo.currentData()] for role, combo in self.roles.items() if combo.currentData()}
        name = self.name.text().strip()
        spec = RunSpec(family=self.family.currentText(), config=self.config.currentText(), steps=self.steps.value(),
                       data=data, output=str(self.output_folder / name), name=name)
        try:
            if not valid_model_name(name):
                raise InputError("give the model a name without / \\ : * ? \" < > |")
            if Path(spec.output).exists():
                raise InputError(f"a model named {name} already exists; choose another name")
            self.spec = spec.validated()
        except InputError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot train yet", str(exc))
            return
        self.accept()


def details_html(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<h3>{html.escape(title)}</h3><table cellspacing=4>{body}</table>"



def message_box(parent, title: str, text: str, details: str = "") -> QtWidgets.QMessageBox:
    """A warning box showing ``text``; ``details`` (e.g. a traceback) only behind its Details button."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, text, parent=parent)
    if details:
        box.setDetailedText(details)
    return box


def quit_question(parent, count: int) -> QtWidgets.QMessageBox:
    """"N jobs are running. Cancel them and quit?" with the buttons ``box.quit_button`` and
    ``box.keep_button`` (the default: keep working)."""
    running = "1 job is running" if count == 1 else f"{count} jobs are running"
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Question, "Jobs are running",
                                f"{running}. Cancel them and quit?", parent=parent)
    box.setInformativeText("Running jobs stop at their next tile or training step; jobs still waiting "
                           "never start.")
    box.quit_button = box.addButton("Cancel jobs and quit", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
    box.keep_button = box.addButton("Keep working", QtWidgets.QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(box.keep_button)
    box.setEscapeButton(box.keep_button)
    return box
