"""The S benchmark (benchmarks/speed.py) runs its quick mode end to end, and its report renders: the
variants asked for measured, ratios computed against the naive loop of the same run, docs/ untouched.
Each variant is a fresh Python process (about 10 s on 2 cores: importing torch, counting the network's
FLOPs, a warm-up tile), so the run here measures the naive loop and the app's own path (fast-auto) of the
four CPU variants; today and fast-fp32 differ from them only in the Predictor's options."""

import json

import pytest


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    from benchmarks import common, speed

    folder = tmp_path_factory.mktemp("speed")
    before = common.DOC.read_text()
    assert speed.main(["--quick", "--models", "nrrn:lite", "--variants", "naive,fast-auto", "--budget", "0.5",
                       "--out-dir", str(folder)]) == 0
    assert common.DOC.read_text() == before, "--out-dir must not touch docs/"
    return json.loads((folder / "speed-cpu.json").read_text())


def test_every_variant_and_training_rate_is_measured(quick_run):
    variants = {row["variant"]: row for row in quick_run["inference"]}
    assert set(variants) == {"naive", "fast-auto"}
    assert variants["naive"]["plan"]["window"] == "gaussian" and variants["fast-auto"]["plan"]["window"] == "band"
    for row in variants.values():
        assert row["s_per_mp"] > 0 and row["gflop_per_tile"] > 0 and row["peak_rss_mb"] > 0
    assert {row["variant"] for row in quick_run["training"]} == {"before", "now"}
    assert all(row["steps_per_s"] > 0 for row in quick_run["training"])
    assert quick_run["peak_gflops"]["float32"] > 0 and quick_run["startup_s"] > 0


def test_report_renders_tables_verdicts_and_figure(quick_run, tmp_path):
    from benchmarks.speed_report import report

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n")
    report(quick_run, doc)
    text = doc.read_text()
    assert "| nrrn lite | fast-auto |" in text and "x naive" in text and "training nrrn lite" in text
    assert quick_run["warmup"] == "one-tile" and "after a one-tile warm-up" in text
    assert (tmp_path / "images" / "speed_cpu.png").stat().st_size > 10_000


def test_a_run_without_training_or_startup_says_so_and_its_note_is_printed(quick_run, tmp_path):
    from benchmarks.speed_report import report

    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n")
    report({**quick_run, "training": [], "startup_s": None, "note": "Rows after X were cut off."}, doc,
           label="infer-only")
    text = doc.read_text()
    assert "\nRows after X were cut off.\n" in text
    assert "Training: not part of this run." in text and "GUI start-up: not part of this run." in text
    assert "| model | crop x batch |" not in text and "None s" not in text
