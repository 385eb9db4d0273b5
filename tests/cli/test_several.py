"""``emdenoise denoise IN IN ... -o FOLDER``: several stacks into one folder, named as the app names results."""

from pathlib import Path

import mrcfile
import numpy as np
import pytest
import tifffile

from emdenoise_gui.cli import images, several
from emdenoise_gui.cli.exits import EXIT_CANCELLED, EXIT_INPUT
from emdenoise_gui.cli.several import result_names
from emdenoise_gui.core.io import open_stack
from emdenoise_gui.paths import shipped_models_dir
from tests.conftest import synthetic_em_stack


@pytest.fixture
def three(tmp_path) -> list[Path]:
    """a/s.tif, b/s.tif (one stem in two folders) and m.mrc (float32), small and seeded."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    paths = [tmp_path / "a" / "s.tif", tmp_path / "b" / "s.tif", tmp_path / "m.mrc"]
    for seed, path in enumerate(paths[:2]):
        tifffile.imwrite(path, synthetic_em_stack(5, 48, 40, seed), imagej=True, metadata={"axes": "ZYX"})
    with mrcfile.new(paths[2]) as mrc:
        mrc.set_data(synthetic_em_stack(3, 40, 48, 7).astype(np.float32) / 255)
    return paths


def results(folder: Path) -> list[str]:
    """The files in ``folder`` but the record of which stack each result was made from, sorted."""
    return sorted(p.name for p in folder.iterdir() if p.name != several.SOURCES_RECORD)


def _pixels(path) -> np.ndarray:
    with open_stack(path) as stack:
        return stack.read(0, len(stack))


def test_each_result_equals_a_single_run_and_is_named_as_the_app_names_it(tmp_path, cli, three):
    out = tmp_path / "out"
    result = cli("denoise", *three, "-o", out, "--method", "median")
    assert result.code == 0, result.err
    names = ["s_median.tif", "s_median_2.tif", "m_median.mrc"]
    assert results(out) == sorted(names)
    assert result.out.splitlines() == [f"wrote {out / name}" for name in names]
    for source, name in zip(three, names):
        alone = tmp_path / f"alone{Path(name).suffix}"
        assert cli("denoise", source, "-o", alone, "--method", "median", "--overwrite").code == 0
        np.testing.assert_array_equal(_pixels(out / name), _pixels(alone))


def test_a_second_run_refuses_before_any_work_and_overwrite_replaces(tmp_path, cli, three):
    out = tmp_path / "out"
    assert cli("denoise", *three, "-o", out, "--method", "median").code == 0
    (out / "m_median.mrc").unlink()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = cli("denoise", *three, "-o", out, "--method", "gaussian-sure", "--name-pattern", "{stem}_median")
    assert again.code == EXIT_INPUT
    assert "2 of 3 results exist already (s_median.tif, s_median_2.tif)" in again.err and "--overwrite" in again.err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing written, not even m_median.mrc
    forced = cli("denoise", *three, "-o", out, "--method", "gaussian-sure", "--name-pattern", "{stem}_median",
                 "--overwrite")
    assert forced.code == 0, forced.err
    assert (out / "s_median.tif").read_bytes() != before["s_median.tif"]


@pytest.mark.parametrize("case, message", [
    ("file output", "names one .tif file, but several inputs were given"),
    ("twice", "is given twice"),
    ("missing", "does not exist"),
    ("adapt", "--adapt self-trains a model on one stack"),
    ("scheduler", "--scheduler writes one volume block by block"),
    ("bad slices", "reaches past the stack's last slice"),
    ("jobs", "--jobs goes with --scheduler"),
    ("tile", "--tile"),
    ("device", "--device cuda:97:"),  # not here (a name that is no device: test_bad_input)
    ("store", "is named as an OME-Zarr store"),
    ("empty pattern", "the name pattern is empty"),
    ("empty output", "-o is empty"),
])
def test_bad_batches_are_refused_in_one_line_and_make_no_folder(tmp_path, cli, three, case, message):
    out = tmp_path / "out"
    args = {"file output": [*three, "-o", tmp_path / "x.tif"],
            "twice": [three[0], tmp_path / "a" / ".." / "a" / "s.tif", "-o", out],
            "missing": [three[0], tmp_path / "nope.tif", "-o", out],
            "adapt": [*three, "-o", out, "--adapt", "nrrn"],
            "scheduler": [*three, "-o", out, "--scheduler", "here"],
            "bad slices": [*three, "-o", out, "--slices", "0:4"],
            "jobs": [*three, "-o", out, "--jobs", "2"],
            "tile": [*three, "-o", out, "--tile", "0"],
            "device": [*three, "-o", out, "--device", "cuda:97"],
            "store": [*three, "-o", out.with_suffix(".zarr")],
            "empty pattern": [*three, "-o", out, "--name-pattern", ""],
            "empty output": [*three, "-o", ""]}[case]
    if case == "store":
        assert cli("convert", three[0], out.with_suffix(".zarr")).code == 0
        out = out.with_suffix(".zarr") / "nothing-added"
    method = {"adapt": [], "scheduler": [], "device": ["--model", "flyem-nrrn-lite"]}.get(case, ["--method", "median"])
    result = cli("denoise", *args, *method)
    assert result.code == EXIT_INPUT
    assert message in result.err and len(result.err.strip().splitlines()) <= 2, result.err
    assert not out.exists() and not (tmp_path / "x.tif").exists()


def test_naming_options_are_refused_with_one_input(tmp_path, cli, three):
    result = cli("denoise", three[0], "-o", tmp_path / "r.tif", "--format", ".mrc")
    assert result.code == EXIT_INPUT and "--format goes with several inputs" in result.err
    assert not (tmp_path / "r.tif").exists()


def test_a_stack_that_fails_is_told_and_the_others_are_written(tmp_path, cli, three):
    out = tmp_path / "out"
    result = cli("denoise", three[2], three[0], "-o", out, "--method", "median", "--dtype", "uint8")
    assert result.code == EXIT_INPUT
    assert "m.mrc: holds floating-point values" in result.err
    assert "1 of 2 stacks failed" in result.err and "1 result written" in result.err
    assert results(out) == ["s_median.tif"]
    assert result.out.strip() == f"wrote {out / 's_median.tif'}"


def test_a_stop_keeps_the_finished_results_and_says_which(tmp_path, cli, three, monkeypatch):
    real, calls = images.denoise_job, []

    def stopped_at_the_second(args, denoiser):
        calls.append(args.input)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(args, denoiser)

    monkeypatch.setattr(images, "denoise_job", stopped_at_the_second)
    out = tmp_path / "out"
    result = cli("denoise", *three, "-o", out, "--method", "median")
    assert result.code == EXIT_CANCELLED
    assert "1 of 3 results finished" in result.err and "(s_median.tif)" in result.err
    assert f"not denoised: {three[1]}, {three[2]}" in result.err  # as given: b/s.tif and a/s.tif share a name
    assert results(out) == ["s_median.tif"] and (out / several.SOURCES_RECORD).is_file()


def test_a_model_package_names_results_by_its_card_and_auto_picks_per_stack(tmp_path, cli, three, one_thread):
    package = shipped_models_dir() / "flyem-nrrn-lite"
    out = tmp_path / "out"
    result = cli("denoise", three[0], three[2], "-o", out, "--model", package, "--slices", "0:1")
    assert result.code == 0, result.err
    assert results(out) == ["m_flyem-nrrn-lite.mrc", "s_flyem-nrrn-lite.tif"]
    picked = cli("denoise", three[0], three[2], "-o", tmp_path / "auto", "--model", "auto", "--slices", "0:1")
    assert picked.code == 0, picked.err
    assert picked.err.count("--model auto:") == 2  # one choice said per stack


def test_result_names_number_alike_names_in_order_without_regard_to_case():
    names = result_names(["a/S.tif", "b/s.TIF", "c/s.tiff", "d/x.zarr"], ["m"] * 4, "{stem}_{method}", None)
    assert names == ["S_m.tif", "s_m_2.tif", "s_m.tiff", "x_m.zarr"]
    assert result_names(["a/s.mrc"], ["m"], "{stem}", ".tif") == ["s.tif"]


def test_inputs_may_stand_between_the_options(tmp_path, cli, three):
    out = tmp_path / "out"
    result = cli("denoise", three[0], "--method", "median", three[2], "-o", out)
    assert result.code == 0, result.err
    assert results(out) == ["m_median.mrc", "s_median.tif"]


def test_an_empty_name_pattern_is_refused_with_one_input_too(tmp_path, cli, three):
    result = cli("denoise", three[0], "-o", tmp_path / "r.tif", "--name-pattern", "")
    assert result.code == EXIT_INPUT and "--name-pattern goes with several inputs" in result.err


def test_a_stop_between_two_stacks_names_what_was_finished(tmp_path, cli, three, monkeypatch):
    from emdenoise_gui.cli import several

    real = several.say

    def stop_at_the_second(text, stream=None):
        if text.startswith("[2/"):
            raise KeyboardInterrupt
        real(text, stream)

    monkeypatch.setattr(several, "say", stop_at_the_second)
    result = cli("denoise", *three, "-o", tmp_path / "out", "--method", "median")
    assert result.code == EXIT_CANCELLED
    assert "1 of 3 results finished" in result.err and f"not denoised: {three[1]}, {three[2]}" in result.err


def test_a_reader_that_goes_does_not_end_the_batch(tmp_path, three):
    """`... | head -1`: the second 'wrote' line met a closed pipe and the run ended there with exit 0."""
    import subprocess
    import sys

    out = tmp_path / "out"
    script = ("import sys; from emdenoise_gui.cli.main import main; "
              f"sys.exit(main(['denoise', *{[str(p) for p in three]!r}, '-o', {str(out)!r}, '--method', 'median']))")
    run = subprocess.run(f"{sys.executable} -c \"{script}\" | head -1; exit ${{PIPESTATUS[0]}}", shell=True,
                         executable="/bin/bash", capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"wrote {out / 's_median.tif'}"
    assert results(out) == ["m_median.mrc", "s_median.tif", "s_median_2.tif"]


def test_a_hard_link_to_an_input_is_the_same_stack(tmp_path, cli, three):
    import os

    link = tmp_path / "hard.tif"
    os.link(three[0], link)
    result = cli("denoise", three[0], link, "-o", tmp_path / "out", "--method", "median")
    assert result.code == EXIT_INPUT and "hard.tif: is given twice" in result.err
    assert not (tmp_path / "out").exists()


def test_a_batch_stopped_midway_says_how_to_finish_it(tmp_path, cli, three):
    """After a kill, the same command was refused at its first finished result, with no word of the rest."""
    out = tmp_path / "out"
    assert cli("denoise", *three, "-o", out, "--method", "median").code == 0
    for name in ("s_median_2.tif", "m_median.mrc"):  # killed after the first one
        (out / name).unlink()
    result = cli("denoise", *three, "-o", out, "--method", "median")
    assert result.code == EXIT_INPUT
    assert f"1 of 3 results exist already (s_median.tif): to finish the batch, give only the stacks not done " \
           f"({three[1]} {three[2]})" in result.err


def test_an_input_named_as_another_inputs_result_is_not_taken_for_a_finished_result(tmp_path, cli, three):
    """`denoise a.tif a_gaussian.tif -o .` said "1 of 2 results exist already (a_gaussian.tif) ... or pass
    --overwrite": the input was taken for a.tif's finished result (I/O audit)."""
    a, b = three[0], three[0].with_name("s_median.tif")
    b.write_bytes(a.read_bytes())
    before = b.read_bytes()
    result = cli("denoise", a, b, "-o", a.parent, "--method", "median", "--overwrite")
    assert result.code == 0 and "exist already" not in result.err, result.err
    assert b.read_bytes() == before  # no batch recorded it as s.tif's result: s.tif's gets a name of its own
    assert results(a.parent) == ["s.tif", "s_median.tif", "s_median_2.tif", "s_median_median.tif"]


def test_a_later_batch_of_another_stack_of_the_same_name_gets_a_name_of_its_own(tmp_path, cli, three):
    """stack.tif from two sessions' folders, denoised by two batches into one folder: the second took the first's
    result for its own finished one ("give only the stacks not done"), and with --overwrite replaced it (paths
    audit). Each batch records which stack each result was made from; another stack's result is never taken."""
    out = tmp_path / "out"
    a, b, m = three
    assert cli("denoise", a, m, "-o", out, "--method", "median").code == 0
    first = (out / "s_median.tif").read_bytes()
    for extra in ((), ("--overwrite",)):
        result = cli("denoise", b, m, "-o", out, "--method", "median", *extra)
        if not extra:  # m.mrc's result is this stack's own: done
            assert result.code == EXIT_INPUT and f"(m_median.mrc): to finish the batch, give only the stacks not " \
                                                 f"done ({b})" in result.err, result.err
            continue
        assert result.code == 0 and "s_median_2.tif" in result.out, result.err
    assert (out / "s_median.tif").read_bytes() == first
    assert cli("denoise", b, "-o", tmp_path / "b.tif", "--method", "median").code == 0
    np.testing.assert_array_equal(_pixels(out / "s_median_2.tif"), _pixels(tmp_path / "b.tif"))
    again = cli("denoise", a, b, "-o", out, "--method", "median")  # both done, under their own names
    assert again.code == EXIT_INPUT and "already exists" in again.err, again.err
    assert several.result_names([str(a), str(b)], ["median"] * 2, "{stem}_{method}", None,
                                out) == ["s_median.tif", "s_median_2.tif"]
    (out / "s_median.tif").rename(out / "s_median_3.tif")  # a result no batch recorded: never done, never replaced
    (out / several.SOURCES_RECORD).write_text("{not json")  # a record that cannot be read: nothing recorded
    assert several.result_names([str(a), str(b)], ["median"] * 2, "{stem}_{method}", None,
                                out) == ["s_median.tif", "s_median_4.tif"]
