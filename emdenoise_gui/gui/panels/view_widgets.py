"""Small Qt pieces of the compare view: a row/column layout helper, an eliding title, the empty view's note."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


def row(layout: QtWidgets.QBoxLayout, *widgets, margins=0, spacing=None) -> QtWidgets.QBoxLayout:
    """Fill ``layout`` with (widget, stretch) pairs; margins and spacing in px."""
    layout.setContentsMargins(margins, margins, margins, margins)
    if spacing is not None:
        layout.setSpacing(spacing)
    for widget, stretch in widgets:
        layout.addWidget(widget, stretch)
    return layout


class Title(QtWidgets.QLabel):
    """A bold one-line title that elides its middle rather than widen the window (full text as tooltip)."""

    def __init__(self):
        super().__init__()
        self._full = ""
        self.setStyleSheet("font-weight: bold")
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        super().setText(self.fontMetrics().elidedText(text, QtCore.Qt.TextElideMode.ElideMiddle, self.width()))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.setText(self._full)


class Placeholder(QtWidgets.QLabel):
    """What the compare view shows instead of its images when it has none: a centred, wrapped note in
    the palette's placeholder colour (readable in the light and the dark theme)."""

    def __init__(self):
        super().__init__()
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setMargin(24)
        self.setForegroundRole(QtGui.QPalette.ColorRole.PlaceholderText)
        font = self.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.setFont(font)
