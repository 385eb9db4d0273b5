"""Quitting during a model denoise ends the process within seconds, by File ▸ Quit or by SIGTERM / Ctrl+C.

The app runs as a real process (``python -c`` calling ``gui.app.main`` on a project holding a generated
16 x 1024 x 1024 stack); a few lines of driver code start the default model denoise once the window is
built and say on stdout when it has counted its first tile. The test then quits and measures. One case
also keeps a daemon thread busy inside torch at the quit, as the model zoo's speed timing and the
device probe do: the interpreter's teardown used to kill it mid-operation and abort the process.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.io import open_stack
from emdenoise_gui.project.project import Project

#: The bound the issue asks for: the process is gone this many seconds after the quit.
EXIT_WITHIN_S = 10.0
START_TIMEOUT_S = 300.0

DRIVER = r"""
import sys, time
from PySide6 import QtCore, QtWidgets
from emdenoise_gui.gui import app as gui_app

qt = QtWidgets.QApplication(sys.argv[:1])
how = sys.argv[2]

def torch_busy():  # like the zoo's timing of a model: torch computing on a daemon thread
    import threading, torch
    def spin():
        x, conv = torch.randn(4, 16, 256, 256), torch.nn.Conv2d(16, 16, 3, padding=1)
        with torch.no_grad():
            while True:
                conv(x)
    threading.Thread(target=spin, name="busy-torch", daemon=True).start()

def when_built():
    windows = [w for w in qt.topLevelWidgets() if type(w).__name__ == "MainWindow"]
    if not windows or not windows[0].is_built or windows[0].controller.project is None:
        QtCore.QTimer.singleShot(50, when_built)
        return
    window = windows[0]
    job = window.denoise_current()
    print("JOB", window.denoiser.kind, job.title, flush=True)

    def poll():
        if job.status == "running" and job.progress > 0:
            print("RUNNING", flush=True)
            if how == "torch":
                torch_busy()
                time.sleep(0.5)
            if how in ("menu", "torch"):
                window.quit_answer = True  # the question's "Cancel jobs and quit"
                print("QUIT", flush=True)
                window.menu_actions["quit"].trigger()
        elif job.active:
            QtCore.QTimer.singleShot(50, poll)
        else:
            print("ENDED EARLY", job.status, job.message, flush=True)

    poll()

QtCore.QTimer.singleShot(0, when_built)
sys.exit(gui_app.main([sys.argv[1]]))
"""


@pytest.fixture
def project_with_stack(tmp_path):
    """A project folder holding one 16 x 1024 x 1024 uint16 noise stack (a minute for NRRN lite on a CPU)."""
    data = np.random.default_rng(0).integers(1000, 60000, (16, 1024, 1024), dtype=np.uint16)
    stack = tmp_path / "noise.tif"
    tifffile.imwrite(stack, data, imagej=True, metadata={"axes": "ZYX"})
    project = Project.create(tmp_path / "project")
    with open_stack(stack) as opened:
        record = project.add_stack(opened.meta)
    project.view.stack_id = record.id
    project.save()
    return project.folder


def run_until(proc, marker: str, lines: list[str], timeout_s: float) -> float:
    """Read the app's stdout (collected into ``lines``) until ``marker``; the time it came."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(line.startswith(marker) for line in lines):
            return time.monotonic()
        if any(line.startswith("ENDED EARLY") for line in lines) or proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    raise AssertionError(f"no {marker} from the app: stdout {lines[-5:]}, stderr {proc.stderr.read()[-3000:]}")


def quit_app(tmp_path, folder, how: str):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", EMDENOISE_HOME=str(tmp_path / "home"))
    env.pop("DISPLAY", None)
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(folder), how if isinstance(how, str) else "signal"],
                            env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    try:
        if isinstance(how, str):
            quit_at = run_until(proc, "QUIT", lines, START_TIMEOUT_S)
        else:
            run_until(proc, "RUNNING", lines, START_TIMEOUT_S)
            quit_at = time.monotonic()
            proc.send_signal(how)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError(f"the app was still running 60 s after quitting ({how})") from None
        elapsed = time.monotonic() - quit_at
        reader.join(5)
        return proc.returncode, elapsed, lines, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["menu", "torch", signal.SIGTERM, signal.SIGINT],
                         ids=["File-Quit", "File-Quit-torch-thread", "SIGTERM", "Ctrl+C"])
def test_quit_during_a_model_denoise_ends_the_process(tmp_path, project_with_stack, how):
    code, elapsed, lines, stderr = quit_app(tmp_path, project_with_stack, how)
    assert any(line.startswith("JOB model") for line in lines), lines  # a model job, not a filter
    assert code == 0, f"exit status {code}; stderr:\n{stderr[-3000:]}"
    assert "terminate called" not in stderr, stderr[-3000:]
    assert elapsed < EXIT_WITHIN_S, f"the process ended {elapsed:.1f} s after the quit"
    assert "Traceback" not in stderr and "Error" not in stderr, stderr[-3000:]
    assert "Timeout (" not in stderr, "the exit watchdog had to end the process:\n" + stderr[-3000:]
    results = project_with_stack / "results"
    assert sorted(p.name for p in results.iterdir()) == []  # the cancelled job left no partial file
    saved = json.loads((project_with_stack / "project.json").read_text())
    assert saved["results"] == [] and saved["view"]["viewer"] is not None  # saved on the way out
