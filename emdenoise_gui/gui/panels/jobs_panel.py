"""The job panel: waiting, running and finished jobs (progress, ETA, cancel), a log, and live loss curves.

A job cancelled while it was still waiting never ran: its row is removed. A running job that cannot
count yet (loading a model, reading a slice, its first tile: a minute on a slow CPU) shows a busy
bar and its stage ("loading model…") as its status, until its first fraction done arrives.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from emdenoise_gui.core import events as ev
from emdenoise_gui.core.events import format_seconds

COLUMNS = ("Job", "Status", "Progress", "ETA", "")
PLOT_INTERVAL_MS = 250  # redraw the loss plot at most 4 times a second
TRAIN_COLOUR, VALIDATION_COLOUR = "#1f77b4", "#d62728"
AXIS_COLOUR = "#404040"  # axes and their text on the loss plots' white


class StepAxis(pg.AxisItem):
    """An axis of optimizer steps: ticks at whole steps only (a short run's axis read 1.5, 2.5)."""

    def tickValues(self, minVal, maxVal, size):  # noqa: N802, N803 - pyqtgraph's names
        levels = [(spacing, [v for v in values if float(v).is_integer()])
                  for spacing, values in super().tickValues(minVal, maxVal, size)]
        return [(spacing, values) for spacing, values in levels if values]


def style_loss_plot(plot: pg.PlotWidget, curves: list[tuple[str, str]]) -> None:
    """Dress ``plot`` (made with a :class:`StepAxis` at the bottom, on white) as loss against optimizer
    step: dark axes, loss values written out (no "loss (x0.001)" scaling), and the key of the ``curves`` ((colour,
    name) in drawing order) as a title line above the plot, where it never covers a curve. Long curves
    are drawn as their peaks at screen resolution, clipped to the view (a 300,000-step curve took 269 ms a
    redraw on the GUI thread, four times a second)."""
    for name, label in (("bottom", "Step"), ("left", "Loss")):
        axis = plot.getPlotItem().getAxis(name)
        axis.setPen(AXIS_COLOUR)  # pyqtgraph's default light grey is faint on white
        axis.setTextPen(AXIS_COLOUR)
        plot.setLabel(name, label)
    plot.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
    key = "&nbsp;&nbsp;&nbsp;&nbsp;".join(f'<span style="color:{colour}">━━ {html.escape(name)}</span>'
                                          for colour, name in curves)
    plot.setTitle(key, size="9pt")
    plot.setDownsampling(auto=True, mode="peak")
    plot.setClipToView(True)


class Series:
    """A curve's points as they arrive: (x, y) float64 arrays grown by doubling, so a redraw hands the
    plot views instead of converting a list of every step so far (20 ms at 300,000 steps)."""

    def __init__(self):
        self._xy = np.empty((2, 256))
        self.count = 0

    def append(self, x: float, y: float) -> None:
        if self.count == self._xy.shape[1]:
            self._xy = np.concatenate([self._xy, np.empty_like(self._xy)], axis=1)
        self._xy[:, self.count] = x, y
        self.count += 1

    def __len__(self) -> int:
        return self.count

    @property
    def x(self) -> np.ndarray:
        """(count,) float64 view: the steps."""
        return self._xy[0, :self.count]

    @property
    def y(self) -> np.ndarray:
        """(count,) float64 view: the losses."""
        return self._xy[1, :self.count]


class LossPlot(pg.PlotWidget):
    """Training loss (and validation loss) against step for one training job; updates are throttled."""

    def __init__(self, parent=None):
        super().__init__(parent, axisItems={"bottom": StepAxis("bottom")})
        self.setBackground("w")
        style_loss_plot(self, [(TRAIN_COLOUR, "training loss"), (VALIDATION_COLOUR, "validation loss")])
        self.showGrid(x=True, y=True, alpha=0.3)
        self.train_curve = self.plot([], [], pen=pg.mkPen(TRAIN_COLOUR, width=1.5))
        self.val_curve = self.plot([], [], pen=pg.mkPen(VALIDATION_COLOUR, width=2), symbol="o", symbolSize=6,
                                   symbolBrush=VALIDATION_COLOUR)
        self.train, self.val = Series(), Series()
        self._dirty = False
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(PLOT_INTERVAL_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    def clear_data(self) -> None:
        self.train, self.val = Series(), Series()
        self._dirty = True
        self.redraw()

    def add_event(self, event) -> None:
        if isinstance(event, ev.History):  # a resumed run's curves before this session
            for step, losses in event.train:
                self.add_event(ev.StepDone(step, 0, losses, 0.0, 0.0, None))
            for step, metrics in event.val:
                self.add_event(ev.Validated(step, metrics))
        elif isinstance(event, ev.StepDone) and event.losses:
            self.train.append(event.step, float(event.losses.get("loss", next(iter(event.losses.values())))))
            self._dirty = True
        elif isinstance(event, ev.Validated) and "val_loss" in event.metrics:
            self.val.append(event.step, float(event.metrics["val_loss"]))
            self._dirty = True

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.train_curve.setData(self.train.x, self.train.y)
        self.val_curve.setData(self.val.x, self.val.y)


def busy(job) -> bool:
    """True while ``job`` (a ``gui.workers.Job``) runs but has given no fraction done yet."""
    return job.running and not job.counting


def status_text(job) -> str:
    """The Status cell: "paused", the job's stage ("loading model…") while it is busy, else its status."""
    if job.paused:
        return "paused"
    if busy(job) and job.status == "running":
        return f"{job.stage or 'starting'}…"
    return job.status


def show_progress(bar: QtWidgets.QProgressBar, job) -> None:
    """A busy (indeterminate) bar while ``job`` is busy, then its progress in 0.1 % steps."""
    if busy(job):
        if bar.maximum() != 0:
            bar.setRange(0, 0)
        return
    if bar.maximum() != 1000:
        bar.setRange(0, 1000)
    bar.setValue(int(round(job.progress * 1000)))


class JobsPanel(QtWidgets.QWidget):
    """A table of jobs with a cancel button each, the selected job's log, and a loss plot."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.table = QtWidgets.QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setAccessibleName("Jobs")
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for col in (1, 3, 4):
            header.setSectionResizeMode(col, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QtWidgets.QHeaderView.ResizeMode.Fixed)
        self.table.setColumnWidth(2, 160)
        self.table.currentCellChanged.connect(lambda row, *_: self._show(row))
        self.log = QtWidgets.QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setAccessibleName("Job log")
        self.loss_plot = LossPlot()
        self.loss_plot.setAccessibleName("Loss curve")
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self.log, "Log")
        self.tabs.addTab(self.loss_plot, "Loss curve")
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.tabs)
        splitter.setSizes([520, 480])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)
        self.jobs = []
        self._plotted_job = None

    def add_job(self, job) -> None:
        """Show ``job`` (a :class:`~emdenoise_gui.gui.workers.Job`) and follow its signals."""
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.jobs.append(job)
        self.table.setItem(row, 0, QtWidgets.QTableWidgetItem(job.title))
        self.table.setItem(row, 1, QtWidgets.QTableWidgetItem(job.status))
        bar = QtWidgets.QProgressBar()
        bar.setRange(0, 1000)
        bar.setFormat("%p%")
        self.table.setCellWidget(row, 2, bar)
        self.table.setItem(row, 3, QtWidgets.QTableWidgetItem(""))
        cancel = QtWidgets.QPushButton("Cancel")
        cancel.setToolTip("Stop this job at its next tile or training step (nothing half-written is kept), "
                          "or drop it if it is still waiting")
        cancel.clicked.connect(lambda _checked=False, j=job: j.cancel())
        self.table.setCellWidget(row, 4, cancel)
        job.state_changed.connect(lambda j=job: self._update(j))
        if job.kind == "train":
            job.event.connect(lambda event, j=job: self._training_event(j, event))
        self.table.selectRow(row)
        self._update(job)

    def remove_job(self, job) -> None:
        """Stop listing ``job`` (an old ended one the queue let go)."""
        if job in self.jobs:
            row = self.jobs.index(job)
            self.jobs.pop(row)
            self.table.removeRow(row)

    def _training_event(self, job, event) -> None:
        if job is self._plotted_job:
            self.loss_plot.add_event(event)

    def _update(self, job) -> None:
        if job not in self.jobs:
            return
        row = self.jobs.index(job)
        if job.status == "cancelled" and job.started_at is None:  # dropped while waiting
            self.jobs.pop(row)
            self.table.removeRow(row)
            return
        if job.kind == "train" and job.running and job is not self._plotted_job:
            self._plotted_job = job  # the plot follows the training that runs now
            self.loss_plot.clear_data()
            self.tabs.setCurrentWidget(self.loss_plot)
        self.table.item(row, 1).setText(status_text(job))
        show_progress(self.table.cellWidget(row, 2), job)
        eta = "" if not job.running or job.paused else format_seconds(job.eta_s)
        self.table.item(row, 3).setText(eta)
        self.table.cellWidget(row, 4).setEnabled(job.active)
        if self.table.currentRow() == row:
            self._show(row)

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.jobs):
            return
        job = self.jobs[row]
        details = job.failure.details if job.status == "failed" and job.failure else ""
        text = "\n".join(job.log + ([details.rstrip()] if details else []))  # the log names the failure
        if self.log.toPlainText() != text:
            self.log.setPlainText(text)
            self.log.verticalScrollBar().setValue(self.log.verticalScrollBar().maximum())
