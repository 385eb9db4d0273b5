"""Keyboard on the compare view's images: step through slices, zoom, pan, fit.

:data:`SHORTCUTS` is what the Help menu lists. :class:`ViewKeys` watches the image views
(the keys work once a view has the focus, e.g. after a click on the image) and calls the
compare view's ``slice_loader`` (steps: read off the window's thread where slow), ``depth``, ``zoom``, ``pan`` and
``reset_view``.
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

Key = QtCore.Qt.Key

#: (keys, what they do), in the words the Help menu shows.
SHORTCUTS: list[tuple[str, str]] = [
    ("Right or Up", "Next slice (one deeper in z)"),
    ("Left or Down", "Previous slice"),
    ("Page Down / Page Up", "10 slices back / 10 slices on"),
    ("Home / End", "First / last slice"),
    ("+ or =", "Zoom in (both views)"),
    ("−", "Zoom out (both views)"),
    ("Alt+arrow keys", "Pan: move the view a quarter of its width or height (both views)"),
    ("0", "Fit the whole image in the view"),
    ("B", "Blink mode: flip between original and result by hand (pauses blinking)"),
    ("Menu or Shift+F10", "The image menu: save or copy a figure, preview or denoise the Region tool's box"),
]

#: Zoom factor of one + or − press.
ZOOM_STEP = 1.25
#: Slices one Page Up / Page Down moves.
PAGE = 10
#: Share of the visible width or height one Alt+arrow press pans.
PAN_STEP = 0.25

_STEPS = {Key.Key_Right: 1, Key.Key_Up: 1, Key.Key_Left: -1, Key.Key_Down: -1,
          Key.Key_PageUp: PAGE, Key.Key_PageDown: -PAGE}
_PANS = {Key.Key_Right: (PAN_STEP, 0), Key.Key_Left: (-PAN_STEP, 0), Key.Key_Down: (0, PAN_STEP),
         Key.Key_Up: (0, -PAN_STEP)}
_ZOOMS = {"+": ZOOM_STEP, "=": ZOOM_STEP, "-": 1 / ZOOM_STEP, "−": 1 / ZOOM_STEP}


class ViewKeys(QtCore.QObject):
    """Event filter for the image views that turns the keys of :data:`SHORTCUTS` into view actions."""

    def __init__(self, compare, widgets):
        super().__init__(compare)
        self.compare = compare
        for widget in widgets:
            widget.installEventFilter(self)

    def handle(self, event: QtGui.QKeyEvent, act: bool = True) -> bool:
        """Whether ``event`` is one of ours (without modifiers other than keypad); do it if ``act``."""
        if event.key() == Key.Key_Menu or (event.key() == Key.Key_F10
                                           and event.modifiers() == QtCore.Qt.KeyboardModifier.ShiftModifier):
            act and self._menu(event)  # the right-click menu from the keyboard (figures, region jobs)
            return True
        modifiers = event.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier
        if modifiers == QtCore.Qt.KeyboardModifier.AltModifier and event.key() in _PANS:
            act and self.compare.pan(*_PANS[event.key()])
            return True
        if modifiers & ~QtCore.Qt.KeyboardModifier.ShiftModifier:
            return False  # other Ctrl, Alt and Meta combinations belong to the menus
        key, text, compare = event.key(), event.text(), self.compare
        if key in _STEPS:
            act and compare.slice_loader.go(compare.slice_loader.target() + _STEPS[key])  # from the one asked for
        elif key in (Key.Key_Home, Key.Key_End):
            act and compare.slice_loader.go(0 if key == Key.Key_Home else compare.depth() - 1)
        elif text in _ZOOMS:
            act and compare.zoom(_ZOOMS[text])
        elif text == "0":
            act and compare.reset_view()
        else:
            return False
        return True

    def _menu(self, event) -> None:
        widget = QtWidgets.QApplication.focusWidget() or self.compare
        self.compare.menu.show_at(widget.mapToGlobal(widget.rect().center()))

    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind == QtCore.QEvent.Type.ShortcutOverride and self.handle(event, act=False):
            event.accept()  # ours, not a window shortcut's: the key press comes to the view
            return True
        if kind == QtCore.QEvent.Type.KeyPress and self.handle(event):
            return True
        return False
