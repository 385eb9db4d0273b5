"""The Q benchmark (benchmarks/quality.py) starts and finishes on a tiny input: 64x64 crops, 2 slices;
with --jobs 2 (spawn workers, one condition each) it gives exactly the numbers of --jobs 1."""

import json
import math

import pytest

from tests.conftest import SHARED_DATA

FILES = ("fibsem_flyem_medulla_val_z000-127_128x520x520.tif", "sstem_isbi2012_train_30x512x512.tif")


def _run(folder, *extra):
    from benchmarks import common, quality

    doc_before = common.DOC.read_text() if common.DOC.exists() else None
    assert quality.main(["--tiny", "--out-dir", str(folder), *extra]) == 0
    assert (common.DOC.read_text() if common.DOC.exists() else None) == doc_before, "--tiny must not touch docs/"
    return folder


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    if not all((SHARED_DATA / name).exists() for name in FILES):
        pytest.skip("../shared/data is not beside this checkout")
    return _run(tmp_path_factory.mktemp("jobs1"), "--threads", "1")


def test_quality_tiny_writes_rows_conditions_and_a_real_result(tiny_run):
    payload = json.loads((tiny_run / "quality-tiny.json").read_text())
    assert payload["complete"] and payload["mode"] == "tiny"
    assert (payload["jobs"], payload["tile"], payload["stride"], payload["torch_threads"]) == (1, 512, 256, 1)
    conditions = payload["conditions_run"]
    assert conditions == ["poisson-dose 25", "gaussian 25"]
    models = [k for k, m in payload["methods"].items() if m["kind"] == "model"]
    assert len(models) == 1
    rows = ["input", "gaussian", "gaussian-avg", *models]
    assert list(payload["methods"]) == rows

    flyem, sstem = payload["results"]["flyem"], payload["results"]["sstem"]
    for key in rows:
        for cond in conditions:
            cell = flyem[key][cond]
            assert len(cell["per_slice"]["psnr"]) == 2
            for metric in ("psnr", "ssim", "mse"):
                assert all(math.isfinite(v) for v in cell[metric]), (key, cond, metric, cell[metric])
            assert 0 < cell["mse"][0] < 1 and -1 <= cell["ssim"][0] <= 1
    # stack methods are n/a on ssTEM; single-image ones are scored there
    assert "na" in sstem["gaussian-avg"]["gaussian 25"]
    assert math.isfinite(sstem["gaussian"]["gaussian 25"]["psnr"][0])

    # a real check: the 3x3 Gaussian removes part of the shot noise at 25 counts per pixel
    dose = "poisson-dose 25"
    assert flyem["gaussian"][dose]["psnr"][0] > flyem["input"][dose]["psnr"][0] + 3.0
    assert flyem["gaussian"][dose]["mse"][0] < flyem["input"][dose]["mse"][0]

    assert {t["id"] for t in payload["targets"]} == {1, 2, 3, 4}
    assert all(t["status"] in ("met", "missed", "not run") for t in payload["targets"])
    text = (tiny_run / "quality-tiny.md").read_text()
    assert "| noisy input |" in text and "Targets" in text
    assert "models: tiles 512 px, stride 256 px" in text
    assert (tiny_run / "quality_dose_tiny.png").stat().st_size > 10_000


def _metrics(payload):
    """Every cell without its timings: [(dataset, method, condition, cell)] in the JSON's order."""
    return [(ds, key, cond, {k: v for k, v in cell.items() if k not in ("seconds", "s_per_mp")})
            for ds, rows in payload["results"].items() for key, row in rows.items() for cond, cell in row.items()]


def test_quality_tiny_jobs_2_gives_the_numbers_of_jobs_1(tiny_run, tmp_path):
    one = json.loads((tiny_run / "quality-tiny.json").read_text())
    two = json.loads((_run(tmp_path, "--jobs", "2") / "quality-tiny.json").read_text())
    assert two["complete"] and two["jobs"] == 2 and two["torch_threads"] == 1
    assert two["conditions_run"] == one["conditions_run"] and list(two["methods"]) == list(one["methods"])
    cells = _metrics(one)
    assert len(cells) == 16 and _metrics(two) == cells  # PSNR, SSIM, MSE and per slice: exactly equal
    assert "2 worker processes" in (tmp_path / "quality-tiny.md").read_text()
