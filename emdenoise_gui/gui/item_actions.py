"""The project panel's right-click actions on a stack or result: Details, Show in File Manager, Delete
result (after asking), Locate File (a stack whose file moved).

``ItemActions`` is a mixin of ``main_window.MainWindow``; it uses the window's ``controller``, ``warn``,
``show_stack`` and ``_current`` (what the viewer shows: ("stack" or "result", record id)).
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtWidgets


class ItemActions:
    """What the project panel's ``details_requested``, ``reveal_requested``, ``delete_result_requested`` and
    ``locate_requested`` signals do."""

    def show_details(self, kind: str, ident: str) -> None:
        from emdenoise_gui.gui.dialogs import details_html

        c = self.controller
        if kind == "stack":
            r = c.find_stack(ident)
            rows = [("File", r.path), ("Format", r.format), ("Shape (Z, Y, X)", " × ".join(map(str, r.shape))),
                    ("Type", r.dtype), ("Voxel (z, y, x)", r.voxel_size_nm or "unknown"), ("Added", r.added)]
            title = r.name
        else:
            r = c.find_result(ident)
            stack = c.find_stack(r.stack_id)
            rows = [("Input", stack.path if stack else r.stack_id), ("Output", str(c.project.absolute(r))),
                    ("Method", f"{r.method} ({r.kind})"), ("Model package", r.model_path or "—"),
                    ("Model sha256", r.model_sha256 or "—"), ("Slices", f"{r.slices[0]}–{r.slices[1] - 1}"),
                    ("Parameters", ", ".join(f"{k}={v}" for k, v in r.parameters.items())), ("Created", r.created)]
            title = f"Result {r.method}"
        box = QtWidgets.QMessageBox(self)
        box.setWindowTitle("Details")
        box.setTextFormat(QtCore.Qt.TextFormat.RichText)
        box.setText(details_html(title, rows))
        box.exec()

    def reveal(self, kind: str, ident: str) -> None:
        """Show a stack's or result's file in the file manager."""
        from emdenoise_gui.gui.reveal import reveal

        c = self.controller
        record = c.find_stack(ident) if kind == "stack" else c.find_result(ident)
        if record is None:
            return
        path = Path(record.path) if kind == "stack" else c.project.absolute(record)
        if not reveal(path):
            self.warn("Cannot show the file", f"{path} is gone (moved or deleted), and so is its folder.")

    def delete_result(self, result_id: str) -> None:
        """Delete a result's file and its record, after asking."""
        c = self.controller
        result = c.find_result(result_id)
        if result is None or not self.confirm_delete(c.project.absolute(result), c.kept_file_reason(result)):
            return
        if self._current == ("result", result_id):  # let go of the file before it is deleted
            self.show_stack(result.stack_id)
        c.delete_result(result_id)

    def confirm_delete(self, path: Path, keep_reason: str = "") -> bool:
        """Ask before a result is deleted (``keep_reason``: why its file stays, then only the record goes);
        True to go on."""
        from emdenoise_gui.gui.dialogs import delete_question

        box = delete_question(self, path, keep_reason)
        box.exec()
        return box.clickedButton() is box.yes_button

    def locate_stack_dialog(self, stack_id: str) -> None:
        """Ask where a missing stack's file went (an OME-Zarr store: its zarr.json) and point the stack there."""
        from emdenoise_gui.gui.main_window import file_filter

        record = self.controller.find_stack(stack_id)
        if record is None:
            return
        old = Path(record.path)
        start = next((str(f) for f in (old.parent, self.controller.project.folder) if f.is_dir()), "")
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, f"Where is {old.name} now?", start, file_filter())
        if path and self.controller.locate_stack(stack_id, path) and self._current == ("stack", stack_id):
            self.show_stack(stack_id)
