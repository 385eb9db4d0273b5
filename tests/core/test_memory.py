"""A job whose slices cannot fit this computer's memory is refused before any work, in one line (a 16384^2 slice
needed 6.6-9.4 GB, and on a computer with less the system killed the app or the command without a word)."""

import pytest
import tifffile

from emdenoise_gui.core import memory
from emdenoise_gui.core.errors import InputError
from tests.conftest import synthetic_em_stack


def test_this_computers_memory_is_read():
    total = memory.physical_memory()
    assert total is not None and total > 2**28


def test_a_container_limit_below_the_ram_is_taken(tmp_path, monkeypatch):
    limit = tmp_path / "memory.max"
    monkeypatch.setattr(memory, "CGROUP_LIMIT", limit)
    limit.write_text("max\n")
    total = memory.physical_memory()
    limit.write_text(f"{2**30}\n")
    assert memory.physical_memory() == min(total, 2**30)


def test_slices_too_large_for_the_memory_are_refused_in_one_line():
    memory.check_slice_memory((16384, 16384), "model", "big.tif", memory=64 * 2**30)  # fits 64 GB
    with pytest.raises(InputError) as caught:
        memory.check_slice_memory((16384, 16384), "model", "big.tif", memory=8 * 2**30)
    text = str(caught.value)
    assert "16384 x 16384 px" in text and "13.0 GB" in text and "8.0 GB" in text and "\n" not in text
    assert "Nothing was written" in text
    memory.check_slice_memory((16384, 16384), "filter", "big.tif", memory=8 * 2**30)  # 6.7 GB: a filter fits


def test_memory_that_cannot_be_read_lets_the_job_run(monkeypatch):
    monkeypatch.setattr(memory, "physical_memory", lambda: None)
    memory.check_slice_memory((65536, 65536), "model", "huge.tif")


def test_the_cli_refuses_before_writing(tmp_path, cli, monkeypatch):
    src, out = tmp_path / "a.tif", tmp_path / "o.tif"
    tifffile.imwrite(src, synthetic_em_stack(3, 64, 64, seed=1), imagej=True, metadata={"axes": "ZYX"})
    monkeypatch.setattr(memory, "physical_memory", lambda: 256 * 2**20)
    for how in (("--model", "flyem-nrrn-lite"), ("--method", "gaussian")):
        result = cli("denoise", src, "-o", out, *how, "--device", "cpu") if how[0] == "--model" else \
            cli("denoise", src, "-o", out, *how)
        assert result.code == 2 and "needs about" in result.err and "256 MB" in result.err, result.err
        assert not out.exists()
