"""Under a Turkish C locale (LANG=tr_TR.UTF-8, which Qt applies on Unix) PySide6 cannot match a keyword property
that starts with a lowercase "i" (``QTimer(self, interval=...)``: the dotless-i trap), and the main window was not
built at all (audit of 2026-12-06). The locale is seldom installed where tests run, so the code is scanned: no
Qt constructor or call in the app may take such a keyword; set it with its setter instead."""

import ast
from pathlib import Path

import emdenoise_gui

APP = Path(emdenoise_gui.__file__).parent
QT_MODULES = {"QtCore", "QtGui", "QtWidgets", "pg"}


def _qt_call(node: ast.Call) -> bool:
    """Whether ``node`` calls something reached through a Qt module (QtCore.QTimer(...), pg.PlotWidget(...))."""
    target = node.func
    while isinstance(target, ast.Attribute):
        target = target.value
    return isinstance(target, ast.Name) and target.id in QT_MODULES


def test_no_qt_call_takes_a_keyword_starting_with_a_lowercase_i():
    found = []
    for path in sorted(APP.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and _qt_call(node):
                found += [f"{path.relative_to(APP)}:{node.lineno} {k.arg}=" for k in node.keywords
                          if k.arg and k.arg.startswith("i")]
    assert not found, found


def test_the_scan_finds_such_a_keyword():
    tree = ast.parse("QtCore.QTimer(self, interval=5)")
    call = next(n for n in ast.walk(tree) if isinstance(n, ast.Call))
    assert _qt_call(call) and call.keywords[0].arg == "interval"
