"""The Q benchmark (benchmarks/quality.py) starts and finishes on a tiny input: 64x64 crops, 2 slices;
with --jobs 2 (spawn workers, one condition each) it gives exactly the numbers of --jobs 1; --merge of
two runs with disjoint --methods gives their rows unchanged, and refuses files that do not match."""

import json
import math

import pytest

from tests.conftest import SHARED_DATA

FILES = ("fibsem_flyem_medulla_val_z000-127_128x520x520.tif", "sstem_isbi2012_train_30x512x512.tif")


def _main(*argv):
    """quality.main(argv)'s exit status; docs/ must be left as it was."""
    from benchmarks import common, quality

    doc_before = common.DOC.read_text() if common.DOC.exists() else None
    status = quality.main(list(argv))
    assert (common.DOC.read_text() if common.DOC.exists() else None) == doc_before, "--out-dir must not touch docs/"
    return status


def _run(folder, *extra):
    assert _main("--tiny", "--out-dir", str(folder), *extra) == 0
    return folder


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    if not all((SHARED_DATA / name).exists() for name in FILES):
        pytest.skip("../shared/data is not beside this checkout")
    return _run(tmp_path_factory.mktemp("jobs1"), "--threads", "1")


def test_quality_tiny_writes_rows_conditions_and_a_real_result(tiny_run):
    payload = json.loads((tiny_run / "quality-tiny.json").read_text())
    assert payload["complete"] and payload["mode"] == "tiny"
    assert (payload["jobs"], payload["tile"], payload["stride"], payload["torch_threads"]) == (1, 512, None, 1)
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
    assert "models: \"quality: fast\" band tiles of 512 px" in text
    assert (tiny_run / "quality_dose_tiny.png").stat().st_size > 10_000
    assert payload["device"] == "cpu" and "float32 TIFF out, the CPU;" in text and "models on the CPU (" in text


def test_the_report_names_the_device_the_models_ran_on():
    """It said "CPU" for a --device cuda run too (benchmark audit)."""
    from benchmarks.quality_report import _models_on

    assert _models_on({"machine": "AMD EPYC, no GPU used"}) == "the CPU"  # runs recorded before the field
    assert _models_on({"machine": "Xeon, models on NVIDIA H200 (139.8 GiB)"}) == "device cuda"  # ... on a GPU
    assert _models_on({"device": "cpu"}) == "the CPU" and _models_on({"device": "cuda"}) == "device cuda"


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


def _load(folder):
    return json.loads((folder / "quality-tiny.json").read_text())


@pytest.fixture(scope="module")
def split_runs(tiny_run, tmp_path_factory):
    """Two --tiny runs with disjoint rows: the 3x3 Gaussian; gaussian-avg and tiny_run's model."""
    model = next(k for k, m in _load(tiny_run)["methods"].items() if m["kind"] == "model")
    filters = _run(tmp_path_factory.mktemp("filters"), "--threads", "1", "--methods", "gaussian")
    models = _run(tmp_path_factory.mktemp("models"), "--threads", "1", "--methods", f"gaussian-avg,{model}")
    return filters, models


def test_quality_merge_combines_the_rows_of_two_runs_unchanged(tiny_run, split_runs, tmp_path, capsys):
    runs = [_load(folder) for folder in split_runs]
    capsys.readouterr()
    assert _main("--merge", *(str(f / "quality-tiny.json") for f in split_runs), "--out-dir", str(tmp_path)) == 0
    out, err = capsys.readouterr()
    assert "warning" not in err and "Targets:" in out
    merged = _load(tmp_path)
    assert merged["complete"] and merged["mode"] == "tiny"
    assert list(merged["methods"]) == list(_load(tiny_run)["methods"])  # input, gaussian, gaussian-avg, model
    assert merged["conditions_run"] == ["poisson-dose 25", "gaussian 25"]
    for run in runs:  # every cell exactly as its run wrote it, timings included
        for ds, rows in run["results"].items():
            for key, row in rows.items():
                assert merged["results"][ds][key] == row, (ds, key)
    assert _metrics(merged) == _metrics(_load(tiny_run))  # and the numbers of one run with all the rows
    assert [(r["command"], r["date"], r["wall_s"]) for r in merged["merged_from"]] == [
        (r["command"], r["date"], r["wall_s"]) for r in runs]
    assert merged["wall_s"] == round(sum(r["wall_s"] for r in runs), 1)
    assert [t["status"] for t in merged["targets"]] == [t["status"] for t in _load(tiny_run)["targets"]]
    text = (tmp_path / "quality-tiny.md").read_text()
    assert "Command: 2 runs, (1) `" in text and all(f"`{r['command']}`" in text for r in runs)
    assert "| Gaussian 3x3 |" in text and "| noisy input |" in text
    assert (tmp_path / "quality_dose_tiny.png").stat().st_size > 10_000

    # a row in several files comes from the last one, with a warning
    assert _main("--merge", str(tiny_run / "quality-tiny.json"), str(split_runs[0] / "quality-tiny.json"),
                 "--out-dir", str(tmp_path / "again")) == 0
    assert "warning: gaussian is in" in capsys.readouterr().err
    again = _load(tmp_path / "again")
    assert again["results"]["flyem"]["gaussian"] == runs[0]["results"]["flyem"]["gaussian"]
    assert list(again["methods"]) == list(merged["methods"])


def test_quality_merge_refuses_files_that_differ(split_runs, tmp_path, capsys):
    good = split_runs[1] / "quality-tiny.json"
    payload = _load(split_runs[0])
    payload["datasets"]["flyem"]["slices"] = [96]
    (tmp_path / "slices.json").write_text(json.dumps(payload))
    payload = _load(split_runs[0])
    payload["results"]["flyem"]["input"]["gaussian 25"]["psnr"][0] += 1e-6
    (tmp_path / "input.json").write_text(json.dumps(payload))
    for bad, words in (("slices", "test slices of flyem"), ("input", "noisy input (flyem, gaussian 25)")):
        capsys.readouterr()
        out_dir = tmp_path / f"out_{bad}"
        assert _main("--merge", str(good), str(tmp_path / f"{bad}.json"), "--out-dir", str(out_dir)) == 2
        err = capsys.readouterr().err
        assert err.startswith("quality.py: error: --merge: ") and words in err and err.count("\n") == 1
        assert not out_dir.exists()
