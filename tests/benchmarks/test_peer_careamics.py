"""The CAREamics N2V benchmark peer (benchmarks/peer_careamics.py).

The always-on tests need no careamics. The end-to-end test builds the peer venv (network,
several minutes the first time) and trains for ~20 s, so it only runs with
EMDENOISE_PEER_TEST=1.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from benchmarks import peer_careamics
from benchmarks.peer_careamics import PeerUnavailable

ROOT = Path(__file__).resolve().parents[2]
FIBSEM = ROOT.parent / "shared" / "data" / "fibsem_flyem_medulla_val_z000-127_128x520x520.tif"


def test_import_pulls_in_no_careamics_torch_or_lightning():
    code = ("import sys, benchmarks.peer_careamics as p; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'careamics', 'torch', 'lightning'}); "
            "print(p.PEER_NAME); print(bad)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["CAREamics N2V", "[]"]


def test_uncreatable_venv_raises_peer_unavailable(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    venv = blocker / "venv"  # a path below a regular file can never be created, even as root
    with pytest.raises(PeerUnavailable, match=r"cannot create peer venv at .*a_file/venv"):
        peer_careamics.ensure_env(venv)
    noisy = np.zeros((2, 64, 64), np.float32)
    with pytest.raises(PeerUnavailable) as err:
        peer_careamics.train_predict(noisy, noisy[:1], 1.0, tmp_path / "work", venv=venv)
    assert "\n" not in str(err.value)


def _psnr(ref: np.ndarray, img: np.ndarray) -> float:
    from emdenoise_gui.core.metrics import psnr

    return psnr(ref, np.clip(img, 0.0, 1.0))


@pytest.mark.skipif(os.environ.get("EMDENOISE_PEER_TEST") != "1",
                    reason="builds the CAREamics peer venv (network, minutes); set EMDENOISE_PEER_TEST=1")
def test_peer_denoises_a_small_fibsem_crop(tmp_path):
    if not FIBSEM.exists():
        pytest.skip("../shared/data is not beside this checkout")
    import tifffile

    from emdenoise_gui.core.noise import poisson_dose

    clean = tifffile.imread(FIBSEM, key=range(0, 12))[:, 200:328, 200:328].astype(np.float32) / 255
    rng = np.random.default_rng(0)
    noisy = np.stack([np.clip(np.round(poisson_dose(s, 25, rng) * 255), 0, 255) for s in clean])
    noisy = noisy.astype(np.float32) / 255
    pred, info = peer_careamics.train_predict(noisy[:10], noisy[10:], 20.0, tmp_path, seed=0)
    assert pred.shape == (2, 128, 128) and pred.dtype == np.float32
    assert np.isfinite(pred).all()
    assert info["careamics_version"] == peer_careamics.CAREAMICS_VERSION
    assert info["steps"] > 0 and info["train_seconds"] < 20.0 + 30.0
    for k in range(2):
        assert _psnr(clean[10 + k], pred[k]) > _psnr(clean[10 + k], noisy[10 + k]) + 1.0
