"""A wheel install carries the shipped models and the demo (package data in emdenoise_gui/resources/).

The checkout is copied to a temporary folder, built into a wheel offline (setuptools from this venv, no
build isolation) and installed with ``pip --python`` into a fresh venv outside the checkout. The new venv
borrows this venv's dependencies (torch, Qt, ...) through a plain path line in a .pth file, which does not
run the editable install's own .pth files, so the installed copy, not the checkout, is what runs.
Then, from a folder outside the checkout with a fresh EMDENOISE_HOME: ``emdenoise zoo list``,
``emdenoise denoise`` on one slice of the installed demo, and ``emdenoise-gui --demo --screenshot``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

import numpy as np
import pytest
import tifffile

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("flyem-nrrn-base", "flyem-nrrn-lite")
TOP_FILES = ("pyproject.toml", "README.md", "MANIFEST.in", "LICENSE", "setup.cfg")

pytestmark = pytest.mark.slow


def _run(args, timeout=300, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def _source_copy(target: Path) -> Path:
    """What a `pip install .` reads from the checkout, copied (so the build leaves nothing in the checkout)."""
    target.mkdir()
    for name in TOP_FILES:
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target / name)
    shutil.copytree(ROOT / "emdenoise_gui", target / "emdenoise_gui",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*.partial"))
    return target


def _venv_paths(prefix: Path) -> tuple[Path, Path]:
    """(bin folder, site-packages) of the venv at ``prefix`` (same Python as this one)."""
    scheme = "venv" if "venv" in sysconfig.get_scheme_names() else None
    vars_ = {"base": str(prefix), "platbase": str(prefix)}
    paths = sysconfig.get_paths(scheme, vars=vars_) if scheme else sysconfig.get_paths(vars=vars_)
    return Path(paths["scripts"]), Path(paths["purelib"])


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(bin folder, site-packages, environment, work folder) of a fresh venv with the wheel installed."""
    base = tmp_path_factory.mktemp("install")
    assert not base.resolve().is_relative_to(ROOT), "the install test needs a temporary folder outside the checkout"
    prefix = base / "venv"
    try:
        venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(prefix)
    except Exception as exc:  # noqa: BLE001 - any failure here means this Python cannot make venvs
        pytest.skip(f"cannot create a venv with this Python ({type(exc).__name__}: {exc})")
    bin_dir, site = _venv_paths(prefix)
    python = bin_dir / ("python.exe" if os.name == "nt" else "python")
    if not python.exists():
        pytest.skip(f"venv creation made no interpreter at {python}")

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONNOUSERSITE="1")

    source = _source_copy(base / "src")
    wheels = base / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
          "-w", wheels, source], env=env, cwd=base)
    (wheel,) = wheels.glob("emdenoise_gui-*.whl")
    # pip runs under the new interpreter, which does not see this venv yet: nothing here is touched
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel],
         env=env, cwd=base)
    # the dependencies: this venv's site-packages as a plain path (its .pth files, the editable finder
    # included, are not processed), after the new venv's own site-packages
    dev_sites = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "zz_dev_dependencies.pth").write_text("".join(f"{p}\n" for p in dev_sites))

    work = base / "work"
    work.mkdir()
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", EMDENOISE_HOME=str(base / "home"),
               QT_QPA_PLATFORM="offscreen", OMP_NUM_THREADS="1")
    return bin_dir, site, env, work


def test_wheel_install_carries_the_shipped_models_and_the_demo(installed):
    bin_dir, site, env, work = installed
    timings = {}

    def run(label, *args, timeout=300):
        start = time.perf_counter()
        result = _run(args, timeout=timeout, env=env, cwd=work)
        timings[label] = round(time.perf_counter() - start, 1)
        return result

    # the installed copy runs, and finds its package data inside the new venv
    probe = run("probe", bin_dir / "python", "-c", "import json, emdenoise_gui; from emdenoise_gui import paths; "
                "from emdenoise_gui.zoo.registry import find; "
                "print(json.dumps({'file': emdenoise_gui.__file__, 'models': str(paths.shipped_models_dir()), "
                "'demo': str(paths.demo_dir()), 'lite': str(find('flyem-nrrn-lite').path)}))")
    where = {k: Path(v).resolve() for k, v in json.loads(probe.stdout.strip().splitlines()[-1]).items()}
    for key, path in where.items():
        assert path.is_relative_to(site.resolve()), f"{key}: {path} is not in the new venv's {site}"
        assert not path.is_relative_to(ROOT), f"{key}: {path} is the checkout's, not the installed copy"
    for script in ("emdenoise", "emdenoise-gui"):  # the commands run the new venv's Python, hence the installed copy
        first = (bin_dir / script).read_text().splitlines()[0]
        assert first.startswith("#!") and Path(first[2:].strip()).parent == bin_dir, first
    demo = where["demo"]
    assert (demo / "ATTRIBUTION.md").is_file() and "CC BY 3.0" in (demo / "ATTRIBUTION.md").read_text()
    for name in SHIPPED:
        assert {p.name for p in (where["models"] / name).iterdir()} >= {"card.json", "weights.safetensors"}

    listing = run("zoo list", bin_dir / "emdenoise", "zoo", "list").stdout
    for name in SHIPPED:
        assert any(line.split()[:2] == [name, "shipped"] for line in listing.splitlines()), listing

    out = work / "out.tif"
    run("denoise", bin_dir / "emdenoise", "denoise", demo / "flyem_fibsem_demo_noisy.tif", "-o", out,
        "--model", "flyem-nrrn-lite", "--slices", "0:1")
    image = tifffile.imread(out)
    assert image.squeeze().shape == (256, 256) and np.isfinite(image).all() and image.std() > 0

    shot = work / "shot.png"
    run("gui", bin_dir / "emdenoise-gui", "--demo", "--screenshot", shot, timeout=600)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print("install test timings (s):", timings)
