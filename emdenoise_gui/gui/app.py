"""``emdenoise-gui`` (or ``python -m emdenoise_gui.gui.app``): start the desktop app.

    emdenoise-gui [PROJECT_FOLDER | STACK ...]
    emdenoise-gui --demo                       # the bundled FIB-SEM demo project
    emdenoise-gui --demo --screenshot out.png  # open it, run the default denoise, save the window, exit

Works headless with QT_QPA_PLATFORM=offscreen. Uncaught exceptions are shown in
a dialog (and logged) instead of killing the app.

Start-up shows the window first: the frame appears as soon as Qt is up (in the stored
appearance, ``theme``), then the viewer, the filters and the jobs are loaded into it
(``MainWindow.build``), and only then is the device looked for (importing torch).
Ctrl+C and SIGTERM quit like File ▸ Quit; the process ends within seconds of its
window closing (``lifetime``).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui import __version__, paths
from emdenoise_gui.entry_flags import SMOKE_EPILOG
from emdenoise_gui.gui import lifetime, theme
from emdenoise_gui.gui.settings import stored_appearance

DEMO_DIR = paths.demo_dir()
DEMO_STACKS = ("flyem_fibsem_demo_noisy.tif", "flyem_fibsem_demo.tif")
SCREENSHOT_TIMEOUT_MS = 300_000


def demo_project_folder() -> Path:
    """Where the demo project lives (a user folder: the bundled files themselves stay read-only)."""
    from emdenoise_gui.zoo.registry import user_dir

    return user_dir().parent / "demo-project"


def open_demo(window) -> bool:
    """Open (creating on first use) the demo project with the bundled noisy and clean crops.

    The demo project is the user's like any other (they may add stacks and results to it), so nothing
    in it is ever deleted: after an upgrade moved the bundled crops its stacks are pointed at their new
    place; a demo project that cannot be opened (damaged, or from a newer version) or has lost the demo
    crops is moved aside to ``demo-project.old-<date>`` and a new one made."""
    folder = demo_project_folder()
    if (folder / "project.json").exists():
        if _reopen_demo(window, folder):
            return True
        kept = _set_aside(folder)
        if kept is None:
            window.controller.warning.emit(
                "Cannot open the demo project",
                f"{folder} could not be opened or moved aside: move or rename it yourself, then open the demo again")
            return False
        window.controller.status.emit(f"The demo project could not be used; it was kept as {kept} and a new one made")
    if not window.controller.new_project(folder):
        return False
    window.controller.project.name = "EMDenoise demo (FlyEM FIB-SEM)"
    window.controller.add_paths([DEMO_DIR / name for name in DEMO_STACKS])
    window.controller.undo_stack.clear()
    first = window.controller.project.stacks[0].id
    window.show_stack(first)
    window.project_panel.refresh(window.controller.project, select=("stack", first))
    return True


def _reopen_demo(window, folder: Path) -> bool:
    """Open the existing demo project, its demo crops pointed at the bundled files first where those moved
    (a new install; saved before it opens, so no "Missing input files" box for what the app finds itself).
    False, with nothing opened (the project open before stays), where it cannot be read or a demo crop is
    not there (nor one of the same shape at the bundled place)."""
    from emdenoise_gui.project.project import Project

    try:
        project = Project.open(folder)
        moved = False
        for record in project.stacks:
            bundled = DEMO_DIR / Path(record.path).name
            if bundled.name in DEMO_STACKS and not Path(record.path).exists() and bundled.exists():
                project.locate_stack(record.id, bundled)
                moved = True
        present = {Path(s.path).name for s in project.stacks if Path(s.path).exists()}
        if not all(name in present for name in DEMO_STACKS):
            return False
        if moved:
            project.save()
    except Exception:  # damaged, from a newer version, crops of another shape: set aside, never a reason not to start
        return False
    return window.open_project(folder)


def _set_aside(folder: Path) -> Path | None:
    """Rename ``folder`` to ``<name>.old-<YYYYmmdd-HHMMSS>`` (a number added if that exists); the new
    path, or None where it could not be renamed."""
    import time

    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 100):
        target = folder.with_name(f"{folder.name}.old-{stamp}" + (f"-{n}" if n > 1 else ""))
        if os.path.lexists(target):
            continue
        try:
            os.rename(folder, target)
        except OSError:
            return None
        return target
    return None


#: Boxes the exception hook has open: a parentless box no Python name holds would be deleted at once.
_OPEN_BOXES: list = []


def _tell(icon, title: str, text: str, details: str = "") -> None:
    """Open a message box for the exception hook (not modal to a click that has already returned)."""
    box = QtWidgets.QMessageBox(icon, title, text)
    if details:
        box.setDetailedText(details)
    _OPEN_BOXES.append(box)
    box.finished.connect(lambda _result, b=box: _OPEN_BOXES.remove(b) if b in _OPEN_BOXES else None)
    box.open()


def _install_excepthook() -> None:
    def hook(kind, value, tb):
        from emdenoise_gui.core.errors import system_failure

        failure = system_failure(value)  # a disk or a network share failed under a click: not a bug to report
        app = QtWidgets.QApplication.instance()
        if failure is not None:
            sys.stderr.write(f"emdenoise: {failure}\n")
            if app is not None:
                _tell(QtWidgets.QMessageBox.Icon.Warning, "Cannot read or write", str(failure))
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write(text)
        if app is not None and not isinstance(value, KeyboardInterrupt):
            _tell(QtWidgets.QMessageBox.Icon.Critical, "Unexpected error",
                  f"{kind.__name__}: {value}\n\nEMDenoise keeps running; please report this.", text)

    sys.excepthook = hook


def screenshot_after_denoise(window, path: str, app, waited_ms: int = 0) -> None:
    """Once the zoo has measured the shown stack's fit and preselected a denoiser for it (after the
    candidates' speeds are timed; at most 30 s), run that denoise, then save the window to ``path`` and
    quit. (It used to start at once, with the default shipped model: on an ssTEM stack the picture showed a
    poor-fit NRRN where the app picks a filter.)"""
    zoo = window.zoo_panel
    if zoo.preselecting and waited_ms < 30_000:
        QtCore.QTimer.singleShot(200, lambda: screenshot_after_denoise(window, path, app, waited_ms + 200))
        return
    state = {"code": 1}

    def save_and_quit(code: int) -> None:
        app.processEvents()
        ok = window.grab().save(path)
        if not ok:
            print(f"emdenoise-gui: could not save the picture to {path}: is its folder there and writable?",
                  file=sys.stderr)
        state["code"] = code if ok else 1
        window.force_close = True
        app.exit(state["code"])

    job = window.denoise_current()
    if job is None:
        print("emdenoise-gui: nothing to denoise for the screenshot", file=sys.stderr)
        QtCore.QTimer.singleShot(0, lambda: save_and_quit(1))
        return
    def settled() -> bool:
        """Whether the threads behind the picture are done: the status bar's device probe (it imports
        torch) and the zoo's fit check of the stack and speed estimate of the selected model."""
        return window.device.known and not window.zoo_panel.measuring

    def when_settled(_value=None, waited_ms: int = 0) -> None:
        if not settled() and waited_ms < 30_000:  # at most 30 s more
            QtCore.QTimer.singleShot(200, lambda: when_settled(None, waited_ms + 200))
        else:
            QtCore.QTimer.singleShot(300, lambda: save_and_quit(0))

    job.finished.connect(when_settled)
    job.failed.connect(lambda failure: (print(f"emdenoise-gui: denoise failed: {failure.message}\n"
                                              f"{failure.details}", file=sys.stderr), save_and_quit(1)))
    QtCore.QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: save_and_quit(1))


def when_built(window, args, app) -> None:
    """Do what the command line asked (demo, projects, stacks, screenshot) in the built window."""
    if args.demo and not open_demo(window):
        print("emdenoise-gui: could not open the demo project", file=sys.stderr)
        window.force_close = True
        app.exit(1)
        return
    from emdenoise_gui.gui.settings import settings_problem

    problem = settings_problem()
    if problem:  # the app runs on defaults; said once, not a traceback before the window
        window.controller.warning.emit("Settings cannot be saved", problem)
    reset = window.controller.settings_reset
    if reset:  # a hand-edited or another version's value: it ran on the default without a word (Settings audit)
        window.controller.status.emit(f"Settings reset to their defaults (their stored values cannot be used): "
                                      f"{', '.join(reset)}; see Edit ▸ Settings")
    missing = [path for path in args.paths if not Path(path).exists()]
    if missing:  # not a question about creating a project for a file that is not there
        window.controller.warning.emit("Not found", "\n".join(f"{path}: no such file or folder" for path in missing))
    for path in (p for p in args.paths if p not in missing):
        if (Path(path) / "project.json").exists():
            window.open_project(path)
        elif args.screenshot and window.controller.project is None:  # no one to answer "make a project?": it
            # waited for ever offscreen; a picture needs a project of its own, in a temporary folder
            import tempfile

            window.screenshot_scratch = Path(tempfile.mkdtemp(prefix="emdenoise-screenshot-"))  # removed at the end
            window.controller.new_project(window.screenshot_scratch / "project", remember=False)
            window.controller.add_paths([path])
        elif window.ensure_project(1):
            window.controller.add_paths([path])
    if args.screenshot:
        screenshot_after_denoise(window, args.screenshot, app)


def _quiet_offscreen() -> None:
    """Under the offscreen platform (window pictures, smoke tests, CI) Qt warns "This plugin does not
    support propagateSizeHints()" once per dock widget, which tells a reader nothing: drop that message
    and print every other one as Qt would."""
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return

    def handler(_mode, _context, message: str) -> None:
        if "propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    QtCore.qInstallMessageHandler(handler)


def use_english_numbers() -> None:
    """Number boxes write and read numbers as the app's English labels do ("1,500 steps", "0.5 e⁻/px"),
    whatever the system's locale: under a German one the boxes showed "0,00050" beside labels saying "24.4
    steps per second", and "1,500 steps" read as 1.5 (locale audit of 2026-12-06). A decimal comma typed in a
    decimal box is refused there, never read as a thousands separator (gui.decimal_box)."""
    QtCore.QLocale.setDefault(QtCore.QLocale(QtCore.QLocale.Language.English, QtCore.QLocale.Country.UnitedStates))


def main(argv: list[str] | None = None, end_process: bool = True) -> int:
    """Run the app until its window closes. As the process's entry point (``end_process``, the default)
    the process then ends at once with the exit status (``lifetime.end_process``: no library teardown);
    with ``end_process=False`` the status is returned instead."""
    parser = argparse.ArgumentParser(
        prog="emdenoise-gui", description=f"EMDenoise {__version__} desktop app",
        epilog=SMOKE_EPILOG.format(prog="emdenoise-gui"))
    parser.add_argument("paths", nargs="*", help="a project folder, or stacks to add to a new project")
    parser.add_argument("--demo", action="store_true", help="open the bundled FIB-SEM demo project")
    parser.add_argument("--screenshot", metavar="FILE",
                        help="run the default denoise, save a picture of the window to FILE and exit")
    args = parser.parse_args(argv)
    _quiet_offscreen()
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    use_english_numbers()
    app.setApplicationName("EMDenoise")
    app.setOrganizationName("EMDenoise")
    app.setDesktopFileName("emdenoise")  # the installed .desktop entry: its icon and name on Wayland docks
    app.setWindowIcon(QtGui.QIcon(str(paths.icon_file())))
    _install_excepthook()
    theme.apply(app, stored_appearance())
    from emdenoise_gui.gui.main_window import MainWindow

    window = MainWindow(deferred=True, remember_layout=not args.screenshot)  # a picture: always the default layout
    window.built.connect(lambda: when_built(window, args, app))
    window.show()
    quitter = lifetime.quit_on_signals(window)
    window.build_when_shown()
    code = app.exec()
    if args.screenshot:
        window.close()
        scratch = getattr(window, "screenshot_scratch", None)
        if scratch is not None:  # the picture's own project and its result (a denoised copy of the stack)
            import shutil

            shutil.rmtree(scratch, ignore_errors=True)
    if quitter is not None:
        quitter.uninstall()
    if end_process:
        lifetime.end_process(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
