"""benchmarks/host_floor.py: the host's share of denoising a slice, the network replaced by identity."""

import json

import numpy as np


def test_identity_stand_in_returns_the_last_slice_of_each_tile():
    from benchmarks.host_floor import _identity

    batch = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    out = _identity(batch)
    assert out.shape == (2, 4, 5) and (out == batch[:, 2]).all()
    assert _identity(batch[:, 0]).shape == (2, 4, 5)  # single-slice families: (B, h, w) in


def test_a_small_run_measures_both_modes_and_leaves_docs_alone(tmp_path):
    from benchmarks import common, host_floor

    before = common.DOC.read_text()
    assert host_floor.main(["--size", "768", "--families", "n2v", "--out-dir", str(tmp_path)]) == 0
    assert common.DOC.read_text() == before
    payload = json.loads((tmp_path / "host_floor.json").read_text())
    rows = {row["mode"]: row for row in payload["rows"]}
    assert set(rows) == {"fast", "paper"} and rows["paper"]["tiles"] > rows["fast"]["tiles"]
    assert all(r["first_s_per_mp"] > 0 and r["steady_s_per_mp"] > 0 for r in rows.values())
    assert payload["command"] == "python benchmarks/host_floor.py --size 768 --families n2v --out-dir " + str(tmp_path)


def test_gpu_totals_take_the_fastest_row_of_each_tiling(tmp_path):
    from benchmarks.host_floor import gpu_totals

    rows = [{"family": "n2v", "config": "paper", "variant": v, "s_per_mp": s, "extrapolated": False}
            for v, s in (("naive", 0.3), ("today", 0.2), ("fast-fp32", 0.1), ("fast-bf16", 0.05))]
    rows += [{"family": "n2v", "config": "lite", "variant": "naive", "s_per_mp": 0.01, "extrapolated": False},
             {"family": "nrrn", "config": "paper", "variant": "naive", "error": "x"},
             {"family": "xception", "config": "paper", "variant": "fast-fp32", "s_per_mp": 9.7, "extrapolated": True}]
    path = tmp_path / "speed-cuda.json"
    path.write_text(json.dumps({"inference": rows}))
    assert gpu_totals(path) == {("n2v", "paper"): "0.200", ("n2v", "fast"): "0.050", ("xception", "fast"): "~9.700"}
    assert gpu_totals(tmp_path / "none.json") == {}
