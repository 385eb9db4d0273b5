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


#: What separates a title's parts ("Original — NAME  ·  slice 3  ·  10 nm/px  ·  high-pass σ 5 px").
TITLE_PARTS = "  ·  "


class Title(QtWidgets.QLabel):
    """A bold one-line title that shortens rather than widen the window (full text as tooltip): the middle of its
    first part (the stack's name) first, so the slice, pixel size and view stay readable ("Original —
    fibsem_flyem_m…m/px  ·  high-pass σ 5 px" lost the slice number and the pixel size: viewer audit), the
    middle of the whole when even that does not fit."""

    def __init__(self):
        super().__init__()
        self._full = ""
        self.setStyleSheet("font-weight: bold")
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        super().setText(self.fitted(text, self.width()))

    def fitted(self, text: str, width: int) -> str:
        """``text`` shortened to ``width`` px, its first part's middle first."""
        metrics, middle = self.fontMetrics(), QtCore.Qt.TextElideMode.ElideMiddle
        if metrics.horizontalAdvance(text) <= width:
            return text
        head, sep, rest = text.partition(TITLE_PARTS)
        room = width - metrics.horizontalAdvance(sep + rest)
        if sep and room >= metrics.horizontalAdvance(head[:12] + "…"):  # a name still worth showing
            return metrics.elidedText(head, middle, room) + sep + rest
        return metrics.elidedText(text, middle, width)

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
