"""Light, dark or the desktop's own appearance (Settings ▸ Appearance), applied to the whole app.

"light" and "dark" use Qt's Fusion style with a fixed palette, so the window looks the same on
every desktop; "system" gives back the style and palette the app started with. The image views
keep their black surround in every appearance (grey values are judged against black); the
plots (line profile, training loss) get a dark background in "dark". pyqtgraph is never
imported here: its plots are restyled only when it is already loaded (it takes a second).

Text that carries a meaning (a warning, the zoo's fit grades, secondary grey) takes its colour from
:data:`TONES` through :func:`tone`, light or dark after the palette in use: labels through
:func:`set_tone` (re-coloured when the appearance changes), list items through :data:`TONE_ROLE` and a
:class:`ToneDelegate` (coloured when drawn).
"""

from __future__ import annotations

import sys

from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui.gui.settings import APPEARANCES

Role = QtGui.QPalette.ColorRole
Group = QtGui.QPalette.ColorGroup
#: Background and text of the plots in the dark appearance.
DARK_PLOT = ("#1b1d21", "#d0d3d8")

#: Colours of meaningful text, (light, dark), each at least 4.5:1 (WCAG AA) against its appearance's
#: window, list and alternate-row backgrounds (#efefef, white, #f7f7f7; #2b2d31, #1e1f22): "warn" what must
#: change, the zoo's fit grades "good", "possible" and "poor", "muted" secondary or unavailable things.
TONES = {"warn": ("#b3261e", "#ff8a80"), "good": ("#2e7a32", "#81c784"), "possible": ("#8c5a00", "#ffb74d"),
         "poor": ("#c62828", "#ef9a9a"), "muted": ("#6a6a6a", "#a0a0a0")}
#: Item-data role holding the name of an item's tone (a key of :data:`TONES`), drawn by :class:`ToneDelegate`.
TONE_ROLE = QtCore.Qt.ItemDataRole.UserRole + 64
_TONE_PROPERTY = "emdenoiseTone"  # the tone of a widget's text, set by set_tone

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
    retone(app)


def palette_is_dark(palette: QtGui.QPalette) -> bool:
    """Whether ``palette`` is a dark one (its text lighter than its window)."""
    return palette.color(Role.WindowText).lightness() > palette.color(Role.Window).lightness()


def is_dark(app: QtWidgets.QApplication) -> bool:
    """Whether the app's windows are now dark (text lighter than the window)."""
    return palette_is_dark(app.palette())


def tone(name: str, palette: QtGui.QPalette | None = None) -> str:
    """The colour (#rrggbb) of the :data:`TONES` entry ``name`` for ``palette`` (default: the app's now)."""
    return TONES[name][palette_is_dark(palette if palette is not None else QtGui.QGuiApplication.palette())]


def tone_style(name: str) -> str:
    """A style sheet / HTML ``style`` value giving text the tone ``name`` in the appearance now shown."""
    return f"color: {tone(name)};"


def set_tone(widget: QtWidgets.QWidget, name: str | None) -> None:
    """Colour ``widget``'s text with the tone ``name`` (None: the palette's own text colour again); the colour
    follows later appearance changes (:func:`retone`). Replaces the widget's style sheet."""
    widget.setProperty(_TONE_PROPERTY, name or "")
    widget.setStyleSheet(tone_style(name) if name else "")


def retone(app: QtWidgets.QApplication) -> None:
    """Give every widget coloured by :func:`set_tone` its tone's colour for the app's palette now."""
    for widget in app.allWidgets():
        name = widget.property(_TONE_PROPERTY)
        if name:
            widget.setStyleSheet(tone_style(name))


class ToneDelegate(QtWidgets.QStyledItemDelegate):
    """Draws an item whose :data:`TONE_ROLE` names a tone in that tone's colour for the view's palette, read
    when the item is drawn (so it follows appearance changes)."""

    def initStyleOption(self, option, index) -> None:  # noqa: N802 - Qt's name
        super().initStyleOption(option, index)
        name = index.data(TONE_ROLE)
        if name:
            option.palette.setColor(Role.Text, QtGui.QColor(tone(name, option.palette)))


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
