"""A corpus of hostile model packages, generated here: each is refused by ``emdenoise zoo import`` with
exit 2 and one line, nothing is written outside the test's temporary folder, and the zoo still lists."""

import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch

from emdenoise_gui.zoo.card import ModelCard
from emdenoise_gui.zoo.package import CARD, WEIGHTS, write_package
from tests.conftest import main


@pytest.fixture(autouse=True)
def user_zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "models").mkdir(parents=True)
    return tmp_path / "home" / "models"


def _card(**change) -> dict:
    card = ModelCard(name="toy", family="n2v", config="lite", architecture={"depth": 2, "base": 8},
                     normalisation={"kind": "zscore-slice"}, weights_sha256="0" * 64, parameters=3).to_dict()
    card.update(change)
    return card


def _folder(root: Path, name: str, card: dict | None = None, tensor=None) -> Path:
    """A package folder with valid weights and ``card`` (its sha256 filled in unless it sets one)."""
    pkg = write_package(root / f"src-{name}", ModelCard(**{**_card(), "name": "toy"}),
                        {"w": torch.arange(3, dtype=torch.float32) if tensor is None else tensor})
    data = dict(card or pkg.card.to_dict())
    if card is not None and data.get("weights_sha256") == "0" * 64:
        data["weights_sha256"] = pkg.card.weights_sha256
    (pkg.path / CARD).write_text(json.dumps(data))
    return pkg.path


def _zip(path: Path, entries: dict) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _corpus(root: Path) -> dict:
    """name -> (package path, phrase its refusal must contain)."""
    corpus = {}
    root.mkdir()
    secret = root / "secret.txt"
    secret.write_text("top secret")
    link = _folder(root, "link")
    os.symlink(secret, link / "README.md")
    corpus["symlinked README"] = (link, "is a link")
    fifo = _folder(root, "fifo")
    os.mkfifo(fifo / "preview.png")
    corpus["FIFO member"] = (fifo, "not a regular file")
    fifo_card = _folder(root, "fifo-card")
    (fifo_card / CARD).unlink()
    os.mkfifo(fifo_card / CARD)
    corpus["FIFO card"] = (fifo_card, "not a regular file")
    nested = _folder(root, "nested")
    (nested / CARD).write_text("[" * 100_000 + "]" * 100_000)
    corpus["card nested 100,000 deep"] = (nested, "nested too deeply")
    corpus["huge parameters"] = (_folder(root, "huge", _card(parameters=10**400)), "'parameters'")
    corpus["hidden name"] = (_folder(root, "dot", _card(name=".hidden")), "not allowed")
    corpus["300-character name"] = (_folder(root, "long", _card(name="x" * 300)), "not allowed")
    corpus["architecture units 10**6"] = (_folder(root, "arch", _card(architecture={"depth": 2, "base": 10**6})),
                                          "out of range")
    corpus["unknown architecture key"] = (_folder(root, "key", _card(architecture={"units": 3})), "unknown setting")
    corpus["NRRN neighbours not a mode"] = (_folder(root, "nb", _card(
        family="nrrn", architecture={"channels": 16, "units": 3, "neighbours": "all"})), "is not one of")
    corpus["NRRN dilation 100"] = (_folder(root, "dil", _card(
        family="nrrn", architecture={"channels": 16, "units": 2, "dilations": [1, 100]})), "is not one of")
    deep: dict = {}
    inner = deep
    for _ in range(900):  # imported, then `zoo show` and the export stopped with a RecursionError
        inner["k"] = {}
        inner = inner["k"]
    corpus["training record 900 levels deep"] = (_folder(root, "deep", _card(training=deep)), "nested more than")
    corpus["training crop 17"] = (_folder(root, "crop", _card(training_crop=17)), "'training_crop'")
    corpus["training crop -16"] = (_folder(root, "negcrop", _card(training_crop=-16)), "'training_crop'")
    corpus["zero std normalisation"] = (_folder(root, "std0", _card(
        normalisation={"kind": "zscore-dataset", "mean": 0.5, "std": 0.0})), "std' above 0")
    corpus["NaN metric"] = (_folder(root, "nanmetric", _card(metrics={"val_psnr_db": float("nan")})), "finite")
    corpus["checksum mismatch"] = (_folder(root, "sha", _card(weights_sha256="1" * 64)), "checksum")
    pickled = _folder(root, "pickle")
    (pickled / "README.md").write_bytes(pickle.dumps({"a": 1}, protocol=4))
    corpus["pickle disguised as README"] = (pickled, "pickle")
    corpus["pickle file"] = (_zip(root / "pickle.zip", {"toy/model.pt": b"x"}), "pickle")
    corpus["path escape"] = (_zip(root / "escape.zip", {"../../evil/card.json": b"{}"}), "outside")
    corpus["absolute path"] = (_zip(root / "abs.zip", {"/etc/card.json": b"{}"}), "outside")
    valid = _folder(root, "valid")
    bomb = root / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("toy/" + CARD, (valid / CARD).read_bytes())
        zf.writestr("toy/" + WEIGHTS, b"\0" * (64 << 20))  # 64 MiB of zeros for a 3-parameter card
    corpus["zip bomb in the weights"] = (bomb, "more than its card allows")
    liar = _folder(root, "liar", _card(parameters=10**7))  # the cap was the card's word: 80 MB unpacked
    with zipfile.ZipFile(root / "liar.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("toy/" + CARD, (liar / CARD).read_bytes())
        zf.writestr("toy/" + WEIGHTS, b"\0" * (16 << 20))
    corpus["zip bomb under a card claiming 10**7 parameters"] = (root / "liar.zip", "more than its card allows")
    giant = _folder(root, "giant", _card(architecture={"depth": 8, "base": 128, "n2v2": True}))
    corpus["architecture of 32 G parameters"] = (giant, "more than the 128,000,000")
    with zipfile.ZipFile(root / "giant.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("toy/" + CARD, (giant / CARD).read_bytes())  # the card first, as we export
        zf.writestr("toy/" + WEIGHTS, b"\0" * (64 << 20))  # inflated in full under the 8 GiB cap before
    corpus["zip bomb under a 32 G-parameter card"] = (root / "giant.zip", "more than the 128,000,000")
    (root / "bogus.zip").write_bytes(b"PK\x03\x04 not really")
    corpus["not a zip"] = (root / "bogus.zip", "not a readable zip")
    corpus["NaN weights"] = (_folder(root, "nanw", tensor=torch.tensor([1.0, float("nan"), 2.0])), "NaN or infinite")
    stored = {"toy/" + CARD: (valid / CARD).read_bytes(), "toy/" + WEIGHTS: (valid / WEIGHTS).read_bytes()}
    corpus["bad CRC"] = (_damaged(root / "crc.zip", stored, (valid / WEIGHTS).read_bytes()[-8:]), "is damaged")
    corpus["encrypted member"] = (_encrypted(_zip(root / "enc.zip", stored)), "never encrypted")
    nan_card = _folder(root, "nanzip", _card(metrics={"val_psnr_db": float("nan")}))
    corpus["NaN metric in a zip"] = (_zip(root / "nan.zip", {"toy/" + CARD: (nan_card / CARD).read_bytes(),
                                                            "toy/" + WEIGHTS: (nan_card / WEIGHTS).read_bytes()}),
                                     "finite")
    longnum = _folder(root, "longnum")
    (longnum / CARD).write_text((longnum / CARD).read_text().replace('"parameters": 3', '"parameters": ' + "9" * 5000))
    corpus["5000-digit number in the card"] = (longnum, "number too long")
    corpus["name ending in a space"] = (_folder(root, "space", _card(name="toy ")), "not allowed")
    corpus["right-to-left override in the name"] = (_folder(root, "rtl", _card(name="toy\u202eexe.fdp")), "not allowed")
    corpus["DEL in the name"] = (_folder(root, "del", _card(name="to\x7fy")), "not allowed")
    corpus["rdf.yaml of 2 MiB"] = (_zip(root / "rdfbomb.zip", {"rdf.yaml": b" " * (2 << 20), **{
        "emdenoise/" + k.split("/")[1]: v for k, v in stored.items()}}), "rdf.yaml")
    corpus["Deflate64 member"] = (_method(_zip(root / "deflate64.zip", stored), 9), "standard Deflate")
    return corpus


def _method(path: Path, method: int) -> Path:
    """Set the compression method of every member's local and central headers to ``method`` (9: Deflate64,
    as Windows Explorer writes big zips; Python's zipfile cannot read it)."""
    raw = bytearray(path.read_bytes())
    for signature, at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (found := raw.find(signature, start)) >= 0:
            raw[found + at:found + at + 2] = method.to_bytes(2, "little")
            start = found + 4
    path.write_bytes(bytes(raw))
    return path


def _damaged(path: Path, entries: dict, inside: bytes) -> Path:
    """A zip of ``entries``, stored uncompressed, with one byte of the last occurrence of ``inside`` flipped:
    that member then fails its CRC check on extraction."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    raw = bytearray(path.read_bytes())
    at = raw.rindex(inside)
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    return path


def _encrypted(path: Path) -> Path:
    """Set the 'encrypted' flag of the first member's local and central headers."""
    raw = bytearray(path.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.index(signature) + flag_at
        raw[at] |= 0x01
    path.write_bytes(bytes(raw))
    return path


def test_every_hostile_package_is_refused_in_one_line(tmp_path, user_zoo, capsys):
    corpus = _corpus(tmp_path / "corpus")
    outside_before = sorted(p.name for p in tmp_path.parent.iterdir())
    for what, (path, phrase) in corpus.items():
        code = main(["zoo", "import", str(path)])  # NaN weights too: import loads the network (2026-12-05)
        err = capsys.readouterr().err.strip()
        assert code == 2, (what, err)
        assert len(err.splitlines()) == 1 and phrase in err, (what, err)
        assert "Traceback" not in err and ".import-" not in err  # the zip is named, not our scratch folder
        assert list(user_zoo.iterdir()) == [], what  # nothing written into the zoo
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == outside_before  # nor beside the test folder
    assert main(["zoo", "list"]) == 0
    assert len(corpus) >= 26


def test_a_zoo_folder_that_cannot_be_written_keeps_its_model_and_says_so(user_zoo, capsys, monkeypatch, tmp_path):
    """Delete moves the package aside in one step first: when the zoo folder refuses, the model stays whole
    (rmtree emptied it, then failed with an internal error); import and export say what is wrong in one line."""
    from emdenoise_gui.models.n2v import UNet
    from emdenoise_gui.zoo import registry

    card = ModelCard(name="toy", family="n2v", config="lite", architecture={"depth": 2, "base": 8, "n2v2": True},
                     normalisation={"kind": "zscore-slice"}, weights_sha256="0" * 64, parameters=1)
    good = write_package(tmp_path / "good", card, UNet(depth=2, base=8, n2v2=True).state_dict()).path
    assert main(["zoo", "import", str(good)]) == 0
    capsys.readouterr()

    def refuse(*args):
        raise PermissionError(1, "Operation not permitted")

    with monkeypatch.context() as m:
        m.setattr(registry.os, "replace", refuse)
        assert main(["zoo", "delete", "toy", "--yes"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot delete 'toy' (Operation not permitted)" in err
    assert {CARD, WEIGHTS} <= {p.name for p in (user_zoo / "toy").iterdir()}
    assert main(["zoo", "export", "toy", str(user_zoo / "toy" / "copy.zip")]) == 2
    assert "inside the model zoo's folder" in capsys.readouterr().err and main(["zoo", "list"]) == 0
    long_zip = tmp_path / ("x" * 246 + ".zip")  # a name the file system takes; the staging name must fit too
    assert main(["zoo", "export", "toy", str(long_zip)]) == 0 and long_zip.is_file()
    (tmp_path / "home-file").write_text("not a folder")
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home-file"))
    capsys.readouterr()
    assert main(["zoo", "import", str(good)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot import the model" in err and "Traceback" not in err


def test_a_broken_entry_in_the_zoo_is_listed_and_can_be_deleted(user_zoo, capsys):
    bad = user_zoo / "broken"
    bad.mkdir()
    (bad / CARD).write_text(json.dumps(_card(parameters=10**400)))
    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    assert "broken" in out
    assert main(["zoo", "delete", "broken", "--yes"]) == 0
    assert not bad.exists()


def test_a_model_already_in_the_zoo_keeps_the_name_rule_it_was_made_under(user_zoo, tmp_path):
    """Names ending in a space are refused for new models since 2026-12-06; one already in the zoo stays usable."""
    from emdenoise_gui.models.n2v import UNet
    from emdenoise_gui.zoo.registry import list_entries

    card = ModelCard(name="trail ", family="n2v", config="lite", architecture={"depth": 2, "base": 8, "n2v2": True},
                     normalisation={"kind": "zscore-slice"}, weights_sha256="0" * 64, parameters=1)
    write_package(user_zoo / "trail ", card, UNet(depth=2, base=8, n2v2=True).state_dict())
    entry = next(e for e in list_entries() if not e.shipped)
    assert entry.package is not None and entry.package.card.name == "trail "


def test_two_of_the_users_models_with_one_name_are_refused_not_picked_by_folder_order(user_zoo, capsys):
    """Folders copied by hand with one card name: denoise used, and delete removed, whichever came first
    (audit of 2026-12-06). Now the name is refused with both folders; --folder picks one to delete."""
    from emdenoise_gui.models.n2v import UNet

    card = ModelCard(name="mymodel", family="n2v", config="lite", architecture={"depth": 2, "base": 8, "n2v2": True},
                     normalisation={"kind": "zscore-slice"}, weights_sha256="0" * 64, parameters=1)
    for folder in ("a-lite", "b-base"):
        write_package(user_zoo / folder, card, UNet(depth=2, base=8, n2v2=True).state_dict())
    for args in (["zoo", "show", "mymodel"], ["zoo", "delete", "mymodel", "--yes"]):
        capsys.readouterr()
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "2 models in your zoo are named 'mymodel' (folders a-lite, b-base)" in err and err.count("\n") == 1
    assert (user_zoo / "a-lite").exists() and (user_zoo / "b-base").exists()
    assert main(["zoo", "delete", "other", "--folder", "b-base", "--yes"]) == 2  # the name must match the folder's
    assert "holds the model 'mymodel', not 'other'" in capsys.readouterr().err and (user_zoo / "b-base").exists()
    assert main(["zoo", "delete", "mymodel", "--folder", "b-base", "--yes"]) == 0
    assert (user_zoo / "a-lite").exists() and not (user_zoo / "b-base").exists()
    assert main(["zoo", "show", "mymodel"]) == 0
