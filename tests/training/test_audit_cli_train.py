"""Training CLI audit of 2026-12-06: one file in two roles is refused; --adapt into a zoo that cannot be
written says so; an N2V model exports to bioimage.io (its mirrored padding kept a multiple of 4)."""

import pytest

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.training.spec import RunSpec
from tests.conftest import main, random_package


def test_one_file_in_two_roles_is_refused():
    with pytest.raises(InputError, match="clean.tif is given as both --clean and --noisy"):
        RunSpec("cyclic", data={"clean": ["/d/clean.tif"], "noise": ["/d/noise.tif"], "noisy": ["/d/clean.tif"]},
                output="x").validated()
    # a rectangle of the noisy file as the noise examples is what the wizard's boxes give
    RunSpec("cyclic", data={"clean": ["/d/clean.tif"], "noise": ["/d/noisy.tif@0:32,0:32"],
                            "noisy": ["/d/noisy.tif"]}, output="x").validated()


def test_adapt_into_a_zoo_that_cannot_be_made_is_said(tmp_path, monkeypatch, capsys):
    from tests.jobs.test_blocks import ramp_volume

    home = tmp_path / "home"
    home.write_text("a file, not a folder")
    monkeypatch.setenv("EMDENOISE_HOME", str(home))
    source = ramp_volume(tmp_path / "in.tif", depth=4)
    assert main(["denoise", str(source), "-o", str(tmp_path / "out.tif"), "--adapt", "n2v", "--steps", "1"]) == 2
    assert "cannot self-train into the zoo" in capsys.readouterr().err


def test_an_n2v_model_exports_to_bioimageio(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    package = random_package(tmp_path / "n2v", "n2v")
    assert main(["zoo", "import", str(package.path)]) == 0
    assert main(["zoo", "export", package.card.name, "--format", "bioimageio", str(tmp_path / "n2v.zip")]) == 0
    assert (tmp_path / "n2v.zip").stat().st_size > 1000


def test_dose_where_it_does_nothing_is_refused(tmp_path, capsys, monkeypatch):
    """`train n2v --dose 10:20` ran with exit 0 and a card saying nothing of it."""
    from tests.jobs.test_blocks import ramp_volume

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    noisy = ramp_volume(tmp_path / "noisy.tif", depth=4)
    assert main(["train", "n2v", "--noisy", str(noisy), "--dose", "10:20", "--steps", "1",
                 "-o", str(tmp_path / "m")]) == 2
    assert "--dose sets synthetic noise on --clean data" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
