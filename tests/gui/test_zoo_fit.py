"""The zoo panel judges models against the selected stack, preselects the best, and lists paused training."""

from pathlib import Path

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore  # noqa: E402

from emdenoise_gui.core.events import format_duration  # noqa: E402
from emdenoise_gui.gui.panels.zoo_panel import FALLBACK_KEY, FIT_COLUMN, ZooPanel  # noqa: E402
from tests.gui.conftest import held_rank  # noqa: E402

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
FIBSEM_NAME = "fibsem_flyem_medulla_val_z000-127_128x520x520.tif"
SSTEM_NAME = "sstem_isbi2012_train_30x512x512.tif"
WAIT_MS = 60_000


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def panel(qtbot, home):
    """A ZooPanel on the CPU whose shipped models' speeds are known (lite 1.8, base 4.5 s/MP: the
    speed benchmark's numbers), so nothing is timed and the choice is deterministic."""
    from emdenoise_gui.inference.estimate import remember_speed
    from emdenoise_gui.zoo.registry import list_entries

    for entry in list_entries():
        if entry.package:
            speed = 1.8 if entry.package.card.config == "lite" else 4.5
            remember_speed(entry.package.card.weights_sha256, "cpu", 512, speed)
    widget = ZooPanel()
    widget.set_compute("cpu", 512)
    qtbot.addWidget(widget)
    widget.resize(360, 600)
    widget.show()
    return widget


def shipped_nrrn(panel) -> list[str]:
    keys = [k for k, e in panel.entries.items()
            if k.startswith("model:") and e.shipped and e.package and e.package.card.family == "nrrn"]
    assert len(keys) >= 2
    return keys


def assessed(qtbot, panel, key, path, voxel):
    panel.assess_stack(key, path, voxel)
    qtbot.waitUntil(lambda: panel.best_key is not None, timeout=WAIT_MS)


def test_the_same_stack_shown_again_is_not_measured_again(qtbot, panel, shared_data):
    """Each show of a stack or of its result measured it again: three assessments at start-up timed the models
    side by side, and a later one changed the preselection under the user's first result."""
    path = shared_data / FIBSEM_NAME
    assessed(qtbot, panel, "fib", path, (10.0, 10.0, 10.0))
    generation, best = panel._generation, panel.best_key
    panel.assess_stack("fib", path, (10.0, 10.0, 10.0))
    assert (panel._generation, panel.best_key) == (generation, best) and not panel.preselecting
    panel.set_compute("cpu", 512, 256)  # other compute settings: measured again
    assessed(qtbot, panel, "fib", path, (10.0, 10.0, 10.0))
    assert panel._generation == generation + 1


def paused_checkpoint(home, name: str, step: int, steps: int) -> Path:
    import torch

    from emdenoise_gui.training.checkpoint import save_checkpoint

    spec = {"family": "nrrn", "config": "lite", "name": name, "steps": steps, "output": str(home / "models" / name)}
    return save_checkpoint(home / "models" / f".{name}.checkpoint",
                           {"spec": spec, "step": step, "trainer": {"w": torch.zeros(3)}, "wall_s": 12.0})


def test_fibsem_marks_the_flyem_nrrn_models_good_and_preselects_one(qtbot, panel, shared_data):
    panel.select("filter:gaussian")  # chosen before any stack: not a choice for this stack
    chosen = []
    panel.chosen.connect(chosen.append)
    assessed(qtbot, panel, "fib", shared_data / FIBSEM_NAME, (10.0, 10.0, 10.0))
    nrrn = shipped_nrrn(panel)
    for key in nrrn:
        assert panel.fits[key].grade == "good"
        item = panel.item(key)
        assert item.text(FIT_COLUMN) == "● good" and "neighbouring slices alike" in item.toolTip(FIT_COLUMN)
    assert panel.current_key() in nrrn and panel.current_key() == panel.best_key
    assert chosen and chosen[-1].kind == "model" and chosen[-1].path == str(panel.entries[panel.best_key].path)
    assert panel.entries[panel.best_key].package.card.config == "lite"  # the faster of two equal fits
    qtbot.waitUntil(lambda: "on the CPU" in panel.fit_label.text(), timeout=WAIT_MS)
    text = panel.fit_label.text()
    speed = panel._speeds[panel.entries[panel.best_key].package.card.weights_sha256]  # measured: s/MP
    eta = format_duration(speed * panel.facts.megapixels)  # 34.6 MP at ~1.8 s/MP: about 1 min
    assert "Good fit" in text and f"Estimated time for this stack: {eta} on the CPU" in text


def test_sstem_marks_nrrn_poor_for_its_slices_and_falls_back_to_a_filter(qtbot, panel, shared_data):
    assessed(qtbot, panel, "sstem", shared_data / SSTEM_NAME, (50.0, 4.0, 4.0))
    for key in shipped_nrrn(panel):
        assert panel.fits[key].grade == "poor"
        assert "neighbouring slices differ" in panel.item(key).toolTip(FIT_COLUMN)
    assert panel.current_key() == FALLBACK_KEY == "filter:gaussian-sure"
    filters = panel.list.topLevelItem(2)  # what the app falls back to heads the filters
    assert [filters.child(i).text(0) for i in range(2)] == ["Gaussian, width by SURE", "Gaussian by SURE, 3 slices"]
    assert panel.fits["filter:median-avg"].grade == "poor"  # 3-slice filters need alike slices too
    panel.select(shipped_nrrn(panel)[0])
    assert "Poor fit" in panel.fit_label.text() and "slices" in panel.fit_label.text()


def test_a_hand_picked_denoiser_stays_and_stale_results_are_dropped(qtbot, panel, shared_data):
    panel.assess_stack("fib", shared_data / FIBSEM_NAME, (10.0, 10.0, 10.0))
    panel.select("filter:wiener")  # the user's choice for this stack, before the fits arrive
    assessed(qtbot, panel, "sstem", shared_data / SSTEM_NAME, (50.0, 4.0, 4.0))  # chosen meanwhile
    assert panel.facts.similarity < 0.3 and panel.current_key() == FALLBACK_KEY
    assessed(qtbot, panel, "fib", shared_data / FIBSEM_NAME, (10.0, 10.0, 10.0))
    assert panel.facts.similarity > 0.9 and panel.current_key() == "filter:wiener"


def test_a_failed_speed_timing_says_so_and_is_retried_on_reselection(qtbot, panel, shared_data, monkeypatch):
    from emdenoise_gui.inference import estimate

    def broken(*_args, **_kwargs):
        raise RuntimeError("no memory for the timing tile")

    monkeypatch.setattr(estimate, "measure_speed", broken)
    assessed(qtbot, panel, "fib", shared_data / FIBSEM_NAME, (10.0, 10.0, 10.0))
    lite, base = sorted(shipped_nrrn(panel), key=lambda k: panel.entries[k].package.card.config != "lite")
    panel.select(base)
    qtbot.waitUntil(lambda: not panel.measuring, timeout=WAIT_MS)
    text = panel.fit_label.text()
    assert "unknown, timing this model failed (no memory for the timing tile)" in text
    assert "measuring" not in text
    monkeypatch.setattr(estimate, "measure_speed", lambda *_a, **_k: 4.5)
    panel.select(lite)
    panel.select(base)  # selecting it again times it again
    qtbot.waitUntil(lambda: "on the CPU" in panel.fit_label.text(), timeout=WAIT_MS)
    assert "failed" not in panel.fit_label.text() and "about 3 min on the CPU" in panel.fit_label.text()

def test_measuring_lasts_until_the_preselection_not_only_the_facts(qtbot, panel, shared_data, monkeypatch):
    release = held_rank(monkeypatch)
    panel.assess_stack("fib", shared_data / FIBSEM_NAME, (10.0, 10.0, 10.0))
    qtbot.waitUntil(lambda: panel.facts is not None, timeout=WAIT_MS)
    assert panel.best_key is None and panel.preselecting and panel.measuring  # what --screenshot waits for
    release.set()
    qtbot.waitUntil(lambda: not panel.measuring, timeout=WAIT_MS)
    assert panel.best_key in shipped_nrrn(panel) and not panel.preselecting


def test_a_device_change_during_the_fit_check_still_preselects(qtbot, panel, shared_data, monkeypatch):
    release = held_rank(monkeypatch)
    panel.assess_stack("fib", shared_data / FIBSEM_NAME, (10.0, 10.0, 10.0))
    qtbot.waitUntil(lambda: panel.facts is not None, timeout=WAIT_MS)
    panel.set_compute("cpu", 256)  # the speeds on their way were timed for 512 px tiles: not kept
    release.set()
    qtbot.waitUntil(lambda: panel.best_key is not None, timeout=WAIT_MS)
    assert panel.best_key in shipped_nrrn(panel) and panel.current_key() == panel.best_key


def test_a_stack_that_cannot_be_measured_ends_the_wait_and_says_why(qtbot, panel, tmp_path):
    broken = tmp_path / "broken.tif"
    broken.write_bytes(b"not a tiff")
    panel.assess_stack("broken", broken, (10.0, 10.0, 10.0))
    qtbot.waitUntil(lambda: not panel.measuring, timeout=WAIT_MS)
    assert panel.best_key is None and "Could not measure this stack" in panel.fit_label.text()
    panel.set_compute("cpu", 512, 256)  # a settings change redraws the line: the reason stays, not "Measuring…"
    assert "Could not measure this stack" in panel.fit_label.text()


def test_a_model_timed_for_settings_changed_meanwhile_is_timed_again(qtbot, panel, shared_data, monkeypatch):
    """The estimate stayed on "measuring this model's speed…" after the quality setting changed during a timing
    (review of 2026-12-06)."""
    import threading

    panel.assess_stack("fib", shared_data / FIBSEM_NAME, (10.0, 10.0, 10.0))
    qtbot.waitUntil(lambda: panel.facts is not None and panel.best_key is not None, timeout=WAIT_MS)
    gate, timed = threading.Event(), []

    def measure(package, device, tiling):
        timed.append(tiling)
        gate.wait(10)
        return 1.0

    qtbot.waitUntil(lambda: not panel._estimating, timeout=WAIT_MS)  # the panel's own timings are done
    monkeypatch.setattr(panel, "_measure", measure)
    panel._speeds.clear()
    panel._estimate(panel.current_key())
    qtbot.waitUntil(lambda: timed == [(512, None)], timeout=WAIT_MS)
    panel.set_compute("cpu", 512, 256)
    gate.set()
    qtbot.waitUntil(lambda: (512, 256) in timed, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "measuring" not in panel.fit_label.text(), timeout=WAIT_MS)


def test_paused_training_is_listed_and_resume_emits_its_folder(qtbot, panel, home):
    paused = paused_checkpoint(home, "cells-nrrn-adapted", 300, 600)
    paused_checkpoint(home, "done-nrrn-adapted", 600, 600)  # finished: its model is in the zoo already
    panel.refresh()
    labels = [panel.item(k).text(0) for k in panel.entries if k.startswith("paused:")]
    assert labels == ["cells-nrrn-adapted"]
    key = f"paused:{paused}"
    assert panel.item(key).text(1) == "paused" and not panel.item(key).isDisabled()
    assert not panel.resume_button.isEnabled()
    panel.select(key)
    assert panel.resume_button.isEnabled() and "step 300 of 600" in panel.details.toPlainText()
    with qtbot.waitSignal(panel.resume_requested, timeout=1000) as signal:
        qtbot.mouseClick(panel.resume_button, QtCore.Qt.MouseButton.LeftButton)
    assert signal.args == [str(paused)]


def test_screenshot_of_the_fits_for_a_fibsem_stack(qtbot, panel, home, shared_data):
    paused_checkpoint(home, "cells-nrrn-adapted", 300, 600)
    panel.refresh()
    assessed(qtbot, panel, "fib", shared_data / FIBSEM_NAME, (10.0, 10.0, 10.0))
    qtbot.waitUntil(lambda: "on the CPU" in panel.fit_label.text(), timeout=WAIT_MS)
    header = panel.list.header()
    assert header.sectionSize(1) >= header.sectionSizeHint(1)  # the Kind column is not cut off
    IMAGES.mkdir(parents=True, exist_ok=True)
    assert panel.grab().save(str(IMAGES / "zoo_fit.png"))


def test_a_timing_that_ends_after_the_window_closed_posts_nothing(qtbot, panel):
    """A speed timing can outlive shutdown's wait and end after the panel is gone (a race seen in
    test_app_quit): its result is dropped without a traceback in the worker thread."""
    import shiboken6

    arrived = []
    panel._arrived.connect(lambda *args: arrived.append(args))
    panel.shutdown(0.1)
    panel._post("speed", ("0" * 64, "cpu", 512), 1.0)  # the window is closing: nobody to show it to
    qtbot.wait(50)
    assert arrived == []
    gone = ZooPanel()  # shutdown not called, but the panel deleted under the worker
    shiboken6.delete(gone)
    gone._post("speed", ("0" * 64, "cpu", 512), 1.0)  # must not raise


def test_an_empty_user_zoo_says_where_models_come_from(qtbot, panel, home):
    from PySide6 import QtCore as Core

    def your_models():
        groups = [panel.list.topLevelItem(i) for i in range(panel.list.topLevelItemCount())]
        group = next(g for g in groups if g.text(0) == "Your models")
        return [group.child(j) for j in range(group.childCount())]

    hint, = your_models()
    assert "Train or Fine-tune Model" in hint.text(0) and hint.flags() == Core.Qt.ItemFlag.NoItemFlags
    paused_checkpoint(home, "cells-nrrn-adapted", 300, 600)
    panel.refresh()
    assert [item.text(0) for item in your_models()] == ["cells-nrrn-adapted"]


def test_the_papers_baselines_are_listed_apart_and_folded(qtbot, panel):
    from emdenoise_gui.core.baselines import FILTERS
    from emdenoise_gui.gui.panels.zoo_panel import PUBLISHED, ROLE

    groups = [panel.list.topLevelItem(i) for i in range(panel.list.topLevelItemCount())]
    assert [g.text(0) for g in groups][2:] == ["Classical filters", f"▸ {PUBLISHED}"]  # folded
    published = [groups[3].child(i).data(0, ROLE) for i in range(groups[3].childCount())]
    assert sorted(published) == ["filter:bilateral", "filter:nlm", "filter:nlm-avg", "filter:tv-bregman",
                                "filter:tv-chambolle"]
    assert all(FILTERS[k.split(":")[1]].as_published for k in published)
    assert not groups[3].isExpanded() and groups[2].isExpanded()
    panel.select("filter:tv-bregman")  # chosen anyway: shown, with a word of caution
    assert groups[3].isExpanded() and panel.current_key() == "filter:tv-bregman"
    assert "ignore how noisy the image is" in panel.details.toPlainText()
    panel.select("filter:wiener")
    assert "ignore how noisy" not in panel.details.toPlainText()
    heading = panel.list.viewport()
    qtbot.mouseClick(heading, QtCore.Qt.MouseButton.LeftButton, pos=panel.list.visualItemRect(groups[3]).center())
    assert not groups[3].isExpanded() and groups[3].text(0) == f"▸ {PUBLISHED}"  # a click on the heading folds
    qtbot.mouseClick(heading, QtCore.Qt.MouseButton.LeftButton, pos=panel.list.visualItemRect(groups[3]).center())
    assert groups[3].isExpanded() and groups[3].text(0) == f"▾ {PUBLISHED}" and panel.current_key() == "filter:wiener"


def test_the_fit_line_with_nothing_selected_and_no_pick_yet(qtbot, panel):
    """After the selected model was deleted nothing is selected; a stack measured before the preselection
    came raised AttributeError in the fit line (the app's error box)."""
    from types import SimpleNamespace

    panel.list.setCurrentItem(None)
    panel.stack_key, panel.facts, panel.best_key = "s1", SimpleNamespace(), None
    panel._show_fit()
    assert "No fit check" in panel.fit_label.text()


def test_the_arrow_keys_move_across_the_groups_and_unfold_the_papers_baselines(qtbot, panel):
    """Down at a group's last entry stopped there (the heading put the selection back): a keyboard user could
    not leave Shipped models, nor open the folded papers' baselines."""
    from PySide6.QtTest import QTest

    from emdenoise_gui.gui.panels.zoo_panel import PUBLISHED_KEY, ROLE

    headings = {panel.list.topLevelItem(i).data(0, ROLE): panel.list.topLevelItem(i)
                for i in range(panel.list.topLevelItemCount())}
    shipped = headings["group:Shipped models"]
    panel.list.setFocus()
    panel.select(shipped.child(shipped.childCount() - 1).data(0, ROLE))
    seen = [panel.current_key()]
    for _ in range(40):
        QTest.keyClick(panel.list, QtCore.Qt.Key.Key_Down)
        seen.append(panel.current_key())
    assert all(key is not None and not key.startswith("group:") for key in seen)  # never stops on a heading
    assert any(key.startswith("filter:") for key in seen)  # out of the shipped models, into the filters
    published = headings[PUBLISHED_KEY]
    assert published.isExpanded() and seen[-1] in {published.child(i).data(0, ROLE)
                                                    for i in range(published.childCount())}
    for _ in range(80):
        QTest.keyClick(panel.list, QtCore.Qt.Key.Key_Up)
    assert panel.current_key() == shipped.child(0).data(0, ROLE)


def test_a_sure_3_slice_filter_is_no_poor_fit_on_unlike_sections():
    """It smooths each slice alone where the neighbours differ (help audit): graded possible, not poor, while
    the papers' plain 3-slice mean stays poor."""
    from types import SimpleNamespace

    from emdenoise_gui.gui.panels.zoo_fitting import ZooFitting

    owner = SimpleNamespace(facts=SimpleNamespace(depth=30, similarity=0.3))
    sure = ZooFitting._fit_of(owner, "filter:gaussian-sure-avg", SimpleNamespace(slices=3, package=None))
    plain = ZooFitting._fit_of(owner, "filter:gaussian-avg", SimpleNamespace(slices=3, package=None))
    assert sure.grade == "possible" and "smooths each slice alone" in sure.reason and plain.grade == "poor"
    owner.facts = SimpleNamespace(depth=1, similarity=None)  # one image: the one-slice filter is the pick
    assert ZooFitting._fit_of(owner, "filter:gaussian-sure-avg", SimpleNamespace(slices=3, package=None)).grade == \
        "poor"
