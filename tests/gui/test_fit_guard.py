"""Process ▸ Denoise Stack checks the zoo's fit first: a poor-fit model is questioned, and a denoise
asked for before the fit check arrives waits for the app's pick."""


from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from emdenoise_gui.gui.panels.zoo_panel import FALLBACK_KEY  # noqa: E402
from tests.gui.conftest import held_rank, write_small_stack  # noqa: E402

WAIT_MS = 60_000


@pytest.fixture
def sstem(tmp_path, shared_data):
    """Four 128 x 160 px ssTEM sections (50 nm apart, 4 nm pixels): neighbours differ, NRRN fits poorly."""
    return write_small_stack(shared_data / "sstem_isbi2012_train_30x512x512.tif", tmp_path / "sstem4.tif", 4.0, 50.0)


@pytest.fixture
def small_fibsem(tmp_path, shared_data):
    """Four 128 x 160 px FlyEM FIB-SEM slices, 10 nm voxels: NRRN fits them well."""
    return write_small_stack(shared_data / "fibsem_flyem_medulla_val_z000-127_128x520x520.tif",
                             tmp_path / "fibsem4.tif", 10.0, 10.0)


def shown(qtbot, window, path):
    records, rejected = window.controller.add_paths([path])
    assert records and not rejected
    window.show_stack(records[0].id)
    return records[0].id


def nrrn_key(window) -> str:
    return next(k for k, e in window.zoo_panel.entries.items()
                if k.startswith("model:") and e.package is not None and e.package.card.family == "nrrn")


def asked(window, monkeypatch, answer: str, question: str = "_ask_poor_fit") -> list:
    """Answer the window's ``question`` (its method) with ``answer``; the list of what each asking was given."""
    questions = []

    def ask(*given):
        questions.append(given)
        return answer

    monkeypatch.setattr(window, question, ask)
    return questions


def denoise_jobs(window) -> list:
    """The window's denoise jobs (previews of the shown slice may run beside them)."""
    return [j for j in window.controller.jobs if j.kind == "denoise"]


def batches(window) -> list:
    return [j for j in window.controller.jobs if j.kind == "batch"]


def finished(qtbot, job) -> None:
    qtbot.waitUntil(lambda: not job.active, timeout=WAIT_MS)  # not only "not running": a job may still wait
    assert job.status == "done", job.message
    job.wait(5000)


def test_a_poor_fit_model_is_questioned_and_the_apps_pick_can_be_taken(qtbot, window, sstem, monkeypatch):
    shown(qtbot, window, sstem)
    qtbot.waitUntil(lambda: not window.zoo_panel.preselecting, timeout=WAIT_MS)
    assert window.zoo_panel.best_key == FALLBACK_KEY
    window.zoo_panel.select(nrrn_key(window))
    questions = asked(window, monkeypatch, "pick")
    job = window.denoise_command()
    assert len(questions) == 1
    chosen, reason, pick = questions[0]
    assert "nrrn" in chosen.lower() and "slices" in reason and pick == "Gaussian, width by SURE"
    assert job is not None and "Gaussian, width by SURE" in job.title
    assert window.zoo_panel.current_key() == FALLBACK_KEY
    finished(qtbot, job)


def test_denoise_anyway_is_asked_once_and_cancel_starts_nothing(qtbot, window, sstem, monkeypatch):
    shown(qtbot, window, sstem)
    qtbot.waitUntil(lambda: not window.zoo_panel.preselecting, timeout=WAIT_MS)
    window.zoo_panel.select(nrrn_key(window))
    questions = asked(window, monkeypatch, "cancel")
    assert window.denoise_command() is None and denoise_jobs(window) == []
    assert window.statusBar().currentMessage() == "Denoise cancelled"
    questions = asked(window, monkeypatch, "anyway")
    job = window.denoise_command()
    assert job is not None and window.zoo_panel.current_key() == nrrn_key(window)
    finished(qtbot, job)
    second = window.denoise_command()  # the answer holds for this stack and model
    assert len(questions) == 1 and second is not None
    finished(qtbot, second)


def test_a_good_fit_or_a_filter_is_not_questioned(qtbot, window, sstem, small_fibsem, monkeypatch):
    shown(qtbot, window, sstem)
    qtbot.waitUntil(lambda: not window.zoo_panel.preselecting, timeout=WAIT_MS)
    questions = asked(window, monkeypatch, "cancel")
    window.zoo_panel.select("filter:median")  # a one-slice filter: no fit to judge
    job = window.denoise_command()
    assert job is not None and not questions
    finished(qtbot, job)
    shown(qtbot, window, small_fibsem)  # FIB-SEM: NRRN fits well
    qtbot.waitUntil(lambda: not window.zoo_panel.preselecting, timeout=WAIT_MS)
    window.zoo_panel.select(nrrn_key(window))
    assert window.zoo_panel.fits[nrrn_key(window)].grade == "good"
    job = window.denoise_command()
    assert job is not None and not questions
    finished(qtbot, job)


def test_a_hand_pick_or_the_time_limit_ends_the_wait(qtbot, window, sstem, monkeypatch):
    from emdenoise_gui.gui import fit_guard

    release = held_rank(monkeypatch)
    asked(window, monkeypatch, "anyway")
    shown(qtbot, window, sstem)
    assert window.denoise_command() is None  # waits for the app's pick
    window.zoo_panel.select("filter:median")  # the user picks one meanwhile: that one runs now
    qtbot.waitUntil(lambda: len(denoise_jobs(window)) == 1, timeout=WAIT_MS)
    assert "Median 3x3" in denoise_jobs(window)[0].title
    finished(qtbot, denoise_jobs(window)[0])
    monkeypatch.setattr(fit_guard, "PRESELECT_WAIT_MS", 300)
    window.zoo_panel.assess_stack(window.zoo_panel.stack_key, sstem)  # measured again: pending again
    window.zoo_panel._picked.clear()
    assert window.denoise_command() is None
    qtbot.waitUntil(lambda: len(denoise_jobs(window)) == 2, timeout=WAIT_MS)  # after 0.3 s, not for ever
    assert window.zoo_panel.preselecting  # still no pick: it ran with the selection as it was
    release.set()
    finished(qtbot, denoise_jobs(window)[1])


def test_denoise_before_the_fit_check_waits_for_the_apps_pick(qtbot, window, sstem, monkeypatch):
    release = held_rank(monkeypatch)
    questions = asked(window, monkeypatch, "cancel")
    shown(qtbot, window, sstem)
    assert window.zoo_panel.current_key() != FALLBACK_KEY  # the default model, before the fit is known
    assert window.denoise_command() is None and window.denoise_command() is None  # waits (once)
    assert "Checking which denoiser fits this stack" in window.statusBar().currentMessage()
    release.set()
    qtbot.waitUntil(lambda: len(denoise_jobs(window)) == 1, timeout=WAIT_MS)
    job = denoise_jobs(window)[0]
    assert "Gaussian, width by SURE" in job.title and not questions  # the app's pick, no question needed
    finished(qtbot, job)
    qtbot.wait(500)
    assert len(denoise_jobs(window)) == 1  # the second press did not start another


def test_the_poor_fit_question_offers_the_pick_first_and_esc_cancels(qtbot):
    from pathlib import Path

    from emdenoise_gui.gui.dialogs import poor_fit_question

    box = poor_fit_question(None, "flyem-nrrn-lite", "neighbouring slices differ (similarity 0.38): this model "
                            "needs a FIB-SEM-like stack", "Gaussian, width by SURE")
    qtbot.addWidget(box)
    box.show()
    texts = {answer: button.text() for button, answer in box.answers.items()}
    assert texts == {"pick": "Use Gaussian, width by SURE", "anyway": "Denoise with flyem-nrrn-lite anyway",
                     "cancel": "Cancel"}
    assert box.answers[box.defaultButton()] == "pick" and box.answers[box.escapeButton()] == "cancel"
    folder = Path(__file__).resolve().parents[1] / "screenshots"
    folder.mkdir(exist_ok=True)
    assert box.grab().save(str(folder / "poor_fit_question.png"))


def select_all_stacks(window) -> None:
    tree = window.project_panel.tree
    for i in range(tree.topLevelItemCount()):
        tree.topLevelItem(i).setSelected(True)


def both_selected(qtbot, window, first, second, key=None) -> None:
    """Show ``first`` then ``second``, wait for the zoo's pick, select the denoiser ``key`` (default: the shipped
    NRRN) and both stacks."""
    shown(qtbot, window, first)
    shown(qtbot, window, second)
    qtbot.waitUntil(lambda: not window.zoo_panel.preselecting, timeout=WAIT_MS)
    window.zoo_panel.select(key or nrrn_key(window))
    select_all_stacks(window)


def asked_several(window, monkeypatch, answer: str) -> list:
    return asked(window, monkeypatch, answer, "_ask_several_poor_fit")


def test_several_stacks_are_checked_and_those_fitting_poorly_named(qtbot, window, sstem, small_fibsem,
                                                                    monkeypatch):
    """A Denoise of several selected stacks ran NRRN on ssTEM sections without a word; now each stack's fit is
    measured first and the poorly fitting ones are named, to be skipped, denoised anyway, or the whole cancelled."""
    both_selected(qtbot, window, small_fibsem, sstem)
    questions = asked_several(window, monkeypatch, "cancel")
    assert window.denoise_command() is None  # measured first
    assert "fits the 2 selected stacks" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window._several_check is None, timeout=WAIT_MS)
    assert len(questions) == 1 and denoise_jobs(window) == [] and batches(window) == []
    chosen, poor, total = questions[0]
    assert "nrrn" in chosen.lower() and total == 2
    assert [name for name, _why in poor] == ["sstem4.tif"] and "slices" in poor[0][1]
    questions = asked_several(window, monkeypatch, "others")  # only the FIB-SEM stack
    window.denoise_command()
    qtbot.waitUntil(lambda: len(denoise_jobs(window)) == 1, timeout=WAIT_MS)
    assert "fibsem4.tif" in denoise_jobs(window)[0].title and len(questions) == 1
    finished(qtbot, denoise_jobs(window)[0])
    questions = asked_several(window, monkeypatch, "anyway")  # both; then this answer holds for the stack
    select_all_stacks(window)  # a finished job's result was selected
    window.denoise_command()
    qtbot.waitUntil(lambda: len(batches(window)) == 1, timeout=WAIT_MS)
    batch = batches(window)[0]
    assert "2 stacks" in batch.title and len(questions) == 1
    finished(qtbot, batch)
    select_all_stacks(window)
    window.denoise_command()
    qtbot.waitUntil(lambda: len(batches(window)) == 2, timeout=WAIT_MS)
    assert len(questions) == 1  # not asked again
    finished(qtbot, batches(window)[1])


def test_several_stacks_with_a_one_image_filter_start_at_once(qtbot, window, sstem, small_fibsem, monkeypatch):
    both_selected(qtbot, window, small_fibsem, sstem, "filter:median")
    questions = asked_several(window, monkeypatch, "cancel")
    job = window.denoise_command()
    assert job is not None and job.kind == "batch" and not questions
    finished(qtbot, job)


def test_the_several_stacks_question_lists_the_poor_fits_and_defaults_to_the_others(qtbot):
    from pathlib import Path

    from emdenoise_gui.gui.dialogs import POOR_LISTED, several_poor_fit_question

    poor = [(f"sec{i}.tif", "neighbouring slices differ (similarity 0.38)") for i in range(POOR_LISTED + 2)]
    box = several_poor_fit_question(None, "flyem-nrrn-lite", poor, 14)
    qtbot.addWidget(box)
    box.show()
    texts = {answer: button.text() for button, answer in box.answers.items()}
    assert texts == {"others": "Denoise the other 4", "anyway": "Denoise all with flyem-nrrn-lite anyway",
                     "cancel": "Cancel"}
    assert box.answers[box.defaultButton()] == "others" and box.answers[box.escapeButton()] == "cancel"
    assert "10 of the 14 selected stacks" in box.text() and "and 2 more" in box.informativeText()
    every = several_poor_fit_question(None, "flyem-nrrn-lite", poor[:2], 2)
    qtbot.addWidget(every)
    assert "all 2 selected stacks" in every.text() and set(every.answers.values()) == {"anyway", "cancel"}
    assert every.answers[every.defaultButton()] == "cancel"
    folder = Path(__file__).resolve().parents[1] / "screenshots"
    folder.mkdir(exist_ok=True)
    assert box.grab().save(str(folder / "several_poor_fit_question.png"))


def held_measure(monkeypatch):
    """Hold the several-stacks fit check until the returned event is set."""
    import threading

    from emdenoise_gui.gui import fit_guard

    release, real = threading.Event(), fit_guard._measure_all
    monkeypatch.setattr(fit_guard, "_measure_all", lambda *a: release.wait(WAIT_MS / 1000) and real(*a))
    return release


def test_another_project_opened_during_the_check_is_not_denoised(qtbot, window, sstem, small_fibsem, tmp_path,
                                                                  monkeypatch, shared_data):
    """Ids repeat across projects: a project opened while the fits were measured had its own s1 and s2 denoised
    (review)."""
    both_selected(qtbot, window, small_fibsem, sstem)
    release = held_measure(monkeypatch)
    asked_several(window, monkeypatch, "anyway")
    calls = []
    monkeypatch.setattr(window.controller, "denoise", lambda ids, denoiser, region=None: calls.append(ids))
    assert window.denoise_command() is None
    assert window.controller.new_project(tmp_path / "project2")
    others = [write_small_stack(shared_data / "fibsem_flyem_medulla_val_z000-127_128x520x520.tif",
                                tmp_path / f"other{i}.tif", 10.0, 10.0) for i in range(2)]
    window.controller.add_paths(others)
    window.zoo_panel.select(nrrn_key(window))
    release.set()
    qtbot.waitUntil(lambda: window._several_check is None, timeout=WAIT_MS)
    assert calls == [] and "the project changed meanwhile" in window.statusBar().currentMessage()


def test_a_stack_written_again_is_measured_again(qtbot, window, sstem, small_fibsem, monkeypatch, shared_data):
    """The facts are kept by the file's size and time: a FIB-SEM stack re-saved with ssTEM sections of the same
    shape was judged by its old facts (review)."""
    import os

    both_selected(qtbot, window, sstem, small_fibsem)
    questions = asked_several(window, monkeypatch, "cancel")
    window.denoise_command()
    qtbot.waitUntil(lambda: window._several_check is None, timeout=WAIT_MS)
    assert [name for name, _why in questions[-1][1]] == ["sstem4.tif"]
    before = os.stat(small_fibsem).st_mtime_ns
    write_small_stack(shared_data / "sstem_isbi2012_train_30x512x512.tif", small_fibsem, 10.0, 10.0)
    os.utime(small_fibsem, ns=(before + 10**9, before + 10**9))  # a coarse file system's clock still moves on
    select_all_stacks(window)
    window.denoise_command()
    qtbot.waitUntil(lambda: window._several_check is None, timeout=WAIT_MS)
    assert sorted(name for name, _why in questions[-1][1]) == ["fibsem4.tif", "sstem4.tif"]


@pytest.mark.parametrize("how", ["button", "escape"])
def test_the_several_stacks_check_can_be_stopped(qtbot, window, sstem, small_fibsem, monkeypatch, how):
    """The check of many stacks (half a second each, more on a network drive) could not be stopped (review): the
    status bar's "Stop check" button, or Esc, stops it, starts nothing, and the button goes."""
    from PySide6 import QtCore, QtWidgets

    both_selected(qtbot, window, small_fibsem, sstem)
    release = held_measure(monkeypatch)
    questions = asked_several(window, monkeypatch, "anyway")
    calls = []
    monkeypatch.setattr(window.controller, "denoise", lambda ids, denoiser, region=None: calls.append(ids))
    assert window.denoise_command() is None
    buttons = [b for b in window.statusBar().findChildren(QtWidgets.QPushButton) if b.text() == "Stop check"]
    assert len(buttons) == 1 and buttons[0].isVisible()
    if how == "button":
        assert "Checking how" in window.statusBar().currentMessage()  # said at once, before the first poll
        folder = Path(__file__).resolve().parents[1] / "screenshots"
        folder.mkdir(exist_ok=True)
        assert window.grab().save(str(folder / "several_stacks_check.png"))
        qtbot.mouseClick(buttons[0], QtCore.Qt.MouseButton.LeftButton)
    else:
        qtbot.keyClick(window, QtCore.Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window._several_check is None, timeout=WAIT_MS)
    release.set()
    assert calls == [] and questions == [] and "Check stopped" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not [b for b in window.statusBar().findChildren(QtWidgets.QPushButton)
                                 if b.text() == "Stop check"], timeout=WAIT_MS)
    asked_several(window, monkeypatch, "anyway")
    window.denoise_command()  # a later Denoise checks and starts as before
    qtbot.waitUntil(lambda: bool(calls), timeout=WAIT_MS)
