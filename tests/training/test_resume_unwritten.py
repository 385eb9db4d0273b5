"""A run that trained to its end but could not write its model (a full disk) writes it on resume.

The wizard's audit (2026-12-06): after freeing space, "Resume training" said "this run already finished
at step 6; give a --steps above 6", and the trained weights could not be got at.
"""

import errno

import pytest
import safetensors.torch

from emdenoise_gui.core import events as ev
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.training import checkpoint
from emdenoise_gui.training.engine import resume, train
from emdenoise_gui.zoo.package import verify_folder
from tests.training.conftest import tiny_spec


@pytest.fixture
def fibsem_crop(synthetic_crop):
    return synthetic_crop


@pytest.mark.parametrize("error, words", [(OSError(errno.ENOSPC, "No space left on device"), "disk is full"),
                                          (OSError(errno.EIO, "Input/output error"), "input/output error")])
def test_a_finished_run_whose_model_was_not_written_writes_it_on_resume(tmp_path, fibsem_crop, noisy_crop,
                                                                        noise_patches, monkeypatch, error, words):
    spec = tiny_spec("n2v", tmp_path, fibsem_crop, noisy_crop, noise_patches)
    real = safetensors.torch.save_file

    def full_for_weights(tensors, filename, *args, **kw):
        if filename.endswith("weights.safetensors"):
            raise error
        return real(tensors, filename, *args, **kw)

    monkeypatch.setattr(safetensors.torch, "save_file", full_for_weights)
    with pytest.raises(InputError, match=words) as caught:
        list(train(spec))
    # what to do comes with it (it said "free some space or write elsewhere. Nothing was written")
    assert "kept in its checkpoint" in str(caught.value) and "resume it" in str(caught.value)
    assert "Nothing was written" not in str(caught.value)
    monkeypatch.setattr(safetensors.torch, "save_file", real)
    output = tmp_path / "n2v_pkg"
    assert not output.exists()
    events = list(resume(tmp_path / "n2v_pkg.checkpoint"))
    assert any(isinstance(e, ev.Message) and "its model was not written: writing it now" in e.text for e in events)
    finished = [e for e in events if isinstance(e, ev.Finished)]
    assert finished and finished[-1].package == str(output) and not any(isinstance(e, ev.StepDone) for e in events)
    verify_folder(output)
    # written now: a second resume is the ordinary "already finished" one
    with pytest.raises(InputError, match="already finished at step 6"):
        list(resume(tmp_path / "n2v_pkg.checkpoint"))


def test_a_full_disk_before_the_first_checkpoint_does_not_promise_one(tmp_path, monkeypatch):
    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint, "_write_state", full)
    with pytest.raises(InputError, match="had no checkpoint yet, so it cannot resume") as caught:
        checkpoint.save_checkpoint(tmp_path / "run.checkpoint", {"step": 1})
    assert "previous checkpoint is kept" not in str(caught.value)
