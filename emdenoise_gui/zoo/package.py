"""Model packages: a folder or .zip holding ``card.json`` and ``weights.safetensors``.

Loading never unpickles: weights are safetensors, checked against the sha256
in the card before they are read. A package is refused, with nothing written,
when its card is invalid, its checksum does not match, it holds a pickle (or
any file type other than the card, the weights and a README or preview), or a
zip entry would land outside the target folder.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import json
import math
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from emdenoise_gui.core import atomic, leftovers
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.zoo.card import CardError, ModelCard, card_from_dict

CARD, WEIGHTS = "card.json", "weights.safetensors"
ALLOWED = {CARD, WEIGHTS, "README.md", "preview.png"}
MAX_CARD_BYTES = 1 << 20
#: Most bytes each package file may hold when extracted (weights are capped by the card: see _weights_cap).
MAX_MEMBER_BYTES = {CARD: MAX_CARD_BYTES, "README.md": 1 << 20, "preview.png": 16 << 20, WEIGHTS: 8 << 30}
_PICKLE_SUFFIXES = {".pkl", ".pickle", ".pt", ".pth", ".ckpt", ".bin", ".joblib", ".npy", ".npz"}


@dataclass(frozen=True)
class Package:
    """A verified package on disk: its folder and its card; ``source`` the .zip it was unpacked from (for
    messages: the user's file, not our scratch folder), else None."""

    path: Path
    card: ModelCard
    source: Path | None = None

    @property
    def weights(self) -> Path:
        return self.path / WEIGHTS

    @property
    def named(self) -> Path:
        """What messages about this package name: the user's .zip, or the folder."""
        return self.source or self.path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: "device:inode:size:mtime_ns" -> sha256 of a weights file already hashed (this process's; None: not read yet)
_DIGESTS: dict[str, str] | None = None
#: Digests of zoo packages hashed by this process and not yet written to the file of kept ones.
_PENDING: dict[str, str] = {}
#: Where the digests are kept between runs (in the user's data folder), and how many at most.
DIGEST_FILE, MAX_DIGESTS = "weights-sha256.json", 4096


def _digest_file() -> Path:
    from emdenoise_gui import paths

    return paths.user_data_dir() / DIGEST_FILE


def _known_digests() -> dict[str, str]:
    """The digests kept by earlier runs ({} when there are none or they cannot be read)."""
    try:
        kept = json.loads(_digest_file().read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return {}
    return {k: v for k, v in kept.items() if isinstance(k, str) and isinstance(v, str)} if isinstance(kept, dict) else {}


def weights_digest(path: Path) -> str:
    """sha256 of ``path``, hashed once per version of the file (keyed by its identity, size and mtime, and kept
    between runs): every command and every start of the app read every package's weights to list the zoo
    (300 models: 195 MB a command, zoo audit of 2026-12-06). Loading a model hashes the bytes it loads anyway."""
    global _DIGESTS
    path = Path(path)
    st = path.stat()
    key = f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"
    if _DIGESTS is None:
        _DIGESTS = _known_digests()
    if key not in _DIGESTS:
        _DIGESTS[key] = sha256_file(path)
        if _in_a_zoo(path):  # not an import's or a zip's unpacked copy: gone after this run
            if not _PENDING:
                atexit.register(keep_digests)
            _PENDING[key] = _DIGESTS[key]
    return _DIGESTS[key]


def _in_a_zoo(weights: Path) -> bool:
    """Whether ``weights`` is the weights file of a package listed in the user's zoo or the shipped one."""
    from emdenoise_gui import paths

    folder = weights.parent
    return not folder.name.startswith(".") and any(
        folder.parent.resolve() == root.resolve() for root in (paths.user_models_dir(), paths.shipped_models_dir()))


def keep_digests() -> None:
    """Write the digests hashed since the last call to the file of kept ones, in one write (read again first:
    another run may have added its own; the oldest go past :data:`MAX_DIGESTS`). Called after listing the
    zoo, and at exit. A file that cannot be written only costs the next run a hash."""
    if not _PENDING:
        return
    kept = {**_known_digests(), **_PENDING}
    _PENDING.clear()
    with contextlib.suppress(OSError):
        target = _digest_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_text(target, json.dumps(dict(list(kept.items())[-MAX_DIGESTS:])))


def _looks_pickled(head: bytes) -> bool:
    """Pickle protocol 2+ starts with PROTO (0x80) and the protocol number; zip-wrapped torch saves start PK."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


#: The files of a training checkpoint (``training.checkpoint`` writes them; the zoo, below training, names them
#: here: a checkpoint given for a package is said to be one, and ``zoo.registry`` lists paused runs by them).
STATE_JSON, STATE_TENSORS = "state.json", "state.safetensors"
CHECKPOINT_FILES = (STATE_JSON, STATE_TENSORS)


def _check_member_name(name: str, where: Path) -> str:
    """The plain file name of a package member; InputError for anything unexpected."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise InputError(f"has an entry '{name}' that would be written outside the target folder; "
                         "refused, nothing was written", where)
    base = pure.name
    if Path(base).suffix.lower() in _PICKLE_SUFFIXES:
        raise InputError(f"contains a pickle-type file '{name}'; EMDenoise never loads pickles "
                         "(they can run code): ask for a safetensors package", where)
    if base in CHECKPOINT_FILES:  # "contains an unexpected file 'state.json'" said nothing of what it is (CLI audit)
        raise InputError("is a training checkpoint, not a model package: go on training it with `emdenoise resume "
                         f"{where}` (the model package is written when it finishes)", where)
    if base not in ALLOWED:
        raise InputError(f"contains an unexpected file '{name}'; a package holds only "
                         f"{', '.join(sorted(ALLOWED))}", where)
    return base


def _check_regular(item: Path, folder: Path) -> None:
    """InputError unless ``item`` is a regular file itself: no link (which could point anywhere, e.g. at
    a system file that an export would then copy), no FIFO (which would block reading), no device."""
    mode = item.lstat().st_mode
    if stat.S_ISLNK(mode):
        raise InputError(f"'{item.name}' is a link; a package holds only plain files (links could reach "
                         "outside it)", folder)
    if stat.S_ISDIR(mode):
        raise InputError(f"contains a sub-folder '{item.name}'; a package holds only files", folder)
    if not stat.S_ISREG(mode):
        raise InputError(f"'{item.name}' is not a regular file (a pipe or a device); refused", folder)


def verify_folder(folder: Path) -> Package:
    """Check a package folder (card, checksum, no pickles, only regular files) and return it; InputError
    otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("is not a model package folder", folder)
    for item in folder.iterdir():
        _check_regular(item, folder)
        _check_member_name(item.name, folder)
        with open(item, "rb") as fh:
            if _looks_pickled(fh.read(2)):
                raise InputError(f"'{item.name}' is a pickle; EMDenoise never loads pickles", folder)
    for required in (CARD, WEIGHTS):
        if not (folder / required).is_file():
            raise InputError(f"is missing {required}; it is not a complete model package", folder)
    card = _read_card(folder / CARD, folder)
    actual = weights_digest(folder / WEIGHTS)
    if actual != card.weights_sha256:
        raise InputError(f"the weights' checksum does not match the card (sha256 {actual[:12]}… != "
                         f"{card.weights_sha256[:12]}…): the file is damaged or was altered; refused",
                         folder)
    return Package(folder, card)


def _read_card(card_file: Path, where: Path) -> ModelCard:
    """The card in ``card_file``; InputError naming ``where`` (the package) for one that is not a model card."""
    if card_file.stat().st_size > MAX_CARD_BYTES:
        raise InputError("has a card.json over 1 MiB; it is not a model card", where)
    try:
        return card_from_dict(json.loads(card_file.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"card.json is not valid JSON ({exc})", where) from exc
    except RecursionError:
        raise InputError("card.json is nested too deeply to be a model card", where) from None
    except CardError as exc:
        raise InputError(f"invalid model card: {exc}", where) from exc
    except ValueError:  # a number of over 4300 digits: Python will not read it
        raise InputError("card.json holds a number too long to be a model card's", where) from None


def open_package(path: str | Path) -> Package:
    """A verified package from a folder or a .zip (extracted to a temporary folder kept for the process)."""
    path = Path(path)
    if not path.exists():
        raise InputError("model package not found", path)
    if path.is_dir():
        return verify_folder(path)
    scratch = leftovers.extraction_folder()  # named with this process: a killed run's is removed by the next
    atexit.register(shutil.rmtree, scratch, True)  # the extraction lives as long as the process
    from emdenoise_gui.zoo import bioimageio

    inside = bioimageio.attachments(path) if bioimageio.is_bioimageio_zip(path) else None  # our own export
    try:
        return replace(extract_zip(path, scratch / path.stem, inside), source=path)
    except InputError as exc:  # a problem found in the unpacked copy: name the zip, not the scratch folder
        shutil.rmtree(scratch, ignore_errors=True)
        if exc.path is not None and scratch in Path(exc.path).parents:
            raise InputError(exc.problem, path) from None
        raise
    except Exception:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def extract_zip(archive: Path, target: Path, inside: str | None = None) -> Package:
    """Verify every entry of ``archive``, extract into a new folder ``target``, verify it; atomically.

    Entries may sit at the top of the zip or inside one folder; ``inside`` takes only the entries
    under that top-level folder and ignores the rest (a bioimage.io zip's ``emdenoise/``
    attachments). Nothing is left at ``target`` if any check fails.
    """
    archive, target = Path(archive), Path(target)
    if target.exists():
        raise InputError("already exists; remove it or choose another name", target)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"is not a readable zip file ({exc}): give a model package folder or a .zip that "
                         "EMDenoise (or bioimage.io) exported", archive) from exc
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()
                   and (inside is None or m.filename.replace("\\", "/").startswith(f"{inside}/"))]
        names = {}
        for member in members:
            base = _check_member_name(member.filename, archive)
            if base in names:
                raise InputError(f"holds two files named {base}", archive)
            names[base] = member
        for base, member in names.items():
            if member.file_size > MAX_MEMBER_BYTES[base]:
                raise InputError(f"declares {base} of {member.file_size / 2**20:.0f} MiB, more than a model package "
                                 f"holds ({MAX_MEMBER_BYTES[base] / 2**20:.0f} MiB); refused, nothing was written",
                                 archive)
        if CARD not in names:  # the weights' cap comes from the card: without one they were inflated up to 8 GiB
            raise InputError(f"is missing {CARD}; it is not a complete model package", archive)
        with atomic.new_folder(target, sum(m.file_size for m in names.values())) as staging:
            caps = dict(MAX_MEMBER_BYTES)
            for base in sorted(names, key=lambda b: b != CARD):  # the card first: it sets the weights' cap
                _extract_capped(zf, names[base], staging / base, caps[base], archive)
                if base == CARD:
                    caps[WEIGHTS] = _weights_cap(staging / CARD, archive)
            package = verify_folder(staging)
    return Package(target, package.card)


def _weights_cap(card_file: Path, archive: Path) -> int:
    """Most bytes the weights of this card can take (:func:`weights_cap`); InputError, before the weights are
    inflated, for a card that is not a model card, not one this app reads (a newer format, a family it does not
    know) or whose architecture cannot be built or is over :data:`MAX_PARAMETERS` (such a card in a 400 KB zip
    had 400 MiB of weights inflated before it was refused; up to 8 GiB could be: zoo audit of 2026-12-07)."""
    card = _read_card(card_file, archive)
    try:
        return weights_cap(card)
    except InputError as exc:
        raise InputError(exc.problem, archive) from None
    except (AttributeError, TypeError, ValueError, KeyError) as exc:  # an architecture no family builds
        raise InputError(f"the card's {card.family} architecture cannot be built ({exc})", archive) from None


def weights_cap(card: ModelCard) -> int:
    """Most bytes a weights file of this card can hold: 8 bytes (float64) per parameter of its architecture
    (counted, not the card's word for it: a card claiming 10^9 let a 79 KB zip unpack 80 MB of zeros) plus
    1 MiB of safetensors header; InputError (TooLarge) as :func:`architecture_size`."""
    return min(MAX_MEMBER_BYTES[WEIGHTS], 8 * architecture_size(card) + (1 << 20))


#: The most parameters a card's architecture may have: 4x the paper-size cyclic GAN (31 M), the largest
#: network the families define. A card within each key's bounds could ask for 32 G parameters (120 GiB),
#: built before its weights were compared with it (untrusted-input audit of 2026-12-06).
MAX_PARAMETERS = 128_000_000


class TooLarge(InputError):
    """A card's architecture over :data:`MAX_PARAMETERS`."""


def _build(family_name: str, architecture: dict, device: str = "cpu"):
    """A card's network (its family and architecture) on ``device`` ("meta": shapes only, nothing allocated);
    InputError when the card's architecture cannot be built."""
    import torch

    from emdenoise_gui.models.registry import family

    try:
        with torch.device(device):
            return family(family_name).build(**architecture)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InputError(f"the card's {family_name} architecture cannot be built ({exc})") from exc


def architecture_size(card: ModelCard) -> int:
    """Parameters and buffers of the card's network, counted without building it; InputError when it cannot
    be built, TooLarge (an InputError) over :data:`MAX_PARAMETERS`."""
    count = sum(math.prod(shape) for shape, _ in _layout(card).values())
    if count > MAX_PARAMETERS:
        raise TooLarge(f"the card's {card.family} architecture has {count:,} parameters, more than the "
                       f"{MAX_PARAMETERS:,} EMDenoise runs: the card was changed or is not for this app")
    return count


def _layout(card: ModelCard) -> dict[str, tuple[tuple[int, ...], bool]]:
    """The card's state dict as name -> (shape, floating point?), from its network on torch's meta device
    (nothing allocated); built once per family and architecture in a process (a load asked for it twice)."""
    return _layout_of(card.family, json.dumps(card.architecture, sort_keys=True))


@functools.lru_cache(maxsize=64)
def _layout_of(family: str, architecture: str) -> dict[str, tuple[tuple[int, ...], bool]]:
    network = _build(family, json.loads(architecture), "meta")
    return {name: (tuple(t.shape), t.is_floating_point()) for name, t in network.state_dict().items()}


def capped_blocks(zf: zipfile.ZipFile, member: zipfile.ZipInfo | str, cap: int, archive: Path, why: str):
    """The inflated bytes of ``member`` in blocks of up to 1 MiB, stopping with InputError ("NAME inflates to
    more than CAP MiB, ``why``") as soon as they exceed ``cap`` bytes, whatever its header declared (a zip bomb
    is never inflated in full); a damaged, encrypted or oddly compressed member is one InputError too."""
    name = member.filename if isinstance(member, zipfile.ZipInfo) else member
    inflated = 0
    try:
        with zf.open(member) as src:
            for block in iter(lambda: src.read(1 << 20), b""):
                inflated += len(block)
                if inflated > cap:
                    raise InputError(f"{PurePosixPath(name).name} inflates to more than {cap / 2**20:.0f} MiB, "
                                     f"{why}", archive)
                yield block
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:  # a bad CRC, corrupt deflate data, cut short
        raise InputError(f"is damaged ({name}: {exc}); download or export it again", archive) from exc
    except NotImplementedError as exc:  # a compression method zipfile lacks (Deflate64 from Windows Explorer)
        raise InputError(f"cannot be read ({name}: {exc}); zip it again with the standard Deflate "
                         "method (or export it again with EMDenoise)", archive) from exc
    except RuntimeError as exc:  # zipfile's word for an encrypted member
        raise InputError(f"cannot be read ({name}: {exc}); model zips are never encrypted: "
                         "export it again without a password", archive) from exc


def _extract_capped(zf: zipfile.ZipFile, member: zipfile.ZipInfo, destination: Path, cap: int,
                    archive: Path) -> None:
    """Copy ``member`` to ``destination`` through :func:`capped_blocks` (over ``cap`` bytes: refused)."""
    with open(destination, "wb") as dst:
        for block in capped_blocks(zf, member, cap, archive, "more than its card allows; refused, nothing was written"):
            dst.write(block)


#: The safetensors metadata key holding :func:`bound_description`.
BOUND_KEY = "emdenoise_network"


def bound_description(card: ModelCard) -> str:
    """What of ``card`` the weights belong to, as JSON: family, architecture and normalisation kind."""
    return json.dumps({"family": card.family, "architecture": card.architecture,
                       "normalisation": card.normalisation.get("kind")}, sort_keys=True)


def _stored_metadata(data: bytes) -> dict:
    """The ``__metadata__`` of a safetensors file's bytes ({} when it has none or it cannot be read)."""
    try:
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + size])
        metadata = header.get("__metadata__") or {}
        return metadata if isinstance(metadata, dict) else {}
    except (ValueError, RecursionError, AttributeError):
        return {}


def write_package(folder: Path, card: ModelCard, tensors: dict) -> Package:
    """Save ``tensors`` (name -> torch.Tensor) as safetensors with ``card`` into a new ``folder``, atomically.

    The card's ``weights_sha256`` is filled in here. The weights file's metadata records the card's family,
    architecture and normalisation kind (:func:`bound_description`), so a card edited since is refused at
    load: its checksum covers the weights only, and a card changed from NRRN's "mean" to "pair" (same
    tensor shapes) loaded and gave other results with exit 0.
    """
    from safetensors.torch import save_file

    folder = Path(folder)
    if folder.exists():
        raise InputError("already exists; choose another name or remove it", folder)
    need = sum(v.numel() * v.element_size() for v in tensors.values()) + len(json.dumps(card.to_dict(), indent=2))
    with atomic.new_folder(folder, need) as staging:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(staging / WEIGHTS),
                  metadata={BOUND_KEY: bound_description(card)})
        atomic.follow_umask(staging / WEIGHTS)
        card.weights_sha256 = sha256_file(staging / WEIGHTS)
        (staging / CARD).write_text(json.dumps(card.to_dict(), indent=2) + "\n", encoding="utf-8")
    return Package(folder, card)


def folder_bytes(folder: Path) -> int:
    """Bytes of the regular files directly in ``folder``."""
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())


def check_zip_destination(destination: Path) -> None:
    """InputError unless a zip file can be written at ``destination``: not a folder, in a folder that
    exists and can be written."""
    if destination.is_dir():
        raise InputError("is a folder; give a .zip file name", destination)
    try:
        atomic.probe_writable(destination.parent)
    except OSError as exc:
        raise InputError(f"cannot write into the folder {destination.parent} ({exc.strerror}); create it or "
                         "choose a folder you can write to", destination) from None


def export_zip(package: Package, destination: Path, overwrite: bool = False) -> Path:
    """Write ``package`` as a zip (entries inside a folder named after the card), atomically; InputError,
    nothing written, when the weights' bytes copied do not match the card's checksum (a weights file damaged
    on the disk since it was last checked, its size and time unchanged: the zoo's digest cache trusted it and
    the zip was written with exit 0, to be refused where it was imported: zoo audit of 2026-12-07)."""
    destination = Path(destination)
    if destination.exists() and not overwrite:
        raise InputError("already exists; choose another name or pass --overwrite", destination)
    check_zip_destination(destination)
    need = folder_bytes(package.path)
    with atomic.new_file(destination, need) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for item in sorted(package.path.iterdir()):
            name = f"{package.card.name}/{item.name}"
            if item.name == WEIGHTS:
                _write_checked(zf, item, name, package.card.weights_sha256, package.path)
            else:
                zf.write(item, name)
    return destination


def _write_checked(zf: zipfile.ZipFile, item: Path, name: str, sha256: str, package: Path) -> None:
    """Copy ``item`` into ``zf`` as ``name``, hashing the bytes copied; InputError unless they hash to
    ``sha256``."""
    info = zipfile.ZipInfo.from_file(item, name)
    info.compress_type = zipfile.ZIP_DEFLATED
    digest = hashlib.sha256()
    with open(item, "rb") as source, zf.open(info, "w", force_zip64=True) as target:
        while block := source.read(1 << 20):
            digest.update(block)
            target.write(block)
    if digest.hexdigest() != sha256:
        raise InputError(f"its weights do not match the card's checksum (sha256 {digest.hexdigest()[:12]}… != "
                         f"{sha256[:12]}…): the file was damaged on the disk or altered; nothing was exported",
                         package)


def load_weights(package: Package) -> dict:
    """The package's tensors (name -> torch.Tensor on the CPU).

    The file is read once; those very bytes are checked against the card's sha256 and then parsed,
    so what loads is what was verified, even if the file changes on disk meanwhile. A file larger than the
    card's network can fill is refused before it is read.
    """
    try:
        cap = weights_cap(package.card)
    except TooLarge as exc:
        raise InputError(exc.problem, package.named) from None
    except InputError:  # an architecture that cannot be built: told once the weights say whether it was edited
        cap = MAX_MEMBER_BYTES[WEIGHTS]
    try:
        size = package.weights.stat().st_size
        data = package.weights.read_bytes() if size <= cap else b""
    except FileNotFoundError:  # deleted, or replaced by an import, after it was opened: an internal error before
        raise InputError("the model was deleted or replaced while it was being loaded; run it again (or choose "
                         "another model)", package.named) from None
    if size > cap:
        raise InputError(f"weights.safetensors is {size:,} bytes, more than its card's network can hold ({cap:,}): "
                         "the card or the weights were changed; import a good copy", package.named)
    from safetensors.torch import load

    if hashlib.sha256(data).hexdigest() != package.card.weights_sha256:
        raise InputError("the weights changed on disk after the package was opened; refused", package.named)
    try:
        tensors = load(data)
    except Exception as exc:
        raise InputError(f"weights.safetensors cannot be read ({exc})", package.named) from exc
    bound = _stored_metadata(data).get(BOUND_KEY)
    if bound is not None and bound != bound_description(package.card):  # packages before 2026-12-06 have none
        raise InputError("its card's family, architecture or normalisation was changed after the weights were "
                         "written; the weights would run as another network: restore the card or import a good "
                         "copy", package.named)
    import torch

    bad = next((name for name, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all()), None)
    if bad is not None:
        raise InputError(f"the weights hold NaN or infinite values (in {bad}); the model was damaged in "
                         "training or on disk: retrain it or import a good copy", package.named)
    return tensors


def load_network(package: Package):
    """The card's network (``models.registry``) with the package's weights in it, on the CPU, in training
    mode (torch.nn.Module); InputError in one line when the weights do not fit the card's architecture."""

    card = package.card
    tensors = load_weights(package)
    try:
        layout = _layout(card)  # compared before anything is allocated
    except InputError as exc:
        raise InputError(exc.problem, package.named) from None
    expected = {name: shape for name, (shape, _) in layout.items()}
    floating = {name for name, (_, is_float) in layout.items() if is_float}
    found = {name: tuple(t.shape) for name, t in tensors.items()}
    # a batch norm's step counter is not needed (torch fills it in; packages written by other tools lack it)
    missing = sorted(n for n in expected.keys() - found.keys() if not n.endswith("num_batches_tracked"))
    extra = sorted(found.keys() - expected.keys())
    other = sorted(n for n in expected.keys() & found.keys() if expected[n] != found[n])
    if missing or extra or other:
        shape = lambda s: "x".join(map(str, s)) or "scalar"  # noqa: E731
        example = (f"{other[0]}: {shape(found[other[0]])} in the file, {shape(expected[other[0]])} for the card"
                   if other else f"e.g. {(missing or extra)[0]}")
        raise InputError(f"the weights do not fit the card's {card.family} architecture ({len(other)} tensors of "
                         f"other shapes, {len(missing)} missing, {len(extra)} extra; {example}): the card or the "
                         "weights were changed; train the model again or import a good copy", package.named)
    integer = sorted(n for n in floating & found.keys() if not tensors[n].is_floating_point())
    if integer:  # loaded into float parameters they ran as garbage, with exit 0 (audit)
        raise InputError(f"the weights hold {tensors[integer[0]].dtype} values where the network has numbers with "
                         f"a fraction ({len(integer)} tensors, e.g. {integer[0]}): the weights were changed or written "
                         "by another program; import a good copy", package.named)
    model = _build(card.family, card.architecture)
    model.load_state_dict(tensors)
    return model
