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


@pytest.mark.parametrize("family, role, flags, said", [
    ("n2v", "noisy", ["--objective", "consensus"], "--objective sets the loss of nrrn on --noisy data"),
    ("nrrn", "clean", ["--objective", "blind-spot"], "this nrrn run on --clean data has no such choice"),
    ("n2v", "noisy", ["--gan-mode", "vanilla"], "this run has no GAN"),
    ("xception", "clean", ["--gan-mode", "lsgan"], "--gan-mode sets the adversarial loss of the cyclic GAN"),
    ("n2v", "noisy", ["--gaussian-fraction", "0.2", "--sigma", "5:9"], "--sigma and --gaussian-fraction set"),
    ("cyclic", "clean", ["--artifacts", "film", "--dose", "15:300"], "give --shot-noise too"),
    ("xception", "clean", ["--sigma", "5:9"], "give that too (above 0), or leave --sigma out"),
    ("nrrn", "clean", ["--dose", "30:60", "--dose-dist", "ede-low"], "not --dose's range"),
])
def test_an_option_the_run_would_ignore_is_refused(tmp_path, capsys, monkeypatch, family, role, flags, said):
    """Each ran with exit 0, the option ignored and the card silent on it (training audit of 2026-12-07)."""
    from tests.jobs.test_blocks import ramp_volume

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    data = ramp_volume(tmp_path / "data.tif", depth=4)
    assert main(["train", family, f"--{role}", str(data), *flags, "--steps", "1", "-o", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1 and not (tmp_path / "m").exists()


def test_the_options_a_run_uses_are_taken(tmp_path, monkeypatch):
    from emdenoise_gui.training import engine
    from tests.jobs.test_blocks import ramp_volume

    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    seen = []
    monkeypatch.setattr(engine, "train", lambda spec, *args, **kw: (seen.append(spec), iter(()))[1])
    data = ramp_volume(tmp_path / "data.tif", depth=4)
    main(["train", "xception", "--clean", str(data), "--gaussian-fraction", "0.3", "--sigma", "5:9", "--steps", "1",
          "-o", str(tmp_path / "m")])
    main(["train", "cyclic", "--clean", str(data), "--artifacts", "film", "--shot-noise", "0.5", "--dose", "15:300",
          "--steps", "1", "-o", str(tmp_path / "c")])
    assert seen[0].gaussian_fraction == 0.3 and seen[0].sigma == (5.0, 9.0) and seen[1].dose == (15.0, 300.0)
