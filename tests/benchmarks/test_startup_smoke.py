"""The start-up benchmark (benchmarks/startup.py) runs its quick mode end to end and its report renders:
the three moments measured in order, the import lists filled, a figure drawn, docs/ untouched."""

import json

import pytest


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    from benchmarks import common, startup

    folder = tmp_path_factory.mktemp("startup")
    before = common.DOC.read_text()
    assert startup.main(["--quick", "--out-dir", str(folder)]) == 0
    assert common.DOC.read_text() == before, "--out-dir must not touch docs/"
    return folder, json.loads((folder / "startup.json").read_text())


def test_window_is_shown_before_it_is_ready_and_before_the_device_is_known(quick_run):
    _folder, result = quick_run
    now = result["now"]
    assert 0 < now["shown"]["median"] <= now["ready"]["median"] <= now["device"]["median"]
    assert now["shown"]["median"] < 10  # seconds; the target (3 s) is judged on a quiet machine, not here
    imports = result["imports"]
    # what runs before the window is shown is a part of what the built window needs (by module, not by time: two
    # processes' import times swap places on a busy machine, 1.85 against 1.73 s at a load of 4.8)
    assert set(imports["before shown"]["modules"]) < set(imports["built window"]["modules"])
    assert all(imports[k]["total_s"] > 0 for k in imports)
    assert "torch" in imports["device probe"]["modules"] and "torch" not in imports["built window"]["modules"]
    assert not {"bm3d", "pyqtgraph", "emdenoise_gui.core.baselines"} & set(imports["before shown"]["modules"])


def test_report_and_figure(quick_run, tmp_path):
    from benchmarks.startup import report

    folder, result = quick_run
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\n## Another section\n\nkept\n")
    report(result, doc)
    text = doc.read_text()
    assert "## Another section\n\nkept" in text and "| now |" in text and "window shown" in text
    assert "images/startup.png" in text and "<!-- startup:start -->" in text
    assert (folder / "startup.png").stat().st_size > 10_000
