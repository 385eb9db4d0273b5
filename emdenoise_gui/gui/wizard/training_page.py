"""Wizard page 4: the run itself - live curves, a before/after preview, speed and time left,
pause / resume / cancel, and resuming a stopped run from its checkpoint."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui.core import events as ev
from emdenoise_gui.core.events import format_seconds
from emdenoise_gui.gui import theme
from emdenoise_gui.gui.panels.jobs_panel import Series, StepAxis, style_loss_plot

#: How often the curves are redrawn (ms): steps can come faster than a plot should repaint.
REDRAW_MS = 250
VALIDATION_HELP = (
    "<b>Training loss</b> (grey): how far the network is from its training targets on the pieces it learns "
    "from. <b>Validation loss</b> (blue): the same on held-back slices it never learns from; lower is better, "
    "and when it stops falling more steps will not help.")
FAMILY_HELP = {
    "nrrn": " NRRN's loss compares neighbouring slices that each carry their own noise and subtracts how much "
            "its two predictions disagree, so it can go below zero: only its trend matters.",
    "nrrn:blind-spot": " NRRN predicts pixels hidden from it in the middle slice from their surroundings and the "
                       "neighbouring slices; its loss stays near the noise level, so small falls are real gains.",
    "nrrn:supervised": " NRRN learns to remove synthetic noise from your clean slices; its loss is the error left, "
                       "and it should fall.",
    "cyclic": " The cyclic GAN's curves show how well a clean image survives being noised and cleaned again "
              "(cycle consistency); the curves of its competing networks (the discriminators) rise and fall by "
              "design.",
    "cyclic:artifacts": " The network learns to take synthetic artifacts off clean slices: its loss is how far "
                        "its output still is from the clean slice (and its artifact output from the artifact).",
    "n2v": " Noise2Void predicts masked pixels from their neighbours; its loss stays near the noise level, "
           "so small falls are real gains.",
}


def _checkpoint_spec(folder: str):
    """The RunSpec a paused run's checkpoint ``folder`` was started with (``training.checkpoint.read_spec``), or
    None: a run resumed from the zoo panel has no spec of the wizard's, and its page left out what the family's
    loss means (wizard audit of 2026-12-07)."""
    from emdenoise_gui.training.checkpoint import read_spec
    from emdenoise_gui.training.spec import RunSpec

    data = read_spec(folder) if folder else None
    try:
        return None if data is None else RunSpec.from_dict(data)
    except Exception:  # noqa: BLE001 - a spec of another version: the help goes without that sentence
        return None


def family_help(spec) -> str:
    """What the loss of ``spec``'s run means: NRRN's depends on what it learns from (clean data: supervised;
    noisy data: the paper's consensus for two branches, a blind spot for one branch on the neighbours'
    mean, the shipped models' and so a fine-tune's). The consensus text was shown for every NRRN run; cyclic on
    synthetic artifacts fits its generator alone."""
    if spec is None:
        return ""
    if spec.family == "cyclic" and spec.artifacts:  # no GAN: the cycle and discriminators were told (wizard audit)
        return FAMILY_HELP["cyclic:artifacts"]
    if spec.family != "nrrn":
        return FAMILY_HELP.get(spec.family, "")
    if spec.data.get("clean"):
        return FAMILY_HELP["nrrn:supervised"]
    objective = spec.nrrn_objective(spec.neighbours or _start_model_neighbours(spec.init) or "pair")
    return FAMILY_HELP["nrrn" if objective == "consensus" else "nrrn:blind-spot"]


def _start_model_neighbours(init: str) -> str:
    """How the start model of a fine-tune takes the neighbours ("pair", "mean"; "" if unknown)."""
    if not init:
        return ""
    from emdenoise_gui.core.errors import InputError
    from emdenoise_gui.zoo.registry import resolve

    try:
        return str(resolve(init).card.architecture.get("neighbours", "pair"))
    except (InputError, OSError):
        return ""


def main_loss(losses: dict) -> float:
    """The training loss to plot beside the validation loss: the cycle-consistency loss of the cyclic GAN
    (what its validation measures), else ``loss``, else the sum of the parts."""
    for key in ("cycle", "loss"):
        if key in losses:
            return float(losses[key])
    return float(sum(losses.values()))


def captioned_image(title: str):
    """(widget, view box, image item): a captioned square preview on the page's own background
    (a black pane around a square crop read as part of the image)."""
    widget = pg.GraphicsLayoutWidget()
    widget.setBackground(None)
    widget.setMinimumSize(160, 170)
    widget.setAccessibleName(title)
    box = widget.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMouse=False)
    text = widget.palette().color(QtGui.QPalette.ColorRole.WindowText).name()
    widget.addLabel(title, row=0, col=0, color=text)
    item = pg.ImageItem(axisOrder="row-major")
    box.addItem(item)
    return widget, box, item


class TrainingPage(QtWidgets.QWizardPage):
    """Runs the wizard's RunSpec (or resumes ``state.resume``) as an app job and shows it live.

    ``stop_answer`` answers the "stop training?" question without a dialog (tests).
    """

    def __init__(self, state, controller, parent=None):
        super().__init__(parent)
        self.state, self.controller = state, controller
        self.stop_answer: bool | None = None
        self.job = None
        self.checkpoint = ""
        self.train, self.val = Series(), Series()  # (step, loss) as they arrive
        self.setTitle("Training")
        self.setSubTitle("The curves show how the model learns; the preview shows it on a held-back crop. You can "
                         "pause or stop at any time: the best model so far is kept.")
        self.status = QtWidgets.QLabel("Starting…")
        self.plot = pg.PlotWidget(background="w", axisItems={"bottom": StepAxis("bottom")})
        style_loss_plot(self.plot, [("#9e9e9e", "training"), ("#1565c0", "validation (held back)")])
        self.plot.setAccessibleName("Loss curves")
        self.train_curve = self.plot.plot(pen=pg.mkPen("#9e9e9e"))
        self.val_curve = self.plot.plot(pen=pg.mkPen("#1565c0", width=2), symbol="o", symbolSize=5,
                                        symbolBrush="#1565c0")
        self.help = QtWidgets.QLabel(VALIDATION_HELP)
        self.help.setWordWrap(True)
        self.before, self.after = captioned_image("Held-back crop: noisy"), captioned_image("Denoised")
        previews = QtWidgets.QVBoxLayout()  # two squares one above the other fill the plot's height
        previews.addWidget(self.before[0])
        previews.addWidget(self.after[0])
        self.pause_button = QtWidgets.QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Hold the training (the computer is free meanwhile); press again to go on")
        self.pause_button.toggled.connect(self._pause)
        self.cancel_button = QtWidgets.QPushButton("Stop")
        self.cancel_button.setToolTip("Stop now; what was learned is kept as a checkpoint you can resume")
        self.cancel_button.clicked.connect(self.stop)
        self.resume_button = QtWidgets.QPushButton("Resume training")
        self.resume_button.setToolTip("Go on from the last checkpoint")
        self.resume_button.clicked.connect(self._resume)
        self.resume_button.setVisible(False)
        self.settings_button = QtWidgets.QPushButton("Change the settings")
        self.settings_button.setToolTip("Back to the settings (name, time, Advanced) to train again")
        self.settings_button.clicked.connect(self.change_settings)
        self.settings_button.setVisible(False)
        self.failed = False
        self._finishing = False  # the last step is done: its validation and the export run, Stop has no effect
        self.problem = QtWidgets.QLabel()
        theme.set_tone(self.problem, "warn")
        self.problem.setWordWrap(True)
        buttons = QtWidgets.QHBoxLayout()
        for button in (self.pause_button, self.cancel_button, self.resume_button, self.settings_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.status)
        top = QtWidgets.QHBoxLayout()
        top.addWidget(self.plot, 3)
        top.addLayout(previews, 1)
        layout.addLayout(top, 1)
        layout.addWidget(self.help)
        layout.addLayout(buttons)
        layout.addWidget(self.problem)
        self._redraw = QtCore.QTimer(self)
        self._redraw.setInterval(REDRAW_MS)  # not interval=: see tests/gui/test_locale_keywords.py
        self._redraw.timeout.connect(self._draw)


    # -- running ---------------------------------------------------------------------------------------
    def initializePage(self) -> None:
        self.setFinalPage(False)
        self.help.setText(VALIDATION_HELP + family_help(self.state.spec or _checkpoint_spec(self.state.resume)))
        if self.job is None:
            self._start(self.state.resume)

    def _start(self, checkpoint: str = "") -> None:
        from emdenoise_gui.gui.workers import Job
        from emdenoise_gui.jobs.train import resume_job

        self.problem.setText("")
        self.failed = False
        self.resume_button.setVisible(False)
        self.settings_button.setVisible(False)
        self._unpress_pause()
        self.pause_button.setEnabled(False)  # until the job runs: a waiting job has nothing to hold
        self._finishing = False
        self.cancel_button.setEnabled(True)
        if checkpoint:
            self.checkpoint = checkpoint  # a resume stopped before it ran can be resumed again
            job = Job("Resume training", "train", resume_job(checkpoint, device=self.controller.settings.device),
                      self.controller)
            job.uses = (str(checkpoint),)  # its paused run is not discarded (nor resumed twice) while it waits
            self.job = self.controller.submit(job)
        else:
            self.job = self.controller.train(self.state.spec)
        self.state.job = self.job
        self.job.event.connect(self._event)
        self.job.failed.connect(self._failed)
        # the job's end signals come after all of its events (gui.workers); its thread may stop later
        self.job.finished.connect(self._job_finished)  # a method: let go when the wizard is deleted
        self.job.cancelled.connect(self._ended)
        self._seen_running = None  # the job whose start _job_state has shown
        self.job.state_changed.connect(self._job_state)
        self._job_state()
        self._redraw.start()

    def _job_finished(self, _value) -> None:
        self._ended()

    def _job_state(self) -> None:
        """Say whether the run waits for another job (one job at a time uses the device) or has started."""
        job = self.job
        if job is None or job is self._seen_running:
            return
        if job.status == "waiting":
            others = [j.title for j in self.controller.jobs if j.running and j is not job]
            ahead = f"“{others[0]}”" if others else "the job running now"
            self.status.setText(f"Waiting for {ahead} to finish: one job at a time trains or runs a model "
                                "(see Jobs). Stop cancels this training before it starts.")
        elif job.status == "running":  # this job's start (a resume's too: its run's curve is kept)
            self._seen_running = job
            self.pause_button.setEnabled(True)
            self.status.setText("Loading the data and the network…")

    def _unpress_pause(self) -> None:
        """The Pause button up and saying "Pause" (a run that starts or stops is not held)."""
        with QtCore.QSignalBlocker(self.pause_button):
            self.pause_button.setChecked(False)
        self.pause_button.setText("Pause")

    def running(self) -> bool:
        return self.job is not None and self.job.active

    def _pause(self, on: bool) -> None:
        if self.job is not None and self.job.running:
            self.job.set_paused(on)
            self.pause_button.setText("Continue" if on else "Pause")
            if on:
                self.status.setText(self.status.text().split(" · paused")[0] + " · paused")

    def confirm_stop(self) -> bool:
        """Ask whether to stop the running training (``stop_answer`` answers instead)."""
        if self.stop_answer is not None:
            return self.stop_answer
        if self._finishing:
            text = ("All its steps are done and the model is being written: it joins the model zoo whatever you "
                    "choose. Close anyway?")
        elif self.job is not None and self.job.status == "waiting":  # a checkpoint was promised, none came (audit)
            text = ("Cancel this training? It has not started yet (it waits for another job): nothing is kept"
                    + (", and its paused run stays in the model zoo." if self.checkpoint else "."))
        else:
            text = ("Stop the training? What it learned so far is kept as a checkpoint; you can resume it later "
                    "from the model zoo (paused training).")
        answer = QtWidgets.QMessageBox.question(self, "Stop training?", text)
        return answer == QtWidgets.QMessageBox.StandardButton.Yes

    def stop(self) -> None:
        """Stop the run at its next step (it saves a checkpoint)."""
        if self.running():
            if self._finishing:  # the last step's validation or the export: nothing left to stop
                return
            waiting = self.job.status == "waiting"
            self.status.setText("Stopping after the current step…")
            self._unpress_pause()
            self.job.set_paused(False)
            self.job.cancel()  # a waiting job ends at once: _ended says so
            if waiting:
                self._say_cancelled_before_start()

    def _say_cancelled_before_start(self) -> None:
        self.status.setText("Cancelled before it started: nothing was trained. "
                            + ("“Resume training” starts it again." if self.checkpoint else
                               "“Change the settings” goes back to start it again."))

    def _resume(self) -> None:
        if self.checkpoint:
            self.job = None
            self._start(self.checkpoint)

    def change_settings(self) -> None:
        """Back to the settings page after a failed run (the settings page is a commit page, so the
        wizard's Back stays off): a name taken meanwhile, a run that diverged, a crop too large. The
        next "Start training" begins a new run with the new settings."""
        if self.running():
            return
        self.job, self.checkpoint, self.failed = None, "", False
        self.train, self.val = Series(), Series()
        for curve in (self.train_curve, self.val_curve):
            curve.setData([], [])
        self.wizard().back()

    # -- events ----------------------------------------------------------------------------------------
    def _event(self, item) -> None:
        if isinstance(item, ev.History):  # a resumed run: its curves before this session, in place of those shown
            self.train, self.val = Series(), Series()  # (the page kept them over a stop and resume: drawn twice)
            for step, losses in item.train:
                self.train.append(step, main_loss(losses))
            for step, metrics in item.val:
                if "val_loss" in metrics:
                    self.val.append(step, float(metrics["val_loss"]))
        elif isinstance(item, ev.StepDone):
            self.train.append(item.step, main_loss(item.losses))
            self._finishing = item.step >= item.total_steps
            if self._finishing:
                if self.pause_button.isChecked():  # a pause pressed during the last step: the model is written
                    self._unpress_pause()
                    self.job.set_paused(False)
                self.pause_button.setEnabled(False)
                self.cancel_button.setEnabled(False)
                self.status.setText(f"All {item.total_steps:,} steps done: validating and writing the model…")
            elif not self.pause_button.isChecked():
                self.status.setText(f"Step {item.step:,} of {item.total_steps:,} · {item.steps_per_s:.2f} steps/s · "
                                    f"{format_seconds(item.eta_s)} left")
        elif isinstance(item, ev.Validated):
            self.state.metrics = dict(item.metrics)
            if "val_loss" in item.metrics:
                self.val.append(item.step, float(item.metrics["val_loss"]))
        elif isinstance(item, ev.Preview):
            from emdenoise_gui.training.trainers.base import display_pair

            noisy, denoised = display_pair(item.noisy, item.denoised)
            self.state.preview = (item.noisy, item.denoised)
            for (_w, box, image), data in ((self.before, noisy), (self.after, denoised)):
                image.setImage(data, levels=(0.0, 1.0))
                box.autoRange(padding=0)
            self.after[0].ci.getItem(0, 0).setText(f"{'Kept model' if item.kept else 'Denoised'} (step {item.step:,})")
        elif isinstance(item, ev.CheckpointSaved):
            self.checkpoint = item.path
        elif isinstance(item, ev.Stage):  # after the last step: what the wait is for
            self.status.setText(f"All steps done: {item.text}…")
        elif isinstance(item, ev.Finished):
            self.checkpoint = item.checkpoint or self.checkpoint
            if item.package:
                self.state.package = item.package
                self.status.setText(f"Finished after {item.step:,} steps. Next: see how well it does.")
            else:
                self.status.setText(f"Stopped at step {item.step:,}. The checkpoint is kept: “Resume training” "
                                    "goes on from it, now or later from the model zoo.")

    def _failed(self, failure) -> None:
        from emdenoise_gui.jobs.advise import in_gui_words

        self.failed = True
        self.problem.setText(f"Training failed: {in_gui_words(failure.message)}")
        self.status.setText(f"Stopped at step {int(self.train.x[-1]):,}." if len(self.train) else "Stopped before its first step.")
        self._ended()

    def _ended(self) -> None:
        self._draw()
        self._redraw.stop()
        self.pause_button.setEnabled(False)
        self.cancel_button.setEnabled(False)
        self.resume_button.setVisible(bool(self.checkpoint) and not self.state.package)
        never_ran = not len(self.train) and not self.state.package and self.job is not None \
            and self.job.status == "cancelled" and not self.job.started_at
        if never_ran:  # the wizard's Stop, or Cancel in the Jobs panel, while it waited
            self._say_cancelled_before_start()
        self.settings_button.setVisible((self.failed or never_ran) and not self.state.package
                                        and not self.state.resume)
        self.completeChanged.emit()

    def _draw(self) -> None:
        for curve, series in ((self.train_curve, self.train), (self.val_curve, self.val)):
            if len(series):
                curve.setData(series.x, series.y)

    def isComplete(self) -> bool:
        return bool(self.state.package)
