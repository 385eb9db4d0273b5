"""The project panel: the project's stacks (thumbnail, shape, dtype, voxel size) and their results.

A stack's thumbnail arrives after the stack (it is read in the background); until then a grey
placeholder stands in. Right-click: details, show in the file manager, remove a stack, locate the
file of a stack that moved, delete a result (the window asks first).
"""

from __future__ import annotations

import sys

from PySide6 import QtCore, QtGui, QtWidgets

from emdenoise_gui.gui import theme
from emdenoise_gui.gui.imaging import thumbnail
from emdenoise_gui.gui.panels.slices import pixel_words, slice_span
from emdenoise_gui.jobs.denoise import method_title

ROLE_KIND, ROLE_ID = QtCore.Qt.ItemDataRole.UserRole, QtCore.Qt.ItemDataRole.UserRole + 1
ICON_PX = 56
#: The file-manager entry, in the words of each platform.
REVEAL_TEXT = {"darwin": "Reveal in Finder", "win32": "Show in Explorer"}.get(sys.platform, "Show in File Manager")
NO_PROJECT_TEXT = ("No project open.\n\nDrop TIFF, MRC or OME-Zarr stacks here\nto start a project with them,\n"
                   "or use File ▸ New Project.")
EMPTY_PROJECT_TEXT = "Drop TIFF, MRC or OME-Zarr stacks here,\nor use File ▸ Add Stacks."
#: After the name of a stack whose file is gone (grey alone said it only to those who see the grey).
MISSING_MARK = "(file missing)"
MISSING_TEXT = "The file is missing: it was moved or deleted. Right-click ▸ Locate File… to point to its new place."


def placeholder_icon(side: int = ICON_PX) -> QtGui.QIcon:
    """A plain grey square: the thumbnail of a stack whose picture is still being read."""
    pixmap = QtGui.QPixmap(side, side)
    pixmap.fill(QtGui.QColor("#8a8d91"))
    return QtGui.QIcon(pixmap)


def describe_stack(record) -> str:
    """Two short lines under a stack's name (a narrow panel must not cut them): "16 × 256 × 256 uint8"
    (slices × rows × columns, data type) and "10 nm/px" ("x 4 × y 5 nm/px" for pixels that are not square, then
    ", z 40 nm" where the slices' step is not the pixel size: neighbour-slice models care) or "pixel size
    unknown"."""
    z, y, x = record.shape
    voxel = record.voxel_size_nm
    step = f", z {voxel[0]:.4g} nm" if voxel and z > 1 and voxel[0] != voxel[2] else ""
    return f"{z} × {y} × {x}  {record.dtype}\n{pixel_words(voxel)}{step}"


def describe_result(record) -> str:
    """A result in two short lines: "flyem-nrrn-lite (model)" or "Median 3x3 (filter)", then
    "slices 0–15, float32" ("slice 0, float32" for one)."""
    start, stop = record.slices
    what = "model" if record.kind == "model" else "filter"
    return (f"{method_title(record.kind, record.method)} ({what})\n"
            f"{slice_span(start, stop - 1)}, {record.parameters.get('dtype', 'float32')}")


class ProjectPanel(QtWidgets.QWidget):
    """A tree: stacks at the top level, their results below.

    Signals: ``stack_selected(str)``, ``result_selected(str)`` (record ids),
    ``add_requested()``, ``remove_requested(str)`` (a stack id), ``details_requested(str, str)`` (kind, id),
    ``reveal_requested(str, str)`` (kind, id: show its file in the file manager),
    ``delete_result_requested(str)`` (a result id; the receiver asks before deleting),
    ``locate_requested(str)`` (the id of a stack whose file is missing: ask the user where it is).
    """

    stack_selected = QtCore.Signal(str)
    result_selected = QtCore.Signal(str)
    add_requested = QtCore.Signal()
    remove_requested = QtCore.Signal(str)
    details_requested = QtCore.Signal(str, str)
    reveal_requested = QtCore.Signal(str, str)
    delete_result_requested = QtCore.Signal(str)
    locate_requested = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tree = QtWidgets.QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setAccessibleName("Project stacks and results")
        self.tree.setItemDelegate(theme.ToneDelegate(self.tree))  # a missing stack's grey, readable in both themes
        self.tree.setIconSize(QtCore.QSize(ICON_PX, ICON_PX))
        self.tree.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)  # a long name keeps its end (.tif)
        self.tree.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.tree.itemDoubleClicked.connect(lambda item, _col: self._details(item))
        self.add_button = add = QtWidgets.QPushButton("Add stacks…")
        add.setToolTip("Add TIFF, MRC or OME-Zarr stacks (or drag files and folders onto the window)")
        add.clicked.connect(self.add_requested)
        self.remove_button = QtWidgets.QPushButton("Remove")
        self.remove_button.setToolTip("Remove the selected stacks from the project (their files are not touched; "
                                      "Edit ▸ Undo brings them back), or delete the selected result (asks first)")
        self.remove_button.clicked.connect(self._remove_current)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove_button)
        self.empty = QtWidgets.QLabel(NO_PROJECT_TEXT)
        self.empty.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        theme.set_tone(self.empty, "muted")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.empty)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self._thumbs: dict[str, QtGui.QPixmap] = {}
        self._placeholder = placeholder_icon()
        self._missing: set[str] = set()  # ids of the stacks whose file is gone, at the last refresh
        self._stack_items: dict[str, QtWidgets.QTreeWidgetItem] = {}  # the tree's stack items by record id

    def set_thumbnail(self, stack_id: str, image) -> None:
        """Show a thumbnail (a (Y, X) array) for a stack, now if it is listed, and at every ``refresh``."""
        self._thumbs[stack_id] = thumbnail(image, ICON_PX)
        item = self._stack_items.get(stack_id)  # by id: a walk of the tree per thumbnail was N^2 for N stacks
        if item is not None:
            item.setIcon(0, QtGui.QIcon(self._thumbs[stack_id]))

    def clear_thumbnails(self) -> None:
        """Forget every thumbnail (another project: its stack ids mean other files)."""
        self._thumbs.clear()

    def refresh(self, project, select: tuple[str, str] | None = None) -> None:
        """Rebuild the tree from ``project``; keep or set the selection (kind, id)."""
        current = select or self.selection()
        self._missing = missing = {r.id for r in project.missing_inputs()} if project else set()
        self.tree.blockSignals(True)
        self.tree.clear()
        self._stack_items = {}
        chosen = None
        results = project.results_by_stack() if project else {}
        for record in (project.stacks if project else []):
            gone = record.id in missing
            name = f"{record.name} {MISSING_MARK}" if gone else record.name
            item = QtWidgets.QTreeWidgetItem([f"{name}\n{describe_stack(record)}"])
            item.setData(0, ROLE_KIND, "stack")
            item.setData(0, ROLE_ID, record.id)
            item.setToolTip(0, f"{record.path}\n{record.format}")
            item.setIcon(0, QtGui.QIcon(self._thumbs[record.id]) if record.id in self._thumbs else self._placeholder)
            if gone:
                item.setData(0, theme.TONE_ROLE, "muted")
                item.setToolTip(0, f"{record.path}\n{MISSING_TEXT}")
                item.setData(0, QtCore.Qt.ItemDataRole.AccessibleDescriptionRole, MISSING_TEXT)
            self.tree.addTopLevelItem(item)
            self._stack_items[record.id] = item
            if current == ("stack", record.id):
                chosen = item
            for result in results.get(record.id, ()):
                child = QtWidgets.QTreeWidgetItem([describe_result(result)])
                child.setData(0, ROLE_KIND, "result")
                child.setData(0, ROLE_ID, result.id)
                child.setToolTip(0, str(project.absolute(result)))
                item.addChild(child)
                if current == ("result", result.id):
                    chosen = child
            item.setExpanded(True)
        self.tree.blockSignals(False)
        has = bool(project and project.stacks)
        self.empty.setText(EMPTY_PROJECT_TEXT if project is not None else NO_PROJECT_TEXT)
        self.empty.setVisible(not has)
        self.remove_button.setEnabled(has)
        if chosen is not None:
            self.tree.setCurrentItem(chosen)

    def mark_shown(self, kind: str, ident: str) -> None:
        """Make the item of what the viewer shows (``kind`` "stack" or "result", its record id) the current
        one, quietly (no ``*_selected`` signal): a finished job's result is shown and so selected."""
        for item in self._items():
            if (item.data(0, ROLE_KIND), item.data(0, ROLE_ID)) == (kind, ident):
                if item is not self.tree.currentItem():
                    with QtCore.QSignalBlocker(self.tree):
                        self.tree.setCurrentItem(item)
                    self.tree.viewport().update()  # the blocked signals would have repainted the old one
                return

    def _items(self):
        """Every item of the tree: stacks and, below each, its results."""
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            yield top
            yield from (top.child(j) for j in range(top.childCount()))

    def selection(self) -> tuple[str, str] | None:
        item = self.tree.currentItem()
        return (item.data(0, ROLE_KIND), item.data(0, ROLE_ID)) if item else None

    def selected_stack_ids(self) -> list[str]:
        """Ids of every selected stack (a selected result counts as its stack)."""
        ids = []
        for item in self.tree.selectedItems():
            top = item if item.parent() is None else item.parent()
            stack_id = top.data(0, ROLE_ID)
            if stack_id not in ids:
                ids.append(stack_id)
        return ids

    def _current_changed(self, item, _previous) -> None:
        if item is None:
            return
        kind, ident = item.data(0, ROLE_KIND), item.data(0, ROLE_ID)
        (self.stack_selected if kind == "stack" else self.result_selected).emit(ident)

    def _remove_current(self) -> None:
        """Remove the selected stacks; with only results selected, delete the current one (asking first): a
        selected result removed its whole stack and every result of it, without a word (help audit)."""
        chosen = self.tree.selectedItems()
        stacks = [item.data(0, ROLE_ID) for item in chosen if item.data(0, ROLE_KIND) == "stack"]
        if stacks:
            for stack_id in stacks:
                self.remove_requested.emit(stack_id)
            return
        current = self.tree.currentItem()
        if current is not None and current.data(0, ROLE_KIND) == "result":
            self.delete_result_requested.emit(current.data(0, ROLE_ID))

    def _details(self, item) -> None:
        self.details_requested.emit(item.data(0, ROLE_KIND), item.data(0, ROLE_ID))

    def context_menu(self, item) -> QtWidgets.QMenu:
        """The right-click menu of a stack or result item."""
        kind, ident = item.data(0, ROLE_KIND), item.data(0, ROLE_ID)
        menu = QtWidgets.QMenu(self)
        menu.addAction("Details…", lambda: self._details(item))
        menu.addAction(REVEAL_TEXT, lambda: self.reveal_requested.emit(kind, ident))
        menu.addSeparator()
        if kind == "stack":
            if ident in self._missing:
                menu.addAction("Locate File…", lambda: self.locate_requested.emit(ident))
            menu.addAction("Remove from project", lambda: self.remove_requested.emit(ident))
        else:
            menu.addAction("Delete result…", lambda: self.delete_result_requested.emit(ident))
        return menu

    def _context_menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        if item is None:
            return
        menu = self.context_menu(item)
        menu.exec(self.tree.viewport().mapToGlobal(pos))
        menu.deleteLater()
