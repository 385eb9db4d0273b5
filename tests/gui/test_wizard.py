"""The training wizard walked as a user would, per family, on tiny generated stacks (CPU, a few steps):
each run ends with a new zoo model that loads and denoises; fine-tuning, stopping and resuming; every
invalid input keeps Next disabled with a message in the app's words. Screenshots go to docs/images/."""

from pathlib import Path

import numpy as np
import pytest
import tifffile

pytest.importorskip("pytestqt")
from PySide6 import QtWidgets  # noqa: E402

from emdenoise_gui.core.noise import poisson_dose, slice_rng  # noqa: E402
from emdenoise_gui.gui.wizard import TrainWizard  # noqa: E402
from emdenoise_gui.jobs.advise import DATA_KINDS  # noqa: E402
from tests.conftest import synthetic_em_stack  # noqa: E402

DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
NEXT = QtWidgets.QWizard.WizardButton.NextButton
COMMIT = QtWidgets.QWizard.WizardButton.CommitButton  # the settings page's "Start training"
TRAIN_TIMEOUT_MS = 180_000


def _write(path: Path, data: np.ndarray) -> Path:
    tifffile.imwrite(path, data, imagej=True, resolution=(0.1, 0.1), metadata={"axes": "ZYX", "spacing": 10.0,
                                                                              "unit": "nm"})
    return path


@pytest.fixture(autouse=True)
def closing_drops_choices(monkeypatch):
    """The tests close the wizard where it would ask whether to drop the choices made: it may."""
    from emdenoise_gui.gui.wizard import wizard

    monkeypatch.setattr(wizard, "ask_to_discard", lambda parent: True)


@pytest.fixture
def controller(qtbot, tmp_path, monkeypatch, new_controller):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    clean = synthetic_em_stack(6, 96, 96, seed=1)
    clean[:, 4:52, 4:52] = 150  # blank resin: where the noise examples come from
    noisy = np.stack([poisson_dose(s / 255.0, 30.0, slice_rng(0, z)) for z, s in enumerate(clean)])
    noisy = np.clip(np.rint(noisy * 255), 0, 255).astype(np.uint8)
    c = new_controller()
    c.settings.device = "cpu"
    assert c.new_project(tmp_path / "project")
    c.add_paths([_write(tmp_path / "noisy.tif", noisy), _write(tmp_path / "clean.tif", clean)])
    yield c
    c.cancel_all()
    for job in c.jobs:
        job.wait(30000)


def shoot(widget, name: str) -> None:
    DOCS_IMAGES.mkdir(exist_ok=True)
    for _ in range(3):  # lay out widgets added just now, and what their new sizes lay out in turn
        QtWidgets.QApplication.processEvents()
    assert widget.grab().save(str(DOCS_IMAGES / name))


def _wizard(qtbot, controller, **kw) -> TrainWizard:
    noisy = next(r.path for r in controller.project.stacks if r.name == "noisy.tif")
    wizard = TrainWizard(controller, stack=kw.pop("stack", noisy), **kw)
    wizard.pages["training"].stop_answer = True
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


def _choose(qtbot, wizard, kind: str, fine_tune: bool = False) -> None:
    page = wizard.pages["kind"]
    qtbot.waitUntil(lambda: not page.waiting(), timeout=20_000)
    page.buttons.button([k.key for k in DATA_KINDS].index(kind)).click()
    if not fine_tune:
        page.start.setCurrentIndex(page.start.count() - 1)  # from scratch: a few steps are enough to test
    assert wizard.button(NEXT).isEnabled(), page.problem.text()


def _settings(qtbot, wizard, steps: int = 4) -> None:
    page = wizard.pages["settings"]
    page.advanced_button.setChecked(True)
    page.crop.setValue(32)
    page.batch.setValue(2)
    page.steps.setValue(steps)
    qtbot.waitUntil(lambda: page.rate is not None or bool(page.problem.text()), timeout=60_000)
    assert page.rate and wizard.button(COMMIT).isEnabled(), page.problem.text()
    # steps set by hand: the plan says so in words and the time budget is greyed out
    assert page.plan.text().startswith(f"{steps:,} steps (set under Advanced settings), ")
    assert "0:00" not in page.plan.text() and not page.budgets.button(0).isEnabled()


def _at_settings(qtbot, controller, steps: int) -> TrainWizard:
    """A Noise2Void wizard on the noisy stack, on its settings page set to ``steps`` steps, speed measured."""
    wizard = _wizard(qtbot, controller)
    _choose(qtbot, wizard, "single-noisy")
    wizard.next()
    wizard.next()
    _settings(qtbot, wizard, steps=steps)
    return wizard


def _started(qtbot, controller, steps: int) -> TrainWizard:
    """A Noise2Void wizard run of ``steps`` steps on the noisy stack, started (on its training page)."""
    wizard = _at_settings(qtbot, controller, steps)
    wizard.next()
    return wizard


def _train(qtbot, wizard) -> Path:
    qtbot.waitUntil(lambda: bool(wizard.state.package) or not wizard.pages["training"].running(),
                    timeout=TRAIN_TIMEOUT_MS)
    assert wizard.state.package, wizard.pages["training"].problem.text()
    qtbot.waitUntil(lambda: wizard.button(NEXT).isEnabled(), timeout=10_000)
    return Path(wizard.state.package)


def _loads_and_denoises(package: Path) -> None:
    import torch

    from emdenoise_gui.inference.predictor import Predictor
    from emdenoise_gui.zoo.package import verify_folder
    from emdenoise_gui.zoo.registry import list_entries

    assert any(e.package and e.package.path == package for e in list_entries())  # it is in the zoo
    predictor = Predictor(verify_folder(package), torch.device("cpu"))
    from emdenoise_gui.core.events import run_to_end

    window = synthetic_em_stack(3, 64, 64, seed=5).astype(np.float32) / 255.0
    out = run_to_end(predictor.denoise(window if predictor.input_slices == 3 else window[1:2]))
    assert out.shape == (64, 64) and np.isfinite(out).all()


def _captions(data) -> list[str]:
    """The captions under the data page's artifact examples that are on screen, left to right (a column
    added to the shown page appears only once Qt's queued show has run: the screenshot waits for it)."""
    columns = [data.examples.itemAt(i).widget() for i in range(data.examples.count())]
    return [c.findChildren(QtWidgets.QLabel)[1].text() for c in columns if c is not None and c.isVisible()
            and len(c.findChildren(QtWidgets.QLabel)) == 2]


@pytest.mark.parametrize("kind", ["alike-slices", "single-noisy", "clean-micrographs", "clean-and-blank",
                                  "clean-artifacts"])
def test_every_family_walks_to_a_new_model(qtbot, controller, kind):
    wizard = _wizard(qtbot, controller)
    _choose(qtbot, wizard, kind)
    shots = kind == "clean-and-blank"
    if shots:
        shoot(wizard, "wizard_1_data_kind.png")
    wizard.next()
    data = wizard.pages["data"]
    if kind in ("clean-micrographs", "clean-and-blank", "clean-artifacts"):
        assert Path(data.main.currentData()).name == "clean.tif"
    assert data.artifact_row.isVisibleTo(wizard) == (kind == "clean-artifacts")
    assert data.shot_noise.isVisibleTo(wizard) == (kind == "clean-artifacts")
    assert data.noise.isVisibleTo(wizard) == (kind == "clean-and-blank")
    if kind == "clean-artifacts":  # both ticked by default; none ticked is refused; charging alone is kept
        assert data.chosen_artifacts() == "charge,film"
        data.artifacts["film"].setChecked(False)
        data.artifacts["charge"].setChecked(False)
        assert not wizard.button(NEXT).isEnabled() and "Tick at least one" in data.problem.text()
        data.artifacts["charge"].setChecked(True)
        # shot noise on by default for a fresh run (the shipped recipe); the examples show it, and without it
        assert data.shot_noise.isVisibleTo(wizard) and data.shot_noise.isChecked()
        assert "15 to 300 electrons" in data.shot_noise.text()
        data.shot_noise.setChecked(False)
        qtbot.waitUntil(lambda: _captions(data) == ["Your image", "With charging"], timeout=10_000)
        data.shot_noise.setChecked(True)
        qtbot.waitUntil(lambda: _captions(data) == ["Your image", "With charging, 67 electrons/px"], timeout=10_000)
        shoot(wizard, "wizard_2_data_artifacts.png")
    if kind == "clean-and-blank":
        assert not wizard.button(NEXT).isEnabled() and "box" in data.problem.text()
        qtbot.waitUntil(lambda: data.noise.image is not None, timeout=10_000)
        data.noise.add_box((4, 52, 4, 52))
        assert "1 box, " in data.noise.status.text()
        shoot(wizard, "wizard_2_data_boxes.png")
        wizard.back()  # and Next again: the box is kept (thrown away before: wizard audit)
        wizard.next()
        assert data.noise.boxes() == [(4, 52, 4, 52)]
    if kind == "clean-micrographs":
        qtbot.waitUntil(lambda: "Estimated dose" in data.dose_note.text() or "Could not" in data.dose_note.text(),
                        timeout=10_000)
    assert wizard.button(NEXT).isEnabled(), data.problem.text()
    wizard.next()
    _settings(qtbot, wizard)
    if shots:
        shoot(wizard, "wizard_3_settings.png")
    assert wizard.button(COMMIT).text() == "Start training"
    wizard.next()
    package = _train(qtbot, wizard)
    if shots:
        shoot(wizard, "wizard_4_training.png")
    back = wizard.button(QtWidgets.QWizard.WizardButton.BackButton)
    assert not (back.isVisible() and back.isEnabled())  # no way back to other settings: this model is for these
    wizard.next()
    finish = wizard.pages["finish"]
    assert package.name in finish.summary.text()
    if shots:
        shoot(wizard, "wizard_5_finish.png")
    finish.denoise_now.setChecked(False)
    wizard.accept()
    _loads_and_denoises(package)
    if kind == "clean-artifacts":
        from emdenoise_gui.jobs.advise import ARTIFACT_SHOT_NOISE
        from emdenoise_gui.zoo.package import verify_folder

        card = verify_folder(package).card
        assert card.training["artifacts"] == "charge" and "charging" in card.description
        assert card.training["shot_noise"] == ARTIFACT_SHOT_NOISE == 0.35
        assert card.training["shot_noise_dose"] == [15.0, 300.0]
        assert wizard.state.data == {"clean": [data.main.currentData()]}


def test_fine_tuning_a_shipped_model_and_denoising_with_it(qtbot, controller):
    wizard = _wizard(qtbot, controller)
    _choose(qtbot, wizard, "alike-slices", fine_tune=True)
    start = wizard.pages["kind"].start
    assert start.currentText().startswith("Fine-tune flyem-nrrn")
    wizard.next()
    wizard.next()
    _settings(qtbot, wizard, steps=3)
    assert wizard.pages["settings"].name.text().endswith("-finetuned")
    wizard.next()
    package = _train(qtbot, wizard)
    wizard.next()
    finish = wizard.pages["finish"]
    # ticked unless the page says not to use the model (3 steps on this crop: no better than the neighbours' mean)
    assert finish.denoise_now.isVisible() and finish.denoise_now.isChecked() == (not finish.unusable)
    finish.denoise_now.setChecked(True)  # the user's choice all the same
    wizard.accept()  # Finish: denoises the stack with the new model
    job = controller.jobs[-1]
    qtbot.waitUntil(lambda: not job.active, timeout=TRAIN_TIMEOUT_MS)
    assert job.kind == "denoise" and job.status == "done", job.message
    from emdenoise_gui.zoo.package import verify_folder

    assert verify_folder(package).card.training.get("init_from")


def test_a_stopped_training_resumes_to_a_model(qtbot, controller):
    wizard = _started(qtbot, controller, steps=400)
    training = wizard.pages["training"]
    qtbot.waitUntil(lambda: len(training.train) >= 2, timeout=60_000)
    training.pause_button.click()
    assert training.job.paused and "paused" in training.status.text()
    training.cancel_button.click()
    qtbot.waitUntil(lambda: not training.running(), timeout=30_000)
    assert training.resume_button.isVisible() and training.checkpoint
    assert not wizard.button(NEXT).isEnabled()
    checkpoint = training.checkpoint
    wizard.reject()
    later = _wizard(qtbot, controller, resume=checkpoint)
    assert later.currentPage() is later.pages["training"]
    later.pages["training"].stop()  # resumes to its full length: stop again, then resume with fewer steps
    qtbot.waitUntil(lambda: not later.pages["training"].running(), timeout=60_000)
    from emdenoise_gui.training.checkpoint import load_checkpoint

    assert load_checkpoint(Path(checkpoint))["step"] >= 2


def test_invalid_inputs_keep_next_disabled_with_a_message(qtbot, controller, tmp_path):
    single = _write(tmp_path / "single.tif", synthetic_em_stack(1, 96, 96))
    controller.add_paths([single])
    wizard = _wizard(qtbot, controller, stack=str(single))
    kind = wizard.pages["kind"]
    qtbot.waitUntil(lambda: not kind.waiting(), timeout=20_000)
    assert wizard.pages["kind"].state.kind == "single-noisy"  # one slice: Noise2Void suggested
    kind.buttons.button(0).click()  # NRRN on a single slice
    assert not wizard.button(NEXT).isEnabled() and "at least 3 slices" in kind.problem.text()
    kind.stack.setCurrentIndex(kind.stack.findData(next(r.path for r in controller.project.stacks
                                                        if r.name == "noisy.tif")))
    qtbot.waitUntil(lambda: not kind.waiting(), timeout=20_000)
    kind.buttons.button(3).click()  # cyclic
    wizard.next()
    data = wizard.pages["data"]
    data.noisy.setCurrentIndex(data.noisy.findData(data.main.currentData()))
    assert not wizard.button(NEXT).isEnabled() and "different stacks" in data.problem.text()
    data.noisy.setCurrentIndex(data.noisy.findText("noisy.tif"))
    qtbot.waitUntil(lambda: data.noise.image is not None, timeout=10_000)
    data.noise.add_box((60, 80, 60, 80))
    assert not wizard.button(NEXT).isEnabled() and "at least 32 px" in data.problem.text()
    data.noise.clear()
    data.noise.add_box((4, 52, 4, 52))
    data.use_region.setChecked(True)
    qtbot.waitUntil(lambda: data.region.image is not None, timeout=10_000)
    data.region.rois[0].setSize((20, 20))
    data.region._changed()
    assert not wizard.button(NEXT).isEnabled() and "yellow region" in data.problem.text()
    data.use_region.setChecked(False)
    assert wizard.button(NEXT).isEnabled()
    wizard.next()
    settings = wizard.pages["settings"]
    settings.name.setText("bad/name")
    assert not wizard.button(COMMIT).isEnabled() and "must not be empty" in settings.problem.text()
    from emdenoise_gui.zoo.registry import user_dir

    (user_dir() / "taken").mkdir(parents=True)
    settings.name.setText("taken")
    assert not wizard.button(COMMIT).isEnabled() and "already in the zoo" in settings.problem.text()
    from emdenoise_gui.zoo.registry import run_checkpoint

    run_checkpoint("stopped").mkdir()  # a run stopped earlier: training would refuse to replace it
    settings.name.setText("stopped")
    assert not wizard.button(COMMIT).isEnabled() and "was stopped and kept" in settings.problem.text()
    texts = [kind.problem.text(), data.problem.text(), settings.problem.text()]
    assert all("--" not in t for t in texts)
    wizard.reject()


def test_no_stacks_says_what_to_do(qtbot, tmp_path, monkeypatch, new_controller):
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    wizard = TrainWizard(new_controller(), stack="")
    qtbot.addWidget(wizard)
    wizard.show()
    assert not wizard.button(NEXT).isEnabled()
    assert "Add a stack to the project" in wizard.pages["kind"].problem.text()
    wizard.reject()


def test_readme_pictures_on_real_fibsem(qtbot, tmp_path, monkeypatch, shared_data, new_controller):
    """The wizard as the README shows it: NRRN fine-tuned on a noisy FlyEM FIB-SEM crop (dose 30)."""
    monkeypatch.setenv("EMDENOISE_HOME", str(tmp_path / "home"))
    clean = tifffile.imread(shared_data / "fibsem_flyem_medulla_val_z000-127_128x520x520.tif",
                            key=range(96, 104))[:, 100:292, 100:292]
    noisy = np.stack([poisson_dose(s / 255.0, 30.0, slice_rng(0, z)) for z, s in enumerate(clean)])
    path = _write(tmp_path / "fibsem_noisy.tif", np.clip(np.rint(noisy * 255), 0, 255).astype(np.uint8))
    c = new_controller()
    c.settings.device = "cpu"
    assert c.new_project(tmp_path / "project")
    c.add_paths([path])
    wizard = TrainWizard(c, stack=str(path))
    wizard.pages["training"].stop_answer = True
    qtbot.addWidget(wizard)
    wizard.show()
    _choose(qtbot, wizard, "alike-slices", fine_tune=True)
    shoot(wizard, "wizard_fibsem_kind.png")
    wizard.next()
    wizard.next()
    page = wizard.pages["settings"]
    page.advanced_button.setChecked(True)
    page.steps.setValue(16)  # a curve to show in seconds (30 took 32 s of the suite)
    qtbot.waitUntil(lambda: page.rate is not None or bool(page.problem.text()), timeout=60_000)
    wizard.next()
    _train(qtbot, wizard)
    shoot(wizard, "wizard_fibsem_training.png")
    wizard.next()
    shoot(wizard, "wizard_fibsem_finish.png")
    wizard.pages["finish"].denoise_now.setChecked(False)
    wizard.accept()


def test_a_failed_training_does_not_go_on_saying_it_loads(qtbot, controller):
    """The status line kept 'Loading the data and the network…' under 'Training failed: ...'."""
    from types import SimpleNamespace

    wizard = _wizard(qtbot, controller)
    page = wizard.pages["training"]
    page.status.setText("Loading the data and the network…")
    page._failed(SimpleNamespace(message="noisy.tif: file not found"))
    assert page.status.text() == "Stopped before its first step."
    assert page.problem.text() == "Training failed: noisy.tif: file not found"
    for step in (1, 2, 3):
        page.train.append(step, 0.5)
    page._failed(SimpleNamespace(message="diverged"))
    assert page.status.text() == "Stopped at step 3."
    wizard.reject()


def test_the_plan_reads_as_a_person_would_say_it():
    from emdenoise_gui.gui.wizard.settings_page import plan_text
    from emdenoise_gui.training.engine import Costs

    def costs(rate, validation_s=0.0, checkpoint_s=0.0, setup_s=0.0):
        return Costs(rate, setup_s, validation_s, checkpoint_s)

    assert plan_text(4, costs(18.6), by_hand=True) == "4 steps (set under Advanced settings), a few seconds"
    assert plan_text(1200, costs(4.0), by_hand=False) == "1,200 steps, about 5 min"
    assert plan_text(90_000, costs(3.0), by_hand=False) == "90,000 steps, about 8.3 h"
    # the run's 12 validations of 6 s and its set-up are in the time said: 300 s of steps, 402 s in all
    assert plan_text(1200, costs(4.0, validation_s=6.0, setup_s=30.0), by_hand=False) == "1,200 steps, about 7 min"


def test_the_finish_page_compares_with_the_filter_and_warns_when_the_model_loses():
    from emdenoise_gui.gui.wizard.finish_page import evaluation

    good = evaluation({"val_psnr_db": 30.5, "input_psnr_db": 20.1, "filter_psnr_db": 29.2}, None, "xception")[0]
    assert "<b>30.50 dB</b>" in good and "the filter “Gaussian, width by SURE” on the same crops: 29.20 dB" in good
    assert "no better than the classical filter" not in good
    bad = evaluation({"val_psnr_db": 27.0, "input_psnr_db": 20.1, "filter_psnr_db": 29.2}, None, "nrrn")[0]
    assert ("no better than the classical filter “Gaussian by SURE, 3 slices” (27.00 against 29.20 dB)</b>: do not "
            "use it") in bad  # NRRN's bar: the filter on its three slices
    assert "or use that filter" in bad
    old_card = evaluation({"val_psnr_db": 27.0, "input_psnr_db": 20.1}, None, "n2v")[0]  # packages made before
    assert "filter" not in old_card and "(the noisy input: 20.10 dB)" in old_card


def test_the_finish_page_says_when_nothing_was_held_back():
    """A one-slice run's card said "the training data itself" while the page spoke of data "it never trained
    on" (wizard audit)."""
    from types import SimpleNamespace

    from emdenoise_gui.gui.wizard.finish_page import validation_note

    alone = SimpleNamespace(training={"validation": "the training data itself (too few slices to hold any back)"})
    assert "measured on slices it trained on" in validation_note(alone)
    assert validation_note(SimpleNamespace(training={"validation": "held-back slices"})) == ""


def test_the_finish_page_warns_of_a_model_worse_than_its_input_and_does_not_offer_to_use_it():
    """14.06 dB against 15.00 for the input (the filter lower still) was told only "higher is better", and
    "Denoise with it now" stayed ticked beside every "do not use it" (wizard audit)."""
    from emdenoise_gui.gui.wizard.finish_page import evaluation

    words, unusable = evaluation({"val_psnr_db": 14.06, "input_psnr_db": 15.0, "filter_psnr_db": 11.3}, None,
                                 "cyclic")
    assert unusable and "worse than the noisy input (14.06 against 15.00 dB)</b>: do not use it" in words
    assert evaluation({"val_psnr_db": 27.0, "input_psnr_db": 20.1, "filter_psnr_db": 29.2}, None, "nrrn")[1]
    assert evaluation({"val_loss": 2.0, "filter_val_loss": 0.6}, None, "n2v")[1]
    assert not evaluation({"val_psnr_db": 30.5, "input_psnr_db": 20.1, "filter_psnr_db": 29.2}, None, "nrrn")[1]


def test_the_finish_page_gives_a_self_trained_models_estimated_error_against_the_filter():
    """With no clean reference the page had only a flat region's IQR to show; it now has Stein's estimate on
    held-back slices against the SURE-tuned Gaussian, and a model above it is not to be used."""
    from emdenoise_gui.gui.wizard.finish_page import evaluation

    worse = {"val_loss": 0.35, "filter_val_loss": 0.41, "val_risk": 0.0949, "filter_risk": 0.0744}
    words, unusable = evaluation(worse, None, "nrrn")
    assert unusable and "more error than the SURE-tuned Gaussian filter (estimated 28 % more" in words
    assert "or use the SURE-tuned Gaussian filter" in words
    better = {**worse, "val_risk": 0.0300, "filter_risk": 0.0310, "init_risk": 0.0280}
    words, unusable = evaluation(better, None, "nrrn")
    assert not unusable and "leaves less error than the SURE-tuned Gaussian filter (<b>estimated 3 % less" in words
    assert "The model it started from leaves 7 % less error than the new one" in words
    assert "started from" not in evaluation({**better, "init_risk": 0.04}, None, "nrrn")[0]
    close = {**better, "val_risk": 0.0320}  # 3 % above the filter: within the estimate's allowance
    words, unusable = evaluation(close, None, "nrrn")
    assert not unusable and "leaves about as much error as the SURE-tuned Gaussian filter (<b>estimated 3 % more" in words


def test_the_artifact_examples_show_shot_noise_at_the_dose_asked_for(tmp_path):
    from emdenoise_gui.gui.wizard.data_page import artifact_examples, example_dose

    path = _write(tmp_path / "c.tif", synthetic_em_stack(3, 96, 96, seed=2))
    plain, film = artifact_examples(str(path), ["film"])
    again = artifact_examples(str(path), ["film"])[1]
    _, noisy_film = artifact_examples(str(path), ["film"], dose=10.0)
    assert np.array_equal(film, again) and plain.shape == film.shape == noisy_film.shape == (96, 96)

    def roughness(image):  # pixel-to-pixel differences: shot noise raises them, the smooth film does not
        return float(np.mean(np.abs(np.diff(image, axis=1))))

    assert roughness(noisy_film) > 1.5 * roughness(film)
    assert example_dose((15.0, 300.0)) == 67.0


def test_a_stack_gone_from_the_data_page_is_a_message_not_a_traceback(qtbot, controller, tmp_path):
    """Next on the data page raised InputError out of validatePage when the chosen stack had been deleted
    (found by the wizard audit, 2026-12-05)."""
    wizard = _wizard(qtbot, controller)
    _choose(qtbot, wizard, "single-noisy")
    wizard.next()
    data = wizard.pages["data"]
    Path(data.main.currentData()).unlink()
    wizard.next()
    assert wizard.currentPage() is data and "file not found" in data.problem.text()


def test_the_settings_page_recovers_from_a_failed_measurement_and_keeps_choices(qtbot, controller):
    """Start training stayed disabled for good after one measurement failed (a crop larger than the data),
    a 100-letter name outside Latin script raised OSError, and Back then Next reset the user's choices."""
    wizard = _wizard(qtbot, controller)
    _choose(qtbot, wizard, "single-noisy")
    wizard.next()
    wizard.next()
    page = wizard.pages["settings"]
    _settings(qtbot, wizard, steps=3)
    page.crop.setValue(256)  # larger than the 96 px slices
    qtbot.waitUntil(lambda: "Cannot train" in page.problem.text(), timeout=60_000)
    assert not wizard.button(COMMIT).isEnabled()
    page.crop.setValue(32)
    qtbot.waitUntil(lambda: page.rate is not None, timeout=60_000)
    assert wizard.button(COMMIT).isEnabled() and not page.problem.text()
    page.name.setText("\U0001d538" * 100)  # 400 bytes in UTF-8
    assert not wizard.button(COMMIT).isEnabled() and "bytes" in page.problem.text()
    page.name.setText("my-model")
    wizard.back()
    wizard.next()
    assert (page.name.text(), page.steps.value(), page.crop.value(), page.batch.value()) == ("my-model", 3, 32, 2)


def test_a_finished_model_deleted_before_the_last_page_is_said_there(qtbot, controller):
    import shutil

    wizard = _started(qtbot, controller, steps=2)
    package = _train(qtbot, wizard)
    shutil.rmtree(package)
    wizard.next()
    finish = wizard.pages["finish"]
    assert "cannot be opened" in finish.summary.text() and not finish.denoise_now.isVisibleTo(wizard)
    jobs = len(controller.jobs)
    wizard.accept()
    assert len(controller.jobs) == jobs  # nothing started


def test_the_loss_is_explained_for_what_the_run_learns_from():
    """Every NRRN run was told its loss compares two predictions and can go below zero, the paper's consensus;
    a fine-tune of a shipped model (one branch on the neighbours' mean) learns with a blind spot instead."""
    from emdenoise_gui.gui.wizard.training_page import FAMILY_HELP, family_help
    from emdenoise_gui.training.spec import RunSpec

    def spec(**kw):
        return RunSpec(**{"family": "nrrn", "data": {"noisy": ["n.tif"]}, "output": "o", **kw})

    assert family_help(spec(init="flyem-nrrn-lite")) == FAMILY_HELP["nrrn:blind-spot"]
    assert family_help(spec(neighbours="mean")) == FAMILY_HELP["nrrn:blind-spot"]
    assert family_help(spec()) == family_help(spec(neighbours="mean", objective="consensus")) == FAMILY_HELP["nrrn"]
    assert family_help(spec(data={"clean": ["c.tif"]})) == FAMILY_HELP["nrrn:supervised"]
    assert family_help(spec(family="n2v")) == FAMILY_HELP["n2v"] and family_help(None) == ""
    # cyclic on synthetic artifacts has no GAN: cycle consistency and discriminators were told (wizard audit)
    assert family_help(spec(family="cyclic", data={"clean": ["c.tif"]}, artifacts="film")) == \
        FAMILY_HELP["cyclic:artifacts"]
    assert family_help(spec(family="cyclic", data={"clean": ["c"], "noise": ["b"], "noisy": ["n"]})) == \
        FAMILY_HELP["cyclic"]
