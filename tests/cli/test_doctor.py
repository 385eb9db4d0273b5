"""``emdenoise doctor``: the rows a bug report needs, and the GPU advice in every case."""

import pytest

from emdenoise_gui.cli.doctor import gpu_advice


def test_doctor_reports_version_devices_and_the_data_folder(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    result = cli("doctor")
    assert result.code == 0
    for label in ("EMDenoise", "Installed at", "Python", "torch", "CPU", "GPU", "GUI toolkit", "User data"):
        assert any(line.startswith(label) for line in result.out.splitlines()), label
    assert str(tmp_path / "home") in result.out and "(writable)" in result.out
    assert "not installed" not in result.out
    from emdenoise_gui.models.device import cpu_description

    cpu_row = next(line for line in result.out.splitlines() if line.startswith("CPU"))
    assert cpu_description() in cpu_row  # family, model and vector ISA: what tells two CPU speeds apart


@pytest.mark.parametrize("cuda,available,nvidia,phrase", [
    ("12.8", True, True, "the GPU is used"),
    (None, False, False, "runs on the CPU"),
    (None, False, True, "CPU edition: install the GPU (CUDA) edition"),
    ("12.8", False, True, "update the NVIDIA driver"),
])
def test_gpu_advice_says_why_and_what_to_do(cuda, available, nvidia, phrase):
    assert phrase in gpu_advice(cuda, available, nvidia)

