"""``emdenoise denoise ... --project FOLDER``: a headless run's stacks and results recorded in an EMDenoise
project, as the app records its own, so the project opened in the app shows each result under its stack
(to compare, profile, export).

The project is read again just before each result is recorded and saved at once (``Project.save`` takes in
what the app, open on the same project meanwhile, added): a run of hours never writes back a stale copy.
Each record is made under the project's write lock (``project_file.writing``), so two runs, or a run and the
app, never undo each other's changes. Without ``-o``, results go to the project's ``results/`` folder under
fresh names, as the app names them (``{stem}_{method}``, ``_2`` ... when taken), each claimed on disk until
it is recorded (``leftovers.Reservations``: two runs at once pick different names): nothing is overwritten. A
folder that does not exist, or an empty one, becomes a new project when its first result is recorded.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from emdenoise_gui.cli.exits import one_line, say
from emdenoise_gui.core import atomic, leftovers
from emdenoise_gui.core.errors import Cancelled, InputError
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.core.pipeline import parse_slices
from emdenoise_gui.jobs.stack import resolve_dtype
from emdenoise_gui.project import project_file
from emdenoise_gui.project.naming import DEFAULT_PATTERN
from emdenoise_gui.project.project import Project, check_not_in_store
from emdenoise_gui.project.records import BACKUP_FILE, PROJECT_FILE, RESULTS_DIR

HELP = ("record the stacks and results in this EMDenoise project (a folder; a new or empty one becomes a "
        "project), so the app shows them; without -o the results go to its results/ folder, named as the app "
        "names them")


def add_argument(p) -> None:
    """``--project`` of ``emdenoise denoise``."""
    p.add_argument("--project", metavar="FOLDER", help=HELP)


class Recording:
    """The project (``folder``) a run records its results in; made at :meth:`ensure` when it is ``new``."""

    def __init__(self, folder: Path, new: bool):
        self.folder, self.new = folder, new
        self._reserved = leftovers.Reservations()  # result paths named for this run and not recorded yet
        self._made: list[Path] = []  # folders made for a new project's results, deepest first

    @classmethod
    def check(cls, value: str) -> "Recording":
        """The project ``--project`` names (a folder or its project.json); InputError for a folder that holds
        other files but no project, a file, a missing parent or a project that cannot be read. Nothing is
        written."""
        if not value.strip():  # an unset shell variable: not "here"
            raise InputError("--project is empty: give an EMDenoise project folder (a new or empty folder "
                             "becomes one)")
        path = Path(value).expanduser()
        if path.name == PROJECT_FILE or (path / PROJECT_FILE).is_file():
            return _writable(cls(Project.open(path).folder, new=False))
        if path.is_dir() and (path / BACKUP_FILE).exists():
            Project.create(path)  # its refusal: a lost project.json whose backup would be replaced
        if path.exists() and not path.is_dir():
            raise InputError("is a file, not a project folder: give an EMDenoise project folder, or a new "
                             "folder to make one", path)
        if path.is_dir() and any(not (item == path / RESULTS_DIR and item.is_dir())
                                  and item.name != project_file.LOCK_FILE for item in path.iterdir()):
            # a results/ alone is a project whose first result is being written (another run naming the folder),
            # or whose first save was cut off (a kill, a power cut): made when a result is recorded
            raise InputError("holds files but no EMDenoise project (no project.json): give a project folder, "
                             "or a new or empty folder to make one there", path)
        if not path.exists() and path.parent.exists() and not path.parent.is_dir():
            raise InputError(f"{path.parent} is a file, not a folder: choose another place for the project", path)
        if not path.exists() and not path.parent.is_dir():
            raise InputError(f"the folder {path.parent} does not exist; create it first", path)
        check_not_in_store(path.resolve())
        return _writable(cls(path.resolve(), new=True))

    def check_free(self, output: str | Path) -> None:
        """InputError when ``output`` (a ``-o`` given) is a result the project records already: a run writing
        over it could not record its own (the app never writes over a result); or one of its stacks, even with
        --overwrite (it was written over, then said not to be: project audit of 2026-12-07)."""
        if self.new:
            return
        project = Project.open(self.folder)
        path = Path(output).expanduser().resolve()
        for record in project.results:
            if project.absolute(record).resolve() == path:
                raise InputError(f"is the result {record.id} of the project {project.name} already: leave out -o "
                                 "for a fresh name in the project, or remove that result in the app first", output)
        for stack in project.stacks:
            if Path(stack.path).resolve() == path:
                raise InputError(f"is the stack {stack.name} of the project {project.name}: EMDenoise never writes "
                                 "over a project's stack; give -o another name", output)

    def ensure(self) -> Project:
        """The project read now, made first when it is new (said on stderr)."""
        if self.new:
            try:
                Project.create(self.folder)
                say(f"emdenoise: made the project {self.folder}")
            except InputError:
                if not (self.folder / PROJECT_FILE).is_file():
                    raise
                # another run naming the same new folder made it first (array jobs, a loop in the background)
            self.new = False
        return Project.open(self.folder)

    def output_for(self, source: str, denoiser, suffix: str, pattern: str = DEFAULT_PATTERN) -> Path:
        """A fresh path in the project's results folder for ``denoiser``'s result of ``source`` with extension
        ``suffix``, named by ``pattern`` as the app names results (the model by its card name)."""
        with open_stack(source) as stack:
            meta = stack.meta
        name = zoo_denoiser(denoiser).name
        if self.new:  # the project is made when its first result is recorded, after every check of the run
            results = self.folder / RESULTS_DIR
            self._made += [f for f in (results, *results.parents) if not f.exists()]  # gone again if none is
            results.mkdir(parents=True, exist_ok=True)  # (an empty results/ alone is new)
            project = Project(folder=self.folder, name=self.folder.name)
        else:
            project = Project.open(self.folder)
        stack_id = project.add_stacks([meta])[0].id
        # held until recorded: another run naming a result meanwhile picks another name
        return project.result_path(stack_id, name, suffix, pattern=pattern, reservations=self._reserved)

    def release(self) -> None:
        """Give back the names handed out and not recorded (a failed or stopped run), and the folders made for a
        new project that holds none of them (a refused run left newp/results behind: paths audit)."""
        self._reserved.give_back_all()
        if self.new:
            for folder in self._made:
                with contextlib.suppress(OSError):  # not empty: another run's result, or its project
                    folder.rmdir()
            self._made = []

    def record(self, args, output: str | Path, denoiser):
        """Record ``output`` (written) as ``denoiser``'s result of ``args.input`` (the stack added when the
        project lacks it) with the settings the app records (tile, stride, output dtype, device) and the
        input slices, then save the project; say so on stderr. InputError when the project cannot take it."""
        from emdenoise_gui.jobs.stack import quality_stride

        output = Path(output).expanduser().resolve()  # -o is relative to here; a project resolves its own paths
        with open_stack(args.input) as stack:
            meta = stack.meta
            dtype = resolve_dtype(args.dtype, stack).name
            chosen = parse_slices(args.slices, len(stack))
        used = {"tile": args.tile, "stride": quality_stride(args.quality, args.tile, args.stride), "dtype": dtype,
                "device": args.device}
        made_by = zoo_denoiser(denoiser)
        self.ensure()
        with project_file.writing(self.folder):  # read, add and write as one: no other writer's change is undone
            project = Project.open(self.folder)
            stack_record = project.add_stacks([meta])[0]
            result = project.add_result(stack_record.id, output, made_by.kind, made_by.name, parameters=used,
                                        slices=(chosen.start, chosen.stop), model_path=made_by.path,
                                        model_sha256=made_by.sha256)
            project.save()
        self._reserved.give_back([output])
        say(f"emdenoise: recorded {output.name} in the project {project.name} ({self.folder})")
        return result


def _writable(recording: Recording) -> Recording:
    """``recording`` when its project folder (a new one's parent) can be written; else InputError before the
    run: a read-only project with -o elsewhere was found out only when the denoise had ended."""
    folder = recording.folder if recording.folder.is_dir() else recording.folder.parent
    try:
        atomic.probe_writable(folder)
    except OSError as exc:
        raise InputError(f"the project cannot be saved: {folder} cannot be written ({exc.strerror or exc}); give "
                         "a project in a folder you can write to", recording.folder) from None
    return recording


def zoo_denoiser(denoiser):
    """``denoiser`` as the app records it: a model by its card name, package folder and weights' sha256 (the
    CLI names a model by what was typed: a zoo name, a folder or a .zip)."""
    if denoiser.kind != "model":
        return denoiser
    from emdenoise_gui.jobs.denoise import Denoiser
    from emdenoise_gui.zoo.registry import resolve

    package = resolve(denoiser.path)
    return Denoiser("model", package.card.name, str(package.path), package.card.weights_sha256)


def check(args) -> Recording | None:
    """The ``--project`` of a ``denoise`` run (None without one); InputError for an unusable project and for
    no ``-o`` where the run needs one."""
    if args.project is None:
        if args.output is None:
            raise InputError("-o is needed: the result file (with several IN, the folder the results go to); or "
                             "--project FOLDER to put the results in an EMDenoise project")
        return None
    if args.scheduler and args.output is None:
        raise InputError("--scheduler with --project needs -o OUT.zarr: a block run resumes into the store -o "
                         "names, and a name chosen afresh would start it again")
    return Recording.check(args.project)


def record_or_say(args, output: str | Path, denoiser) -> bool:
    """:meth:`Recording.record` for a written ``output``; when the project cannot take it, one line saying
    so (the result stays where it is) and False."""
    try:
        args.recording.record(args, output, denoiser)
        return True
    except InputError as exc:
        say(f"emdenoise: error: {output} was written but not recorded in the project: {one_line(str(exc))}")
        return False
    except (Cancelled, KeyboardInterrupt) as exc:  # it said "nothing was written"
        stopped = Cancelled(str(exc) or "stopped")
        stopped.kept = f"{output} was written but not recorded in the project"
        raise stopped from None
