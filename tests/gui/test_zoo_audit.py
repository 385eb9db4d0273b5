"""The zoo panel and the model choice when things are not as expected (audit of 2026-12-06): the artifact
model is never picked for the user, a deleted pick while the stack is measured falls back to a filter,
exports end in .zip, Import takes folders too, and the details read as a microscopist reads them."""

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore, QtWidgets  # noqa: E402

from emdenoise_gui.zoo import fit  # noqa: E402
from emdenoise_gui.zoo.registry import list_entries  # noqa: E402
from tests.gui.test_zoo_fit import home, panel  # noqa: E402, F401 - the fixtures


def _facts(**change):
    base = dict(pixel_size_nm=None, dtype="uint8", depth=8, megapixels=0.5, similarity=0.1, noise=0.05,
                dose=None, name="s.tif")
    return fit.StackFacts(**{**base, **change})


def test_the_artifact_model_is_never_picked_for_the_user(home):  # noqa: F811
    """It was preselected (and chosen by --model auto) for a stack of unknown pixel size whose slices differ,
    with only the pixel size as the reason."""
    models = [e for e in list_entries() if e.package is not None]
    artifact = next(e for e in models if e.package.card.training.get("artifacts"))
    entry, _ = fit.pick(models, _facts())
    assert entry is None or not entry.package.card.training.get("artifacts")
    reason = fit.assess_fit(artifact.package.card, _facts()).reason
    assert "pixel size is unknown" in reason and "made for film" in reason  # both said
    entry, _ = fit.pick(models, _facts(pixel_size_nm=10.0, similarity=0.95))
    assert entry is not None and entry.package.card.family == "nrrn"


def test_a_picked_model_deleted_while_the_stack_is_measured_falls_back_to_a_filter(qtbot, home, panel):  # noqa: F811
    from emdenoise_gui.zoo.registry import user_dir
    from tests.conftest import random_package

    package = random_package(user_dir() / "my-lite", "nrrn")
    panel.refresh()
    key = f"model:{package.path}"
    panel.stack_key = "s1"
    panel._select(key, by_hand=True)
    assert panel._picked == {"s1": key}
    panel.best_key = None  # the stack is being measured
    assert panel.delete_current(confirm=False)
    assert panel._picked == {} and panel.current_key() == f"filter:{fit.fallback_filter(None)}"


def test_an_export_name_without_zip_gets_it(qtbot, home, panel, tmp_path):  # noqa: F811
    shipped = next(k for k, e in panel.entries.items() if k.startswith("model:") and e.shipped)
    panel._select(shipped, by_hand=True)
    assert panel.export_to(tmp_path / "noext")
    qtbot.waitUntil(lambda: not panel.transferring, timeout=60_000)
    assert (tmp_path / "noext.zip").exists() and not (tmp_path / "noext").exists()


@pytest.mark.parametrize("answer", ["yes_button", "no_button"])
def test_an_export_name_without_zip_asks_before_replacing_that_zip(qtbot, home, panel, tmp_path, monkeypatch,  # noqa: F811
                                                                    answer):
    """The dialog asked only about 'mine' (which did not exist); mine.zip was replaced without a word (audit)."""
    asked = []

    def exec_(box):
        asked.append(box.text())
        monkeypatch.setattr(box, "clickedButton", lambda: getattr(box, answer))

    monkeypatch.setattr(QtWidgets.QMessageBox, "exec", exec_)
    (tmp_path / "mine.zip").write_text("MY OTHER ZIP")
    shipped = next(k for k, e in panel.entries.items() if k.startswith("model:") and e.shipped)
    panel._select(shipped, by_hand=True)
    started = panel.export_to(tmp_path / "mine")
    qtbot.waitUntil(lambda: not panel.transferring, timeout=60_000)
    assert asked == ["mine.zip already exists. Replace it?"]
    kept = (tmp_path / "mine.zip").read_bytes() == b"MY OTHER ZIP"
    assert (started, kept) == ((True, False) if answer == "yes_button" else (False, True))


def test_import_offers_a_folder_too(qtbot, home, panel, monkeypatch, tmp_path):  # noqa: F811
    asked = []
    monkeypatch.setattr(panel, "_import_kind", lambda: "folder")  # the menu's second entry
    monkeypatch.setattr(QtWidgets.QFileDialog, "getExistingDirectory",
                        lambda *a, **k: asked.append("folder") or "")
    panel.import_dialog()
    assert asked == ["folder"]


def test_the_details_read_as_words(home):  # noqa: F811
    from emdenoise_gui.gui.panels.zoo_text import card_html, metric_words

    assert metric_words("q_flyem_dose25_psnr_db", 30.734) == "benchmark, FlyEM FIB-SEM dose 25: 30.73 dB"
    assert metric_words("val_loss", 0.03389) == "validation loss: 0.03389"
    cards = {e.name: e.package.card for e in list_entries() if e.package is not None}
    text = card_html(cards["flyem-cyclic-artifacts"], True)
    assert "learned from real noisy data" not in text and "shot noise of 15–300 electrons per pixel on 35%" in text
    assert "10–10 nm" not in text and "<b>Pixel size</b></td><td>10 nm" in text
    assert "q_flyem" not in card_html(cards["flyem-nrrn-lite"], True)
    assert fit._nm(2615.0) == "2.6 µm" and fit._nm(10.0) == "10 nm"
    # a self-trained model's estimates: one row, in words, not five "estimated error of ..." metrics
    from dataclasses import replace

    adapted = replace(cards["flyem-nrrn-lite"], metrics={"val_loss": 0.33, "val_risk": 0.0276, "init_risk": 0.0235,
                                                         "sure_risk": 0.0288, "sure_avg_risk": 0.0266,
                                                         "filter_risk": 0.0266})
    text = card_html(adapted, False)
    assert ("<b>Estimated error</b></td><td>this model 0.0276, the model it started from 0.0235, gaussian-sure "
            "0.0288, gaussian-sure-avg 0.0266 (squared error on held-back slices, z-scored; Stein&#x27;s estimate, "
            "no clean reference)") in text
    assert "<b>Metrics</b></td><td>validation loss: 0.33</td>" in text and "risk" not in text
    assert "Estimated error" not in card_html(cards["flyem-nrrn-lite"], True)


def test_bm3d_not_installed_is_marked_in_the_zoo(qtbot, home, panel, monkeypatch):  # noqa: F811
    """BM3D is not shipped (free for non-commercial use only): listed, greyed, its tooltip says what to do."""
    import importlib.util

    find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bm3d" else find(name, *a))
    panel.refresh()
    tree = panel.list
    items = [tree.topLevelItem(i).child(j) for i in range(tree.topLevelItemCount())
             for j in range(tree.topLevelItem(i).childCount())]
    bm3d = next(item for item in items if item.text(0).startswith("BM3D"))
    assert bm3d.text(0) == "BM3D (not installed)" and "non-commercial" in bm3d.toolTip(0)
    assert not bm3d.flags() & QtCore.Qt.ItemFlag.ItemIsEnabled  # a click does not make it the denoiser (review)
    panel.show()
    before = panel.current_key()
    tree.scrollToItem(bm3d)
    qtbot.mouseClick(tree.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=tree.visualItemRect(bm3d).center())
    assert panel.current_key() == before


def test_an_unusable_package_can_be_selected_read_and_deleted(qtbot, home, panel):  # noqa: F811
    """Greyed out, it could not be selected: its reason unread, Delete out of reach (zoo audit of 2026-12-06)."""
    from emdenoise_gui.zoo.registry import user_dir
    from tests.conftest import random_package

    package = random_package(user_dir() / "damaged", "nrrn")
    (package.path / "weights.safetensors").unlink()
    panel.refresh()
    key = f"model:{package.path}"
    panel.list.setCurrentItem(panel.item(key))
    assert panel.current_key() == key and "weights.safetensors" in panel.details.toPlainText()
    assert panel.delete_button.isEnabled() and panel.delete_current(confirm=False)
    assert not package.path.exists() and key not in panel.entries


def test_the_search_box_shows_only_what_matches_and_keeps_the_choice(qtbot, home, panel):  # noqa: F811
    """A lab's zoo of hundreds of models had no way to find one but scrolling (zoo-at-scale audit)."""
    from emdenoise_gui.gui.panels.zoo_panel import PUBLISHED_KEY

    chosen = panel.current_key()
    shown = lambda: [i.data(0, QtCore.Qt.ItemDataRole.UserRole) for i in panel._items() if not i.isHidden()]  # noqa: E731
    every = shown()
    panel.search.setText("nrrn LITE")  # every word, case aside, in the name, kind or description
    assert shown() and all("nrrn-lite" in key for key in shown()), shown()
    headings = [panel.list.topLevelItem(i) for i in range(panel.list.topLevelItemCount())]
    assert [h.text(0) for h in headings if not h.isHidden()] == ["Shipped models"]
    panel.search.setText("3x3 median")  # filters too
    assert shown() == ["filter:median", "filter:median-avg"]
    panel.search.setText("non-local")  # the folded paper baselines unfold when they hold what was asked for
    published = next(h for h in headings if h.data(0, QtCore.Qt.ItemDataRole.UserRole) == PUBLISHED_KEY)
    assert shown() == ["filter:nlm", "filter:nlm-avg"]
    assert not published.isHidden() and published.isExpanded() and published.text(0).startswith("▾")
    panel.search.setText("no such model")
    assert shown() == [] and all(h.isHidden() for h in headings)
    assert panel.current_key() == chosen  # what denoises is not changed by looking
    panel.search.clear()
    assert shown() == every and not any(h.isHidden() for h in headings)
    panel.refresh()  # a refresh keeps the search applied
    panel.search.setText("cyclic")
    panel.refresh()
    assert shown() and all("cyclic" in key for key in shown())


def test_the_best_fit_deleted_gives_way_to_the_next_best_not_a_filter(qtbot, home, panel):  # noqa: F811
    """With the preselected model deleted, the stale pick fell back to the filter where shipped NRRNs fitted well,
    and Denoise ran the filter without a word (zoo panel audit of 2026-12-07)."""
    from emdenoise_gui.zoo.registry import user_dir
    from tests.conftest import random_package

    package = random_package(user_dir() / "my-nrrn", "nrrn")
    panel.refresh()
    key = f"model:{package.path}"
    panel.stack_key, panel.facts = "s1", _facts(pixel_size_nm=10.0, similarity=0.95)
    panel.best_key = key  # as if it had been the best fit for the stack
    panel._select(key, by_hand=False)
    assert panel.delete_current(confirm=False)
    current = panel.current_key()
    assert current.startswith("model:") and "flyem-nrrn" in current and panel.best_key == current
