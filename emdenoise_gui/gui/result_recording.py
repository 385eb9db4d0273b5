"""Recording a finished denoise job's result files in the project it was started in (the controller's part).

A job records only the files it said it wrote (:class:`~emdenoise_gui.core.events.Written`), with the
settings it ran with, in its own project: the one open, the same folder opened again, the project carried
on with Save Project As, or (another being open) its project.json on disk.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.gui.project_saving import GUI_WAIT_S
from emdenoise_gui.project.project import Project
from emdenoise_gui.project.project_file import ProjectBusy


def folder_key(folder: str | Path) -> Path:
    """A project folder as compared here: absolute and resolved (links, "..")."""
    return Path(folder).expanduser().resolve()


class ResultRecording:
    """The :class:`~.controller.Controller`'s recording of denoise results (it provides ``project``,
    ``_continues``, ``_reserved``, ``warning``, ``status``, ``show_result``, ``_changed`` and ``save_later``)."""

    def _record_results(self, records, outputs, denoiser, project, used: dict, region=None,
                        committed: set[str] = frozenset()) -> None:
        """Record the ``outputs`` a denoise job wrote for ``records`` (those in ``committed``, the paths of
        its :class:`Written` events) with the settings it ran with (``used``: tile, stride, dtype, device as
        they were when it was started)."""
        self._reserved.give_back(outputs)
        pairs = [(r, o) for r, o in zip(records, outputs) if str(o) in committed and Path(o).exists()]
        if not pairs:
            return
        target, is_open = self._recording_project(project)
        if target is None:  # its project cannot be read any more: the files stay where they were written
            where = ", ".join(str(o) for _r, o in pairs[:3]) + (f" and {len(pairs) - 3} more" if len(pairs) > 3
                                                                 else "")
            self.warning.emit("Result not added", f"The job finished after its project ({project.name}) was closed, "
                                                  f"and that project cannot be opened now; its result is kept in "
                                                  f"{where}.")
            return
        last = None
        index = target.result_index()  # built once: per result it made recording a batch of N N^2 work
        same = index.stacks

        def stack_id(record) -> str | None:
            """The job's stack in ``target``: by its id in the Project object the job saw, elsewhere by its file
            (a merge of another window's additions renumbers ids in another object); None when it is gone."""
            if target is project and any(s is record for s in target.stacks):
                return record.id  # (a removed last stack's id is handed to the next one added: then by its file)
            found = same.find(Path(record.path).resolve())
            return None if found is None else target.stacks[found].id

        for record, output in pairs:
            dtype = record.dtype if used["dtype"] == "input" else used["dtype"]
            params = {**used, "dtype": dtype}
            if region is not None:  # the result holds only this part of each slice: y0, y1, x0, x1 px
                params["region"] = [int(v) for v in region]
            try:
                found = stack_id(record)
                if found is None:
                    raise KeyError(record.id)
                last = target.add_result(
                    stack_id=found, path=output, kind=denoiser.kind, method=denoiser.name,
                    model_path=denoiser.path, model_sha256=denoiser.sha256, parameters=params,
                    slices=[0, record.shape[0]], index=index)
            except KeyError:  # the stack was removed while the job ran
                self.warning.emit("Result not added", f"{record.name} was removed from the project after its "
                                                      f"denoise was started; its result is kept in {output} (drop "
                                                      "it into the project to view it)")
            except InputError as exc:
                self.warning.emit("Result not added", str(exc))
        if not is_open:  # recorded in the project it was made for, which another window or a later open shows
            if last is not None:
                try:
                    target.save(wait_s=GUI_WAIT_S)
                except ProjectBusy:  # another writer's lock: saved when it lets go, not waited for here
                    self.save_later(target)
                    self.status.emit(f"{Path(last.path).name} will be recorded in the project {target.name} (not "
                                     "open here) once another program lets go of it")
                    return
                except InputError as exc:
                    self.warning.emit("Result not added", f"The job finished after its project ({target.name}) was "
                                                          f"closed, and recording it there failed: {exc}")
                    return
                self.status.emit(f"{Path(last.path).name} was recorded in the project {target.name} (not open here)")
            return
        self._changed()
        if last is not None:
            self.show_result.emit(last.id)
            self.status.emit(f"Denoised with {denoiser.title} at {_dt.datetime.now():%H:%M}")

    def _recording_project(self, project: Project) -> tuple[Project | None, bool]:
        """(the project to record the results of a job started in ``project`` in, whether it is the open one):
        the open project when it is ``project``, the same folder opened again, or ``project`` carried on with
        Save Project As; else ``project`` read again from its folder (None when that fails), to be saved."""
        current, folder = self.project, folder_key(project.folder)
        if current is not None and (current is project or folder_key(current.folder) == folder
                                    or folder in self._continues):
            return current, True
        try:
            return Project.open(project.folder), False
        except InputError:
            return None, False
