"""What is on screen saved with the project: the stack or result shown, its slice and the viewer's
state (``project.view``), written a second after the user settles on it (another stack or result, a
slice, or any change ``CompareView.state_changed`` reports), and at once before the project is closed,
replaced by another or copied (Save As).

``ViewSaving`` is a mixin of ``main_window.MainWindow``; it uses the window's ``controller``,
``viewer``, ``_current``, ``_current_stack_id`` and ``_restoring``.
"""

from __future__ import annotations

from PySide6 import QtCore

from emdenoise_gui.core.errors import InputError

#: How long a view must stay before it is saved (ms): browsing 400 stacks with the arrow keys wrote
#: project.json 400 times, with an fsync each.
SETTLE_MS = 1000


class ViewSaving:
    """The timer that holds a view change back, :meth:`flush_view` and :meth:`_store_view`."""

    def _start_view_saving(self) -> None:
        self._save_view_timer = QtCore.QTimer(self, singleShot=True)
        self._save_view_timer.setInterval(SETTLE_MS)  # not interval=: see tests/gui/test_locale_keywords.py
        self._save_view_timer.timeout.connect(self._store_view)
        self._view_unsaved = False  # the last save of the view failed: the next try is made even if unchanged

    def flush_view(self) -> None:
        """Store at once a view change the timer holds back: before the project is closed, replaced or
        copied."""
        if self._save_view_timer.isActive():
            self._save_view_timer.stop()
            self._store_view()

    def _store_view(self) -> None:
        """Put what is on screen into ``project.view`` and save the project (not while a project's saved
        view is being restored, nor when the view is what the project holds: project.json is not written
        for nothing)."""
        from emdenoise_gui.project.records import CompareState

        project = self.controller.project
        if project is None or self._restoring:
            return
        held = (project.view.stack_id, project.view.result_id, project.view.slice_index, project.view.viewer)
        kind, ident = self._current
        project.view.stack_id = ident if kind == "stack" else self._current_stack_id()
        project.view.result_id = ident if kind == "result" else None
        project.view.slice_index = self.viewer.current_slice()
        try:
            kept = project.view.viewer.extra if project.view.viewer else {}  # a later version's fields stay
            project.view.viewer = CompareState.from_dict({**kept, **self.viewer.state()}, "view.viewer")
        except InputError:  # e.g. a view not laid out yet (no size): nothing worth restoring
            project.view.viewer = None
        if (project.view.stack_id, project.view.result_id, project.view.slice_index, project.view.viewer) != held \
                or self._view_unsaved:  # a failed save is tried again, not skipped as unchanged
            self._view_unsaved = not self.controller.save()
