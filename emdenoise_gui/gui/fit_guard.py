"""Process ▸ Denoise Stack checks the zoo's fit first: it never runs a model the app found unfit for the
stack without saying so.

- When the zoo is still measuring which denoiser fits the stack on screen (about a second, a few more
  while candidates' speeds are timed) and the user picked none by hand, the denoise waits for that
  preselection and then runs with it (the status bar says so), instead of with whatever was selected.
- When the selected denoiser fits the stack poorly (NRRN on ssTEM sections, say) and the app would pick
  another, a question offers the app's pick, denoising anyway, or cancelling; "anyway" is remembered
  for that stack and denoiser, so it is asked once.
- With several stacks selected, each one's fit is measured first on a worker thread (about half a second a
  stack, the status bar counting; kept while the file is unchanged); when the denoiser fits some poorly, a
  question names them and offers denoising the others, all anyway, or cancelling. Stacks no longer in the
  project as they were (another project opened meanwhile) are left out. A "Stop check" button in the status bar
  (or Esc in the window) stops the check and starts nothing.

The same checks as the CLI's ``--model`` (which notes a poor fit on stderr). ``DenoiseFitGuard`` is a
mixin of ``main_window.MainWindow``; it uses the window's ``controller``, ``zoo_panel``,
``project_panel``, ``denoiser``, ``denoise_current`` and ``_current_stack_id``.
"""

from __future__ import annotations

import threading

from PySide6 import QtCore

#: How long Denoise waits for the zoo's preselection before it runs with the current selection.
PRESELECT_WAIT_MS = 30_000
#: How often it looks whether the preselection has come.
POLL_MS = 100


class DenoiseFitGuard:
    """``denoise_command``: Denoise after the fit checks (see the module docstring)."""

    _fit_wait: str | None = None  # the stack (its ``stack_key``) a denoise waits for the preselection of
    _several_check: tuple | None = None  # a check of several stacks' fits under way: (thread, box, stacks, key, denoiser)

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
            return self._denoise_several(ids)
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

    def _denoise_several(self, ids: list[str]):
        """Denoise the stacks ``ids`` (not the shown one alone) with the selected denoiser once their fits are
        measured (see the module docstring); None (it starts later, or not at all), or the job when there is
        nothing to judge (a one-image filter)."""
        # imported here: not before the window shows (it imports core.baselines)
        from emdenoise_gui.gui.panels.zoo_fitting import judged

        zoo = self.zoo_panel
        key = zoo.current_key()
        entry = zoo.entries.get(key or "")
        records = [r for r in (self.controller.find_stack(i) for i in ids) if r is not None]
        if key is None or entry is None or not judged(key, entry) or not records:
            return self.denoise_current()
        if self._several_check is not None:
            self.statusBar().showMessage("Still checking how the denoiser fits the selected stacks…", 4000)
            return None
        known = self.__dict__.setdefault("_facts_known", {})  # (stack key, file size, mtime) -> its facts
        stacks = [(self.stack_key(r.id), r) for r in records]
        box: dict = {"done": 0, "stop": threading.Event()}
        thread = threading.Thread(target=_measure_all, args=(stacks, known, box), name="emdenoise-several-fits",
                                  daemon=True)
        self._several_check = (thread, box, stacks, key, self.denoiser)
        self._stop_button(box["stop"])
        thread.start()
        self._several_measured()
        return None

    def _stop_button(self, stop: threading.Event) -> None:
        """Show the status bar's "Stop check" button (and take Esc) for a several-stacks check, setting ``stop``."""
        from PySide6 import QtGui, QtWidgets

        button = QtWidgets.QPushButton("Stop check")
        button.setToolTip("Stop checking the selected stacks' fits: nothing is denoised (Esc)")
        button.clicked.connect(stop.set)
        escape = QtGui.QShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Escape), self)
        escape.activated.connect(stop.set)
        self.statusBar().addPermanentWidget(button)
        self._several_stop = (button, escape)

    def _drop_stop_button(self) -> None:
        for part in getattr(self, "_several_stop", ()):
            part.setParent(None)
            part.deleteLater()
        self._several_stop = ()

    def _several_measured(self) -> None:
        # imported here: not before the window shows (it imports core.baselines)
        from emdenoise_gui.gui.panels.zoo_fitting import entry_fit

        thread, box, stacks, key, denoiser = self._several_check
        if thread.is_alive() and not self._closing and not box["stop"].is_set():
            self.statusBar().showMessage(f"Checking how {denoiser.title} fits the {len(stacks)} selected stacks "
                                         f"({box['done']} done); denoising starts then…")
            QtCore.QTimer.singleShot(POLL_MS, self._several_measured)
            return
        self._several_check = None
        self._drop_stop_button()
        if self._closing or not self.isVisible():
            return
        if box["stop"].is_set():  # the thread ends after the stack it is reading
            self.statusBar().showMessage("Check stopped: nothing was denoised", 5000)
            return
        zoo = self.zoo_panel
        # only stacks still in the project as they were: ids repeat in another project opened meanwhile
        present = [(stack, record) for stack, record in stacks if self.stack_key(record.id) == stack]
        if zoo.current_key() != key or not present:
            why = "another denoiser was chosen" if present else "the project changed"
            self.statusBar().showMessage(f"Denoise not started: {why} meanwhile; press Denoise again", 8000)
            return
        self.statusBar().clearMessage()
        accepted = self.__dict__.setdefault("_poor_fits_accepted", set())
        poor = []
        for stack, record, facts in box.get("facts", []):
            fit = entry_fit(key, zoo.entries[key], facts)
            if fit is not None and fit.grade == "poor" and (stack, key) not in accepted and (stack, record) in present:
                poor.append((stack, record, fit.reason))
        ids = [record.id for _stack, record in present]
        if poor:
            answer = self._ask_several_poor_fit(zoo.item(key).text(0), [(r.name, why) for _s, r, why in poor],
                                                len(ids))
            if answer == "cancel":
                self.statusBar().showMessage("Denoise cancelled", 4000)
                return
            if answer == "anyway":
                accepted.update((stack, key) for stack, _r, _w in poor)
            else:
                skipped = {r.id for _s, r, _w in poor}
                ids = [i for i in ids if i not in skipped]
        self.controller.denoise(ids, denoiser)

    def _ask_several_poor_fit(self, chosen: str, poor: list[tuple[str, str]], total: int) -> str:
        from emdenoise_gui.gui.dialogs import several_poor_fit_question

        box = several_poor_fit_question(self, chosen, poor, total)
        box.exec()
        return box.answers.get(box.clickedButton(), "cancel")

    def _ask_poor_fit(self, chosen: str, reason: str, pick: str) -> str:
        from emdenoise_gui.gui.dialogs import poor_fit_question

        box = poor_fit_question(self, chosen, reason, pick)
        box.exec()
        return box.answers.get(box.clickedButton(), "cancel")


def _measure_all(stacks: list, known: dict, box: dict) -> None:
    """Worker thread: ``box["facts"]``, a list of (stack key, record, its ``zoo.fit.StackFacts``) for each
    (stack key, project record) of ``stacks`` whose file could be read (one that cannot is left to the denoise
    job, which says why), ``box["done"]`` counting them, until ``box["stop"]`` (an Event) is set; facts already
    in ``known`` for the stack and its file's size and time (``gui.stack_files.file_signature``) are reused, new
    ones kept there."""
    from emdenoise_gui.core.io import open_stack
    from emdenoise_gui.gui.stack_files import file_signature
    from emdenoise_gui.zoo.fit import measure_facts

    found = []
    for stack, record in stacks:
        if box["stop"].is_set():
            return
        try:
            signature = (stack, *file_signature(record.path))
            facts = known.get(signature)
            if facts is None:
                voxel = tuple(record.voxel_size_nm) if record.voxel_size_nm else None
                with open_stack(record.path) as data:
                    facts = measure_facts(data, voxel, record.name, record.path)
                known[signature] = facts
        except Exception:  # noqa: BLE001 - unreadable now: the job reports it with its one-line reason
            continue
        finally:
            box["done"] += 1
        found.append((stack, record, facts))
    box["facts"] = found
