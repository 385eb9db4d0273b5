"""The training wizard: from "what data do you have?" to a new model in the zoo.

Pages: :class:`~.kind_page.KindPage` (family and where to start) -> :class:`~.data_page.DataPage`
(stacks per role, blank-region boxes, an optional training region) -> :class:`~.settings_page.SettingsPage`
(time budget, measured speed, name) -> :class:`~.training_page.TrainingPage` (live curves, preview,
pause / resume / cancel) -> :class:`~.finish_page.FinishPage` (held-back evaluation, denoise with it).
The pages share one :class:`WizardState`; the run itself is the Qt-free ``jobs.train`` job, started
through the app's controller like every other job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6 import QtWidgets

from emdenoise_gui.gui import theme
from emdenoise_gui.jobs.advise import KINDS


@dataclass
class WizardState:
    """What the pages have chosen so far.

    stacks: (name, path) of the stacks the user can pick (the project's, plus files added here).
    data: role -> list of ``PATH`` or ``PATH@y0:y1,x0:x1`` (RunSpec data).
    init: package path to fine-tune, "" for a fresh network. dose: (low, high) counts per pixel.
    artifacts: cyclic on clean images only: the synthetic artifacts drawn on them ("film,charge"), else "".
    shot_noise: with ``artifacts``, the share of training samples (0-1) that also get shot noise.
    resume: a checkpoint folder to go on from (the wizard then opens on its training page).
    """

    stacks: list = field(default_factory=list)
    stack: str = ""
    kind: str = "alike-slices"
    similarity: float | None = None
    init: str = ""
    data: dict = field(default_factory=dict)
    dose: tuple | None = None
    artifacts: str = ""
    shot_noise: float = 0.0
    estimated_dose: float | None = None
    crop: int | None = None
    spec: object = None
    resume: str = ""
    job: object = None
    package: str = ""
    metrics: dict = field(default_factory=dict)
    preview: tuple | None = None

    @property
    def family(self) -> str:
        return KINDS[self.kind].family


class TrainWizard(QtWidgets.QWizard):
    """Process > Train or Fine-tune Model.

    controller: the app's ``gui.controller.Controller`` (project stacks, jobs, denoise afterwards);
    stack: path of the stack on screen (the default everywhere); resume: a checkpoint folder to go
    on from instead of starting a new run. Signal-free: the window refreshes the zoo when
    ``finished_package`` is set (see :meth:`done`).
    """

    def __init__(self, controller, stack: str = "", resume: str = "", parent=None):
        from emdenoise_gui.gui.wizard.data_page import DataPage
        from emdenoise_gui.gui.wizard.finish_page import FinishPage
        from emdenoise_gui.gui.wizard.kind_page import KindPage
        from emdenoise_gui.gui.wizard.settings_page import SettingsPage
        from emdenoise_gui.gui.wizard.training_page import TrainingPage

        super().__init__(parent)
        self.controller = controller
        self.quitting = False  # set by the window's quit without asking: close without a question
        self.setWindowTitle("Train or fine-tune a model")
        self.setWizardStyle(QtWidgets.QWizard.WizardStyle.ClassicStyle)
        self.setOption(QtWidgets.QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QtWidgets.QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        project = controller.project if controller is not None else None
        stacks = [(r.name, r.path) for r in project.stacks] if project else []
        self.state = WizardState(stacks=stacks, stack=stack or (stacks[0][1] if stacks else ""), resume=resume)
        self.pages = {"kind": KindPage(self.state), "data": DataPage(self.state),
                      "settings": SettingsPage(self.state), "training": TrainingPage(self.state, controller),
                      "finish": FinishPage(self.state, controller)}
        self.ids = {name: self.addPage(page) for name, page in self.pages.items()}
        if resume:
            self.setStartId(self.ids["training"])
        self.resize(900, 680)
        settings = getattr(controller, "settings", None)  # its loss plot in the app's appearance (white in dark)
        theme.restyle_plots(QtWidgets.QApplication.instance(), getattr(settings, "appearance", "system"))

    def add_stack(self, path: str | Path) -> None:
        """Make ``path`` pickable on every page (a stack chosen in the wizard, or the one on screen)."""
        path = str(path)
        if all(p != path for _, p in self.state.stacks):
            self.state.stacks.append((Path(path).name, path))

    def reject(self) -> None:
        """Closing asks before stopping a running training (the run keeps a checkpoint to resume), and before
        dropping the choices made on the pages after the first (Escape dropped them without a word)."""
        if not self._may_close():
            return
        training = self.pages["training"]
        training.stop()
        self.pages["settings"].stop_measuring()
        super().reject()

    def _may_close(self) -> bool:
        """Whether to close: always when the window quits without asking, else as the user answers."""
        training = self.pages["training"]
        if self.quitting:
            return True
        if training.running():
            return training.confirm_stop()
        return not self.ids["kind"] < self.currentId() < self.ids["training"] or ask_to_discard(self)


def ask_to_discard(parent: QtWidgets.QWidget) -> bool:
    """Whether the user agrees to close the wizard and drop the choices made so far."""
    answer = QtWidgets.QMessageBox.question(
        parent, "Close the wizard?", "Close the wizard? The data and settings chosen so far are not kept.",
        QtWidgets.QMessageBox.StandardButton.Close | QtWidgets.QMessageBox.StandardButton.Cancel,
        QtWidgets.QMessageBox.StandardButton.Cancel)
    return answer == QtWidgets.QMessageBox.StandardButton.Close
