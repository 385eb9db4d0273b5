"""Light, dark or the desktop's own appearance (Settings ▸ Appearance), applied to the whole app.

"light" and "dark" use Qt's Fusion style with a fixed palette, so the window looks the same on
every desktop; "system" gives back the style and palette the app started with. The image views
keep their black surround in every appearance (grey values are judged against black); the
plots (line profile, training loss) get a dark background in "dark". pyqtgraph is never
imported here: its plots are restyled only when it is already loaded (it takes a second).
"""

from __future__ import annotations

import sys

from PySide6 import QtGui, QtWidgets

from emdenoise_gui.gui.settings import APPEARANCES

Role = QtGui.QPalette.ColorRole
Group = QtGui.QPalette.ColorGroup
#: Background and text of the plots in the dark appearance.
DARK_PLOT = ("#1b1d21", "#d0d3d8")

_started_with: dict = {}  # the style name and palette before the first change
#: Fusion outlines check boxes, radio buttons and text fields with the window colour darkened, which on the
#: dark palette is the fields' own colour (1.2:1): the dark appearance draws those outlines itself
DARK_OUTLINES = """
QCheckBox::indicator, QRadioButton::indicator, QTreeView::indicator {
    width: 12px; height: 12px; border: 1px solid #8b8f96; background: #1e1f22; }
QRadioButton::indicator { border-radius: 7px; }
QCheckBox::indicator:checked, QRadioButton::indicator:checked, QTreeView::indicator:checked {
    background: #3d7dd8; border-color: #9cc2f5; }
QCheckBox::indicator:disabled, QRadioButton::indicator:disabled { border-color: #55585e; }
QCheckBox::indicator:checked:disabled, QRadioButton::indicator:checked:disabled { background: #4a5568; }
QLineEdit { border: 1px solid #6a6e76; border-radius: 2px; padding: 1px 2px; background: #1e1f22; }
QLineEdit:focus { border-color: #6cb6ff; }
"""


def dark_palette() -> QtGui.QPalette:
    """A dark palette: near-black panels, light grey text, a blue highlight readable on both."""
    colours = {
        Role.Window: "#2b2d31", Role.WindowText: "#e3e5e8", Role.Base: "#1e1f22",
        Role.AlternateBase: "#2b2d31", Role.ToolTipBase: "#1e1f22", Role.ToolTipText: "#e3e5e8",
        Role.PlaceholderText: "#8b8f96", Role.Text: "#e3e5e8", Role.Button: "#35373c",
        Role.ButtonText: "#e3e5e8", Role.BrightText: "#ff6b6b", Role.Link: "#6cb6ff",
        Role.Highlight: "#3d7dd8", Role.HighlightedText: "#ffffff", Role.Light: "#4a4d53",
        Role.Midlight: "#3c3f45", Role.Mid: "#2f3136", Role.Dark: "#1a1b1e", Role.Shadow: "#000000",
    }
    palette = QtGui.QPalette()
    for role, colour in colours.items():
        palette.setColor(role, QtGui.QColor(colour))
    for role in (Role.WindowText, Role.Text, Role.ButtonText):
        palette.setColor(Group.Disabled, role, QtGui.QColor("#7a7e85"))
    return palette


def palette_for(choice: str) -> QtGui.QPalette | None:
    """The palette of an appearance ("light" or "dark"); None for "system" (the desktop's)."""
    if choice == "dark":
        return dark_palette()
    if choice == "light":
        return QtWidgets.QStyleFactory.create("Fusion").standardPalette()
    return None


def apply(app: QtWidgets.QApplication, choice: str) -> None:
    """Give ``app`` the appearance ``choice`` (one of ``settings.APPEARANCES``; unknown means "system")."""
    if not _started_with:
        _started_with.update(style=app.style().name(), palette=QtGui.QPalette(app.palette()))
    choice = choice if choice in APPEARANCES else "system"
    palette = palette_for(choice)
    if palette is None:
        app.setStyle(_started_with["style"])
        app.setPalette(_started_with["palette"])
    else:
        app.setStyle("Fusion")
        app.setPalette(palette)
    app.setStyleSheet(DARK_OUTLINES if choice == "dark" else "")
    restyle_plots(app, choice)


def is_dark(app: QtWidgets.QApplication) -> bool:
    """Whether the app's windows are now dark (text lighter than the window)."""
    palette = app.palette()
    return palette.color(Role.WindowText).lightness() > palette.color(Role.Window).lightness()


def restyle_plots(app: QtWidgets.QApplication, choice: str) -> None:
    """Plots (pyqtgraph PlotWidgets: profile, loss) dark in "dark", their own colours otherwise.

    Does nothing before pyqtgraph is loaded; the window calls it again once its panels exist.
    """
    pg = sys.modules.get("pyqtgraph")
    if pg is None:
        return
    dark = choice == "dark" or (choice == "system" and is_dark(app))
    for widget in app.allWidgets():
        if not isinstance(widget, pg.PlotWidget):
            continue
        if dark:
            if not hasattr(widget, "_emdenoise_background"):  # remember the panel's own colours
                widget._emdenoise_background = widget.backgroundBrush().color()
                widget._emdenoise_text = widget.getPlotItem().getAxis("left").textPen().color()
            widget.setBackground(DARK_PLOT[0])
            colour = DARK_PLOT[1]
        elif hasattr(widget, "_emdenoise_background"):
            widget.setBackground(widget._emdenoise_background)
            colour = widget._emdenoise_text
        else:
            continue
        for name in ("left", "bottom"):
            axis = widget.getPlotItem().getAxis(name)
            axis.setTextPen(colour)
            axis.setPen(colour)
