"""Shared fixtures. Qt runs offscreen; real EM data comes from ../shared/data when present."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import hashlib  # noqa: E402
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


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class CliResult:
    def __init__(self, code, out, err):
        self.code, self.out, self.err = code, out, err


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
