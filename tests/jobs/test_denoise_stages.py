"""Denoise jobs say what they do before they can count (Stage events, then Progress), and a model
denoise cancelled in the middle of a slow tile ends within a second or two, leaving no output."""

import io
import threading
import time

import pytest
import tifffile

from emdenoise_gui.cli.progress import ProgressBar
from emdenoise_gui.core.errors import Cancelled
from emdenoise_gui.core.events import CancelToken, Progress, Stage
from emdenoise_gui.jobs import denoise as denoise_jobs
from emdenoise_gui.jobs.denoise import Denoiser, batch, denoise_model_job
from emdenoise_gui.jobs.stack import denoise_filter_job
from tests.conftest import random_package, synthetic_em_stack

STAGES = [Stage("reading slice"), Stage("loading model"), Stage("first tile")]
#: Seconds each layer of the deliberately slow network sleeps (NRRN lite: 26 module calls a tile, ~3.4 s).
LAYER_SLEEP_S = 0.13
#: A cancel must end the job within this many seconds (a tile of the slow network takes ~3.4 s).
CANCEL_WITHIN_S = 2.0


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    return random_package(tmp_path_factory.mktemp("pkg") / "nrrn", "nrrn").path


@pytest.fixture
def stack(tmp_path):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, synthetic_em_stack(3, 128, 96, seed=4), imagej=True, metadata={"axes": "ZYX"})
    return path


def _split(events):
    """(the Stage events before the first Progress, every event from the first Progress on)."""
    first = next(i for i, e in enumerate(events) if isinstance(e, Progress))
    return events[:first], events[first:]


def test_model_denoise_stages_then_progress(tmp_path, stack, package):
    events = list(denoise_model_job(stack, tmp_path / "out.tif", str(package), tile=64, device="cpu"))
    stages, rest = _split(events)
    assert stages == STAGES
    assert all(isinstance(e, Progress) for e in rest) and rest[-1].done == rest[-1].total > 3
    assert (tmp_path / "out.tif").exists()


def test_filter_denoise_and_batch_stages(tmp_path, stack, package):
    stages, rest = _split(list(denoise_filter_job(stack, tmp_path / "f.tif", "median", tile=64)))
    assert stages == [STAGES[0], STAGES[2]] and all(isinstance(e, Progress) for e in rest)  # no model to load
    make = batch([(str(stack), tmp_path / "a.tif"), (str(stack), tmp_path / "b.tif")],
                 Denoiser("model", "random", str(package)), 64, None, device="cpu")
    texts = [e.text for e in make(CancelToken()) if isinstance(e, Stage)]
    assert texts == [f"stack {k}/2: {s.text}" for k in (1, 2) for s in STAGES]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_cli_shows_stages_on_a_terminal_and_erases_them(tmp_path, stack):
    terminal, log = _Terminal(), io.StringIO()
    for stream in (terminal, log):
        ProgressBar(stream).drain(denoise_filter_job(stack, tmp_path / f"{id(stream)}.tif", "median", tile=64))
    shown = terminal.getvalue()
    assert "\rreading slice…" in shown and "\rfirst tile…" in shown
    assert shown.endswith("\r" + " " * len("first tile…") + "\r")  # a job under a second leaves no line
    assert log.getvalue() == ""  # a log file gets no stage lines (and no bar for a job under a second)


def _slow_predictors(monkeypatch):
    """Make every Predictor a job loads sleep LAYER_SLEEP_S after each layer (its halo measured first)."""
    original = denoise_jobs._predictor

    def slow(*args, **kwargs):
        predictor = original(*args, **kwargs)
        predictor.plan()  # measures the halo at full speed (then cached)
        for module in predictor.model.modules():
            module.register_forward_hook(lambda *_: time.sleep(LAYER_SLEEP_S))
        return predictor

    monkeypatch.setattr(denoise_jobs, "_predictor", slow)


def test_cancel_after_the_first_progress_ends_the_job_within_two_seconds(tmp_path, stack, package, monkeypatch):
    _slow_predictors(monkeypatch)
    out, token = tmp_path / "out.tif", CancelToken()
    cancelled_at = []

    def cancel():
        cancelled_at.append(time.perf_counter())
        token.cancel()

    job = denoise_model_job(stack, out, str(package), tile=64, device="cpu", cancel=token)
    first_tile_s = None
    with pytest.raises(Cancelled):
        for event in job:
            if isinstance(event, Stage) and event.text == "first tile":
                began = time.perf_counter()
            if isinstance(event, Progress) and first_tile_s is None:
                first_tile_s = time.perf_counter() - began
                threading.Timer(0.2, cancel).start()  # lands inside the second tile
    ended = time.perf_counter()
    print(f"\na tile took {first_tile_s:.2f} s; the job ended {ended - cancelled_at[0]:.2f} s after the cancel")
    assert first_tile_s > CANCEL_WITHIN_S + 0.5  # a tile takes long enough for the test to mean something
    assert ended - cancelled_at[0] < CANCEL_WITHIN_S
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.tif"]  # no output, no temporary file


def test_a_batch_passes_on_each_stacks_notes(tmp_path):
    """The app's Denoise All dropped what each stack's job said (e.g. an OME-Zarr store's chunks not stored)."""
    from emdenoise_gui.core.events import Message
    from emdenoise_gui.core.io.writer import StackWriter

    store = tmp_path / "s.zarr"
    data = synthetic_em_stack(4, 32, 32, seed=7)
    with StackWriter(store, data.shape, data.dtype, None, ngff="0.4") as writer:
        for z, image in enumerate(data):
            writer.write(z, image)
        writer.commit()
    next(p for p in (store / "0").rglob("*") if p.is_file() and p.name[0].isdigit()).unlink()
    events = list(batch([(str(store), tmp_path / "out.tif")], Denoiser("filter", "gaussian"), 64, None)(CancelToken()))
    notes = [e.text for e in events if isinstance(e, Message)]
    assert any(text.startswith("stack 1/1: ") and "chunks are not stored" in text for text in notes)
