"""Small dialogs: Settings, record details, messages, and the questions before quitting,
deleting a result, denoising with a poorly fitting model and after a failed save."""

from __future__ import annotations

import html
import os
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.gui.settings import (
    APPEARANCES,
    DEVICES,
    MAX_TILE_PX,
    OUTPUT_DTYPES,
    OUTPUT_FORMATS,
    QUALITIES,
    AppSettings,
)
from emdenoise_gui.gui.workers import cpu_cores, job_threads, thread_limit
from emdenoise_gui.project.naming import NAME_FIELDS, check_pattern

#: Stacks named (with why) in the question before denoising several that fit poorly; more are counted.
POOR_LISTED = 8


def _form_with_buttons(dialog, form: QtWidgets.QFormLayout) -> None:
    """Lay out ``form`` above OK / Cancel; OK calls ``dialog._accept`` (which validates), Cancel rejects."""
    buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                         | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog._accept)
    buttons.rejected.connect(dialog.reject)
    layout = QtWidgets.QVBoxLayout(dialog)
    layout.addLayout(form)
    layout.addWidget(buttons)


#: How the Settings dialog names the output choices (stored values -> words).
FORMAT_WORDS = {"same": "same as input", ".tif": "TIFF (.tif)", ".mrc": "MRC (.mrc)",
                ".zarr": "OME-Zarr (.zarr folder)"}
DTYPE_WORDS = {"input": "same type as input", "float32": "32-bit float"}
APPEARANCE_WORDS = {"system": "as the desktop", "light": "light", "dark": "dark"}
DTYPE_TIP = ("Same type as input keeps the file the size of the input: the denoised values are rounded to "
             "whole grey levels and clipped to the type's range (for 8- and 16-bit data the rounding, at most "
             "half a grey level, is far below the noise). 32-bit float keeps the computed values unrounded but "
             "makes a 16-bit stack's result twice, an 8-bit one's four times, as large. MRC files store 8-bit "
             "results as unsigned 16-bit (MRC's own 8-bit type is signed, read differently by other programs).")


def _combo(values, words: dict, current: str) -> QtWidgets.QComboBox:
    """A combo box listing ``values`` by their ``words`` (the value itself when it has none)."""
    combo = QtWidgets.QComboBox()
    for value in values:
        combo.addItem(words.get(value, value), value)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    return combo


class SettingsDialog(QtWidgets.QDialog):
    """Device, tile size (auto or manual), output folder, names, format and pixel type, CPU threads,
    appearance."""

    def __init__(self, settings: AppSettings, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.device = QtWidgets.QComboBox()
        self.device.addItems(DEVICES)
        self.device.setCurrentText(settings.device)
        self.device.setToolTip("auto: an NVIDIA GPU if there is one, then Apple's GPU, then the CPU")
        self.tile = QtWidgets.QSpinBox()
        self.tile.setRange(0, MAX_TILE_PX)
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
                                "papers; about 4x slower. NRRN and N2V results differ by under half a grey level; "
                                "the cyclic model sees each tile's statistics, so its two modes can differ by tens "
                                "of grey levels on SEM images")
        self.folder = QtWidgets.QLineEdit(settings.output_folder)
        self.folder.setPlaceholderText("the project's results folder")
        self.folder.setMinimumWidth(260)
        self.folder.setToolTip("Where denoised stacks are written; leave empty for the project's results folder")
        browse = QtWidgets.QPushButton("Choose…")
        browse.clicked.connect(self._choose_folder)
        folder_row = QtWidgets.QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.pattern = QtWidgets.QLineEdit(settings.name_pattern)
        self.pattern.setToolTip("File names of results; " + ", ".join(
            f"{{{name}}}: {what}" for name, what in NAME_FIELDS.items())
            + ". A number is added when the name is taken: nothing is overwritten.")
        self.format = _combo(OUTPUT_FORMATS, FORMAT_WORDS, settings.output_format)
        self.format.setToolTip("Same as input: an MRC stack gives an MRC result, a TIFF a TIFF, an OME-Zarr an OME-Zarr "
                               "(NGFF 0.5; napari, Fiji's N5/Zarr readers and neuroglancer open it)")
        self.dtype = _combo(OUTPUT_DTYPES, DTYPE_WORDS, settings.output_dtype)
        self.dtype.setToolTip(DTYPE_TIP)
        self.threads = QtWidgets.QSpinBox()
        self.threads.setRange(0, os.cpu_count() or 1)
        self.threads.setSpecialValueText(f"all ({thread_limit()})")  # fewer where OMP_NUM_THREADS says so
        self.threads.setValue(settings.threads)
        self.threads.setToolTip("The processor threads jobs compute with; one core is left to the window, so a job "
                                f"on this computer gets at most {job_threads(cpu_cores(), 1, thread_limit())} with "
                                "'all', and jobs running together share them")
        self.appearance = _combo(APPEARANCES, APPEARANCE_WORDS, settings.appearance)
        self.appearance.setToolTip("Light or dark windows; the images keep their black surround")
        form = QtWidgets.QFormLayout()
        form.addRow("Device", self.device)
        form.addRow("Tile size", self.tile)
        form.addRow("Tiling quality", self.quality)
        form.addRow("Output folder", folder_row)
        form.addRow("Result names", self.pattern)
        form.addRow("Output format", self.format)
        form.addRow("Output pixel type", self.dtype)
        form.addRow("CPU threads", self.threads)
        form.addRow("Appearance", self.appearance)
        _form_with_buttons(self, form)

    def _choose_folder(self) -> None:
        folder = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder for results", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def _accept(self) -> None:
        tile = self.tile.value()
        if tile and (tile < 64 or tile % 16):
            QtWidgets.QMessageBox.warning(self, "Tile size", "Use a tile size of at least 64 px, a multiple of 16, "
                                                            "or 0 for automatic.")
            return
        folder = self.folder.text().strip()
        if folder and not Path(folder).expanduser().is_dir():
            QtWidgets.QMessageBox.warning(self, "Output folder", f"{folder} is not a folder. Choose an existing "
                                                                 "folder, or leave it empty for the project's "
                                                                 "results folder.")
            return
        if folder and not os.access(Path(folder).expanduser(), os.W_OK | os.X_OK):
            # told now, not when a denoise has run (Settings audit)
            QtWidgets.QMessageBox.warning(self, "Output folder", f"{folder} cannot be written to. Choose a folder "
                                                                 "you may write in, or leave it empty for the "
                                                                 "project's results folder.")
            return
        try:
            check_pattern(self.pattern.text().strip())
        except InputError as exc:
            QtWidgets.QMessageBox.warning(self, "Result names", str(exc))
            return
        device = self.device.currentText()
        if device not in ("auto", "cpu"):  # a GPU this computer lacks: every job would fail on it
            from emdenoise_gui.models.device import pick_device

            try:
                pick_device(device)
            except InputError:
                QtWidgets.QMessageBox.warning(self, "Device", f"The device '{device}' is not available on this "
                                                              "computer; choose auto (the best one here) or cpu.")
                return
        self.accept()

    def result_settings(self) -> AppSettings:
        folder = self.folder.text().strip()
        return AppSettings(device=self.device.currentText(), tile=self.tile.value(), quality=self.quality.currentText(),
                           output_format=self.format.currentData(), output_dtype=self.dtype.currentData(),
                           # absolute: a relative folder went wherever the app was started from (Settings audit)
                           threads=self.threads.value(),
                           output_folder=str(Path(folder).expanduser().absolute()) if folder else "",
                           name_pattern=self.pattern.text().strip(), appearance=self.appearance.currentData()).checked()


def details_html(title: str, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<h3>{html.escape(title)}</h3><table cellspacing=4>{body}</table>"



def message_box(parent, title: str, text: str, details: str = "") -> QtWidgets.QMessageBox:
    """A warning box showing ``text``; ``details`` (e.g. a traceback) only behind its Details button. It is
    deleted once closed (each box shown stayed a hidden child of the window: 390 KB per failure box)."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, title, text, parent=parent)
    box.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)
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


def poor_fit_question(parent, chosen: str, reason: str, pick: str) -> QtWidgets.QMessageBox:
    """"<chosen> fits this stack poorly (<reason>)" before a denoise, with the buttons "Use <pick>" (the
    default), "Denoise with <chosen> anyway" and "Cancel" (Esc); ``box.answers`` maps each button to
    "pick", "anyway" or "cancel"."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Poor fit for this stack",
                                f"{chosen} fits this stack poorly: {reason}.", parent=parent)
    box.setInformativeText(f"Its result may be worse than the noisy input. For this stack the app picks "
                           f"“{pick}”.")
    use = box.addButton(f"Use {pick}", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
    anyway = box.addButton(f"Denoise with {chosen} anyway", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton("Cancel", QtWidgets.QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(use)
    box.setEscapeButton(cancel)
    box.answers = {use: "pick", anyway: "anyway", cancel: "cancel"}
    return box


def several_poor_fit_question(parent, chosen: str, poor: list[tuple[str, str]], total: int) -> QtWidgets.QMessageBox:
    """"<chosen> fits k of the ``total`` selected stacks poorly" before a denoise of several, ``poor`` the (name,
    reason) of each; the buttons "Denoise the other n" (the default, when some fit), "Denoise all with <chosen>
    anyway" and "Cancel" (Esc); ``box.answers`` maps each button to "others", "anyway" or "cancel"."""
    which = ("the selected stack" if total == 1 else f"all {total} selected stacks" if len(poor) == total
             else f"{len(poor)} of the {total} selected stacks")
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Poor fit for selected stacks",
                                f"{chosen} fits {which} poorly.", parent=parent)
    shown = [f"{name}: {reason}" for name, reason in poor[:POOR_LISTED]]
    more = len(poor) - len(shown)
    box.setInformativeText("Their results may be worse than the noisy input. Show a stack to see the app's "
                           "pick for it.\n\n" + "\n".join(shown) + (f"\n… and {more} more" if more else ""))
    box.answers = {}
    first = None
    if len(poor) < total:
        first = box.addButton(f"Denoise the other {total - len(poor)}", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        box.answers[first] = "others"
    anyway = box.addButton(f"Denoise all with {chosen} anyway", QtWidgets.QMessageBox.ButtonRole.DestructiveRole)
    cancel = box.addButton("Cancel", QtWidgets.QMessageBox.ButtonRole.RejectRole)
    box.answers.update({anyway: "anyway", cancel: "cancel"})
    box.setDefaultButton(first or cancel)
    box.setEscapeButton(cancel)
    return box


def _question(parent, title: str, text: str, informative: str, yes: str, no: str) -> QtWidgets.QMessageBox:
    """A question box with the buttons ``box.yes_button`` and ``box.no_button`` (the default, and Esc)."""
    box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Question, title, text, parent=parent)
    box.setInformativeText(informative)
    box.yes_button = box.addButton(yes, QtWidgets.QMessageBox.ButtonRole.AcceptRole)
    box.no_button = box.addButton(no, QtWidgets.QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(box.no_button)
    box.setEscapeButton(box.no_button)
    return box


def delete_question(parent, path: Path, keep_reason: str = "") -> QtWidgets.QMessageBox:
    """"Delete the result file …?" (``yes_button``: delete; ``no_button``, the default: keep it); with
    ``keep_reason`` (why the file must stay) "Remove the result from the project?" instead."""
    if keep_reason:
        return _question(parent, "Remove result", f"Remove the result {path.name} from the project?",
                         f"{path}\n\nThe file {keep_reason}, so it stays on disk; only the project forgets it.",
                         "Remove", "Keep It")
    return _question(parent, "Delete result", f"Delete the result file {path.name} from the disk?",
                     f"{path}\n\nThe file is deleted, not moved to the trash, and the result leaves the "
                     "project. The input stack is not touched.", "Delete File", "Keep It")


def replace_question(parent, path: Path) -> QtWidgets.QMessageBox:
    """"Replace FILE?" for a save whose typed name got its suffix added after the save dialog (which only
    asked about the name as typed): ``yes_button`` replaces, ``no_button`` (the default) keeps it."""
    return _question(parent, "Replace file", f"{path.name} already exists. Replace it?",
                     f"{path}\n\nThe name was typed without {path.suffix}, which was added; a file of that name "
                     "is there already and would be lost.", "Replace", "Keep It")


def with_suffix_asked(parent, typed: Path, suffix: str) -> Path | None:
    """``typed`` (a save dialog's answer without a suffix it accepts) with ``suffix`` added; None when a file of
    that name exists and the user keeps it (:func:`replace_question`)."""
    path = typed.with_name(typed.name + suffix)
    if not path.exists():
        return path
    box = replace_question(parent, path)
    box.exec()
    return path if box.clickedButton() is box.yes_button else None


def save_failed_question(parent, why: str) -> QtWidgets.QMessageBox:
    """The project cannot be saved (``yes_button``: Save Project As…; ``no_button``: go on without saving)."""
    return _question(parent, "Cannot save the project", "The project cannot be saved in its folder.",
                     f"{why}\n\nSave it in a folder you can write to and go on working there (your stacks and "
                     "results stay where they are), or go on without saving; this is not asked again for this "
                     "project.", "Save Project As…", "Go On Without Saving")


def take_over_asked(parent, why: str) -> bool:
    """At a project's close, another program holds its lock: whether to take it and save (True), or close
    without saving what changed since the last save (False)."""
    box = _question(parent, "Project in use", "Another program is saving this project.",
                    f"{why}\n\nIf that program was closed or its computer switched off, save anyway; otherwise "
                    "close without saving (what changed since the last save, results recorded since included, is "
                    "then not in the project; the result files stay where they are).", "Save Anyway",
                    "Close Without Saving")
    box.exec()
    return box.clickedButton() is box.yes_button


def new_project_question(parent, count: int) -> QtWidgets.QMessageBox:
    """Stacks need a project (``yes_button``: create one and add the ``count`` dropped files, 0 for the
    ones to be chosen next; ``no_button``: don't)."""
    files = {0: "stacks", 1: "this file"}.get(count, f"these {count} files")
    return _question(parent, "No project open", f"To add {files}, create a project first.",
                     "A project is a folder where EMDenoise keeps your results and remembers your stacks and "
                     "views; the stacks themselves stay where they are.", "Create Project…", "Cancel")
