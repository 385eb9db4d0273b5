"""Wizard page 3: how long to train (steps from a time budget and the measured speed), and the name."""

from __future__ import annotations

import math
import os

from PySide6 import QtCore, QtWidgets

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.events import CancelToken, format_duration
from emdenoise_gui.gui import theme
from emdenoise_gui.gui.decimal_box import DecimalBox
from emdenoise_gui.gui.panels.background import run_later
from emdenoise_gui.jobs.advise import (
    BUDGETS,
    default_name,
    in_gui_words,
    run_seconds,
    steps_for,
    wizard_spec,
)
from emdenoise_gui.zoo.card import NAME_RULE, valid_model_name

#: The name of the run whose speed is measured (never written to the zoo: ``probe`` trains in a temporary folder).
PROBE_NAME = f"emdenoise-speed-probe-{os.getpid()}"


def probe(spec, cancel: CancelToken) -> tuple:
    """(what a run of ``spec`` costs on its device, ``training.engine.Costs``, None if cancelled; the device in
    words)."""
    import torch

    from emdenoise_gui.gui.workers import cpu_cores, job_threads
    from emdenoise_gui.models.device import device_label, pick_device
    from emdenoise_gui.training.engine import measure_costs

    # with the torch threads the training job will get (one core is left to the window): measured with all
    # of them, a 2-core machine planned runs a third faster than they went
    torch.set_num_threads(job_threads(cpu_cores(), 1, torch.get_num_threads()))
    return measure_costs(spec, steps=2, cancel=cancel), device_label(pick_device(spec.device))


def plan_text(steps: int, costs, by_hand: bool) -> str:
    """"1,200 steps, about 4 min" for ``steps`` at the measured ``costs`` (their validations, checkpoints
    and set-up included); ``by_hand``: the steps were set under Advanced settings (the chosen time does
    not apply), which the text says."""
    where = " (set under Advanced settings)" if by_hand else ""
    return f"{steps:,} steps{where}, {format_duration(run_seconds(steps, *_cost_terms(costs)))}"


def _cost_terms(costs) -> tuple[float, float, float, float]:
    """(steps per second, validation s, checkpoint s, set-up s) of measured ``Costs``."""
    return costs.steps_per_s, costs.validation_s, costs.checkpoint_s, costs.setup_s


class SettingsPage(QtWidgets.QWizardPage):
    """A time budget (a few minutes / an hour / overnight) turned into steps with a speed measured
    on this computer for this data; the model's name; crop, batch and steps under Advanced."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.costs = None  # training.engine.Costs, measured
        self.measure_problem = ""  # why the last speed measurement could not run (cleared by the next)
        self._set_up_for: tuple | None = None  # the choices the name and Advanced values were set up for
        self._probing = 0
        self._probe_token = CancelToken()
        self.setTitle("How long to train")
        # the training starts from here: once it has, Back cannot lead to other settings whose model the
        # wizard would not train (it would hand back the model of the first ones)
        self.setCommitPage(True)
        self.setButtonText(QtWidgets.QWizard.WizardButton.CommitButton, "Start training")
        self.setSubTitle("Longer training usually gives a cleaner result. The app measures how fast this "
                         "computer trains on your data and plans the steps for the time you pick.")
        self.budgets = QtWidgets.QButtonGroup(self)
        column = QtWidgets.QVBoxLayout()
        for i, label in enumerate(BUDGETS):
            button = QtWidgets.QRadioButton(label.capitalize())
            self.budgets.addButton(button, i)
            column.addWidget(button)
        self.budgets.button(0).setChecked(True)
        self.budgets.idClicked.connect(lambda _i: self._update_plan())
        self.speed = QtWidgets.QLabel()
        self.plan = QtWidgets.QLabel()
        self.name = QtWidgets.QLineEdit()
        self.name.setToolTip("The name the new model gets in the model zoo")
        self.name.textChanged.connect(self.completeChanged)
        self.advanced_button = QtWidgets.QToolButton(text="Advanced settings", checkable=True)
        self.advanced_button.setArrowType(QtCore.Qt.ArrowType.RightArrow)
        self.advanced_button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced = QtWidgets.QWidget()
        self.steps = QtWidgets.QSpinBox(minimum=0, maximum=500_000, singleStep=100, specialValueText="from the time")
        self.steps.setToolTip("Optimiser steps; each shows the network one batch of crops. 'from the time' uses the "
                              "budget above")
        self.crop = QtWidgets.QSpinBox(minimum=16, maximum=1024, singleStep=16, suffix=" px")
        self.crop.setToolTip("Side of the square pieces the network learns from; larger pieces show more "
                             "context and use more memory")
        self.batch = QtWidgets.QSpinBox(minimum=0, maximum=256, specialValueText="automatic")
        self.batch.setToolTip("Pieces per step; more is smoother but slower per step and needs more memory")
        self.lr = DecimalBox(minimum=0.0, maximum=0.1, decimals=5, singleStep=1e-4, specialValueText="automatic")
        self.lr.setToolTip("How far each step moves the network's weights; 'automatic' uses the model type's own. "
                           "Lower it if a training diverges (its loss stops being a number)")
        for box in (self.steps, self.crop, self.batch):
            box.valueChanged.connect(self._advanced_changed)
        advanced = QtWidgets.QFormLayout(self.advanced)
        advanced.addRow("Steps", self.steps)
        advanced.addRow("Crop size", self.crop)
        advanced.addRow("Batch", self.batch)
        advanced.addRow("Learning rate", self.lr)
        self.advanced.setVisible(False)
        self.advanced_button.toggled.connect(self._toggle_advanced)
        self.problem = QtWidgets.QLabel()
        theme.set_tone(self.problem, "warn")
        self.problem.setWordWrap(True)
        form = QtWidgets.QFormLayout(self)
        form.addRow("Time", column)
        form.addRow("Speed", self.speed)
        form.addRow("Plan", self.plan)
        form.addRow("Model name", self.name)
        form.addRow(self.advanced_button)
        form.addRow(self.advanced)
        form.addRow(self.problem)

    def _toggle_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_button.setArrowType(QtCore.Qt.ArrowType.DownArrow if on else QtCore.Qt.ArrowType.RightArrow)

    # -- set-up and speed -----------------------------------------------------------------------------
    def initializePage(self) -> None:
        """Defaults for these data (name, crop, steps, batch), kept when the user comes back through Back and
        Next with the same data (they were reset to the defaults); then the speed is measured."""
        state = self.state
        chosen = (state.kind, state.init, repr(state.data), state.crop, state.artifacts, state.shot_noise)
        if chosen != self._set_up_for:
            self._set_up_for = chosen
            suffix = "finetuned" if state.init else ""
            self.name.setText(default_name(next(iter(state.data.values()))[0], state.family, suffix))
            for box, value in ((self.crop, state.crop or 64), (self.steps, 0), (self.batch, 0), (self.lr, 0.0)):
                box.blockSignals(True)
                box.setValue(value)
                box.blockSignals(False)
        self._measure()

    def _advanced_changed(self) -> None:
        if self.sender() in (self.crop, self.batch):
            self._measure()  # a different crop or batch trains at a different speed
        else:
            self._update_plan()

    def _spec(self, steps: int, name: str | None = None):
        """The RunSpec for the current choices (InputError in the wizard's words); ``name`` instead of the one
        typed (the speed measurement's: it does not depend on the name)."""
        s = self.state
        controller = self.wizard().controller
        name = self.name.text().strip() if name is None else name
        return wizard_spec(s.family, s.data, name, steps, init=s.init, dose=s.dose,
                           crop=self.crop.value(), batch_size=self.batch.value() or None, artifacts=s.artifacts,
                           shot_noise=s.shot_noise, lr=self.lr.value() or None,
                           device=controller.settings.device if controller is not None else "auto")

    def stop_measuring(self) -> None:
        """Stop a speed measurement in flight (the page is left or the wizard closes)."""
        self._probe_token.cancel()
        self._probing += 1

    def cleanupPage(self) -> None:
        self.stop_measuring()

    def _measure(self) -> None:
        self.costs = None
        self.measure_problem = ""
        self.stop_measuring()
        token = self._probe_token = CancelToken()
        ticket = self._probing
        try:  # a name of its own: a name taken in the zoo failed the measurement, and the page stayed locked with
            spec = self._spec(10, PROBE_NAME)  # that name's error after another was typed (wizard audit)
        except InputError as exc:
            self.speed.setText("")
            self.measure_problem = str(exc)
            self.completeChanged.emit()
            return
        self.speed.setText("Measuring the training speed on this computer…")
        run_later(lambda: probe(spec, token), lambda result, error, t=ticket: self._measured(t, result, error))
        self.completeChanged.emit()

    def _measured(self, ticket: int, result, error) -> None:
        if ticket != self._probing:
            return
        if error is not None:
            self.speed.setText("")
            self.measure_problem = "Cannot train on this data: " + in_gui_words(str(error))
            self.completeChanged.emit()
            return
        self.costs, device = result
        if self.costs is None:  # cancelled: a newer measurement is on its way
            return
        decimals = max(0, 2 - math.floor(math.log10(self.rate))) if self.rate > 0 else 0  # 3 significant digits
        controller = self.wizard().controller if self.wizard() is not None else None
        busy = controller is not None and any(job.kind in ("train", "denoise", "batch") and job.running
                                              for job in controller.active_jobs())
        # measured beside another training or denoise: a third slower than alone on 2 cores, and the run starts
        # after that job, so the time budget got too few steps without a word (wizard audit)
        loaded = " (measured while another job runs: it trains faster alone, so the plan is on the safe side)"
        self.speed.setText(f"{self.rate:.{decimals}f} steps per second on {device}" + (loaded if busy else ""))
        self._update_plan()

    @property
    def rate(self) -> float | None:
        """Training steps per second, measured (None until a measurement has come)."""
        return None if self.costs is None else self.costs.steps_per_s

    def planned_steps(self) -> int:
        """Steps to train: the Advanced value, or what fits the chosen time at the measured speed."""
        if self.steps.value():
            return self.steps.value()
        budget = list(BUDGETS.values())[self.budgets.checkedId()]
        return steps_for(budget, *_cost_terms(self.costs)) if self.rate else steps_for(budget, 0.0)

    def _update_plan(self) -> None:
        by_hand = bool(self.steps.value())
        for button in self.budgets.buttons():  # steps set under Advanced: the time budget does not apply
            button.setEnabled(not by_hand)
        if self.rate:
            self.plan.setText(plan_text(self.planned_steps(), self.costs, by_hand))
        self.completeChanged.emit()

    # -- QWizardPage ----------------------------------------------------------------------------------
    def problem_text(self) -> str:
        name = self.name.text().strip()
        if not valid_model_name(name):
            return NAME_RULE[0].upper() + NAME_RULE[1:] + "."
        from emdenoise_gui.zoo.registry import name_taken, run_checkpoint

        taken = in_gui_words(name_taken(name))
        if taken:
            return f"{taken[0].upper()}{taken[1:]}; choose another name."
        from emdenoise_gui.training.run_lock import training_now
        from emdenoise_gui.zoo.registry import user_dir

        if training_now(user_dir() / name):  # it would wait for that run, then fail (wizard audit)
            return "A training run of this name is going on now; choose another name."
        if run_checkpoint(name).exists():  # a new run must not replace it (the training would refuse)
            return ("A training run of this name was stopped and kept (paused in the zoo): resume it there, or "
                    "choose another name.")
        if self.crop.value() % 16:
            return "The crop size must be a multiple of 16 px."
        return ""

    def isComplete(self) -> bool:
        text = self.problem_text() or self.measure_problem
        self.problem.setText(text)
        return not text and self.rate is not None

    def validatePage(self) -> bool:
        problem = self.problem_text()  # again: another run may have taken the name since it was typed
        if problem:
            self.problem.setText(problem)
            return False
        try:
            self.state.spec = self._spec(self.planned_steps())
        except InputError as exc:
            self.problem.setText(str(exc))
            return False
        return True
