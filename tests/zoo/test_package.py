"""Model packages: round trip, and hostile packages refused with nothing written."""

import json
import os
import pickle
import shutil
import zipfile

import pytest
import torch

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.models.registry import family
from emdenoise_gui.zoo import registry
from emdenoise_gui.zoo.card import CardError, ModelCard, card_from_dict
from emdenoise_gui.zoo.package import (
    CARD,
    WEIGHTS,
    load_network,
    load_weights,
    open_package,
    verify_folder,
    write_package,
)


@pytest.fixture(autouse=True)
def user_zoo(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "models").mkdir(parents=True)  # an empty zoo, so "nothing written" is exact
    return tmp_path / "home" / "models"


ARCHITECTURE = {"depth": 2, "base": 8}


def _card(name="toy", architecture=ARCHITECTURE) -> ModelCard:
    return ModelCard(name=name, family="n2v", config="lite", architecture=dict(architecture),
                     normalisation={"kind": "zscore-dataset", "mean": 0.5, "std": 0.1},
                     weights_sha256="0" * 64, parameters=3)


def _weights(architecture=ARCHITECTURE) -> dict:
    """A small N2V network's tensors (seeded), what a card of ``architecture`` loads."""
    torch.manual_seed(0)
    return family("n2v").build(**architecture).state_dict()


def _package(folder, name="toy"):
    return write_package(folder, _card(name), _weights())


def _zip(path, entries: dict):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _valid_entries(tmp_path, prefix="toy/"):
    pkg = _package(tmp_path / "src")
    return {prefix + CARD: (pkg.path / CARD).read_bytes(), prefix + WEIGHTS: (pkg.path / WEIGHTS).read_bytes()}


def test_roundtrip_folder_and_checksum(tmp_path):
    pkg = _package(tmp_path / "p")
    again = verify_folder(pkg.path)
    assert again.card.weights_sha256 == pkg.card.weights_sha256 != "0" * 64
    loaded, written = load_weights(again), _weights()
    assert loaded.keys() == written.keys() and all(torch.equal(loaded[k], written[k]) for k in written)


def test_import_export_import_via_zip(tmp_path, user_zoo):
    pkg = _package(tmp_path / "p")
    imported = registry.import_package(pkg.path)
    assert imported.path == user_zoo / "toy"
    out = registry.export_package("toy", tmp_path / "toy.zip")
    registry.delete_package("toy")
    assert not (user_zoo / "toy").exists()
    again = registry.import_package(out)
    assert again.card.to_dict() == pkg.card.to_dict()
    assert [e.name for e in registry.list_entries() if not e.shipped] == ["toy"]


def test_a_model_named_like_a_shipped_or_a_zoo_model_is_refused(tmp_path, user_zoo):
    """A user model named like a shipped one was imported but never found (the shipped one comes first)."""
    shipped = registry.export_package("flyem-nrrn-lite", tmp_path / "lite.zip")
    with pytest.raises(InputError, match="ships with EMDenoise, so the zoo has one already"):
        registry.import_package(shipped)
    assert registry.name_taken("flyem-nrrn-lite") and not registry.name_taken("toy")
    registry.import_package(_package(tmp_path / "p").path)
    with pytest.raises(InputError, match="'toy' is already in the zoo; delete it first"):
        registry.import_package(_package(tmp_path / "q").path)
    assert registry.name_taken("toy") == "a model named 'toy' is already in the zoo"
    assert [p.name for p in user_zoo.iterdir()] == ["toy"]
    # `--model auto` asks for the best fit: a model of that name could never be chosen
    auto = _package(tmp_path / "a", "auto")
    with pytest.raises(InputError, match="'auto' is reserved .*needs another name"):
        registry.import_package(auto.path)


def _assert_refused(tmp_path, user_zoo, archive, phrase):
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(InputError, match=phrase):
        registry.import_package(archive)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written anywhere
    assert list(user_zoo.iterdir()) == []


def test_pickle_file_inside_is_refused(tmp_path, user_zoo):
    entries = _valid_entries(tmp_path)
    entries["toy/model.pkl"] = pickle.dumps({"evil": 1})
    _assert_refused(tmp_path, user_zoo, _zip(tmp_path / "a.zip", entries), "pickle")


def test_pickle_disguised_as_weights_is_refused(tmp_path, user_zoo):
    entries = _valid_entries(tmp_path)
    entries["toy/" + WEIGHTS] = pickle.dumps({"evil": 1}, protocol=4)
    _assert_refused(tmp_path, user_zoo, _zip(tmp_path / "a.zip", entries), "pickle")


def test_checksum_mismatch_is_refused(tmp_path, user_zoo):
    entries = _valid_entries(tmp_path)
    weights = bytearray(entries["toy/" + WEIGHTS])
    weights[-1] ^= 0xFF
    entries["toy/" + WEIGHTS] = bytes(weights)
    _assert_refused(tmp_path, user_zoo, _zip(tmp_path / "a.zip", entries), "checksum does not match")


@pytest.mark.parametrize("evil", ["../escape.md", "toy/../../escape.md", "/tmp/escape.md", "C:/escape.md"])
def test_path_escaping_entry_is_refused(tmp_path, user_zoo, evil):
    entries = _valid_entries(tmp_path)
    entries[evil] = b"gotcha"
    _assert_refused(tmp_path, user_zoo, _zip(tmp_path / "a.zip", entries), "outside the target folder")
    assert not (tmp_path.parent / "escape.md").exists()


def test_invalid_card_is_refused(tmp_path, user_zoo):
    entries = _valid_entries(tmp_path)
    card = json.loads(entries["toy/" + CARD])
    card["family"] = "magic"
    entries["toy/" + CARD] = json.dumps(card).encode()
    _assert_refused(tmp_path, user_zoo, _zip(tmp_path / "a.zip", entries), "invalid model card")


def test_not_a_zip_is_refused(tmp_path, user_zoo):
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip")
    _assert_refused(tmp_path, user_zoo, bogus, "not a readable zip")


@pytest.mark.parametrize("change,phrase", [
    ({"format_version": 99}, "not supported"),
    ({"parameters": "many"}, "should be int"),
    ({"normalisation": {"kind": "zscore-dataset"}}, "needs a finite"),
    ({"name": "a/b"}, "not allowed"),
    ({"weights_sha256": "xyz"}, "sha256"),
    ({"surprise": 1}, "unknown field"),
    ({"config": "huge"}, "config 'huge' is not one of paper, lite for n2v"),
])
def test_card_validation_messages(change, phrase):
    data = _card().to_dict()
    data.update(change)
    with pytest.raises(CardError, match=phrase):
        card_from_dict(data)


def test_open_zip_package_directly(tmp_path):
    entries = _valid_entries(tmp_path, prefix="")
    pkg = open_package(_zip(tmp_path / "flat.zip", entries))
    assert pkg.card.name == "toy"


def test_listing_again_does_not_rehash_but_a_changed_file_is_caught(tmp_path, monkeypatch):
    from emdenoise_gui.zoo import package as pkg_mod

    pkg = _package(tmp_path / "p")
    calls = []
    real = pkg_mod.sha256_file
    monkeypatch.setattr(pkg_mod, "sha256_file", lambda path: calls.append(path) or real(path))
    verify_folder(pkg.path)
    verify_folder(pkg.path)
    assert len(calls) == 1  # the second listing reuses the digest
    weights = pkg.path / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    stat = weights.stat()
    weights.write_bytes(bytes(data))  # same size; a new mtime (pinned 1 s later: coarse file-system clocks)
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    with pytest.raises(InputError, match="checksum does not match"):
        verify_folder(pkg.path)


def test_load_weights_checks_the_bytes_it_parses(tmp_path):
    pkg = verify_folder(_package(tmp_path / "p").path)
    data = bytearray(pkg.weights.read_bytes())
    data[-1] ^= 0xFF
    pkg.weights.write_bytes(bytes(data))  # changed after the package was opened
    with pytest.raises(InputError, match="changed on disk"):
        load_weights(pkg)


def test_a_model_gone_or_broken_is_named_as_such(tmp_path, user_zoo):
    """A deleted package's path was reported as 'no model named '/.../copy-lite' in the zoo', and a broken zoo
    entry as unknown although `zoo list` shows it with its problem."""
    with pytest.raises(InputError, match="model package not found \\(moved or deleted\\?\\)"):
        registry.resolve(str(tmp_path / "gone" / "copy-lite"))
    broken = user_zoo / "broken"
    broken.mkdir(parents=True)
    (broken / "card.json").write_text("{")
    with pytest.raises(InputError, match="the zoo model 'broken' cannot be used: "):
        registry.resolve("broken")
    with pytest.raises(InputError, match="no model named 'nothing' in the zoo"):
        registry.resolve("nothing")


def test_deleting_a_model_removes_its_finished_runs_checkpoint_but_keeps_a_paused_one(tmp_path, user_zoo):
    """--adapt and the wizard leave a hidden .NAME.checkpoint beside the model (764 KB for a lite one): it was
    left behind, invisible, when the model was deleted."""
    from emdenoise_gui.training.checkpoint import save_checkpoint

    def run(name, step, steps):
        spec = {"family": "n2v", "config": "lite", "name": name, "steps": steps, "output": str(user_zoo / name)}
        return save_checkpoint(user_zoo / f".{name}.checkpoint", {"spec": spec, "step": step,
                                                                  "trainer": {"w": torch.zeros(3)}, "wall_s": 1.0})

    for name, step in (("done", 300), ("longer", 450)):
        registry.import_package(_package(tmp_path / name, name).path)
        run(name, step, 300 if name == "done" else 600)  # "longer": resumed to 600 steps and paused
    registry.delete_package("done")
    registry.delete_package("longer")
    assert not (user_zoo / "done").exists() and not (user_zoo / ".done.checkpoint").exists()
    assert (user_zoo / ".longer.checkpoint").is_dir()  # a paused run: the user's work, still listed
    assert [r.name for r in registry.list_paused()] == ["longer"]


def test_weights_that_do_not_fit_the_card_are_refused_at_import(tmp_path, user_zoo):
    """Such a package imported (exit 0), then made every `--model auto` that picked it fail."""
    wider = write_package(tmp_path / "wide", _card("wide", {"depth": 2, "base": 16}), _weights())
    with pytest.raises(InputError, match=r"do not fit the card's n2v architecture \(\d+ tensors of other shapes"):
        registry.import_package(wider.path)
    assert list(user_zoo.iterdir()) == []
    message = str(pytest.raises(InputError, registry.import_package, wider.path).value)
    assert "\n" not in message and len(message) < 400
    archive = tmp_path / "wide.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for item in wider.path.iterdir():
            zf.write(item, item.name)
    from emdenoise_gui.zoo.package import load_network

    with pytest.raises(InputError) as error:  # opened directly (--model wide.zip): the zip is named
        load_network(open_package(archive))
    assert error.value.path == archive and "do not fit" in error.value.problem
    flipped = bytearray((wider.path / WEIGHTS).read_bytes())
    flipped[-10] ^= 0xFF
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(CARD, (wider.path / CARD).read_bytes())
        zf.writestr(WEIGHTS, bytes(flipped))
    with pytest.raises(InputError) as error:  # found while unpacking: named the scratch folder before
        open_package(archive)
    assert error.value.path == archive and "checksum does not match" in error.value.problem


def test_nan_weights_are_refused_at_import_and_when_loaded(tmp_path, user_zoo):
    weights = _weights()
    first = next(iter(weights))
    weights[first] = weights[first].clone().fill_(float("nan"))
    bad = write_package(tmp_path / "nan", _card("nan"), weights)
    with pytest.raises(InputError, match="NaN or infinite"):
        registry.import_package(bad.path)
    from emdenoise_gui.zoo.package import load_network

    with pytest.raises(InputError, match="NaN or infinite"):  # one put into the zoo folder by hand
        load_network(verify_folder(bad.path))


def test_weights_without_batch_norm_step_counters_load(tmp_path):
    """Packages written by other tools lack num_batches_tracked; torch fills it in, and so must the check."""
    from emdenoise_gui.zoo.package import load_network

    torch.manual_seed(0)
    info = family("xception")
    net = info.build(**info.architecture("lite"))
    weights = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    assert len(weights) < len(net.state_dict())
    card = ModelCard(name="x", family="xception", config="lite", architecture=info.architecture("lite"),
                     normalisation={"kind": "zscore-slice"}, weights_sha256="0" * 64, parameters=1)
    model = load_network(write_package(tmp_path / "x", card, weights))
    assert all(torch.equal(model.state_dict()[k], v) for k, v in weights.items())


def test_zoo_list_shows_paused_runs_as_the_app_does(user_zoo, capsys):
    """The app's zoo lists a stopped training as "paused"; `emdenoise zoo list` left it out (audit of 2026-12-06),
    so from the CLI it could only be found as a hidden folder."""
    from emdenoise_gui.cli.main import main
    from emdenoise_gui.training.checkpoint import save_checkpoint

    spec = {"family": "n2v", "config": "lite", "name": "halfway", "steps": 600, "output": str(user_zoo / "halfway")}
    folder = save_checkpoint(user_zoo / ".halfway.checkpoint", {"spec": spec, "step": 150,
                                                                "trainer": {"w": torch.zeros(3)}, "wall_s": 1.0})
    assert main(["zoo", "list"]) == 0
    line = [row for row in capsys.readouterr().out.splitlines() if row.startswith("halfway")]
    assert len(line) == 1 and "paused" in line[0] and "step 150 of 600" in line[0]
    assert f"emdenoise resume {folder}" in line[0]


def test_a_model_of_the_same_name_imported_meanwhile_is_said_as_such(tmp_path, user_zoo, monkeypatch):
    """Another import of the name landing between the check and the rename: "added to the zoo meanwhile" (the
    write-failure wording had taken it for a disk problem, review of 2026-12-06)."""
    source = _package(tmp_path / "twin", "twin").path
    check_free = registry._check_free

    calls = []

    def other_import_lands(name, where):  # after the last check (the first is before the network is loaded)
        check_free(name, where)
        calls.append(name)
        if len(calls) == 2:
            shutil.copytree(source, user_zoo / name)

    monkeypatch.setattr(registry, "_check_free", other_import_lands)
    with pytest.raises(InputError, match="a model of its name was added to the zoo meanwhile"):
        registry.import_package(source)


def test_integer_weights_are_refused_not_run(tmp_path):
    """int32 weights loaded into float parameters denoised into garbage with exit 0 (untrusted-input audit)."""
    tensors = {name: (t * 1000).to(torch.int32) if t.is_floating_point() else t for name, t in _weights().items()}
    package = write_package(tmp_path / "ints", _card("ints"), tensors)
    with pytest.raises(InputError, match="int32 values where the network has numbers with a fraction"):
        load_network(package)


def test_weights_larger_than_the_network_are_refused_before_they_are_read(tmp_path, monkeypatch):
    package = write_package(tmp_path / "big", _card("big"), {**_weights(), "extra": torch.zeros(1 << 19)})
    read = []
    monkeypatch.setattr(type(package.weights), "read_bytes", lambda self: read.append(self) or b"")
    with pytest.raises(InputError, match="more than its card's network can hold"):
        load_network(package)
    assert not read


def test_a_zoo_packages_digest_is_kept_for_the_next_run(tmp_path, user_zoo, monkeypatch):
    """Every command and start of the app hashed every package's weights (300 models: 195 MB, zoo audit)."""
    from emdenoise_gui.zoo import package as package_module

    monkeypatch.setattr(package_module, "_DIGESTS", None)  # a first run: nothing hashed yet (other tests hashed)
    monkeypatch.setattr(package_module, "_PENDING", {})
    _package(user_zoo / "kept", "kept")
    registry.list_entries()  # hashes it and keeps the digest
    assert (user_zoo.parent / package_module.DIGEST_FILE).is_file()
    monkeypatch.setattr(package_module, "_DIGESTS", None)  # a new run
    monkeypatch.setattr(package_module, "sha256_file", lambda path: pytest.fail(f"{path} was hashed again"))
    assert [e.name for e in registry.list_entries() if not e.shipped] == ["kept"]


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_weights_and_checkpoints_are_readable_as_any_new_file_is(tmp_path):
    """safetensors writes 0600 whatever the umask: in a shared zoo colleagues saw a model (its card 0644) and
    could not load it (training audit)."""
    from emdenoise_gui.core.atomic import new_file_mode
    from emdenoise_gui.training.checkpoint import STATE_TENSORS, save_checkpoint

    mask = os.umask(0o022)
    try:
        (tmp_path / "probe").mkdir()
        assert new_file_mode(tmp_path / "probe") == 0o644 and not list((tmp_path / "probe").iterdir())  # removed
        package = _package(tmp_path / "shared")
        checkpoint = save_checkpoint(tmp_path / "run.checkpoint", {"step": 3, "weights": torch.zeros(4)})
    finally:
        os.umask(mask)
    for path in (package.path / "weights.safetensors", package.path / "card.json", checkpoint / STATE_TENSORS):
        assert os.stat(path).st_mode & 0o777 == 0o644, path
