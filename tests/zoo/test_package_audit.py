"""Model package audit (2026-12-06): our bioimage.io export used as --model, a cyclic card of zero width,
an rdf.yaml nested too deeply, a name a renamed folder's card still holds."""

import shutil
import zipfile

import numpy as np
import pytest
import tifffile

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.zoo import registry
from emdenoise_gui.zoo.package import load_network, open_package
from tests.conftest import main, random_package


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))


def test_our_bioimageio_export_works_as_model_directly(tmp_path, capsys):
    """`denoise --model export.zip` said it held a pickle file and asked for a safetensors package."""
    exported = tmp_path / "nrrn.zip"
    assert main(["zoo", "export", "flyem-nrrn-lite", "--format", "bioimageio", str(exported)]) == 0
    package = open_package(exported)
    assert package.card.name == "flyem-nrrn-lite"
    source = tmp_path / "in.tif"
    tifffile.imwrite(source, np.random.default_rng(0).integers(0, 255, (3, 64, 64), dtype=np.uint8),
                     photometric="minisblack")
    assert main(["denoise", str(source), "-o", str(tmp_path / "a.tif"), "--model", str(exported)]) == 0
    assert main(["denoise", str(source), "-o", str(tmp_path / "b.tif"), "--model", "flyem-nrrn-lite"]) == 0
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a.tif"), tifffile.imread(tmp_path / "b.tif"))


def test_a_cyclic_card_of_zero_width_is_refused_when_loaded(tmp_path, capsys):
    """ngf 0 built a network of empty tensors: imported with exit 0, then an internal error at every use. The
    network now refuses the size; a card edited to it after the weights were written is refused as edited."""
    import json

    from emdenoise_gui.models.cyclic import CyclicGAN

    with pytest.raises(ValueError, match="ngf and ndf must be >= 1"):
        CyclicGAN(ngf=0)
    package = random_package(tmp_path / "cyc", "cyclic", "lite")
    card = json.loads((package.path / "card.json").read_text())
    card["architecture"]["ngf"] = 0
    (package.path / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="architecture or normalisation was changed after the weights"):
        load_network(open_package(package.path))
    assert main(["zoo", "import", str(tmp_path / "cyc")]) == 2


def test_a_card_edited_to_run_the_weights_as_another_network_is_refused(tmp_path, capsys):
    """A card changed from NRRN's "mean" to "pair" (the same tensor shapes) loaded and gave other results:
    the checksum covers the weights only. Packages written before the weights carried their network load."""
    import json

    package = random_package(tmp_path / "n", "nrrn", "lite", options={"neighbours": "mean"})
    load_network(open_package(package.path))
    card = json.loads((package.path / "card.json").read_text())
    card["architecture"]["neighbours"] = "pair"
    (package.path / "card.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="changed after the weights were written"):
        load_network(open_package(package.path))
    card["name"] = "renamed"  # a new name is not a new network
    card["architecture"]["neighbours"] = "mean"
    (package.path / "card.json").write_text(json.dumps(card))
    load_network(open_package(package.path))
    for entry in registry.list_entries():  # the shipped packages (written before) still load
        if entry.shipped:
            load_network(entry.package)


def test_an_rdf_nested_too_deeply_is_refused_in_one_line(tmp_path, capsys):
    archive = tmp_path / "deep.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("rdf.yaml", "[" * 100000 + "]" * 100000)
    assert main(["zoo", "import", str(archive)]) == 2
    assert "nested too deeply" in capsys.readouterr().err


def test_a_name_held_by_a_renamed_folders_card_is_taken(tmp_path, capsys):
    """Imported with exit 0 beside a renamed folder whose card has the same name: every later use of the name
    found the older model."""
    random_package(tmp_path / "one", "n2v", "lite")
    assert main(["zoo", "import", str(tmp_path / "one")]) == 0
    user = registry.user_dir()
    (user / "n2v-lite-random").rename(user / "renamed")
    assert registry.name_taken("n2v-lite-random") == "a model named 'n2v-lite-random' is already in the zoo"
    shutil.rmtree(tmp_path / "one")
    random_package(tmp_path / "one", "n2v", "lite", perturb=0.05)
    capsys.readouterr()
    assert main(["zoo", "import", str(tmp_path / "one")]) == 2
    assert "already in the zoo" in capsys.readouterr().err


def _renamed_package(folder, name):
    import json

    random_package(folder, "n2v", "lite")
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    (folder / "card.json").write_text(json.dumps(dict(card, name=name)), encoding="utf-8")
    return folder


def test_a_name_that_reads_the_same_in_other_unicode_is_taken(tmp_path, capsys):
    """'é' as one character and as e + accent: two zoo models that read 'My model é' (names audit)."""
    import unicodedata

    composed = "My model é"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert main(["zoo", "import", str(_renamed_package(tmp_path / "a", composed))]) == 0
    assert registry.name_taken(decomposed) == f"a model named '{decomposed}' is already in the zoo"
    capsys.readouterr()
    assert main(["zoo", "import", str(_renamed_package(tmp_path / "b", decomposed))]) == 2
    assert "already in the zoo" in capsys.readouterr().err
    assert registry.find(decomposed).name == composed  # the name as typed either way finds it


def test_a_bare_model_name_that_is_also_a_folder_here_is_refused(tmp_path, monkeypatch):
    """--model m ran ./m (another model) with exit 0 although the zoo holds 'm' (names audit)."""
    assert main(["zoo", "import", str(_renamed_package(tmp_path / "zoo-m", "m"))]) == 0
    monkeypatch.chdir(tmp_path)
    _renamed_package(tmp_path / "m", "other")
    with pytest.raises(InputError, match=r"'m' is both a model of the zoo and a folder in this folder .*; write ./m "
                                         "to use the one here"):
        registry.resolve("m")
    assert registry.resolve("./m").card.name == "other"
    monkeypatch.chdir(registry.user_dir())  # in the zoo itself: the same folder
    assert registry.resolve("m").card.name == "m"
    monkeypatch.chdir(tmp_path / "m")  # "." is a path, never a name (it is refused as "both" otherwise)
    assert registry.resolve(".").card.name == "other"
