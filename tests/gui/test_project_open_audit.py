"""Opening a hand-edited or damaged project (audit of 2026-12-06): a result that cannot be shown is said
once, naming its path once (opening shows it, selects it and restores the view: each asked again)."""

import json

import numpy as np
import pytest
import tifffile

pytest.importorskip("pytestqt")

from emdenoise_gui.jobs.denoise import Denoiser  # noqa: E402


def test_a_result_that_cannot_be_shown_is_said_once(qtbot, window, tmp_path):
    data = (np.random.default_rng(0).random((4, 64, 64)) * 200).astype(np.uint8)
    tifffile.imwrite(tmp_path / "a.tif", data, photometric="minisblack")
    c = window.controller
    folder = c.project.folder
    (record,), _ = c.add_paths([tmp_path / "a.tif"])
    job = c.denoise([record.id], Denoiser("filter", "median"))
    qtbot.waitUntil(lambda: not job.active, timeout=60_000)
    qtbot.waitUntil(lambda: bool(c.project.results), timeout=5_000)
    window.flush_view()  # the view of the result shown: saved now, not over the edit below
    c.save()
    file = folder / "project.json"
    data = json.loads(file.read_text())
    data["results"][0]["path"] = "results/"  # a folder, edited in by hand
    data["view"]["result_id"] = data["results"][0]["id"]
    file.write_text(json.dumps(data))
    window.warnings.clear()
    assert window.open_project(folder)
    qtbot.wait(300)
    shown = [(title, text) for title, text in window.warnings if title == "Cannot show the result"]
    assert len(shown) == 1, window.warnings
    assert shown[0][1].count(str(folder / "results")) == 1 and "is a folder" in shown[0][1]
