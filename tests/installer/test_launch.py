"""emdenoise_gui.launch (both executables' entry points) and the smoke test."""

import subprocess
import sys
from pathlib import Path

import pytest

from emdenoise_gui import launch, smoke


@pytest.mark.parametrize("executable, program", [
    ("/opt/emdenoise/emdenoise-gui", "gui"), ("C:/Program Files/EMDenoise/EMDenoise.exe", "gui"),
    ("/Applications/EMDenoise.app/Contents/MacOS/EMDenoise", "gui"), ("/opt/emdenoise/emdenoise", "cli"),
    ("C:/Program Files/EMDenoise/emdenoise.exe", "cli"),
])
def test_frozen_main_picks_the_program_by_executable_name(monkeypatch, executable, program):
    monkeypatch.setattr(sys, "executable", executable)
    monkeypatch.setattr(launch, "gui", lambda: "gui")
    monkeypatch.setattr(launch, "cli", lambda: "cli")
    assert launch.frozen_main() == program


def test_smoke_arguments():
    assert launch._smoke_arguments(["denoise", "a.tif"]) == (False, None)
    assert launch._smoke_arguments(["--smoke-test"]) == (True, None)
    assert launch._smoke_arguments(["--smoke-test", "--smoke-test-screenshot", "w.png"]) == (True, "w.png")
    with pytest.raises(SystemExit, match="needs a FILE"):
        launch._smoke_arguments(["--smoke-test", "--smoke-test-screenshot"])


def test_cli_without_smoke_flag_runs_the_command_line(capsys):
    assert launch.cli(["filters"]) == 0
    assert "gaussian" in capsys.readouterr().out


def test_a_ctrl_c_while_the_program_loads_is_one_line_and_later_stops_are_ignored(monkeypatch, capsys):
    """Ctrl-C during the imports printed a 30-70 line traceback; a second Ctrl-C after a stopped training, one
    from torch's exit handler (kill audit of 2026-12-06)."""
    import signal

    def interrupted(name):
        raise KeyboardInterrupt

    monkeypatch.setattr(launch.importlib, "import_module", interrupted)
    handlers = {stop: signal.getsignal(stop) for stop in (signal.SIGINT, signal.SIGTERM)}
    try:
        assert launch.cli(["filters"]) == launch.CANCELLED
        assert all(signal.getsignal(stop) is signal.SIG_IGN for stop in handlers)
    finally:
        for stop, handler in handlers.items():
            signal.signal(stop, handler)
    assert capsys.readouterr().err.strip() == "emdenoise: cancelled while starting; nothing was done"


def test_smoke_test_fails_in_one_line_when_the_model_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path))  # run() points it at its own temporary folder
    monkeypatch.setattr(smoke, "MODEL", "no-such-model")
    lines = []
    assert smoke.run(out=lines.append) == 1
    assert lines[-1].startswith("FAILED load model:") and "no-such-model" in lines[-1]
    assert "\n" not in lines[-1] and lines[1].startswith("device")


def test_smoke_test_fails_when_the_denoised_demo_is_no_better(monkeypatch, tmp_path):
    import tifffile

    from emdenoise_gui import paths

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path))
    monkeypatch.setattr(smoke, "MIN_GAIN_DB", 99.0)
    corner = tmp_path / "demo"  # the demo's first 3 slices' 96 px corner: the whole demo took 15 s to denoise
    corner.mkdir()
    for name in (smoke.NOISY, smoke.CLEAN):
        tifffile.imwrite(corner / name, tifffile.imread(paths.demo_dir() / name, key=range(3))[:, :96, :96],
                         photometric="minisblack")
    monkeypatch.setattr(paths, "demo_dir", lambda: corner)
    lines = []
    assert smoke.run(out=lines.append) == 1
    assert lines[-1].startswith("FAILED denoise demo: the denoised demo is only"), lines[-1]


@pytest.mark.slow
@pytest.mark.gui
def test_smoke_test_passes_as_the_installed_command(tmp_path):
    """`emdenoise --smoke-test` in a child process, as a user runs it on a machine with no display: every
    step, exit 0, and the app's demo window (`--demo --screenshot`, headless) as a full-size picture, kept
    for review in tests/screenshots/demo_screenshot.png (a test of its own ran that window again: 20 s)."""
    import os

    from PySide6 import QtGui

    picture = tmp_path / "window.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "emdenoise_gui", "--smoke-test", "--smoke-test-screenshot",
                             str(picture)], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert steps == ["device", "load", "denoise", "app", "passed"], result.stdout
    assert "Python" in result.stdout.splitlines()[0] and "Qt platform offscreen" in result.stdout
    image = QtGui.QImage(str(picture))
    assert image.width() >= 1200 and image.height() >= 800, (image.width(), image.height())
    screenshots = Path(__file__).resolve().parents[1] / "screenshots"
    screenshots.mkdir(exist_ok=True)
    image.save(str(screenshots / "demo_screenshot.png"))
