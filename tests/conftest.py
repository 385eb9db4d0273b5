"""Shared fixtures. Qt runs offscreen; real EM data comes from ../shared/data when present."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import hashlib  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tifffile  # noqa: E402


def main(argv):  # imported lazily so core tests run without the CLI
    from emdenoise_gui.cli import main as cli_main

    return cli_main(argv)

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FIBSEM = SHARED_DATA / "fibsem_flyem_medulla_val_z000-127_128x520x520.tif"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA


@pytest.fixture
def fibsem_crop(tmp_path) -> Path:
    """A 6x96x80 uint8 crop of the real FlyEM FIB-SEM stack (10 nm voxels) as an ImageJ TIFF."""
    if not FIBSEM.exists():
        pytest.skip("../shared/data is not beside this checkout")
    data = tifffile.imread(FIBSEM, key=range(0, 6))[:, 200:296, 150:230]
    path = tmp_path / "crop.tif"
    tifffile.imwrite(path, data, imagej=True, resolution=(0.1, 0.1),
                     metadata={"axes": "ZYX", "spacing": 10.0, "unit": "nm"})
    return path


def synthetic_em_stack(depth: int = 6, height: int = 96, width: int = 80, seed: int = 0) -> np.ndarray:
    """(depth, height, width) uint8: dark 'membranes' between bright 'cells' that drift slowly
    from slice to slice, like neighbouring FIB-SEM slices; seeded, no real data needed."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    field = ndimage.gaussian_filter(rng.standard_normal((depth * 4, height, width)), (6, 5, 5))[::4]
    edges = np.exp(-(field / (0.25 * field.std())) ** 2)  # thin dark bands where the field crosses 0
    image = 190 - 120 * edges + 8 * ndimage.gaussian_filter(rng.standard_normal(field.shape), (0, 1, 1))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def random_package(folder: Path, family: str, config: str = "lite", perturb: float = 0.0,
                   options: dict | None = None, normalisation: dict | None = None):
    """A model package of ``family``/``config`` at ``folder`` with seeded random weights (torch seed 0),
    each weight moved by ``perturb`` x N(0, 1) (0.05 makes outputs that vary); ``options``: architecture
    settings added to the configuration's (e.g. NRRN's ``neighbours``); ``normalisation``: the card's (default
    the family's kind); for tests and benchmarks
    where what the weights learned is not the point."""
    import torch

    from emdenoise_gui.models.registry import FAMILIES
    from emdenoise_gui.zoo.card import ModelCard
    from emdenoise_gui.zoo.package import write_package

    info = FAMILIES[family]
    arch = {**info.architecture(config), **(options or {})}
    torch.manual_seed(0)
    net = info.build(**arch)
    if perturb:
        with torch.no_grad():
            for p in net.parameters():
                p.add_(perturb * torch.randn_like(p))
    card = ModelCard(name=f"{family}-{config}-random", family=family, config=config, architecture=arch,
                     normalisation=normalisation or {"kind": info.normalisation, "mean": 0.5, "std": 0.2},
                     weights_sha256="0" * 64, parameters=sum(p.numel() for p in net.parameters()),
                     training_crop=info.configs[config].crop)
    return write_package(folder, card, net.state_dict())


@pytest.fixture
def synthetic_crop(tmp_path) -> Path:
    """A 6x96x80 uint8 EM-like stack (10 nm voxels) as an ImageJ TIFF: for tests where real data is
    not the point, so they run without ../shared/data."""
    path = tmp_path / "synthetic.tif"
    tifffile.imwrite(path, synthetic_em_stack(), imagej=True, resolution=(0.1, 0.1),
                     metadata={"axes": "ZYX", "spacing": 10.0, "unit": "nm"})
    return path


#: Fixtures of this file that read ../shared/data: a test using one (directly or through another
#: fixture, and not overridden by a synthetic stand-in) gets the ``data`` marker.
DATA_FIXTURES = {"shared_data", "fibsem_crop"}


def pytest_addoption(parser):
    parser.addoption("--long", action="store_true",
                     help="also run the tests marked 'long' (the long fuzz run), and twenty kill points per "
                          "kill test instead of four (minutes)")
    parser.addoption("--frozen", metavar="BUNDLE", default=None,
                     help="run the tests marked 'frozen' against this built installer bundle "
                          "(build/installer/dist/emdenoise; make installer-test)")


def pytest_collection_modifyitems(config, items):
    skip_long = pytest.mark.skip(reason="a long run: give --long (make test-long) to run it")
    skip_frozen = pytest.mark.skip(reason="tests a built installer bundle: give --frozen BUNDLE")
    for item in items:
        if "long" in item.keywords and not config.getoption("--long"):
            item.add_marker(skip_long)
        if "frozen" in item.keywords and not config.getoption("--frozen"):
            item.add_marker(skip_frozen)
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs if info is not None else {}
        if any(defs.get(name) and defs[name][-1].func.__module__ == __name__ for name in DATA_FIXTURES):
            item.add_marker(pytest.mark.data)


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class CliResult:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err

    @property
    def trained(self) -> bool:
        """A training command wrote its model: exit 0, or 3 when the model failed its held-back check (a run
        of a few steps in a test nearly always does; tests/training/test_blind_spot_bar.py tests that status)
        with the warning saying so."""
        warned = re.search(r"emdenoise: warning: on [\w ,-]+ this model", self.err) is not None
        return "wrote model package" in self.out and (self.code == 0 and not warned or self.code == 3 and warned)


@pytest.fixture
def cli(capsys):
    """Run ``emdenoise ARGS...`` in-process; returns (exit code, stdout, stderr)."""

    def run(*args) -> CliResult:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def write_tiff(path: Path, data: np.ndarray, **kwargs) -> Path:
    tifffile.imwrite(path, data, **kwargs)
    return path
