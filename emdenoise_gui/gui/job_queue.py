"""The job queue: every job the app runs starts here, in one of two lanes.

* ``"device"``: jobs that need the compute device, i.e. training and any job that
  runs a model (a preview, denoise or batch whose ``Denoiser.kind`` is ``"model"``).
  They run one at a time, in the order submitted; the others wait (status ``"waiting"``).
* ``"filter"``: classical filters, which run on the CPU; they start at once, beside the
  device lane and beside each other.

A new preview replaces a preview that is still waiting (the old one ends cancelled,
without running). A waiting job that is cancelled leaves the queue without running.

Of the jobs that have ended, the newest :data:`KEPT_ENDED` are kept (the Jobs panel lists them) and
trainings all; older ones are let go (``job_removed``) and deleted. Every job was kept for the session
before: each preview left a Job, its thread object and a table row, and each finished denoise the project
it was recorded in (long-session audit of 2026-12-06: 400 previews, +800 widgets).
"""

from __future__ import annotations

from PySide6 import QtCore

from emdenoise_gui.gui.workers import Job

DEVICE, FILTER = "device", "filter"
#: Ended jobs (other than trainings) kept for the Jobs panel and their logs.
KEPT_ENDED = 50


def lane_for(kind: str, denoiser=None) -> str:
    """``"device"`` for training or a job whose ``denoiser`` (a ``jobs.denoise.Denoiser``) is a model,
    else ``"filter"``."""
    if kind == "train" or getattr(denoiser, "kind", None) == "model":
        return DEVICE
    return FILTER


class JobQueue(QtCore.QObject):
    """Starts submitted jobs by lane; remembers the jobs (``jobs``, oldest first): those not ended, every
    training, and the newest :data:`KEPT_ENDED` of the others that have ended.

    Signals: ``job_added(Job)`` when a job is submitted (before it starts, if it starts at once);
    ``job_removed(Job)`` when an old ended job is let go (it is deleted after).
    """

    job_added = QtCore.Signal(object)
    job_removed = QtCore.Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.jobs: list[Job] = []
        self._waiting: list[Job] = []  # device-lane jobs not started yet, next first
        self._device: Job | None = None  # the device-lane job that holds the device

    def submit(self, job: Job, denoiser=None) -> Job:
        """Queue ``job`` in the lane :func:`lane_for` gives it (``denoiser``: what the job runs, if any)."""
        job.lane = lane_for(job.kind, denoiser)
        if job.kind == "preview":
            for old in [j for j in self._waiting if j.kind == "preview"]:
                old.cancel("replaced by a newer preview before it ran")
        self.jobs.append(job)
        job.ended.connect(lambda j=job: self._on_ended(j))
        self.job_added.emit(job)
        if job.lane == DEVICE:
            self._waiting.append(job)
            self._start_next()
        else:
            job.start()
        return job

    def waiting(self) -> list[Job]:
        """Device-lane jobs not started yet, in the order they will start."""
        return list(self._waiting)

    def active(self) -> list[Job]:
        """Jobs waiting, running or cancelling."""
        return [j for j in self.jobs if j.active]

    def cancel_all(self) -> None:
        """Drop every waiting job, then ask every running one to stop."""
        waiting, self._waiting = self._waiting, []
        for job in waiting:
            job.cancel()
        for job in self.jobs:
            job.cancel()

    def shutdown(self, timeout_ms: int) -> bool:
        """Cancel everything and wait up to ``timeout_ms`` for every job's thread to end, processing
        events meanwhile (the window keeps drawing; clicks and key presses wait until after: the window
        is closing and must not start new work). True if all ended in time."""
        from emdenoise_gui.gui.lifetime import wait_drawing

        self.cancel_all()

        def settled(step_s: float) -> bool:
            busy = [j for j in self.jobs if j.active or j.thread_running]
            if busy:
                busy[0].wait(int(step_s * 1000))
            return not any(j.active or j.thread_running for j in self.jobs)

        return wait_drawing(settled, timeout_ms / 1000)

    def _on_ended(self, job: Job) -> None:
        if job in self._waiting:
            self._waiting.remove(job)
        if job is self._device:
            self._device = None
        self._start_next()
        self._let_go()

    def _let_go(self) -> None:
        """Remove and delete the ended jobs (trainings aside) but the :data:`KEPT_ENDED` that ended last (a long
        denoise submitted early and ended now is kept); one whose thread has not quite stopped is let go at a
        later end."""
        ended = sorted((j for j in self.jobs if not j.active and j.kind != "train"), key=lambda j: j.ended_at or 0.0)
        for old in ended[:max(0, len(ended) - KEPT_ENDED)]:
            if old.thread_running:
                continue
            self.jobs.remove(old)
            self.job_removed.emit(old)
            old.deleteLater()

    def _start_next(self) -> None:
        if self._device is None and self._waiting:
            self._device = self._waiting.pop(0)
            self._device.start()
