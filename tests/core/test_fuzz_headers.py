"""Property-based fuzzing of TIFF and MRC headers: every mutated file is either read correctly or refused
with exit 2 and one line; never an internal error (a traceback's stand-in), a hang or a written file.

Seeded (derandomised): 300 mutations of each in the default run (about 14 s on 2 cores), 10,000 with
``--long`` (make test-long).
"""

import io
import threading

import mrcfile
import numpy as np
import pytest
import tifffile

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.conftest import main  # noqa: E402

HANG_S = 30.0
QUICK, LONG = 300, 10_000


def _tiff_bytes() -> bytes:
    buffer = io.BytesIO()
    data = (np.arange(3 * 24 * 20) % 251).astype(np.uint8).reshape(3, 24, 20)
    tifffile.imwrite(buffer, data, imagej=True, resolution=(0.1, 0.1),
                     metadata={"axes": "ZYX", "spacing": 10.0, "unit": "nm"})
    return buffer.getvalue()


def _mrc_bytes(tmp) -> bytes:
    path = tmp / "seed.mrc"
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data((np.arange(3 * 24 * 20, dtype=np.float32) / 7).reshape(3, 24, 20))
        mrc.voxel_size = 12.0
    return path.read_bytes()


#: mutations of a seed file: byte overwrites in its first 1024 bytes (the header and the first IFD),
#: then an optional truncation
MUTATIONS = st.tuples(
    st.lists(st.tuples(st.integers(0, 1023), st.integers(0, 255)), min_size=1, max_size=8),
    st.one_of(st.none(), st.integers(0, 4000)),
)


def _mutate(seed: bytes, mutation) -> bytes:
    edits, keep = mutation
    data = bytearray(seed)
    for offset, value in edits:
        if offset < len(data):
            data[offset] = value
    return bytes(data[:keep] if keep is not None else data)


def _check(folder, name: str, content: bytes, capsys) -> None:
    path = folder / name
    path.write_bytes(content)
    before = sorted(p.name for p in folder.iterdir())
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("code", main(["info", str(path)])), daemon=True)
    thread.start()
    thread.join(HANG_S)
    assert not thread.is_alive(), f"emdenoise info hung on a mutated {name}"
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if line.strip()]
    assert result["code"] in (0, 2), captured.err  # 1 would be an internal error
    if result["code"] == 2:
        assert len(errors) == 1 and errors[0].startswith("emdenoise: error:"), captured.err
    assert sorted(p.name for p in folder.iterdir()) == before  # reading never writes
    path.unlink()


def _run(tmp_path_factory, capsys, examples: int, kind: str) -> None:
    folder = tmp_path_factory.mktemp(f"fuzz-{kind}")
    seed = _tiff_bytes() if kind == "tiff" else _mrc_bytes(folder)
    name = "mutant.tif" if kind == "tiff" else "mutant.mrc"

    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(MUTATIONS)
    def fuzz(mutation):
        _check(folder, name, _mutate(seed, mutation), capsys)

    fuzz()


@pytest.mark.parametrize("kind", ["tiff", "mrc"])
def test_mutated_headers_are_read_or_refused_in_one_line(tmp_path_factory, capsys, kind):
    _run(tmp_path_factory, capsys, QUICK, kind)


@pytest.mark.long
@pytest.mark.parametrize("kind", ["tiff", "mrc"])
def test_mutated_headers_long_run(tmp_path_factory, capsys, kind):
    _run(tmp_path_factory, capsys, LONG, kind)
