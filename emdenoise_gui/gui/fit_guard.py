"""Process ▸ Denoise Stack checks the zoo's fit first: it never runs a model the app found unfit for the
stack without saying so.

- When the zoo is still measuring which denoiser fits the stack on screen (about a second, a few more
  while candidates' speeds are timed) and the user picked none by hand, the denoise waits for that
  preselection and then runs with it (the status bar says so), instead of with whatever was selected.
- When the selected denoiser fits the stack poorly (NRRN on ssTEM sections, say) and the app would pick
  another, a question offers the app's pick, denoising anyway, or cancelling; "anyway" is remembered
  for that stack and denoiser, so it is asked once.

The same checks as the CLI's ``--model`` (which notes a poor fit on stderr). ``DenoiseFitGuard`` is a
mixin of ``main_window.MainWindow``; it uses the window's ``controller``, ``zoo_panel``,
``project_panel``, ``denoiser``, ``denoise_current`` and ``_current_stack_id``.
"""

from __future__ import annotations

from PySide6 import QtCore

#: How long Denoise waits for the zoo's preselection before it runs with the current selection.
PRESELECT_WAIT_MS = 30_000
#: How often it looks whether the preselection has come.
POLL_MS = 100


class DenoiseFitGuard:
    """``denoise_command``: Denoise after the fit checks (see the module docstring)."""

    _fit_wait: str | None = None  # the stack (its ``stack_key``) a denoise waits for the preselection of

    def stack_key(self, stack_id: str | None) -> str | None:
        """What tells the open project's stack ``stack_id`` from any other the window showed: its project's
        folder, id and file (a Denoise waiting for the zoo's pick of project A's s1 ran on project B's s1,
        and an answer to the poor-fit question carried over); None when there is no such stack."""
        record = None if stack_id is None else self.controller.find_stack(stack_id)
        if record is None:
            return None
        return f"{self.controller.project.folder}|{record.id}|{record.path}"

    def denoise_command(self, wait: bool = True):
        """Process ▸ Denoise Stack: the job started, or None when nothing started (nothing selected,
        cancelled at the question, or waiting for the preselection, which starts it later; ``wait``
        False: not waiting, the selection as it is)."""
        ids = self.project_panel.selected_stack_ids() or [i for i in [self._current_stack_id()] if i]
        shown_id = self._current_stack_id()
        shown = self.stack_key(shown_id)  # ids repeat across projects, and within one once the last is removed
        if ids != [shown_id] or shown is None or self.zoo_panel.stack_key != shown:
            return self.denoise_current()  # several stacks: the fit was measured for the shown one only
        zoo = self.zoo_panel
        if wait and zoo.preselecting and not zoo.picked_by_hand(shown):
            if self._fit_wait is None:
                self._fit_wait = shown
                self.statusBar().showMessage("Checking which denoiser fits this stack; denoising starts then…")
                QtCore.QTimer.singleShot(POLL_MS, lambda: self._denoise_when_preselected(shown, POLL_MS))
            return None
        if not self._fit_accepted(shown):
            self.statusBar().showMessage("Denoise cancelled", 4000)
            return None
        return self.denoise_current()

    def _denoise_when_preselected(self, key: str, waited_ms: int) -> None:
        zoo = self.zoo_panel
        pending = zoo.preselecting and zoo.stack_key == key and not zoo.picked_by_hand(key)
        if pending and waited_ms < PRESELECT_WAIT_MS:  # a denoiser picked by hand meanwhile ends the wait
            QtCore.QTimer.singleShot(POLL_MS, lambda: self._denoise_when_preselected(key, waited_ms + POLL_MS))
            return
        self._fit_wait = None
        if self._closing or not self.isVisible():
            return
        if self.stack_key(self._current_stack_id()) != key:  # another stack, or another project's
            self.statusBar().showMessage("Denoise not started: another stack was shown meanwhile; "
                                         "press Denoise again", 8000)
            return
        self.statusBar().clearMessage()
        self.denoise_command(wait=False)  # after the time limit: with the selection as it is

    def _fit_accepted(self, stack: str) -> bool:
        """Whether to go on with the selected denoiser on the shown stack (its ``stack_key``): yes unless it fits
        poorly, the app picks another, and the user cancels (or takes the app's pick: then that is selected)."""
        zoo = self.zoo_panel
        key, best = zoo.current_key(), zoo.best_key
        fit = zoo.fits.get(key or "")
        if fit is None or fit.grade != "poor" or best is None or best == key:
            return True
        accepted = self.__dict__.setdefault("_poor_fits_accepted", set())
        if (stack, key) in accepted:
            return True
        answer = self._ask_poor_fit(zoo.item(key).text(0), fit.reason, zoo.item(best).text(0))  # as listed
        if answer == "pick":
            zoo.select(best)  # the window's denoiser follows the zoo's selection
            return True
        if answer == "anyway":
            accepted.add((stack, key))
            return True
        return False

    def _ask_poor_fit(self, chosen: str, reason: str, pick: str) -> str:
        from emdenoise_gui.gui.dialogs import poor_fit_question

        box = poor_fit_question(self, chosen, reason, pick)
        box.exec()
        return box.answers.get(box.clickedButton(), "cancel")
