"""Wizard page 1: "What data do you have?" - the family it leads to, why, and where to start."""

from __future__ import annotations

from PySide6 import QtWidgets

from emdenoise_gui.gui import theme
from emdenoise_gui.gui.panels.background import run_later
from emdenoise_gui.jobs.advise import (
    DATA_KINDS,
    KINDS,
    similarity_text,
    starting_points,
    suggest_kind,
)
from emdenoise_gui.models.registry import FAMILIES

SCRATCH_LABEL = "Start from scratch (a new network)"


def measure_similarity(path: str) -> tuple[float | None, int]:
    """(adjacent-slice similarity or None, number of slices) of the stack at ``path``."""
    from emdenoise_gui.core.assess import adjacent_similarity
    from emdenoise_gui.core.io import open_stack

    with open_stack(path) as stack:
        return adjacent_similarity(stack), len(stack)


def stack_combo(state, tip: str) -> QtWidgets.QComboBox:
    """A combo box of the wizard's stacks (name shown, path as data), the state's stack selected."""
    combo = QtWidgets.QComboBox()
    combo.setToolTip(tip)
    fill_stacks(combo, state.stacks, state.stack)
    return combo


def fill_stacks(combo: QtWidgets.QComboBox, stacks, selected: str, none_label: str = "") -> None:
    """Refill ``combo`` with (name, path) pairs (plus an optional first "none" entry), keeping ``selected``."""
    combo.blockSignals(True)
    combo.clear()
    if none_label:
        combo.addItem(none_label, "")
    for name, path in stacks:
        combo.addItem(name, path)
    index = combo.findData(selected)
    combo.setCurrentIndex(index if index >= 0 else 0)
    combo.blockSignals(False)


class KindPage(QtWidgets.QWizardPage):
    """Pick the stack and the kind of data; shows the measured neighbouring-slice similarity, the
    recommended family with its reason, and the model to start from (default: the best shipped one)."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self._chosen_by_hand = False
        self._depth: int | None = None  # slices of the chosen stack once measured (0: unreadable)
        self._measuring = ""
        self.setTitle("What data do you have?")
        self.setSubTitle("EMDenoise picks the kind of model from your answer. You can change it.")
        self.stack = stack_combo(state, "The stack you want to denoise; its neighbouring slices are compared")
        self.stack.setAccessibleName("Stack")  # its form label sits on the row, so it was named after its item
        self.stack.currentIndexChanged.connect(self._stack_changed)
        self.browse = QtWidgets.QPushButton("Other file…")
        self.browse.setToolTip("Pick a TIFF, MRC or OME-Zarr stack (its zarr.json) that is not in the project")
        self.browse.clicked.connect(self._browse)
        self.similarity = QtWidgets.QLabel()
        self.similarity.setWordWrap(True)
        self.buttons = QtWidgets.QButtonGroup(self)
        choices = QtWidgets.QVBoxLayout()
        for i, kind in enumerate(DATA_KINDS):
            button = QtWidgets.QRadioButton(kind.label)
            button.setToolTip(kind.why)
            button.setObjectName(kind.key)
            self.buttons.addButton(button, i)
            choices.addWidget(button)
        self.buttons.idClicked.connect(self._kind_clicked)
        self.why = QtWidgets.QLabel()
        self.why.setWordWrap(True)
        self.start = QtWidgets.QComboBox()
        self.start.setToolTip("Fine-tuning a shipped model needs far fewer steps than a new network and "
                              "usually ends better; start from scratch for data unlike anything in the zoo")
        self.start.currentIndexChanged.connect(self.completeChanged)
        self.problem = QtWidgets.QLabel()
        theme.set_tone(self.problem, "warn")
        self.problem.setWordWrap(True)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.stack, 1)
        row.addWidget(self.browse)
        form = QtWidgets.QFormLayout(self)
        form.addRow("Stack", row)
        form.addRow("", self.similarity)
        form.addRow("Your data", choices)
        form.addRow("", self.why)
        form.addRow("Start from", self.start)
        form.addRow(self.problem)
        self._select_kind(state.kind)
        self._stack_changed()

    # -- choices --------------------------------------------------------------------------------------
    def _browse(self) -> None:
        from emdenoise_gui.gui.main_window import FILE_FILTER

        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Choose a stack", "", FILE_FILTER)
        if path:
            self.wizard().add_stack(path)
            self.state.stack = path
            fill_stacks(self.stack, self.state.stacks, path)
            self._stack_changed()

    def _stack_changed(self) -> None:
        path = self.stack.currentData() or ""
        self.state.stack, self.state.similarity, self._depth = path, None, None
        self.similarity.setText("Comparing neighbouring slices…" if path else "")
        self._measuring = path
        if path:
            run_later(lambda: measure_similarity(path), lambda result, error, p=path: self._measured(p, result, error))
        self.completeChanged.emit()

    def _measured(self, path: str, result, error) -> None:
        if path != self._measuring:  # the user picked another stack meanwhile
            return
        if error is not None:
            self.similarity.setText(f"Cannot read this stack: {error}")
            self._depth = 0
        else:
            self.state.similarity, self._depth = result
            if not self._chosen_by_hand:
                self._select_kind(suggest_kind(self.state.similarity))
        self._update_texts()
        self.completeChanged.emit()

    def _kind_clicked(self, index: int) -> None:
        self._chosen_by_hand = True
        self._select_kind(DATA_KINDS[index].key)

    def _select_kind(self, key: str) -> None:
        self.state.kind = key
        self.buttons.button([k.key for k in DATA_KINDS].index(key)).setChecked(True)
        self.start.blockSignals(True)
        self.start.clear()
        for label, path in starting_points(KINDS[key].family, artifacts=bool(KINDS[key].artifacts)):
            self.start.addItem(f"Fine-tune {label}", path)
        self.start.addItem(SCRATCH_LABEL, "")
        self.start.setCurrentIndex(0)
        self.start.blockSignals(False)
        self._update_texts()
        self.completeChanged.emit()

    def _update_texts(self) -> None:
        kind = KINDS[self.state.kind]
        self.why.setText(f"<b>Recommended: {FAMILIES[kind.family].title}.</b> {kind.why}")
        if self.state.stack and self._depth:
            text, warn = similarity_text(self.state.similarity, kind.family, self._depth)
            self.similarity.setText(text)
            theme.set_tone(self.similarity, "warn" if warn else None)

    # -- QWizardPage ----------------------------------------------------------------------------------
    def problem_text(self) -> str:
        """What must change before Next (empty when the page is complete)."""
        if not self.state.stacks:
            return "Add a stack to the project first, or choose one with “Other file…”."
        if not self.state.stack:
            return "Choose the stack to work with."
        depth = self._depth
        if depth == 0:
            return "This stack cannot be read; choose another one."
        if depth is not None and self.state.family == "nrrn" and depth < 3:
            return "NRRN learns from neighbouring slices and needs at least 3 slices; choose Noise2Void instead."
        return ""

    def isComplete(self) -> bool:
        text = self.problem_text()
        self.problem.setText(text)
        return not text and self._depth is not None

    def validatePage(self) -> bool:
        self.state.init = self.start.currentData() or ""
        return True

    def waiting(self) -> bool:
        """Whether the similarity of the chosen stack is still being measured."""
        return bool(self.state.stack) and self._depth is None

    def initializePage(self) -> None:
        self.completeChanged.emit()
