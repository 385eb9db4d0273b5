"""Zoo models as bioimage.io model packages (spec 0.5): export, and import of our own back.

``emdenoise zoo export NAME --format bioimageio OUT.zip`` writes a zip holding

- ``rdf.yaml``: the model description (JSON text, which is YAML): inputs (batch, channel = the
  family's adjacent slices, y, x with the tile size rule), outputs (the denoised centre slice, same
  size, with the network's halo), test tensors, weights, and our card under ``config.emdenoise``;
- ``weights.pt``: the state dict of :class:`models.portable.PortableDenoiser` (normalisation inside:
  input and output in the image's own units), with its architecture named by import
  (``emdenoise_gui.models.portable``) and its sha256;
- ``model.torchscript.pt``: the same module traced, the second weights format, runnable by any
  PyTorch without EMDenoise;
- ``test_input.npy`` / ``test_output.npy``: a (1, C, S, S) crop of the bundled FlyEM demo (CC BY
  3.0) and the module's output on it;
- ``README.md`` (documentation) and, as attachments, our own ``card.json`` and
  ``weights.safetensors``.

``zoo import`` takes such a zip back through the attachments only (:func:`attachments`, then
``zoo.package.extract_zip``): the card and the safetensors weights are checked as any package's are,
and no pickle (``weights.pt``) is ever loaded.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import string
import unicodedata
import zipfile
from pathlib import Path

import numpy as np

from emdenoise_gui import __version__, paths
from emdenoise_gui.core import atomic
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.models.registry import family
from emdenoise_gui.zoo.package import (
    CARD,
    WEIGHTS,
    Package,
    capped_blocks,
    check_zip_destination,
    load_network,
)

FORMAT_VERSION = "0.5.4"
ARCHITECTURE = {"callable": "PortableDenoiser", "import_from": "emdenoise_gui.models.portable"}
RDF = "rdf.yaml"
ATTACHMENTS = "emdenoise"
#: Side of the test tensors in px (families that tile at their training crop use the crop).
TEST_SIDE = 256
#: The demo slice the test tensors are centred on.
TEST_SLICE = 8
LICENSE = "BSD-3-Clause"


#: What bioimage.io allows in a model's name, and its length range (spec 0.5: ``ModelDescr.name``).
RDF_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "_+- ()")
RDF_NAME_LEN = (5, 128)
#: Largest rdf.yaml read on import (ours are a few KiB; a zip may inflate one to gigabytes).
MAX_RDF_BYTES = 1 << 20


def rdf_name(name: str) -> str:
    """``name`` as bioimage.io accepts it: accents dropped (``ü`` -> ``u``), any other character it does not
    allow (``.``, other scripts) as ``-``, at least 5 and at most 128 characters. The card inside keeps the
    real name, which ``zoo import`` uses."""
    plain = unicodedata.normalize("NFKD", name)
    text = "".join(c if c in RDF_NAME_CHARS else ("" if unicodedata.combining(c) else "-") for c in plain)
    text = re.sub(r"-{2,}", "-", text).strip(" -") or "model"
    if len(text) < RDF_NAME_LEN[0]:
        text = f"{text} (EMDenoise)"
    return text[:RDF_NAME_LEN[1]].rstrip()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _tif(array: np.ndarray) -> bytes:
    """A (1, C, Y, X) tensor as a TIFF (the sample tensors a viewer shows)."""
    import tifffile

    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, metadata={"axes": "QCYX"})
    return buffer.getvalue()


def demo_tensor(slices: int, side: int) -> np.ndarray:
    """(1, slices, side, side) float32: the noisy FlyEM demo around :data:`TEST_SLICE`, top-left crop."""
    import tifffile

    half = slices // 2
    stack = tifffile.imread(paths.demo_dir() / "flyem_fibsem_demo_noisy.tif")
    crop = stack[TEST_SLICE - half:TEST_SLICE + half + 1, :side, :side].astype(np.float32)
    return crop[None]


def min_side(multiple: int, halo: int | None) -> int:
    """The smallest tile a tool may give: a multiple of the network's downsampling, more than twice the halo."""
    need = 2 * (halo or 0) + multiple
    return multiple * -(-need // multiple)


def rdf(package: Package, files: dict[str, bytes], halo: int, multiple: int, side: int, torch_version: str,
        pad: int | None = None) -> dict:
    """The bioimage.io model description of ``package`` (``files``: name -> bytes in the zip, for sha256s)."""
    card = package.card
    info = family(card.family)
    slices = info.input_slices
    names = ["slice z"] if slices == 1 else [f"slice z{k - slices // 2:+d}" if k != slices // 2 else "slice z"
                                             for k in range(slices)]
    space = {"min": min_side(multiple, halo), "step": multiple}
    fixed = bool(info.tile_is_training_crop and card.training_crop)
    size = side if fixed else space

    def digest(name: str) -> str:
        return _sha256(files[name])

    return {
        "format_version": FORMAT_VERSION,
        "type": "model",
        "name": rdf_name(card.name),
        "description": (card.description or f"EMDenoise {card.family} denoiser")[:1000],
        "authors": [{"name": "EMDenoise developers"}],
        "cite": [{"text": f"EMDenoise {__version__}: {card.family} denoiser", "url": "https://example.org/emdenoise"}],
        "license": LICENSE,
        "documentation": "README.md",
        "tags": ["denoising", "electron-microscopy", "2d", card.family],
        "inputs": [{
            "id": "raw",
            "description": "adjacent slices, the one to denoise in the middle, in the image's own units",
            "axes": [{"type": "batch"}, {"type": "channel", "channel_names": names},
                     {"type": "space", "id": "y", "size": size}, {"type": "space", "id": "x", "size": size}],
            "test_tensor": {"source": "test_input.npy", "sha256": digest("test_input.npy")},
            "sample_tensor": {"source": "sample_input.tif", "sha256": digest("sample_input.tif")},
            "data": {"type": "float32"},
        }],
        "outputs": [{
            "id": "denoised",
            "description": "the denoised middle slice, in the input's units",
            "axes": [{"type": "batch"}, {"type": "channel", "channel_names": ["denoised"]},
                     *({"type": "space", "id": axis, "size": {"tensor_id": "raw", "axis_id": axis},
                        **({"halo": halo} if halo else {})} for axis in ("y", "x"))],  # spec: a halo is >= 1
            "test_tensor": {"source": "test_output.npy", "sha256": digest("test_output.npy")},
            "sample_tensor": {"source": "sample_output.tif", "sha256": digest("sample_output.tif")},
            "data": {"type": "float32"},
        }],
        "weights": {
            "pytorch_state_dict": {
                "source": "weights.pt", "sha256": digest("weights.pt"),
                "architecture": {**ARCHITECTURE, "kwargs": {"family_name": card.family,
                                                            "architecture": card.architecture,
                                                            "normalisation": card.normalisation["kind"],
                                                            "pad": halo if pad is None else pad}},
                "pytorch_version": torch_version,
            },
            "torchscript": {"source": "model.torchscript.pt", "sha256": digest("model.torchscript.pt"),
                            "pytorch_version": torch_version, "parent": "pytorch_state_dict"},
        },
        "attachments": [{"source": f"{ATTACHMENTS}/{name}", "sha256": digest(f"{ATTACHMENTS}/{name}")}
                        for name in (CARD, WEIGHTS)],
        "config": {"emdenoise": {"app_version": __version__, "card": card.to_dict()}},
    }


def readme(package: Package) -> str:
    card = package.card
    metrics = json.dumps(card.metrics) if card.metrics else "see EMDenoise's docs/benchmarks.md."
    return (f"# {card.name}\n\nAn EMDenoise {card.family} ({card.config}) denoiser for electron micrographs.\n\n"
            f"{card.description}\n\nNoise it was trained for: {card.noise_condition or 'see the card'}.\n"
            f"Training data: {card.training_data or 'see the card'}.\n\n"
            "Input: (batch, slices, y, x) float32 in the image's own units (adjacent slices, the one to denoise "
            "in the middle); the module normalises each tile itself (EMDenoise normalises whole slices, which "
            "agrees closely on tiles of a few hundred pixels). Output: the denoised middle slice, same units.\n\n"
            f"{_context_note(package)}"
            "Test tensors: a crop of the Janelia FlyEM FIB-SEM demo volume (CC BY 3.0, "
            "https://creativecommons.org/licenses/by/3.0/), with synthetic Poisson noise.\n\n"
            "## Validation\n\n"
            "The test output is this module's result on the test input. EMDenoise's tests check that its own "
            "tiled predictor gives the same result on the test input, and that bioimageio.spec validates the "
            f"package. How the model compares with classical filters on held-back data: {metrics}\n")


def _context_note(package: Package) -> str:
    """For a network whose result depends on the whole tile (cyclic), what that means for a tiling tool."""
    info = family(package.card.family)
    if info.context == "local":
        return ""
    if info.tile_is_training_crop and package.card.training_crop:
        tiles = f"{package.card.training_crop} px tiles, the training crop"
    else:
        tiles = f"tiles of at least {info.min_tile or 512} px"
    overlap = f"a {info.tile_overlap} px" if info.tile_overlap else "a quarter-tile"
    return ("This network's result depends on the whole tile it is given, not only on a neighbourhood: "
            f"give it large tiles (EMDenoise blends {tiles}, their borders mirrored, with {overlap} "
            "overlap); results differ most near the edges of small ones.\n\n")


def export(package: Package, destination: str | Path, halo: int, overwrite: bool = False) -> Path:
    """Write ``package`` as a bioimage.io model zip at ``destination``; ``halo``: the network's
    receptive-field radius in px (``Predictor.halo``, 0 for whole-tile models). InputError when it
    cannot be written."""
    import torch

    from emdenoise_gui.models.portable import KINDS, PortableDenoiser

    destination = Path(destination)
    if destination.suffix.lower() != ".zip":
        raise InputError("bioimage.io packages are .zip files; name it .zip", destination)
    if destination.exists() and not overwrite:
        raise InputError("already exists; choose another name or pass --overwrite", destination)
    check_zip_destination(destination)
    card = package.card
    kind = card.normalisation["kind"]
    if kind not in KINDS:
        raise InputError(f"{card.name} normalises its input as '{kind}', which has no bioimage.io form yet "
                         f"(export works for {', '.join(KINDS)} models: every family's current packages)")
    info = family(card.family)
    pad = halo  # mirrored on every side: the padded tile must stay a multiple of the network's downsampling
    while pad and (2 * pad) % info.multiple:  # (N2V's U-Net: a halo of 29 made a 256 px test tile 314 px)
        pad += 1
    module = PortableDenoiser(card.family, card.architecture, kind, pad=pad, net=load_network(package))
    module.eval()
    side = card.training_crop if info.tile_is_training_crop and card.training_crop else TEST_SIDE
    x = torch.from_numpy(demo_tensor(info.input_slices, side))
    module.requires_grad_(False)
    with torch.no_grad():
        y = module(x)
    # traced with autograd on (the weights need no gradient, so none is kept): without it a network's in-place
    # inference path (NRRN's) was traced, and the TorchScript failed when called with autograd on, the default.
    # No check_trace: it traces again and imports sympy and torch.distributed (the tests compare the output)
    with torch.enable_grad():
        traced = torch.jit.trace(module, x, check_trace=False)
    files = {"test_input.npy": _npy(x.numpy()), "test_output.npy": _npy(y.numpy()),
             "sample_input.tif": _tif(x.numpy()), "sample_output.tif": _tif(y.numpy())}
    buffer = io.BytesIO()
    torch.save(module.state_dict(), buffer)
    files["weights.pt"] = buffer.getvalue()
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    files["model.torchscript.pt"] = buffer.getvalue()
    files[f"{ATTACHMENTS}/{CARD}"] = (package.path / CARD).read_bytes()
    files[f"{ATTACHMENTS}/{WEIGHTS}"] = (package.path / WEIGHTS).read_bytes()
    files["README.md"] = readme(package).encode()
    description = rdf(package, files, halo, max(16, info.multiple), side, torch.__version__.split("+")[0], pad)
    files[RDF] = (json.dumps(description, indent=2) + "\n").encode()
    with atomic.new_file(destination, sum(len(data) for data in files.values())) as staging, \
            zipfile.ZipFile(staging, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return destination


def is_bioimageio_zip(path: Path) -> bool:
    """Whether ``path`` is a zip with an ``rdf.yaml`` at its top (a bioimage.io package)."""
    try:
        with zipfile.ZipFile(path) as zf:
            return RDF in zf.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _read_rdf(text: str, source: Path) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    except RecursionError:
        raise InputError("its rdf.yaml is nested too deeply to be a model description", source) from None
    try:
        import yaml

        data = yaml.safe_load(text)
    except ImportError as exc:
        raise InputError("its rdf.yaml is YAML that is not JSON; install PyYAML to import it", source) from exc
    except Exception as exc:
        raise InputError(f"its rdf.yaml cannot be read ({' '.join(str(exc).split())[:200]})", source) from exc
    if not isinstance(data, dict):
        raise InputError("its rdf.yaml is not a model description", source)
    return data


def attachments(source: Path) -> str:
    """The folder of a bioimage.io zip that holds our card and safetensors weights (``zoo import``
    extracts only those: no pickle is loaded); InputError when the model is not one of ours."""
    with zipfile.ZipFile(source) as zf:
        text = b"".join(capped_blocks(zf, RDF, MAX_RDF_BYTES, source, "far more than a model description; refused"))
        description = _read_rdf(text.decode("utf-8", "replace"), source)
        names = zf.namelist()
    def entry(mapping, key: str) -> dict:  # rdf.yaml is the user's file: any level may be of another type
        value = mapping.get(key) if isinstance(mapping, dict) else None
        return value if isinstance(value, dict) else {}

    architecture = entry(entry(entry(description, "weights"), "pytorch_state_dict"), "architecture")
    if {k: architecture.get(k) for k in ARCHITECTURE} != ARCHITECTURE:
        raise InputError("is a bioimage.io model whose architecture is not an EMDenoise one "
                         f"({architecture.get('import_from') or architecture.get('source') or 'unknown'}); "
                         "EMDenoise imports only its own families", source)
    if any(f"{ATTACHMENTS}/{name}" not in names for name in (CARD, WEIGHTS)):
        raise InputError("is a bioimage.io model of an EMDenoise family but lacks the emdenoise/ card and "
                         "weights attachments; export it again with EMDenoise", source)
    return ATTACHMENTS
