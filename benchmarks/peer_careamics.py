"""CAREamics Noise2Void as the peer row of the quality benchmark.

CAREamics is never a dependency of the app. It lives in a benchmark-only virtual
environment (``benchmarks/.peer-venv``, git-ignored) that :func:`ensure_env` builds on
first use. Nothing here imports careamics, torch or lightning: :func:`train_predict`
writes the arrays as ``.npy`` files into a work folder and runs
``benchmarks/peer/careamics_n2v.py`` with the peer venv's python.

Thread count of the peer process: ``EMDENOISE_PEER_THREADS`` (default: all cores).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

PEER_NAME = "CAREamics N2V"

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_VENV = ROOT / "benchmarks" / ".peer-venv"
RUNNER = ROOT / "benchmarks" / "peer" / "careamics_n2v.py"

CAREAMICS_VERSION = "0.3.5"
TORCH_VERSION = "2.13.0"  # the CPU build from this machine's local wheel folder
# careamics 0.3.5 declares torchvision<=0.26.0, whose wheels pin torch<=2.11, so pip
# cannot resolve it next to torch 2.13.0. torchvision 0.28.0 is the release built for
# torch 2.13.0; careamics is therefore installed with --no-deps and its declared
# requirements are installed explicitly, with only the torchvision pin replaced. The only
# torchvision 0.28.0 wheel here is a CUDA build whose compiled ops cannot load next to CPU
# torch; the runner imports it without them (see careamics_n2v.py), N2V never uses them.
TORCHVISION_VERSION = "0.28.0"
CAREAMICS_REQUIREMENTS = (
    "bioimageio-core>=0.9.0,<=0.11.0",
    "lightning>=2.2,<=2.6.6,!=2.6.2,!=2.6.3",
    "matplotlib<=3.11.2",
    "microssim<=0.0.5",
    "numpy>=1.21,<=2.4.6",
    "pillow<=13.0.0",
    "psutil<=7.2.2",
    "pydantic>=2.11,<=2.14.1",
    "pyyaml!=6.0.0,<=6.0.3",
    "scikit-image<=0.26.0",
    "tifffile<=2026.3.3",
    "torchmetrics>0.7.0,<1.9.0",
    "zarr>=3.0.0,<4.0.0",
    f"torchvision=={TORCHVISION_VERSION}",
)
STAMP_NAME = "emdenoise-peer.json"
INSTALL_TIMEOUT_S = 1800


class PeerUnavailable(RuntimeError):
    """The peer cannot run here; ``str(err)`` is a one-line reason."""


def _stamp() -> dict:
    return {"careamics": CAREAMICS_VERSION, "torch": TORCH_VERSION,
            "torchvision": TORCHVISION_VERSION, "requirements": list(CAREAMICS_REQUIREMENTS)}


def _python(venv: Path) -> Path:
    return venv / "bin" / "python"


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def _run_logged(cmd: list[str], log: Path, what: str) -> str:
    """Run ``cmd``, append its output to ``log``; return stdout, or raise PeerUnavailable."""
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise PeerUnavailable(f"{what} failed: {err}") from err
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(cmd)}\n{done.stdout}{done.stderr}\n")
    if done.returncode != 0:
        raise PeerUnavailable(f"{what} failed (rc {done.returncode}): "
                              f"{_last_line(done.stderr or done.stdout)}")
    return done.stdout


@contextlib.contextmanager
def _locked(venv: Path):
    """Hold an exclusive lock (a file inside the venv folder) so two builds never overlap."""
    with open(venv / ".build.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_env(venv: Path = DEFAULT_VENV) -> Path:
    """Create (once) the benchmark-only venv with careamics and return its python.

    Idempotent: a stamp file in the venv records what was installed; a matching stamp
    returns at once. Installs torch 2.13.0 (CPU build, pinned again through a constraints
    file so no later step swaps it for a CUDA build), then careamics and its
    requirements. Output goes to ``<venv>/install.log``.
    Raises PeerUnavailable(msg) with a one-line reason if the venv cannot be made.
    """
    venv = Path(venv).absolute()
    python = _python(venv)
    stamp = venv / STAMP_NAME
    with contextlib.suppress(OSError, ValueError):
        if python.exists() and json.loads(stamp.read_text()) == _stamp():
            return python
    try:
        venv.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise PeerUnavailable(f"cannot create peer venv at {venv}: {err.strerror or err}") from err
    if not os.access(venv, os.W_OK):
        raise PeerUnavailable(f"cannot create peer venv at {venv}: not writable")
    with _locked(venv):
        with contextlib.suppress(OSError, ValueError):  # built by someone else meanwhile
            if python.exists() and json.loads(stamp.read_text()) == _stamp():
                return python
        log = venv / "install.log"
        if not python.exists():
            _run_logged([sys.executable, "-m", "venv", str(venv)], log, "python -m venv")
        constraints = venv / "constraints.txt"
        constraints.write_text(f"torch=={TORCH_VERSION}\ntorchvision=={TORCHVISION_VERSION}\n")
        pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "-c", str(constraints)]
        _run_logged(pip + [f"torch=={TORCH_VERSION}"], log, "pip install torch")
        _run_logged(pip + list(CAREAMICS_REQUIREMENTS), log, "pip install careamics requirements")
        _run_logged(pip + ["--no-deps", f"careamics=={CAREAMICS_VERSION}"], log,
                    "pip install careamics")
        out = _run_logged([str(python), str(RUNNER), "--check"], log,
                          "import check of careamics").split()
        if len(out) < 3 or out[1] != "None" or out[2] != CAREAMICS_VERSION:
            raise PeerUnavailable(f"peer venv has the wrong build (torch, cuda, careamics = {out})")
        stamp.write_text(json.dumps(_stamp(), indent=1) + "\n")
    return python


def train_predict(train_noisy: np.ndarray, test_noisy: np.ndarray, budget_s: float, workdir: Path,
                  seed: int = 0, venv: Path = DEFAULT_VENV) -> tuple[np.ndarray, dict]:
    """Train CAREamics N2V on ``train_noisy`` within ``budget_s`` and denoise ``test_noisy``.

    train_noisy: (Z, Y, X) float32 and test_noisy: (N, Y, X) float32, both on the same
    [0, 1] scale (noisy uint8 data / 255). 2-D N2V2 on 'SYX' (each slice is a sample),
    about 10 % of the training slices held back for validation; ``budget_s`` seconds of
    training wall time (Lightning ``max_time``). ``workdir`` receives the job, arrays,
    logs and checkpoints.

    Returns (predictions (N, Y, X) float32 on the input scale, info dict with
    careamics_version, epochs, steps, train_seconds, predict_seconds, config, ...).
    Raises PeerUnavailable if the venv cannot be made or the peer run fails.
    """
    train = np.asarray(train_noisy, dtype=np.float32)
    test = np.asarray(test_noisy, dtype=np.float32)
    if train.ndim != 3 or test.ndim != 3:
        raise ValueError(f"expected (Z, Y, X) and (N, Y, X) arrays, got {train.shape}, {test.shape}")
    if not budget_s > 0:
        raise ValueError(f"budget_s must be > 0 seconds, got {budget_s}")
    python = ensure_env(venv)
    workdir = Path(workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    np.save(workdir / "train.npy", train)
    np.save(workdir / "test.npy", test)
    threads = int(os.environ.get("EMDENOISE_PEER_THREADS", os.cpu_count() or 1))
    (workdir / "job.json").write_text(json.dumps(
        {"budget_s": float(budget_s), "seed": int(seed), "threads": threads}, indent=1))
    for name in ("pred.npy", "info.json"):
        (workdir / name).unlink(missing_ok=True)
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads), "PYTHONNOUSERSITE": "1"}
    env.pop("PYTHONPATH", None)
    timeout = 900 + 3 * float(budget_s)  # setup + prediction on top of the training budget
    with open(workdir / "runner.log", "w") as log:
        try:
            done = subprocess.run([str(python), str(RUNNER), str(workdir)], cwd=workdir, env=env,
                                  stdout=log, stderr=subprocess.PIPE, text=True, timeout=timeout,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as err:
            raise PeerUnavailable(f"peer run exceeded {timeout:.0f} s") from err
        log.write(done.stderr)
    if done.returncode != 0:
        raise PeerUnavailable(f"peer run failed (rc {done.returncode}): {_last_line(done.stderr)}")
    pred = np.load(workdir / "pred.npy").astype(np.float32, copy=False)
    info = json.loads((workdir / "info.json").read_text())
    if pred.shape != test.shape:
        raise PeerUnavailable(f"peer returned shape {pred.shape}, expected {test.shape}")
    return pred, info
