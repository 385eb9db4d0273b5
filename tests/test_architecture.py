"""The import arrows of architecture.md hold at run time too."""

import subprocess
import sys
import textwrap

import pytest


@pytest.fixture
def fibsem_crop(synthetic_crop):
    """What these tests check does not depend on the data: a synthetic EM-like stack stands in for
    the real crop, so they run without ../shared/data."""
    return synthetic_crop


BLOCKER = textwrap.dedent("""
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in {blocked!r}:
                raise ImportError(f'{{name}} is blocked for this test')
    sys.meta_path.insert(0, Block())
""")


def _run(code: str, blocked: set) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER.format(blocked=blocked) + code],
                          capture_output=True, text=True, timeout=120)


def test_cli_runs_without_qt_or_torch(fibsem_crop, tmp_path):
    code = textwrap.dedent(f"""
        from emdenoise_gui.cli import main
        rc = main(['info', {str(fibsem_crop)!r}])
        rc |= main(['denoise', {str(fibsem_crop)!r}, '-o', {str(tmp_path / 'o.tif')!r}, '--method', 'median'])
        raise SystemExit(rc)
    """)
    result = _run(code, {"PySide6", "pyqtgraph", "shiboken6", "torch"})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "o.tif").exists()


def test_core_imports_neither_qt_nor_torch():
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        import emdenoise_gui.core as core
        for info in pkgutil.iter_modules(core.__path__):
            importlib.import_module(f'emdenoise_gui.core.{info.name}')
        bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'torch'))
        print(bad)
        raise SystemExit(1 if bad else 0)
    """)
    result = _run(code, set())
    assert result.returncode == 0, result.stdout + result.stderr
