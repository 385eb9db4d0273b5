"""The wizard's training while another job holds the device: it says it waits, Pause waits for it to start,
Stop cancels it with a way back; what it writes after the wizard closed is listed in the zoo; the jobs panel
says "paused"."""

import threading

import pytest
import tifffile

pytest.importorskip("pytestqt")

from emdenoise_gui.core.events import Progress  # noqa: E402
from emdenoise_gui.gui.workers import Job  # noqa: E402
from tests.conftest import synthetic_em_stack  # noqa: E402


@pytest.fixture(autouse=True)
def no_discard_question(monkeypatch):
    from emdenoise_gui.gui.wizard import wizard

    monkeypatch.setattr(wizard, "ask_to_discard", lambda parent: True)


@pytest.fixture
def stack(window, tmp_path):
    path = tmp_path / "n.tif"
    tifffile.imwrite(path, synthetic_em_stack(6, 64, 64, 3), imagej=True, metadata={"axes": "ZYX"})
    window.controller.settings.device = "cpu"
    window.controller.add_paths([path])
    return path


def _blocker(controller):
    """A job that holds the device lane until the returned event is set."""
    release = threading.Event()

    def make(token):
        yield Progress("holding", 1, 10)
        while not release.wait(0.05) and not token.cancelled:
            pass
        yield Progress("holding", 10, 10)

    return controller.submit(Job("Blocker", "train", make, controller)), release


def _wizard_at_training(window, stack, name, steps):
    from emdenoise_gui.gui.wizard import TrainWizard
    from emdenoise_gui.jobs.advise import wizard_spec

    wizard = TrainWizard(window.controller, stack=str(stack), parent=window)
    wizard.finished.connect(lambda _r, w=wizard: window._wizard_closed(w))
    wizard.state.spec = wizard_spec("n2v", {"noisy": [str(stack)]}, name, steps, crop=32, batch_size=2, device="cpu")
    wizard.setStartId(wizard.ids["training"])
    wizard.pages["training"].stop_answer = True
    wizard.open()
    return wizard


def _paused_after_two_steps(qtbot, window, stack, name):
    """A 400-step training of ``name`` in the wizard, paused by its button after two steps: (wizard, page)."""
    wizard = _wizard_at_training(window, stack, name, 400)
    page = wizard.pages["training"]
    qtbot.waitUntil(lambda: len(page.train) >= 2, timeout=120_000)
    page.pause_button.click()
    qtbot.waitUntil(lambda: page.job.paused, timeout=10_000)
    return wizard, page


def test_a_waiting_training_says_so_and_stop_cancels_it_with_a_way_back(qtbot, window, stack):
    blocker, release = _blocker(window.controller)
    wizard = _wizard_at_training(window, stack, "waits1", 4)
    page = wizard.pages["training"]
    try:
        assert page.job.status == "waiting"
        assert page.status.text().startswith("Waiting for “Blocker” to finish")  # was "Loading the data…"
        assert not page.pause_button.isEnabled()  # a pause pressed now was kept on the button, not by the run
        page.stop()
        assert page.job.status == "cancelled"
        assert page.status.text().startswith("Cancelled before it started")  # was "Stopping after the current step…"
        assert page.settings_button.isVisibleTo(wizard)  # the page had no button left
    finally:
        release.set()
        qtbot.waitUntil(lambda: not blocker.active, timeout=30_000)
        wizard.reject()


def test_a_waiting_training_starts_when_the_device_is_free(qtbot, window, stack):
    blocker, release = _blocker(window.controller)
    wizard = _wizard_at_training(window, stack, "waits2", 6)
    page = wizard.pages["training"]
    release.set()
    assert not page.state.package
    qtbot.waitUntil(lambda: bool(page.state.package), timeout=120_000)
    assert page.status.text().startswith("Finished after 6 steps")
    wizard.reject()


def test_a_run_stopped_as_the_wizard_closes_is_listed_in_the_zoo_once_written(qtbot, window, stack):
    wizard = _wizard_at_training(window, stack, "early1", 400)
    page = wizard.pages["training"]
    qtbot.waitUntil(lambda: len(page.train) >= 2, timeout=120_000)
    wizard.reject()  # stops the run: its checkpoint is written after the wizard has gone
    qtbot.waitUntil(lambda: not page.job.active, timeout=60_000)
    qtbot.waitUntil(lambda: any("early1" in key for key in window.zoo_panel.entries), timeout=10_000)


def test_the_jobs_panel_says_paused_without_an_eta(qtbot, window, stack):
    wizard, page = _paused_after_two_steps(qtbot, window, stack, "pause1")
    panel = window.jobs_panel
    row = panel.jobs.index(page.job)
    qtbot.waitUntil(lambda: panel.table.item(row, 1).text() == "paused", timeout=5_000)
    assert panel.table.item(row, 3).text() == ""
    wizard.reject()
    qtbot.waitUntil(lambda: not page.job.active, timeout=60_000)


def test_a_resumed_run_can_be_paused_again(qtbot, window, stack):
    """Pause stayed off for the whole resumed run: its curve (kept from the first run) was taken for a start
    already shown."""
    wizard = _wizard_at_training(window, stack, "again1", 400)
    page = wizard.pages["training"]
    qtbot.waitUntil(lambda: len(page.train) >= 2, timeout=120_000)
    page.stop()
    qtbot.waitUntil(lambda: page.resume_button.isVisibleTo(wizard), timeout=60_000)
    page.resume_button.click()
    qtbot.waitUntil(lambda: page.job.running and page.pause_button.isEnabled(), timeout=30_000)
    assert not page.status.text().startswith("Stopped at")
    wizard.reject()
    qtbot.waitUntil(lambda: not page.job.active, timeout=60_000)


def test_a_waiting_training_cancelled_in_the_jobs_panel_says_so(qtbot, window, stack):
    """The wizard went on saying "Waiting for … Stop cancels this training", with Stop off, after the user had
    cancelled the waiting run in the Jobs panel (audit of 2026-12-06)."""
    blocker, release = _blocker(window.controller)
    wizard = _wizard_at_training(window, stack, "waits3", 4)
    page = wizard.pages["training"]
    try:
        assert page.job.status == "waiting"
        page.job.cancel()  # what the Jobs panel's Cancel does
        qtbot.waitUntil(lambda: page.job.status == "cancelled", timeout=10_000)
        qtbot.waitUntil(lambda: page.status.text().startswith("Cancelled before it started"), timeout=5_000)
        assert page.settings_button.isVisibleTo(wizard)
    finally:
        release.set()
        qtbot.waitUntil(lambda: not blocker.active, timeout=30_000)
        wizard.reject()


def test_after_pause_stop_and_resume_the_pause_button_says_pause(qtbot, window, stack):
    """It read "Continue", unpressed, while the resumed run went on: one click paused it (audit)."""
    wizard, page = _paused_after_two_steps(qtbot, window, stack, "label1")
    page.stop()
    assert page.pause_button.text() == "Pause" and not page.pause_button.isChecked()
    qtbot.waitUntil(lambda: page.resume_button.isVisibleTo(wizard), timeout=60_000)
    page.resume_button.click()
    qtbot.waitUntil(lambda: page.job.running and page.pause_button.isEnabled(), timeout=30_000)
    assert page.pause_button.text() == "Pause" and not page.pause_button.isChecked()
    wizard.reject()
    qtbot.waitUntil(lambda: not page.job.active, timeout=60_000)


def test_the_finish_page_judges_the_weights_that_were_written(qtbot, window, stack, monkeypatch):
    """The finish page measured and drew the last step's preview, while the package holds the best validated
    weights, of another step (audit of 2026-12-06)."""
    from emdenoise_gui.training.trainers import base

    observe = base.BaseTrainer.observe

    def best_first(self, step, metrics):  # the first validation stays the best: the package holds its weights
        return observe(self, step, metrics) if self.best is None else False

    monkeypatch.setattr(base.BaseTrainer, "observe", best_first)
    from emdenoise_gui.training import engine

    previews = []
    made = engine.Preview
    monkeypatch.setattr(engine, "Preview", lambda *a, **k: previews.append(made(*a, **k)) or previews[-1])
    wizard = _wizard_at_training(window, stack, "kept1", 6)
    page = wizard.pages["training"]
    qtbot.waitUntil(lambda: bool(page.state.package), timeout=120_000)
    last = previews[-1]
    assert last.kept and last.step == previews[0].step < 6 and not any(p.kept for p in previews[:-1])
    assert page.state.preview[1] is last.denoised
    assert page.after[0].ci.getItem(0, 0).text.startswith("Kept model (step ")
    wizard.reject()


def test_after_the_last_step_stop_is_off_and_says_the_model_is_being_written(qtbot, window, stack):
    """Stop or close during the last validation and the export asked whether to keep "a checkpoint to resume
    later", then the model was written anyway (audit of 2026-12-06)."""
    from emdenoise_gui.core.events import StepDone

    blocker, release = _blocker(window.controller)
    wizard = _wizard_at_training(window, stack, "last1", 4)
    page = wizard.pages["training"]
    try:
        page.pause_button.setChecked(True)  # pressed during the last step: it stayed pressed, "Continue" (review)
        page._event(StepDone(4, 4, {"loss": 0.1}, 1e-3, 2.0, 0.0))  # as the run's last step arrives
        assert not page.pause_button.isChecked() and page.pause_button.text() == "Pause"
        assert not page.cancel_button.isEnabled() and not page.pause_button.isEnabled()
        assert page.status.text().startswith("All 4 steps done")
        page.stop()
        assert page.job.status == "waiting"  # nothing cancelled: the run is writing its model
    finally:
        release.set()
        qtbot.waitUntil(lambda: not blocker.active, timeout=30_000)
        qtbot.waitUntil(lambda: bool(page.state.package), timeout=120_000)
        wizard.reject()


def test_a_resumed_runs_curves_start_at_its_first_step(qtbot, window, stack):
    """A resumed run's page drew its curves from the step it resumed at (left undone on 2026-12-07): its earlier
    curves arrive as one History event, on the page and in the Jobs panel's plot."""
    from emdenoise_gui.core.events import History
    from emdenoise_gui.gui.panels.jobs_panel import LossPlot

    blocker, release = _blocker(window.controller)
    wizard = _wizard_at_training(window, stack, "history1", 4)
    page = wizard.pages["training"]
    earlier = History(tuple((s, {"loss": 1.0 / s}) for s in (1, 2, 3)), ((2, {"val_loss": 0.4, "val_psnr_db": 30.0}),))
    try:
        page._event(earlier)
        page._event(earlier)  # a stop and resume on the same page: the curves in place of those shown (review)
        assert list(page.train.x) == [1, 2, 3] and list(page.train.y) == [1.0, 0.5, 1 / 3]
        assert list(page.val.x) == [2] and list(page.val.y) == [0.4]
        plot = LossPlot()
        qtbot.addWidget(plot)
        plot.add_event(earlier)
        assert list(plot.train.x) == [1, 2, 3] and list(plot.val.y) == [0.4]
    finally:
        release.set()
        qtbot.waitUntil(lambda: not blocker.active, timeout=30_000)
        page.stop()
        wizard.reject()
