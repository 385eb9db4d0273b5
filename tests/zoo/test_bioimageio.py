"""bioimage.io export and import (zoo/bioimageio.py): valid per bioimageio.spec, test tensors that our
predictor reproduces, TorchScript that runs without EMDenoise's code, our own packages back in."""

import io
import json
import shutil
import warnings
import zipfile

import numpy as np
import pytest
import torch

from emdenoise_gui.core.events import run_to_end
from emdenoise_gui.inference.predictor import Predictor
from emdenoise_gui.models.portable import PortableDenoiser
from emdenoise_gui.zoo import registry
from tests.conftest import main, random_package


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))


@pytest.fixture
def exported(tmp_path):
    path = tmp_path / "nrrn.zip"
    assert main(["zoo", "export", "flyem-nrrn-lite", "--format", "bioimageio", str(path)]) == 0
    return path


def member(path, name) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def test_bioimageio_spec_validates_the_package(exported):
    spec = pytest.importorskip("bioimageio.spec")
    summary = spec.load_description(exported, perform_io_checks=True).validation_summary
    assert summary.status in ("valid-format", "passed"), summary.format()
    rdf = json.loads(member(exported, "rdf.yaml"))
    assert rdf["format_version"].startswith("0.5") and set(rdf["weights"]) == {"pytorch_state_dict", "torchscript"}
    assert rdf["outputs"][0]["axes"][2]["halo"] > 0 and len(rdf["inputs"][0]["axes"][1]["channel_names"]) == 3


def test_test_tensors_reproduce_with_our_predictor_and_torchscript(exported):
    x = np.load(io.BytesIO(member(exported, "test_input.npy")))
    expected = np.load(io.BytesIO(member(exported, "test_output.npy")))
    assert x.shape == (1, 3, 256, 256) and expected.shape == (1, 1, 256, 256)
    predictor = Predictor(registry.find("flyem-nrrn-lite").package, torch.device("cpu"), precision="fp32")
    ours = run_to_end(predictor.denoise(x[0], 256))
    np.testing.assert_allclose(ours, expected[0, 0], rtol=1e-4, atol=1e-3 * float(np.abs(expected).max()))
    with warnings.catch_warnings():  # torch 2.13 deprecates jit.load; bioimage.io tools still run torchscript
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.load(io.BytesIO(member(exported, "model.torchscript.pt")))
    with torch.no_grad():
        np.testing.assert_allclose(scripted(torch.from_numpy(x)).numpy(), expected, rtol=1e-5, atol=1e-4)
    # with autograd on, PyTorch's default: NRRN's in-place inference path traced into it failed there (review)
    np.testing.assert_allclose(scripted(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-4)
    assert abs(float(expected.mean()) - float(x[0, 1].mean())) < 0.1 * float(x[0, 1].std())  # the input's units


def test_our_package_comes_back_through_zoo_import(exported, tmp_path, capsys):
    """A user model exported as bioimage.io, deleted and imported again has the same weights; a shipped model's
    export is refused at import (the zoo has it already)."""
    original = registry.find("flyem-nrrn-lite").package
    mine = tmp_path / "my-lite"
    shutil.copytree(original.path, mine)
    card = json.loads((mine / "card.json").read_text())
    (mine / "card.json").write_text(json.dumps({**card, "name": "my-lite"}))
    zipped = tmp_path / "mine.zip"
    assert main(["zoo", "import", str(mine)]) == 0
    assert main(["zoo", "export", "my-lite", "--format", "bioimageio", str(zipped)]) == 0
    assert main(["zoo", "delete", "my-lite", "--yes"]) == 0
    assert main(["zoo", "import", str(zipped)]) == 0
    imported = [e for e in registry.list_entries() if not e.shipped]
    assert [e.name for e in imported] == ["my-lite"]
    assert imported[0].package.card.weights_sha256 == original.card.weights_sha256
    assert not (imported[0].package.path / "weights.pt").exists()  # the pickle never left the zip
    capsys.readouterr()
    assert main(["zoo", "import", str(exported)]) == 2
    assert "ships with EMDenoise" in capsys.readouterr().err


def test_a_foreign_bioimageio_model_is_refused_in_one_line(exported, tmp_path, capsys):
    rdf = json.loads(member(exported, "rdf.yaml"))
    rdf["weights"]["pytorch_state_dict"]["architecture"] = {"callable": "UNet2d", "import_from": "someone.unet"}
    foreign = tmp_path / "foreign.zip"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("rdf.yaml", json.dumps(rdf))
    assert main(["zoo", "import", str(foreign)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not an EMDenoise one (someone.unet)" in err


@pytest.mark.parametrize("text", ["[]", '"hello"', '{"weights": null}', '{"weights": [1, 2]}',
                                  '{"weights": {"pytorch_state_dict": {"architecture": "emdenoise"}}}'])
def test_an_rdf_of_other_shapes_is_refused_in_one_line(tmp_path, capsys, text):
    """Each raised AttributeError ('list' object has no attribute 'get'): an internal error, exit 1."""
    odd = tmp_path / "odd.zip"
    with zipfile.ZipFile(odd, "w") as zf:
        zf.writestr("rdf.yaml", text)
    assert main(["zoo", "import", str(odd)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "internal error" not in err, err


def test_a_cyclic_model_exports_with_its_percentile_normalisation(tmp_path):
    """The shipped artifact model, robust-slice. On one tile the module is our predictor's normalisation,
    network and way back; over a slice our predictor blends tiles with mirrored borders, which a
    whole-tile network sees (its result differs near the edges only)."""
    path = tmp_path / "cyclic.zip"
    assert main(["zoo", "export", "flyem-cyclic-artifacts", "--format", "bioimageio", str(path)]) == 0
    x = np.load(io.BytesIO(member(path, "test_input.npy")))
    expected = np.load(io.BytesIO(member(path, "test_output.npy")))
    assert x.shape == (1, 1, 256, 256) and expected.shape == (1, 1, 256, 256)
    predictor = Predictor(registry.find("flyem-cyclic-artifacts").package, torch.device("cpu"), precision="fp32")
    norm = predictor.normaliser(x[0])
    one_tile = norm.inverse(predictor._tile_fn(norm.forward(x[0]))[0])
    np.testing.assert_allclose(one_tile, expected[0, 0], rtol=1e-4, atol=1e-4 * float(np.abs(expected).max()))
    span = float(expected.max() - expected.min())
    blended = np.abs(run_to_end(predictor.denoise(x[0], 512)) - expected[0, 0])
    assert blended.mean() < 0.02 * span and blended[32:-32, 32:-32].max() < 0.05 * span
    rdf = json.loads(member(path, "rdf.yaml"))
    assert rdf["weights"]["pytorch_state_dict"]["architecture"]["kwargs"]["normalisation"] == "robust-slice"
    readme = member(path, "README.md").decode()
    assert "depends on the whole tile" in readme and "tiles of at least 1024 px" in readme and "128 px overlap" in readme
    try:
        from bioimageio.spec import load_description
    except ImportError:
        return
    summary = load_description(path, perform_io_checks=True).validation_summary
    assert summary.status in ("valid-format", "passed"), summary.format()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.load(io.BytesIO(member(path, "model.torchscript.pt")))
    with torch.no_grad():
        np.testing.assert_allclose(scripted(torch.from_numpy(x)).numpy(), expected, rtol=1e-5, atol=1e-4)
        # other sizes than the trace's, one whose percentiles come from a subsample: nothing baked in
        eager = PortableDenoiser("cyclic", predictor.card.architecture, "robust-slice")
        eager.net.load_state_dict(predictor.model.state_dict())
        big = torch.from_numpy(np.tile(x, (1, 1, 5, 4))[..., :1040, :1000].copy())
        for tensor in (torch.from_numpy(np.ascontiguousarray(x[..., :128, :192])), big):
            np.testing.assert_allclose(scripted(tensor).numpy(), eager.eval()(tensor).numpy(), rtol=1e-5, atol=1e-3)


def test_models_without_a_portable_normalisation_are_refused(tmp_path, capsys):
    package = random_package(tmp_path / "nrrn-legacy", "nrrn",
                             normalisation={"kind": "zscore-dataset", "mean": 0.5, "std": 0.2})
    assert main(["zoo", "import", str(package.path)]) == 0
    assert main(["zoo", "export", package.card.name, "--format", "bioimageio", str(tmp_path / "c.zip")]) == 2
    assert "no bioimage.io form" in capsys.readouterr().err
    assert not (tmp_path / "c.zip").exists()


def test_export_needs_no_sympy(tmp_path):
    """torch's trace check imports sympy: the export does without it (the installer left sympy out until
    2026-12-04, and every export of the installed app failed)."""
    import os
    import subprocess
    import sys

    code = ("import sys\nfor name in ('sympy', 'mpmath'):\n    sys.modules[name] = None\n"
            "from emdenoise_gui.cli.main import main\n"
            f"sys.exit(main(['zoo', 'export', 'flyem-nrrn-lite', '--format', 'bioimageio', {str(tmp_path / 'n.zip')!r}]))")
    env = {**os.environ, "EMDENOISE_HOME": str(tmp_path / "home")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "n.zip").stat().st_size > 10_000


def test_rdf_names_keep_to_what_bioimageio_allows():
    """A zoo name with a dot or letters outside ASCII exported an rdf.yaml bioimage.io refuses (exit 0)."""
    from emdenoise_gui.zoo.bioimageio import RDF_NAME_CHARS, RDF_NAME_LEN, rdf_name

    cases = {"fibsem-10nm-v1.2": "fibsem-10nm-v1-2", "t3 ünïcödé 模型": "t3 unicode", "abc": "abc (EMDenoise)",
             "flyem-nrrn-lite": "flyem-nrrn-lite", "...": "model", "x" * 200: "x" * 128}
    for name, expected in cases.items():
        got = rdf_name(name)
        assert got == expected and set(got) <= RDF_NAME_CHARS and RDF_NAME_LEN[0] <= len(got) <= RDF_NAME_LEN[1]
