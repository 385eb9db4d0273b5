"""The wizard when things go wrong (audit of 2026-12-06): a way back to the settings after a failed run, a
learning rate to lower after a diverged one, a name taken meanwhile, a flat result, stacks that cannot be
compared, images too small for a box; each message in the app's words."""

from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from emdenoise_gui.gui.wizard.wizard import ask_to_discard as ASK_TO_DISCARD  # noqa: E402 - before any patch
from tests.gui.test_wizard import (  # noqa: E402
    COMMIT,
    NEXT,
    _at_settings,
    _choose,
    _started,
    _train,
    _wizard,
    _write,
    closing_drops_choices,  # noqa: F401 - the fixture
    controller,  # noqa: F401 - the fixture
)


def test_a_run_that_fails_before_its_first_step_goes_back_to_the_settings(qtbot, controller,  # noqa: F811
                                                                          monkeypatch):
    """A name taken while the run waited its turn (another wizard's run finished first) left the page with
    Back, Next and Resume all off: the settings could not be changed without starting over."""
    from emdenoise_gui.zoo.registry import user_dir

    real = controller.train

    def taken_meanwhile(spec):
        (user_dir() / spec.name).mkdir(parents=True, exist_ok=True)
        return real(spec)

    monkeypatch.setattr(controller, "train", taken_meanwhile)
    wizard = _started(qtbot, controller, steps=3)
    page, settings = wizard.pages["training"], wizard.pages["settings"]
    qtbot.waitUntil(lambda: not page.running(), timeout=60_000)
    qtbot.waitUntil(lambda: page.settings_button.isVisible(), timeout=10_000)
    assert not page.resume_button.isVisible() and not wizard.state.package
    assert "click “Change the settings” and choose another name" in page.problem.text(), page.problem.text()
    monkeypatch.setattr(controller, "train", real)
    page.change_settings()
    assert wizard.currentPage() is settings and not settings.validatePage()
    assert "already" in settings.problem.text()
    settings.name.setText("second-try")
    qtbot.waitUntil(lambda: wizard.button(COMMIT).isEnabled(), timeout=60_000)
    wizard.next()
    assert wizard.currentPage() is page and not page.settings_button.isVisible() and not page.problem.text()
    assert _train(qtbot, wizard) == user_dir() / "second-try"


def test_the_learning_rate_is_an_advanced_setting_and_a_divergence_points_to_it(qtbot, controller):  # noqa: F811
    wizard = _at_settings(qtbot, controller, 3)
    settings = wizard.pages["settings"]
    assert settings.lr.specialValueText() == "automatic" and settings._spec(3).lr == pytest.approx(
        settings._spec(3).validated().lr)
    settings.lr.setValue(0.0002)
    assert settings._spec(3).lr == pytest.approx(0.0002)
    page = wizard.pages["training"]
    page._failed(SimpleNamespace(message="training diverged at step 4: the loss is no longer a finite number. No "
                                         "model was written; train again with a lower learning rate (this run used "
                                         "0.001)"))
    assert ("click “Change the settings” and set a lower learning rate under Advanced settings"
            in page.problem.text())
    wizard.reject()


def test_a_name_taken_after_it_was_typed_is_refused_at_start(qtbot, controller, tmp_path):  # noqa: F811
    from emdenoise_gui.zoo.registry import user_dir

    wizard = _at_settings(qtbot, controller, 3)
    settings = wizard.pages["settings"]
    (user_dir() / settings.name.text()).mkdir(parents=True)  # another wizard's run finished meanwhile
    assert not settings.validatePage() and "already" in settings.problem.text()
    settings.name.setText("auto")
    assert "reserved (the app's automatic model choice uses it)" in settings.problem_text()
    assert "--model" not in settings.problem_text()
    wizard.reject()


def test_a_flat_result_is_not_reported_as_a_clean_one():
    from emdenoise_gui.gui.wizard.finish_page import contrast_kept, evaluation
    from tests.conftest import synthetic_em_stack

    clean = synthetic_em_stack(1, 64, 64, seed=2)[0].astype(np.float32) / 255
    noisy = (clean + np.random.default_rng(0).normal(0, 0.05, clean.shape)).astype(np.float32)
    flat = np.full_like(noisy, float(noisy.mean())) + np.float32(0.0007) * np.random.default_rng(1).random(
        noisy.shape, dtype=np.float32)
    text = evaluation({}, (noisy, flat), "n2v")[0]
    assert "The result is nearly flat" in text and "spread of grey levels (IQR)" not in text
    assert contrast_kept((noisy, clean)) > 0.6  # a result that keeps the structure is not flat
    assert "nearly flat" not in evaluation({}, (noisy, clean), "n2v")[0]


def test_slices_that_cannot_be_compared_are_not_called_different(tmp_path):
    from emdenoise_gui.core.assess import adjacent_similarity
    from emdenoise_gui.core.io import open_stack
    from emdenoise_gui.jobs.advise import similarity_text
    from tests.conftest import synthetic_em_stack

    stack = synthetic_em_stack(6, 96, 96, seed=1).astype(np.float32)
    with open_stack(_write(tmp_path / "fib.tif", stack)) as opened:
        plain = adjacent_similarity(opened)
    stack[:, 10, 10] = np.inf  # one infinite pixel per slice read as 0.00, "different"
    with open_stack(_write(tmp_path / "inf.tif", stack)) as opened:
        assert adjacent_similarity(opened) == pytest.approx(plain, abs=0.05)
    with open_stack(_write(tmp_path / "flat.tif", np.full((4, 64, 64), 7, np.uint8))) as opened:
        assert adjacent_similarity(opened) is None
    text, warn = similarity_text(None, "nrrn", depth=4)
    assert text.startswith("Neighbouring slices could not be compared") and warn
    assert similarity_text(None, "n2v", depth=1)[0] == "The stack has a single slice."


def test_images_smaller_than_a_box_are_said_to_be(qtbot, controller, tmp_path):  # noqa: F811
    from emdenoise_gui.gui.wizard import data_page

    small = SimpleNamespace(image=np.zeros((24, 24), np.float32))
    assert data_page._too_small(small) and not data_page._too_small(SimpleNamespace(image=np.zeros((64, 40))))
    assert not data_page._too_small(SimpleNamespace(image=None))  # still loading: no verdict
    controller.add_paths([_write(tmp_path / "tiny.tif", np.full((8, 24, 24), 100, np.uint8))])
    tiny = next(r.path for r in controller.project.stacks if r.name == "tiny.tif")
    wizard = _wizard(qtbot, controller, stack=tiny)
    _choose(qtbot, wizard, "single-noisy")
    wizard.next()
    page = wizard.pages["data"]
    page.use_region.setChecked(True)
    qtbot.waitUntil(lambda: page.region.image is not None, timeout=20_000)
    assert "untick “Train on a region only”" in page.problem_text()
    wizard.reject()
    # the cyclic GAN on clean images under 32 px: said here (the settings page sent the user round in a circle)
    wizard = _wizard(qtbot, controller)
    _choose(qtbot, wizard, "clean-and-blank")
    wizard.next()
    page = wizard.pages["data"]
    page.main.setCurrentIndex(page.main.findData(tiny))
    qtbot.waitUntil(lambda: "24 px on their shorter side" in page.problem_text(), timeout=20_000)  # read aside
    assert not wizard.button(NEXT).isEnabled()
    wizard.reject()


def test_clean_images_that_measure_noisy_are_warned_of_and_read_off_the_gui_thread(qtbot, controller,  # noqa: F811
                                                                                    monkeypatch):
    """The clean stack defaulted to the project's first other stack, noisy or not, and nothing said so (a
    model taught to make noisy images); its header was read on the GUI thread at every box drag."""
    wizard = _wizard(qtbot, controller)
    _choose(qtbot, wizard, "clean-micrographs")
    wizard.next()
    page = wizard.pages["data"]
    noisy = next(r.path for r in controller.project.stacks if r.name == "noisy.tif")
    qtbot.waitUntil(lambda: page._main_facts()[0] == 96, timeout=20_000)
    assert page.main.currentText() == "clean.tif" and not page.clean_note.isVisibleTo(page)
    page.main.setCurrentIndex(page.main.findData(noisy))
    qtbot.waitUntil(lambda: page.clean_note.isVisibleTo(page), timeout=20_000)
    assert "These images look noisy: about" in page.clean_note.text() and wizard.button(NEXT).isEnabled()
    dose = float(page.clean_note.text().split("about ")[1].split()[0])
    assert 15 < dose < 60  # made at 30 counts per pixel
    wizard.reject()
    # the cyclic page checks the clean images' side at every change (each box drag): read aside, once
    wizard = _wizard(qtbot, controller)
    _choose(qtbot, wizard, "clean-and-blank")
    wizard.next()
    page = wizard.pages["data"]
    qtbot.waitUntil(lambda: page._main_facts()[0] == 96 and page.noise.image is not None, timeout=20_000)
    import emdenoise_gui.core.io as io

    with monkeypatch.context() as patched:
        patched.setattr(io, "open_stack", lambda *a, **k: pytest.fail("a header read on the GUI thread"))
        for _ in range(3):
            page.problem_text()
    wizard.reject()




def test_escape_asks_before_dropping_the_choices_and_the_plot_follows_the_dark_theme(qtbot, controller,  # noqa: F811
                                                                                     monkeypatch):
    """Escape on the settings page closed the wizard and dropped everything chosen without a word; the training
    page's loss plot stayed white in the dark theme."""
    from PySide6 import QtWidgets

    from emdenoise_gui.gui import theme
    from emdenoise_gui.gui.wizard import wizard as module

    asked = []
    answers = iter([QtWidgets.QMessageBox.StandardButton.Cancel, QtWidgets.QMessageBox.StandardButton.Close])
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *a, **k: asked.append(a[1]) or next(answers))
    monkeypatch.setattr(module, "ask_to_discard", ASK_TO_DISCARD)  # the real question, its answers given
    controller.settings.appearance = "dark"
    wizard = _at_settings(qtbot, controller, steps=3)
    assert wizard.pages["training"].plot.backgroundBrush().color().name() == theme.DARK_PLOT[0]
    wizard.reject()
    assert asked == ["Close the wizard?"] and wizard.isVisible()  # Cancel: it stays, with the choices
    wizard.reject()
    assert len(asked) == 2 and not wizard.isVisible()


def test_quitting_from_the_terminal_closes_the_wizard_without_a_question(qtbot, controller, monkeypatch):  # noqa: F811
    """quit_now (Ctrl+C or SIGTERM in the terminal) rejects open dialogs: the wizard's new question blocked it."""
    from PySide6 import QtCore, QtWidgets

    from emdenoise_gui.gui.closing import WindowClosing
    from emdenoise_gui.gui.wizard import wizard as module

    asked = []
    monkeypatch.setattr(module, "ask_to_discard", lambda parent: asked.append(parent) or False)
    wizard = _at_settings(qtbot, controller, steps=3)
    monkeypatch.setattr(QtCore.QTimer, "singleShot", lambda *a: None)  # the window's own close is not tested here
    WindowClosing.quit_now(SimpleNamespace(close=lambda: None))
    assert not asked and not wizard.isVisible()
    assert isinstance(wizard, QtWidgets.QDialog)


def test_a_new_box_is_at_most_a_third_of_a_small_slice(qtbot):
    """"Add a box" put a 96 px box on a 96 px slice: all of it, membranes included, as "noise" (wizard audit)."""
    from emdenoise_gui.gui.wizard.boxes import MIN_BOX, BoxCanvas

    canvas = BoxCanvas()
    qtbot.addWidget(canvas)
    rng = np.random.default_rng(0)
    for shape, side in (((96, 96), MIN_BOX), ((120, 300), 40), ((512, 512), 96), ((40, 40), MIN_BOX)):
        canvas.clear()
        canvas._loaded(canvas.path, (rng.random(shape).astype(np.float32), (0.0, 1.0)), None)
        canvas.add_box()
        (y0, y1, x0, x1), = canvas.boxes()
        assert (y1 - y0, x1 - x0) == (side, side), shape


def test_a_taken_name_typed_before_the_speed_was_measured_does_not_lock_the_page(qtbot, controller):  # noqa: F811
    """Back and Next with a zoo model's name in the box measured the speed under that name, which failed: the page
    kept saying the old name was taken, and Start stayed off whatever was typed (wizard audit of 2026-12-07)."""
    from emdenoise_gui.zoo.registry import user_dir

    wizard = _at_settings(qtbot, controller, 3)
    settings = wizard.pages["settings"]
    (user_dir() / "taken-model").mkdir(parents=True)
    settings.name.setText("taken-model")
    wizard.back()
    wizard.next()  # measured again, with that name in the box
    assert wizard.currentPage() is settings
    settings.name.setText("something-new")
    qtbot.waitUntil(lambda: wizard.button(COMMIT).isEnabled(), timeout=60_000)
    assert "taken-model" not in settings.problem.text()
    wizard.reject()


def test_closing_while_the_run_waits_its_turn_promises_no_checkpoint(qtbot, controller, monkeypatch):  # noqa: F811
    """Closed while its run waited behind another, the wizard said what it learned was kept as a checkpoint to
    resume: nothing was, it had not started (wizard audit of 2026-12-07)."""
    from PySide6 import QtWidgets

    wizard = _at_settings(qtbot, controller, 3)
    page = wizard.pages["training"]
    asked = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "question",
                        lambda parent, title, text: asked.append(text) or QtWidgets.QMessageBox.StandardButton.No)
    page.job, page._finishing, page.stop_answer = SimpleNamespace(status="waiting", active=False), False, None
    assert not page.confirm_stop()
    assert "It has not started yet" in asked[-1] and "checkpoint" not in asked[-1]
    page.job = SimpleNamespace(status="running", active=False)
    page.confirm_stop()
    assert "kept as a checkpoint" in asked[-1]
    page.job = None
    wizard.reject()


def test_a_speed_measured_beside_another_training_says_so(qtbot, controller):  # noqa: F811
    """Measured while another training ran (a third slower on 2 cores), the speed planned too few steps for the
    time chosen, and nothing on screen said why (wizard audit of 2026-12-07)."""
    import threading

    from emdenoise_gui.gui.workers import Job

    release = threading.Event()

    def blocking(token):
        release.wait(60)
        return None
        yield

    blocker = controller.submit(Job("Another training", "train", blocking, controller))
    qtbot.waitUntil(lambda: blocker.running, timeout=10_000)
    try:
        wizard = _at_settings(qtbot, controller, 3)
        assert "measured while another job runs" in wizard.pages["settings"].speed.text()
        wizard.reject()
    finally:
        release.set()
        qtbot.waitUntil(lambda: not blocker.active, timeout=10_000)
