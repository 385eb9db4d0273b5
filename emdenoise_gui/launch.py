"""The entry points of the two executables, installed (``emdenoise``, ``emdenoise-gui``) or frozen.

``emdenoise ARGS`` runs the command line and ``emdenoise-gui ARGS`` the desktop app; either one with
``--smoke-test [--smoke-test-screenshot FILE]`` checks the installation instead (:mod:`smoke`). The
installer bundle freezes one launcher (``installer/launcher.py``) into both executables;
:func:`frozen_main` picks the program by the executable's name and calls
``multiprocessing.freeze_support()`` first, so that a worker process started by the frozen app runs
the worker and not a second app.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from emdenoise_gui.entry_flags import SCREENSHOT_FLAG, SMOKE_FLAG

#: Executable names (without .exe) that start the desktop app; any other name runs the command line.
GUI_NAMES = ("emdenoise-gui", "EMDenoise")


def _smoke_arguments(argv: list[str]) -> tuple[bool, str | None]:
    """Whether ``argv`` asks for the smoke test, and the screenshot file it names (or None)."""
    if SMOKE_FLAG not in argv:
        return False, None
    if SCREENSHOT_FLAG in argv:
        index = argv.index(SCREENSHOT_FLAG)
        if index + 1 >= len(argv):
            raise SystemExit(f"error: {SCREENSHOT_FLAG} needs a FILE")
        return True, argv[index + 1]
    return True, None


def _smoke(screenshot: str | None) -> int:
    """Run the smoke test and end the process at once (it ran the app: no library teardown)."""
    from emdenoise_gui import smoke

    code = smoke.run(screenshot)
    from emdenoise_gui.gui import lifetime

    lifetime.end_process(code)
    return code  # not reached


def _launch(argv: list[str] | None, program: str) -> int:
    """The smoke test when ``argv`` asks for it, else ``program``'s ``main(argv)`` (imported only then)."""
    argv = sys.argv[1:] if argv is None else argv
    smoke, screenshot = _smoke_arguments(argv)
    if smoke:
        return _smoke(screenshot)
    return importlib.import_module(program).main(argv)


#: The exit status of a run stopped by Ctrl-C (128 + SIGINT), as ``cli.exits.EXIT_CANCELLED``.
CANCELLED = 130


def _run(argv: list[str] | None, program: str, name: str) -> int:
    """:func:`_launch`, with a Ctrl-C while Python loads the program (before the program handles it: a
    traceback of 30-70 lines from the imports) said in one line; after a stop, later Ctrl-Cs and SIGTERMs are
    ignored while Python shuts down (a second Ctrl-C printed a traceback from torch's exit handler)."""
    import signal

    try:
        code = _launch(argv, program)
    except KeyboardInterrupt:
        print(f"\n{name}: cancelled while starting; nothing was done", file=sys.stderr)
        code = CANCELLED
    if code == CANCELLED:
        for stop in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop, signal.SIG_IGN)
    return code


def cli(argv: list[str] | None = None) -> int:
    """``emdenoise``: the command line (or the smoke test); the exit status."""
    return _run(argv, "emdenoise_gui.cli.main", "emdenoise")


def gui(argv: list[str] | None = None) -> int:
    """``emdenoise-gui``: the desktop app (or the smoke test); the exit status."""
    return _run(argv, "emdenoise_gui.gui.app", "emdenoise-gui")


def frozen_main() -> int:
    """The bundle's launcher: the app or the command line by the executable's name."""
    import multiprocessing

    multiprocessing.freeze_support()
    return gui() if Path(sys.executable).stem in GUI_NAMES else cli()
