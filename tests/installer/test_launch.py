"""emdenoise_gui.launch (both executables' entry points) and the smoke test."""

import subprocess
import sys

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
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path))
    monkeypatch.setattr(smoke, "MIN_GAIN_DB", 99.0)
    lines = []
    assert smoke.run(out=lines.append) == 1
    assert lines[-1].startswith("FAILED denoise demo: the denoised demo is only"), lines[-1]


@pytest.mark.slow
@pytest.mark.gui
def test_smoke_test_passes_as_the_installed_command(tmp_path):
    """`emdenoise --smoke-test` in a child process, as a user runs it: every step, a picture, exit 0."""
    picture = tmp_path / "window.png"
    result = subprocess.run([sys.executable, "-m", "emdenoise_gui", "--smoke-test", "--smoke-test-screenshot",
                             str(picture)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert steps == ["device", "load", "denoise", "app", "passed"], result.stdout
    assert "Python" in result.stdout.splitlines()[0] and picture.stat().st_size > 20_000
