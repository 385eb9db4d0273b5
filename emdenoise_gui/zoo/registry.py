"""The model zoo: shipped packages (read-only) plus the user's own, found by name.

Shipped packages live in the ``resources/models/`` folder inside the package (or in a frozen bundle); user
packages in ``<user data dir>/EMDenoise/models``, or ``$EMDENOISE_HOME/models`` (``emdenoise_gui.paths``).
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from emdenoise_gui import paths
from emdenoise_gui.core import atomic, leftovers
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.zoo import bioimageio
from emdenoise_gui.zoo.card import (
    AUTO_MODEL,
    AUTO_RESERVED,
    NAME_RULE,
    valid_model_name,
)
from emdenoise_gui.zoo.package import (
    CARD,
    STATE_JSON,
    Package,
    export_zip,
    extract_zip,
    folder_bytes,
    keep_digests,
    load_network,
    verify_folder,
)

SHIPPED_DIR = paths.shipped_models_dir()


def user_dir() -> Path:
    """The folder holding the user's model packages (created on demand)."""
    return paths.user_models_dir()


def run_checkpoint(name: str) -> Path:
    """Where the app and ``--adapt`` keep the checkpoint of a training run for the zoo model ``name``:
    ``.NAME.checkpoint`` beside it in the user zoo (hidden)."""
    return user_dir() / f".{name}.checkpoint"


def name_taken(name: str) -> str:
    """Why ``name`` cannot name a new zoo model ("" when it can): a user model or a shipped one has it
    (a user model of a shipped model's name would never be found: the shipped one comes first), or the
    name is ``AUTO_MODEL``, which asks for the best fit instead of a model."""
    if not valid_model_name(name):  # "." or "": told apart where the name is checked, not as taken
        return ""
    if name == AUTO_MODEL:
        return AUTO_RESERVED
    same = _same_name(name)
    if (SHIPPED_DIR / name).exists() or any(map(same, _folder_names(SHIPPED_DIR))):
        return f"a model named '{name}' ships with EMDenoise"
    if (user_dir() / name).exists() or any(map(same, _folder_names(user_dir()) | _user_card_names())):
        return f"a model named '{name}' is already in the zoo"
    return ""


def _same_name(name: str):
    """A test of whether another name reads as ``name``: equal once both are in Unicode's composed form (an
    "é" typed as e + accent is the "é" of another model; the zoo listed two models that read the same)."""
    mine = unicodedata.normalize("NFC", name)
    return lambda other: unicodedata.normalize("NFC", other) == mine


def _folder_names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")} if folder.is_dir() else set()


def _user_card_names() -> set[str]:
    """The names on the cards in the user zoo, read without verifying the packages (the wizard asks as the
    user types): a folder renamed in a file manager keeps its card's name, by which the zoo finds it."""
    names = set()
    folder = user_dir()
    for card in folder.glob(f"*/{CARD}") if folder.is_dir() else ():
        if card.parent.name.startswith("."):  # an import or training being staged, as list_entries skips
            continue
        try:
            name = json.loads(card.read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError, RecursionError, AttributeError):
            continue
        if isinstance(name, str):
            names.add(name)
    return names


@dataclass(frozen=True)
class ZooEntry:
    package: Package | None
    shipped: bool
    problem: str = ""  # why a folder in the zoo could not be used
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.package.card.name if self.package else (self.path.name if self.path else "?")


def list_entries() -> list[ZooEntry]:
    """Every package in the shipped and user zoos; broken ones are listed with their problem."""
    entries = []
    for folder, shipped in ((SHIPPED_DIR, True), (user_dir(), False)):
        if not folder.is_dir():
            continue
        for item in sorted(folder.iterdir()):
            if not item.is_dir() or item.name.startswith("."):
                continue
            try:
                entries.append(ZooEntry(verify_folder(item), shipped, path=item))
            except InputError as exc:
                entries.append(ZooEntry(None, shipped, exc.problem, item))
            except (OSError, ValueError, OverflowError, RecursionError, MemoryError) as exc:
                # one bad entry must never break the list: it is shown as broken, and can be deleted
                entries.append(ZooEntry(None, shipped, f"cannot be read ({type(exc).__name__}: {str(exc)[:80]})",
                                        item))
    keep_digests()  # the weights hashed for this listing, for the next run (one write)
    return entries


@dataclass(frozen=True)
class PausedRun:
    """A training run stopped before its last step: its checkpoint folder ``path`` (``.NAME.checkpoint``
    in the user zoo), the model ``name`` it will make, and the ``step`` it reached of ``steps``."""

    path: Path
    name: str
    step: int
    steps: int
    family: str = ""
    #: for a self-training (``denoise --adapt``): the stack's name and fingerprint ("" for other runs)
    adapted_to: str = ""


_CHECKPOINT = re.compile(r"^\.(?P<name>[^.].*)\.checkpoint$")


def _skeleton_fields(node) -> dict:
    """The plain-string keys of a checkpoint's packed dict (``training.checkpoint.pack``), one level."""
    pairs = node.get("__dict__", []) if isinstance(node, dict) else []
    return {k: v for k, v in pairs if isinstance(k, str)}


def list_paused() -> list[PausedRun]:
    """Paused training runs in the user zoo: hidden ``.NAME.checkpoint`` folders (``jobs.train.adapt_spec``)
    whose step is short of their total. Finished runs' last checkpoints and unreadable ones are left out.
    Reads only each checkpoint's small ``state.json``, never its tensors."""
    folder = user_dir()
    runs = []
    for item in sorted(folder.iterdir()) if folder.is_dir() else ():
        match = _CHECKPOINT.match(item.name)
        if not match or not item.is_dir():
            continue
        try:
            state = _skeleton_fields(json.loads((item / STATE_JSON).read_text(encoding="utf-8")))
            spec = _skeleton_fields(state["spec"])
            step, steps = int(state["step"]), int(spec["steps"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        name = str(spec.get("name") or match["name"])
        if step < steps and not _running(item, name):  # a run training now is not paused (wizard audit)
            adapted_to = _skeleton_fields(spec.get("notes")).get("adapted_to", "")
            runs.append(PausedRun(item, name, step, steps, str(spec.get("family", "")),
                                  adapted_to if isinstance(adapted_to, str) else ""))
    return runs


def _running(checkpoint: Path, name: str) -> bool:
    """Whether a training holds the run ``name`` of ``checkpoint`` now: the lock of its package or of the
    checkpoint itself is live (``training.run_lock``)."""
    from emdenoise_gui.core.pid_lock import live, training_lock_path

    return any(live(training_lock_path(folder)) for folder in (checkpoint.with_name(name), checkpoint))


def discard_paused(run: PausedRun) -> Path:
    """Delete the paused training ``run`` (its hidden checkpoint folder); returns that folder. InputError while
    a training holds it (its lock, or its package's, is live). Paused runs could not be discarded at all, from
    the app or the command line: 40 of them piled up in a lab's zoo (zoo audit of 2026-12-06)."""
    if _running(run.path, run.name):
        raise InputError(f"the paused training '{run.name}' is being resumed now: stop it first", run.path)
    _remove_whole(run.path, f"discard the paused training '{run.name}'")
    return run.path


def _remove_whole(folder: Path, what: str) -> None:
    """Remove ``folder``, moved aside first in one step: a zoo folder that cannot be written leaves it whole
    (InputError saying it could not ``what``), instead of a folder emptied of the files it could delete."""
    doomed = atomic.private_staging(folder)
    try:
        os.replace(folder, doomed)
    except OSError as exc:
        raise zoo_folder_error(exc, what) from exc
    shutil.rmtree(doomed, ignore_errors=True)


def find(name: str) -> ZooEntry:
    """The zoo entry named ``name`` (a card name); InputError listing the names otherwise."""
    entries, same = list_entries(), _same_name(name)
    matches = [entry for entry in entries if entry.package and same(entry.name)]
    _refuse_clashing(name, [entry for entry in matches if not entry.shipped])
    if matches:
        return matches[0]
    broken = [e for e in entries if e.package is None and same(e.name)]
    if broken:  # `zoo list` shows it with its problem: say the same here
        raise InputError(f"the zoo model '{name}' cannot be used: {broken[0].problem}; delete it (emdenoise zoo "
                         "delete) and import or train it again")
    names = ", ".join(e.name for e in entries if e.package) or "none yet"
    raise InputError(f"no model named '{name}' in the zoo (models: {names})")


def _refuse_clashing(name: str, own: list[ZooEntry]) -> None:
    """InputError where several of the user's models carry the card name ``name`` (folders copied or cards
    edited by hand): which one a name means would depend on folder order."""
    if len(own) > 1:
        folders = ", ".join(Path(entry.path).name for entry in own)
        raise InputError(f"{len(own)} models in your zoo are named '{name}' (folders {folders}): rename one in its "
                         f"card.json, or delete one with 'emdenoise zoo delete {name} --folder FOLDER --yes'")


def resolve(spec: str) -> Package:
    """A package from a path (folder or .zip) or a zoo name."""
    from emdenoise_gui.zoo.package import open_package

    a_path = any(sep in str(spec) for sep in "/\\")  # names have no slash
    if Path(spec).exists():
        here = Path(spec).resolve()
        named = [folder / spec for folder in (SHIPPED_DIR, user_dir()) if (folder / spec).exists()]
        bare = valid_model_name(spec, new=False) and not a_path  # ".", "..": paths, never names
        if bare and named and named[0].resolve() != here:
            raise InputError(f"'{spec}' is both a model of the zoo and a {'folder' if here.is_dir() else 'file'} in "
                             f"this folder ({here}); write ./{spec} to use the one here, or run from another "
                             "folder to use the zoo's")
        return open_package(spec)
    if Path(spec).is_absolute() or a_path:  # a path, gone
        raise InputError("model package not found (moved or deleted?); choose another model", spec)
    return find(spec).package


def recorded_start(init_from: str, candidates: tuple[str, ...]) -> tuple[str, Package] | None:
    """(candidate, its package) of the first of ``candidates`` (paths or zoo names; "" skipped) that still
    holds the weights a run recorded it started from (``init_from``, a card's "NAME (sha256 0123456789ab)"), or
    None: no record, or every candidate gone, unreadable or holding other weights since (a shipped model an
    update replaced, a package imported again)."""
    record = _record(init_from)
    if record is None:
        return None
    digest = record[1]
    for candidate in candidates:
        try:
            package = resolve(candidate) if candidate else None
        except (InputError, OSError, ValueError):
            continue
        if package is not None and package.card.weights_sha256.startswith(digest):
            return candidate, package
    return None


def recorded_name(init_from: str) -> str:
    """The name in a card's ``init_from`` ("NAME (sha256 0123456789ab)"); "" for anything else."""
    record = _record(init_from)
    return record[0] if record else ""


def _record(init_from: str) -> tuple[str, str] | None:
    """(name, sha256 prefix) of a card's ``init_from``, "NAME (sha256 0123456789ab)"; None for anything else."""
    name, found, digest = init_from.rpartition(" (sha256 ")
    return (name, digest.rstrip(")")) if found else None


def zoo_folder_error(exc: OSError, what: str) -> InputError:
    """An OSError while writing the user zoo as one line: what failed, the zoo folder, what to do (a disk
    error or a full disk is said as such, not as a folder the user cannot write to)."""
    if exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.ENOENT, errno.EEXIST, None):
        return atomic.write_failure(exc, 0, user_dir()) or InputError(f"cannot {what} ({exc})", user_dir())
    return InputError(f"cannot {what} ({exc.strerror or exc}): the zoo folder must be a folder you can write "
                      "to (it is set by EMDENOISE_HOME or the user data folder)", user_dir())


def start_config(init: str, family: str) -> str | None:
    """The configuration (size) of the start model ``init`` (a path or zoo name) when it is of ``family``: a
    fine-tuning run keeps its start model's size. None for another family (the trainer then says so)."""
    card = resolve(init).card
    return card.config if card.family == family else None


def import_package(source: str | Path) -> Package:
    """Copy a package (folder, .zip, or a bioimage.io zip EMDenoise exported) into the user zoo under its
    card name, verified and atomic. InputError for a bad package, a name taken, or a zoo folder that
    cannot be written."""
    try:
        return _import(Path(source))
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST) and exc.filename2 is not None:  # os.replace onto a
            # model of the same name that another import added after this one checked the name was free
            raise InputError("a model of its name was added to the zoo meanwhile; delete it first", source) from None
        raise zoo_folder_error(exc, "import the model") from exc


def _import(source: Path) -> Package:
    target_root = user_dir()
    target_root.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        package = verify_folder(source)
        _check_new_name(package.card.name, source)
        _check_free(package.card.name, source)  # before seconds of loading the network (and again after)
        load_network(package)  # weights that do not fit the card would fail every later use (and --model auto)
        target = target_root / package.card.name
        _check_free(package.card.name, source)
        with atomic.new_folder(target, folder_bytes(source)) as staging:
            shutil.copytree(source, staging, dirs_exist_ok=True)
            verify_folder(staging)
        return Package(target, package.card)
    if not source.exists():
        raise InputError("model package not found", source)
    inside = bioimageio.attachments(source) if bioimageio.is_bioimageio_zip(source) else None
    leftovers.sweep(target_root)  # a killed import's unpacked copy, one more each kill (kill audit)
    scratch = atomic.private_staging(target_root / "import")  # named with this process: swept once it is gone
    try:
        try:
            package = extract_zip(source, scratch, inside)
            _check_new_name(package.card.name, source)
            _check_free(package.card.name, source)  # before seconds of loading the network (and again after)
            load_network(package)
        except InputError as exc:  # a problem found in the unpacked copy: name the zip, not the scratch folder
            if exc.path is not None and target_root in exc.path.parents:  # the scratch folder or its staging copy
                raise InputError(exc.problem, source) from None
            raise
        target = target_root / package.card.name
        _check_free(package.card.name, source)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Package(target, package.card)


def _check_new_name(name: str, source: Path) -> None:
    """InputError when ``name`` may not name a model joining the zoo (the rule for new names)."""
    if not valid_model_name(name):
        raise InputError(f"its card names the model {name!r}, which is not allowed for a model joining the zoo "
                         f"({NAME_RULE}): correct the name in its card.json", source)


def _check_free(name: str, source: Path) -> None:
    """InputError when a package named ``name`` cannot join the user zoo."""
    _check_new_name(name, source)
    taken = name_taken(name)
    if taken and (SHIPPED_DIR / name).exists():
        raise InputError(f"{taken}, so the zoo has one already; a model of your own needs another name "
                         "(train it again under another name)", source)
    if taken and name == AUTO_MODEL:
        raise InputError(f"{taken}: a model of your own needs another name (train it again under another name)",
                         source)
    if taken:
        raise InputError(f"{taken}; delete it first", source)
    from emdenoise_gui.core.pid_lock import live, training_lock_path

    if live(training_lock_path(user_dir() / name)):  # its end found this package in its place, and the training
        # was lost (concurrency audit)
        raise InputError(f"a training is writing a model named '{name}' into the zoo now: wait for it to end "
                         "(then delete one of the two), or train this one again under another name", source)


def export_package(name: str, destination: str | Path, overwrite: bool = False) -> Path:
    """Write the zoo model ``name`` to a .zip at ``destination``."""
    destination = Path(destination)
    if destination.suffix.lower() != ".zip":
        raise InputError("model packages are exported as .zip files; name it .zip", destination)
    outside_zoo(destination)
    return export_zip(find(name).package, destination, overwrite)


def outside_zoo(destination: Path) -> None:
    """InputError when ``destination`` lies inside a zoo folder: a file in a package's folder breaks that
    package (its check refuses unexpected files)."""
    where = destination.expanduser().resolve()
    for root in (user_dir(), SHIPPED_DIR):
        if where.is_relative_to(root.resolve()):
            raise InputError("is inside the model zoo's folder, where a file breaks the model beside it; "
                             "export to another folder", destination)


def delete_package(name: str, path: str | Path | None = None) -> Path:
    """Remove a user model from the zoo (shipped models cannot be deleted), and its finished run's hidden
    checkpoint (``.NAME.checkpoint``, unless that run is paused on a longer total: listed, kept).

    ``path`` picks the exact package folder when several carry the same card name.
    """
    if path is not None:  # a path, or a folder of the user zoo by its name
        path = Path(path) if Path(path).is_absolute() or Path(path).exists() else user_dir() / path
        matches = [e for e in list_entries() if e.path and Path(e.path).resolve() == path.resolve()]
        if not matches:
            raise InputError("is not a package in the zoo", path)
        entry = matches[0]
        if not _same_name(name)(entry.name):  # a typo in either must not delete another model
            raise InputError(f"holds the model '{entry.name}', not '{name}': nothing was deleted", path)
    else:  # the user's own copy first: a model named like a shipped one must stay deletable
        own = [e for e in list_entries() if not e.shipped and e.name == name]
        _refuse_clashing(name, own)
        entry = own[0] if own else find(name)
    if entry.shipped:
        raise InputError(f"'{name}' ships with EMDenoise and cannot be deleted")
    _remove_whole(Path(entry.path), f"delete '{name}'")
    checkpoint = run_checkpoint(Path(entry.path).name)  # user entries are folders of user_dir()
    paused = {run.path for run in list_paused()}  # a longer run of it, paused: the user's work, kept
    # the finished run's hidden last checkpoint goes too, unless a run is being resumed from it now (zoo audit)
    if checkpoint.is_dir() and checkpoint not in paused and not _running(checkpoint, Path(entry.path).name):
        shutil.rmtree(checkpoint, ignore_errors=True)
    return entry.path
