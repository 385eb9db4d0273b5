"""`emdenoise denoise` options the CLI audit of 2026-12-06 found ignored or misleading: --precision and
--batch-size with --scheduler, a model replaced under the same name resumed into its old store, tiling
options a whole-slice filter does not use, --jobs / --cluster-config without a batch system."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from emdenoise_gui.core.io import open_stack
from emdenoise_gui.jobs import blocks
from tests.conftest import main
from tests.jobs.test_blocks import ramp_volume

MODELS = Path(__file__).resolve().parents[2] / "emdenoise_gui" / "resources" / "models"


def read_all(path):
    with open_stack(path) as stack:
        return stack.read(0, len(stack))


def test_precision_and_batch_size_reach_the_block_run(tmp_path, monkeypatch, capsys):
    made = []
    real = blocks.prepare

    def spy(*args, **kw):
        job, todo, total = real(*args, **kw)
        made.append(job)
        return job, todo, total

    monkeypatch.setattr(blocks, "prepare", spy)
    source = ramp_volume(tmp_path / "in.tif", depth=4)
    assert main(["denoise", str(source), "-o", str(tmp_path / "fp32.zarr"), "--model", "flyem-nrrn-lite",
                 "--precision", "fp32", "--batch-size", "2", "--scheduler", "here"]) == 0, capsys.readouterr().err
    assert made[-1].precision == "fp32" and made[-1].batch_size == 2
    plain = tmp_path / "fp32.tif"
    assert main(["denoise", str(source), "-o", str(plain), "--model", "flyem-nrrn-lite", "--precision", "fp32"]) == 0
    np.testing.assert_allclose(read_all(tmp_path / "fp32.zarr"), read_all(plain), rtol=1e-5, atol=1e-3)


def test_a_model_replaced_under_the_same_name_is_another_job(tmp_path, capsys):
    """The store of the first model was taken as finished for the second: exit 0, the old model's result."""
    source = ramp_volume(tmp_path / "in.tif", depth=4)
    package = tmp_path / "pkg"
    shutil.copytree(MODELS / "flyem-nrrn-lite", package)
    out = tmp_path / "out.zarr"
    assert main(["denoise", str(source), "-o", str(out), "--model", str(package), "--scheduler", "here"]) == 0
    shutil.rmtree(package)
    shutil.copytree(MODELS / "flyem-nrrn-base", package)
    assert main(["denoise", str(source), "-o", str(out), "--model", str(package), "--scheduler", "here"]) == 2
    assert "holds another job's result" in capsys.readouterr().err
    assert main(["denoise", str(source), "-o", str(out), "--model", str(package), "--scheduler", "here",
                 "--overwrite"]) == 0
    assert "already done" not in capsys.readouterr().err
    plain = tmp_path / "base.tif"
    assert main(["denoise", str(source), "-o", str(plain), "--model", str(package)]) == 0
    np.testing.assert_allclose(read_all(out), read_all(plain), rtol=1e-5, atol=1e-3)


def test_tiling_options_a_whole_slice_filter_ignores_are_said(tmp_path, capsys):
    source = ramp_volume(tmp_path / "in.tif", depth=3, height=64, width=64)
    assert main(["denoise", str(source), "-o", str(tmp_path / "a.tif"), "--method", "flat-field", "--tile", "32",
                 "--quality", "paper"]) == 0
    err = capsys.readouterr().err
    assert "--tile 32, --quality paper do not apply to flat-field" in err and "whole slice at once" in err
    assert main(["denoise", str(source), "-o", str(tmp_path / "b.tif"), "--method", "gaussian", "--tile", "32"]) == 0
    assert "do not apply" not in capsys.readouterr().err  # a tiled filter uses them


@pytest.mark.parametrize("extra", [["--jobs", "3"], ["--cluster-config", "cc.yaml"],
                                   ["--jobs", "3", "--scheduler", "here"]])
def test_batch_system_options_without_a_batch_system_are_refused(tmp_path, capsys, extra):
    source = ramp_volume(tmp_path / "in.tif", depth=3)
    (tmp_path / "cc.yaml").write_text("cores: 1\n")
    extra = [str(tmp_path / e) if e.endswith(".yaml") else e for e in extra]
    out = tmp_path / "out.zarr"
    assert main(["denoise", str(source), "-o", str(out), "--method", "gaussian", *extra]) == 2
    err = capsys.readouterr().err
    assert "go with --scheduler slurm / lsf / pbs" in err or "goes with --scheduler slurm / lsf / pbs" in err
    assert not out.exists()


def test_a_bad_scheduler_lists_here_too(tmp_path, capsys):
    source = ramp_volume(tmp_path / "in.tif", depth=3)
    assert main(["denoise", str(source), "-o", str(tmp_path / "o.zarr"), "--method", "gaussian",
                 "--scheduler", "bogus"]) == 2
    assert "give here, local, local:N" in capsys.readouterr().err


def test_adapt_refuses_batch_options_before_it_trains(tmp_path, capsys, monkeypatch):
    from emdenoise_gui.cli import images

    trained = []
    monkeypatch.setattr(images, "drive_training", lambda *a, **k: trained.append(1))
    source = ramp_volume(tmp_path / "in.tif", depth=4)
    assert main(["denoise", str(source), "-o", str(tmp_path / "out.tif"), "--adapt", "n2v", "--jobs", "4"]) == 2
    assert "--jobs goes with --scheduler" in capsys.readouterr().err and trained == []


def test_a_zoo_of_artifact_models_only_is_not_called_a_poor_fit(tmp_path):
    from emdenoise_gui.zoo import fit
    from emdenoise_gui.zoo.registry import list_entries

    artifact = [e for e in list_entries() if e.package is not None and fit.is_artifact_model(e.package.card)]
    facts = fit.StackFacts(10.0, "uint8", 8, 0.5, 0.95, 0.05, None, "s.tif")
    entry, why = fit.pick(artifact, facts)
    assert entry is None and "only models are made for named artifacts" in why.reason
