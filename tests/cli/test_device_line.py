"""A model run says on stderr, before its first slice, where it runs: the device and the precision, worded as the
result's made-by line (``jobs.denoise.model_words`` / ``running_on``). It said nothing: a run on a laptop's CPU
and one on a GPU looked alike until the output file's metadata was read."""

import io
import re

import tifffile

from emdenoise_gui.cli.progress import ProgressBar
from emdenoise_gui.core.events import Message, Stage
from tests.conftest import synthetic_em_stack

#: the device line of a run of the shipped NRRN lite on the CPU (the CLI tests run torch on one thread)
CPU_LINE = re.compile(r"^emdenoise: note: denoising with the model flyem-nrrn-lite \(nrrn lite, weights sha256 "
                      r"[0-9a-f]{12}; on the CPU, 1 thread, in (float32|bfloat16)\)$", re.MULTILINE)


def _stack(path, depth: int = 3, seed: int = 1):
    tifffile.imwrite(path, synthetic_em_stack(depth, 64, 64, seed=seed), imagej=True, metadata={"axes": "ZYX"})
    return path


def _lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "denoising with the model" in line]


def test_a_model_run_says_its_device_as_the_result_records_it(tmp_path, cli):
    out = tmp_path / "o.tif"
    result = cli("denoise", _stack(tmp_path / "a.tif"), "-o", out, "--model", "flyem-nrrn-lite", "--device", "cpu",
                 "--precision", "fp32")
    assert result.code == 0 and CPU_LINE.search(result.err), result.err
    assert len(_lines(result.err)) == 1 and "float32" in _lines(result.err)[0]
    with tifffile.TiffFile(out) as tif:
        made_by = tif.imagej_metadata["Info"]
    said = _lines(result.err)[0].split("denoising with ")[1]
    assert said.replace(", 1 thread,", "") in made_by  # the same words, the device's detail apart
    filtered = cli("denoise", tmp_path / "a.tif", "-o", tmp_path / "f.tif", "--method", "median")
    assert filtered.code == 0 and "denoising with" not in filtered.err  # a filter runs no network


def test_a_network_with_bfloat16_weights_is_said_to_compute_in_bfloat16(tmp_path, cli, monkeypatch):
    """The cyclic generator on a CPU that computes bfloat16 natively runs with bfloat16 weights and no autocast
    (``FamilyInfo.bf16_weights``): its result's made-by line said float32."""
    from emdenoise_gui.inference import predictor

    monkeypatch.setattr(predictor, "native_bf16_cpu", lambda: True)  # as on AVX512-BF16 / AMX CPUs
    out = tmp_path / "o.tif"
    result = cli("denoise", _stack(tmp_path / "a.tif", depth=1), "-o", out, "--model", "flyem-cyclic-artifacts",
                 "--device", "cpu", "--precision", "bf16")
    assert result.code == 0 and "; on the CPU, 1 thread, in bfloat16)" in result.err, result.err
    with tifffile.TiffFile(out) as tif:
        assert "; on the CPU in bfloat16)" in tif.imagej_metadata["Info"]


def test_several_stacks_say_it_once_per_model(tmp_path, cli):
    inputs = [_stack(tmp_path / f"{name}.tif", seed=k) for k, name in enumerate("ab")]
    result = cli("denoise", *inputs, "-o", tmp_path / "out", "--model", "flyem-nrrn-lite", "--device", "cpu")
    assert result.code == 0 and len(_lines(result.err)) == 1 and CPU_LINE.search(result.err), result.err


def test_a_block_run_here_says_it(tmp_path, cli):
    result = cli("denoise", _stack(tmp_path / "a.tif", depth=2), "-o", tmp_path / "o.zarr", "--model",
                 "flyem-nrrn-lite", "--scheduler", "here")
    assert result.code == 0 and len(_lines(result.err)) == 1 and CPU_LINE.search(result.err), result.err


def test_a_precision_the_device_does_not_compute_is_said(tmp_path, cli, monkeypatch):
    """--precision bf16 on an Apple GPU (MPS) runs in float32 (``models.device.autocast_dtype``): said, not
    silent. MPS is stood in for by an autocast type of None, as it gives there."""
    from emdenoise_gui.inference import predictor

    monkeypatch.setattr(predictor, "autocast_dtype", lambda device, precision: None)
    result = cli("denoise", _stack(tmp_path / "a.tif"), "-o", tmp_path / "o.tif", "--model", "flyem-nrrn-lite",
                 "--device", "cpu", "--precision", "bf16")
    assert result.code == 0, result.err
    assert _lines(result.err)[0].endswith("in float32); --precision bf16 asked for bfloat16, which this device does "
                                          "not compute"), result.err


def test_auto_on_a_gpu_torch_cannot_use_says_why(tmp_path, cli, monkeypatch):
    import torch

    from emdenoise_gui.cli import doctor

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(doctor, "nvidia_present", lambda: True)
    result = cli("denoise", _stack(tmp_path / "a.tif"), "-o", tmp_path / "o.tif", "--model", "flyem-nrrn-lite")
    assert result.code == 0 and CPU_LINE.search(result.err), result.err
    assert "emdenoise: note: --device auto: an NVIDIA GPU is present but" in result.err
    asked = cli("denoise", tmp_path / "a.tif", "-o", tmp_path / "c.tif", "--model", "flyem-nrrn-lite", "--device", "cpu")
    assert asked.code == 0 and "NVIDIA" not in asked.err  # the CPU asked for: nothing fell back
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # a CPU job on a GPU node: hidden on purpose, no driver advice
    hidden = cli("denoise", tmp_path / "a.tif", "-o", tmp_path / "d.tif", "--model", "flyem-nrrn-lite")
    assert hidden.code == 0 and "NVIDIA" not in hidden.err and CPU_LINE.search(hidden.err)


def test_an_input_or_output_error_is_the_only_line(tmp_path, cli):
    """The device line came before the output and slice checks' one-line errors (review)."""
    src = _stack(tmp_path / "a.tif")
    (tmp_path / "o.tif").write_bytes(b"x")
    exists = cli("denoise", src, "-o", tmp_path / "o.tif", "--model", "flyem-nrrn-lite", "--device", "cpu")
    assert exists.code == 2 and "already exists" in exists.err and not _lines(exists.err), exists.err
    outside = cli("denoise", src, "-o", tmp_path / "p.tif", "--model", "flyem-nrrn-lite", "--device", "cpu",
                  "--slices", "5:9")
    assert outside.code == 2 and "selects no slice" in outside.err and not _lines(outside.err), outside.err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_note_after_a_stage_on_a_terminal_erases_the_stage_first():
    """The device line comes while "loading model…" is shown: it was written on after it, on one line."""
    terminal = _Terminal()
    bar = ProgressBar(terminal)
    bar.update(Stage("loading model"))
    bar.update(Message("denoising with ..."))
    shown = terminal.getvalue()
    erased = "\r" + " " * len("loading model…") + "\r"
    assert shown == "\rloading model…" + erased + "emdenoise: note: denoising with ...\n"
