"""Show in folder on Linux asks the file manager over D-Bus without waiting for it (the synchronous call
blocked the window until the file manager had started, up to 25 s), and opens the folder instead when
no file manager answers. Run on a private session bus (``dbus-run-session``) with no file manager."""

import shutil
import subprocess
import sys
import textwrap

import pytest

DRIVER = textwrap.dedent(r"""
    import sys, tempfile, time
    from pathlib import Path
    from PySide6 import QtCore, QtGui
    app = QtCore.QCoreApplication([])
    from emdenoise_gui.gui import reveal as module
    opened = []
    QtGui.QDesktopServices.openUrl = staticmethod(lambda url: opened.append(url.toLocalFile()) or True)
    path = Path(tempfile.mkdtemp()) / "result.tif"
    path.write_bytes(b"x")
    assert module.reveal(path)
    assert opened == [] and len(module._PENDING) == 1  # returned at once: asked, the answer not waited for
    deadline = time.monotonic() + 10
    while not opened and time.monotonic() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 20)
    print("opened", opened, "folder", str(path.parent), "pending", len(module._PENDING))
""")


@pytest.mark.skipif(sys.platform != "linux" or shutil.which("dbus-run-session") is None,
                    reason="needs Linux and dbus-run-session")
def test_reveal_does_not_wait_for_the_file_manager_and_opens_the_folder_when_none_answers():
    run = subprocess.run(["dbus-run-session", "--", sys.executable, "-c", DRIVER], capture_output=True,
                         text=True, timeout=60, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
                                                     "HOME": "/tmp"})
    assert run.returncode == 0, run.stderr[-2000:]
    line = run.stdout.strip().splitlines()[-1].split()
    folder = line[-3]  # the answer came later, through the event loop: no file manager, so
    assert line[1] == f"['{folder}']" and line[-1] == "0"  # the folder opened instead, nothing left pending
