"""The zoo panel's file work: importing a package (folder or zip), exporting the selected model as a
zip, deleting a user model.

Import and export copy and hash whole weight files (a 115 MB package took 4.6 s to export and 0.7 s to
import), so they run on a worker thread: the Import and Export buttons are disabled and the status line
says what runs until it ends, then a refused package is a one-line warning (``message``) and an
imported one is selected. Both write atomically (``zoo.package``, ``zoo.registry``): a transfer cut short
by quitting leaves no partial file or folder.

``ZooFiles`` is a mixin of ``zoo_panel.ZooPanel``; it uses the panel's ``entries``, ``current_key``,
``refresh``, buttons, ``message`` and ``status`` signals, and its worker helpers ``_start`` / ``_post``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6 import QtWidgets

from emdenoise_gui.core.errors import InputError


class ZooFiles:
    """Import, export and delete for the zoo panel (see the module docstring)."""

    #: What the running transfer does ("Exporting tiny-n2v…"), "" when none runs.
    transferring: str = ""
    #: Whether the last transfer failed (its message is on screen): closing then stays open.
    transfer_failed: bool = False
    #: Packages dropped together, waiting for the import before them (:meth:`import_paths`), and whether an import
    #: of that run of them failed.
    _imports_waiting: tuple | list = ()
    _run_failed: bool = False
    #: The title of a waiting or running job that uses the model package (folder path, zoo name), or "":
    #: set by the window (``Controller.model_user``); such a model is not deleted under the job.
    model_user = staticmethod(lambda path, name: "")

    def import_path(self, path: str | Path) -> bool:
        """Start importing the package at ``path`` into the user zoo; False if a transfer already runs."""
        from emdenoise_gui.zoo import registry

        return self._transfer(f"Importing {Path(path).name}…", "import", lambda: registry.import_package(path))

    def import_paths(self, paths) -> None:
        """Import the packages at ``paths`` one after another, after a transfer that runs now (of several dropped
        at once only the first was imported, the others dropped without a word: zoo panel audit)."""
        self._imports_waiting = [*self._imports_waiting, *map(Path, paths)]
        self._next_import()

    def _next_import(self) -> None:
        """Start the next import :meth:`import_paths` left waiting, unless a transfer runs."""
        if self._imports_waiting and not self.transferring:
            self.import_path(self._imports_waiting.pop(0))

    def export_to(self, destination: str | Path) -> bool:
        """Start writing the selected model as a zip at ``destination`` (overwritten: the save dialog asked; a
        name typed without .zip gets it, and an existing zip of that name is asked about here); False if no
        usable model is selected, the user keeps that zip, or a transfer already runs."""
        from emdenoise_gui.zoo.package import export_zip
        from emdenoise_gui.zoo.registry import outside_zoo

        entry = self.entries.get(self.current_key() or "")
        if entry is None or getattr(entry, "package", None) is None:
            return False
        package, destination = entry.package, Path(destination)
        if destination.suffix.lower() != ".zip":  # a name typed without it: Import lists .zip files only
            from emdenoise_gui.gui.dialogs import with_suffix_asked

            destination = with_suffix_asked(self, destination, ".zip")
            if destination is None:
                return False

        def work():
            outside_zoo(destination)
            return export_zip(package, destination, overwrite=True)

        return self._transfer(f"Exporting {entry.name} to {destination.name}…", "export", work)

    def _transfer(self, what: str, kind: str, work) -> bool:
        if self.transferring:
            return False
        self.transferring = what
        self._enable_transfers()
        self.status.emit(what, 0)  # until it ends

        def run():
            try:
                result = work()
            except (InputError, OSError) as exc:
                result = exc
            except Exception as exc:  # noqa: BLE001 - a damaged zip must not vanish silently: say so
                result = RuntimeError(f"{type(exc).__name__}: {exc}")
            self._post("transfer", kind, result)

        self._start(kind, run)
        return True

    def _transfer_done(self, kind: str, result) -> None:
        self.transferring = ""
        # a failure in a run of imports stays said until the last is done: closing waits on it (the next import's
        # success cleared it, and the window closed over the failure's message: review)
        self._run_failed = self._run_failed or isinstance(result, Exception)
        self.transfer_failed = self._run_failed
        if not self._imports_waiting:
            self._run_failed = False  # the run of imports ends here
        self._enable_transfers()
        title = "Cannot import model" if kind == "import" else "Cannot export model"
        if isinstance(result, InputError):
            self.status.emit("", 0)
            self.message.emit(title, str(result))
        elif isinstance(result, Exception):
            self.status.emit("", 0)
            self.message.emit(title, _os_words(result) if isinstance(result, OSError) else str(result))
        elif kind == "import":
            self.status.emit(f"Imported {result.card.name} into your models", 8000)
            self.refresh(select=f"model:{result.path}")
        else:
            self.status.emit(f"Exported to {result}", 8000)
        self._next_import()

    def _enable_transfers(self) -> None:
        """Import and Export are off while a transfer runs (one at a time); Export also needs a model."""
        entry = self.entries.get(self.current_key() or "")
        key = self.current_key() or ""
        self.import_button.setEnabled(not self.transferring)
        self.export_button.setEnabled(not self.transferring and key.startswith("model:")
                                      and getattr(entry, "package", None) is not None)

    def _discard(self, run, confirm: bool) -> bool:
        """Delete the paused training ``run`` (a ``zoo.registry.PausedRun``), after asking; not while a job
        resumes it (waiting in the queue, it held no lock yet: its checkpoint was deleted under it)."""
        from emdenoise_gui.zoo import registry

        user = self.model_user(str(run.path), run.name)
        if user:
            self.message.emit("Cannot discard the paused training", f"“{run.name}” is resumed by the job “{user}”: "
                                                                    "cancel it in the Jobs panel first.")
            return False
        if confirm:
            answer = QtWidgets.QMessageBox.question(
                self, "Discard paused training", f"Discard the paused training “{run.name}” (step {run.step:,} of "
                f"{run.steps:,})? Its checkpoint is deleted; this cannot be undone.")
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return False
        try:
            registry.discard_paused(run)
        except (InputError, OSError) as exc:
            self.message.emit("Cannot discard the paused training", str(exc))
            return False
        self._listed_without_it()
        return True

    def delete_current(self, confirm: bool = True) -> bool:
        from emdenoise_gui.zoo import registry

        entry = self.entries.get(self.current_key() or "")
        if isinstance(entry, registry.PausedRun):
            return self._discard(entry, confirm)
        if entry is None or not hasattr(entry, "shipped") or entry.shipped:
            return False  # an unusable package of one's own is deleted like any (it could not be reached)
        user = self.model_user(str(entry.path), entry.name)
        if user:
            self.message.emit("Cannot delete model", f"“{entry.name}” is in use by the job “{user}”: wait for it to "
                                                     "end, or cancel it in the Jobs panel, then delete the model.")
            return False
        if confirm:
            answer = QtWidgets.QMessageBox.question(
                self, "Delete model", f"Delete your model “{entry.name}”? This cannot be undone.")
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return False
        try:
            registry.delete_package(entry.name, entry.path)
        except (InputError, OSError) as exc:
            self.message.emit("Cannot delete model", str(exc))
            return False
        deleted = f"model:{entry.path}"
        for stack in [s for s, key in self._picked.items() if key == deleted]:  # the fit check's pick counts again
            del self._picked[stack]
        self._listed_without_it()
        return True

    def _listed_without_it(self) -> None:
        """List the zoo again after the selected entry was removed, and select another: the best fit, or while
        the stack is still measured the fallback filter (the first model listed, the artifact model, was
        selected and ran without a question; a discarded paused run stayed described, Resume on)."""
        self.refresh()
        if self.current_key() is None or self.current() is None:
            from emdenoise_gui.zoo.fit import fallback_filter

            if self.best_key not in self.entries and self.facts is not None:  # the best fit was the one deleted:
                self._preselect()  # the next best (the filter was taken where shipped models fitted well)
            fallback = self.best_key if self.best_key in self.entries else f"filter:{fallback_filter(self.facts)}"
            self._select(fallback if fallback in self.entries else None, by_hand=False)

    def import_dialog(self, kind: str | None = None) -> None:
        """Ask for a package: ``kind`` "zip" (EMDenoise's or bioimage.io's) or "folder"; None asks which first
        (one file dialog cannot offer both files and folders)."""
        kind = kind or self._import_kind()
        if kind == "zip":
            path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Import model package", "", "Model packages (*.zip)")
        elif kind == "folder":
            path = QtWidgets.QFileDialog.getExistingDirectory(self, "Import model package folder")
        else:
            path = ""
        if path:
            self.import_path(path)

    def _import_kind(self) -> str | None:
        """"zip", "folder" or None (dismissed), from a menu under the Import button."""
        menu = QtWidgets.QMenu(self)
        kinds = {menu.addAction("A model package file (.zip)…"): "zip", menu.addAction("A model package folder…"): "folder"}
        return kinds.get(menu.exec(self.import_button.mapToGlobal(self.import_button.rect().bottomLeft())))

    def export_dialog(self) -> None:
        entry = self.entries.get(self.current_key() or "")
        name = getattr(entry, "name", "model")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export model package", f"{name}.zip",
                                                        "Model packages (*.zip)")
        if path:
            self.export_to(path)


def _os_words(exc: OSError) -> str:
    """One line for a file error during a transfer: what went wrong, on which file, and what to do."""
    where = f" ({exc.filename})" if exc.filename else ""
    return (f"{exc.strerror or exc}{where}. Check that the folder exists, is writable and has free space, "
            "then try again.")
