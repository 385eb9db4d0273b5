"""The status bar's device label: which device jobs run on, found without holding up the window.

Finding the device means importing torch (seconds on a slow machine), so it runs on a helper
thread, started once the window is up and ready; the label says "finding the device…" until
then. On a CUDA device the label adds the GPU memory in use, every 2 s.
"""

from __future__ import annotations

import threading
import time

from PySide6 import QtCore, QtWidgets

PENDING = "device: finding it…"


def unused_gpu_note() -> str:
    """" — an NVIDIA GPU is present but ...: see Help ▸ System Information" when a GPU is there but torch
    cannot use it (the CPU edition, a driver too old), else "" (imports torch: call off the GUI thread)."""
    import torch

    from emdenoise_gui.cli.doctor import gpu_advice, nvidia_present

    if torch.cuda.is_available() or not nvidia_present():
        return ""
    return f" — {gpu_advice(torch.version.cuda, False, True)}"


class DeviceStatus(QtCore.QObject):
    """``label`` (a QLabel for the status bar) and the probe behind it.

    Signal: ``found(str)`` with the device in words, e.g. "CPU (3 threads a job)" or "NVIDIA H200 (139.8 GiB)".
    """

    found = QtCore.Signal(str)
    #: the settings' device is not on this computer (a settings file from a GPU workstation): the settings
    #: in use now say "auto" (saved at the next OK in Settings), and the signal carries the sentence that says so
    fell_back = QtCore.Signal(str)
    _missing = QtCore.Signal(object, str)  # (the settings, the device they named), from the probe's thread

    def __init__(self, parent: QtCore.QObject | None = None):
        super().__init__(parent)
        self.label = QtWidgets.QLabel(PENDING)
        self.text: str | None = None  # the device in words once known
        self._thread: threading.Thread | None = None
        self._gpu_timer = QtCore.QTimer(self)
        self._gpu_timer.setInterval(2000)  # not interval=: see tests/gui/test_locale_keywords.py
        self._gpu_timer.timeout.connect(self._update_gpu_memory)
        self.found.connect(self._show)
        self._missing.connect(self._fall_back)

    @property
    def known(self) -> bool:
        return self.text is not None

    def probe(self, settings) -> None:
        """Find the device ``settings.device`` ("auto", "cpu", ...) names, and apply its CPU thread count,
        on a helper thread."""
        choice = settings.device
        self.label.setText(PENDING)
        self._gpu_timer.stop()

        def run() -> None:
            try:
                import torch

                from emdenoise_gui.core.errors import InputError
                from emdenoise_gui.gui.workers import cpu_cores, job_threads
                from emdenoise_gui.models.device import (
                    device_label,
                    pick_device,
                    threads_words,
                )

                settings.apply_threads()
                try:
                    device = pick_device(choice)
                except InputError:  # every model job failed with the CLI's "--device cuda: ..." (device audit)
                    device = pick_device("auto")
                    self._missing.emit(settings, choice)
                text = device_label(device)
                if device.type == "cpu":  # the threads a job gets (one core is left to the window), not torch's
                    text = f"CPU ({threads_words(job_threads(cpu_cores(), 1, torch.get_num_threads()))} a job)"
                    text += unused_gpu_note()
            except Exception as exc:  # noqa: BLE001 - a missing GPU driver must not stop the app
                text = f"CPU (device '{choice}' unavailable: {exc})"
            try:
                self.found.emit(text)
            except RuntimeError:  # the window closed before the probe finished
                pass

        self._thread = threading.Thread(target=run, name="device-probe", daemon=True)
        self._thread.start()

    def wait(self, deadline: float) -> bool:
        """Wait (processing events) until the probe ends or ``time.monotonic()`` passes ``deadline``;
        True if it ended."""
        from emdenoise_gui.gui.lifetime import threads_ended, wait_drawing

        return wait_drawing(threads_ended([self._thread]), max(0.0, deadline - time.monotonic()))

    def _fall_back(self, settings, choice: str) -> None:
        if settings.device != choice:  # changed meanwhile
            return
        settings.device = "auto"
        self.fell_back.emit(f"Settings ▸ Device says '{choice}', which this computer cannot use: jobs run on the "
                            "device Auto finds instead (shown in the status bar), and Settings shows Auto.")

    def _show(self, text: str) -> None:
        self.text = text
        self.label.setText(f"device: {text}")
        if "GiB" in text:
            self._gpu_timer.start()

    def _update_gpu_memory(self) -> None:
        import torch

        used = torch.cuda.memory_allocated() / 2**30
        self.label.setText(f"device: {self.text} — {used:.2f} GiB in use")
