"""Wizard page 2: the data for each role of the chosen family, blank-region boxes, an optional region."""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from emdenoise_gui.core.errors import InputError
from emdenoise_gui.core.noise import NOISE_KINDS
from emdenoise_gui.gui import theme
from emdenoise_gui.gui.decimal_box import DecimalBox
from emdenoise_gui.gui.imaging import thumbnail
from emdenoise_gui.gui.panels.background import run_later
from emdenoise_gui.gui.wizard.boxes import MIN_BOX, BoxCanvas, clear_row
from emdenoise_gui.gui.wizard.kind_page import fill_stacks
from emdenoise_gui.jobs.advise import (
    KINDS,
    dose_range,
    in_gui_words,
    shot_noise_defaults,
)
from emdenoise_gui.training.spec import default_crop_batch
from emdenoise_gui.training.synthetic import ARTIFACT_KINDS

NONE = "(none)"
#: A "clean" stack measured below this dose (counts per pixel at its mean, ``core.assess.estimate_dose``) is
#: warned of: the FlyEM and ssTEM references measure 820 to 3,300, the noisy data the models are for 5 to 300.
CLEAN_DOSE_MIN = 300.0
#: Side (px) of the artifact examples on the data page.
EXAMPLE_PX = 150


def estimate_stack_dose(path: str) -> float | None:
    """Shot-noise dose (counts per pixel at the mean) of the middle slice of ``path``."""
    from emdenoise_gui.core.assess import estimate_dose
    from emdenoise_gui.gui.wizard.boxes import read_slice

    return estimate_dose(read_slice(path))


def artifact_examples(path: str, kinds: list[str], dose: float | None = None) -> list[np.ndarray]:
    """The middle slice of ``path`` on the [0, 1] working scale as training reads it, then once per artifact
    kind with that artifact drawn on it as training draws it (seeded: the same picture each time), and with
    ``dose`` (counts per pixel at the slice mean) shot noise on it after the artifact, as training adds it
    to the share of samples it is asked for; float32 (H, W) each, the plain slice first."""
    from emdenoise_gui.core.io import open_stack
    from emdenoise_gui.core.pipeline import IntensityScale, finite_slice
    from emdenoise_gui.training.synthetic import NoiseModel
    from emdenoise_gui.training.trainers.cyclic_paired import stored_artifact

    with open_stack(path) as stack:
        clean = np.clip(IntensityScale.for_stack(stack).to_unit(finite_slice(stack, len(stack) // 2)), 0.0, 1.0)
    images = [clean]
    for k, kind in enumerate(kinds):
        rng = np.random.default_rng(k)
        image = stored_artifact(clean, kind, rng)
        if dose:
            image = NoiseModel().apply(image, float(image.mean()), ("poisson", float(dose)), rng)
        images.append(image)
    return images


def example_dose(dose: tuple[float, float]) -> float:
    """The dose (counts per pixel) the examples show shot noise at: the range's geometric middle, rounded."""
    return float(round(float(np.sqrt(dose[0] * dose[1]))))


def stack_side(path: str) -> int:
    """The shorter side (px) of the slices of the stack at ``path`` (header only)."""
    from emdenoise_gui.core.io import open_stack

    with open_stack(path) as stack:
        return int(min(stack.shape[1:]))


def stack_facts(path: str, dose: bool) -> tuple[int | None, float | None]:
    """(shorter side in px, or None where the header cannot be read; shot-noise dose of the middle slice in
    counts per pixel, when ``dose`` and it can be estimated): read off the GUI thread, a header on a network
    share can take seconds."""
    try:
        side = stack_side(path)
    except (InputError, OSError):
        return None, None
    return side, (estimate_stack_dose(path) if dose else None)


def rect_spec(path: str, rect: tuple[int, int, int, int]) -> str:
    """RunSpec data for a rectangle of every slice: ``PATH@y0:y1,x0:x1``."""
    y0, y1, x0, x1 = rect
    return f"{path}@{y0}:{y1},{x0}:{x1}"


def _too_small(view) -> bool:
    """Whether the image of a ``boxes.BoxCanvas`` (``image``: (H, W) or None while loading) is narrower or
    lower than :data:`MIN_BOX`, so no box on it can be made large enough."""
    image = getattr(view, "image", None)
    return image is not None and min(image.shape[:2]) < MIN_BOX


class DataPage(QtWidgets.QWizardPage):
    """The stacks per role (defaulting to the stack on screen); for cyclic, pink boxes on blank regions
    of the noisy stack (the noise examples), or for cyclic on clean images alone the artifacts to draw on
    them; for Xception, the dose estimated from the noisy data; optionally a yellow region to train on."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self._context: tuple | None = None  # the earlier pages' choices the page was last filled for
        self.setTitle("Your data")
        self.main = QtWidgets.QComboBox()
        self.main.setToolTip("The stack the network learns from")
        self.noisy = QtWidgets.QComboBox()
        self.noisy.setToolTip("Noisy images of the same kind of sample; they need not show the same place")
        self.dose_source = QtWidgets.QComboBox()
        self.dose_source.setToolTip("Your noisy images: their dose (electrons per pixel) is estimated from the "
                                    "noise on flat regions, and the clean images are noised at about that dose")
        self.dose_note = QtWidgets.QLabel()
        self.dose_low, self.dose_high = DecimalBox(), DecimalBox()
        for box in (self.dose_low, self.dose_high):
            box.setRange(0.5, 1e6)
            box.setDecimals(1)
            box.setSuffix(" e⁻/px")
            box.setToolTip("Electrons (counts) per pixel at the image's mean grey level; lower = noisier. "
                           "Training covers the whole range.")
            box.valueChanged.connect(self.completeChanged)
        self.dose_low.setAccessibleName("Synthetic dose, lowest")
        self.dose_high.setAccessibleName("Synthetic dose, highest")
        self.dose_row = QtWidgets.QWidget()
        dose_row = QtWidgets.QHBoxLayout(self.dose_row)
        dose_row.setContentsMargins(0, 0, 0, 0)
        dose_row.addWidget(self.dose_low)
        dose_row.addWidget(QtWidgets.QLabel("to"))
        dose_row.addWidget(self.dose_high)
        dose_row.addStretch(1)
        self.noise = BoxCanvas(show_patches=True, name="Noise examples: boxes on blank regions")
        self.add_box = QtWidgets.QPushButton("Add a box")
        self.add_box.setToolTip("Adds a box on the flattest place not yet covered; move it onto blank resin, "
                                "empty film or vacuum: whatever is inside is taken as pure noise")
        self.add_box.clicked.connect(lambda: self.noise.add_box())
        kinds = [NOISE_KINDS[key] for key in ARTIFACT_KINDS]
        self.artifacts = {k.name: QtWidgets.QCheckBox(f"{k.label.capitalize()}: {k.look}") for k in kinds}
        self.artifact_row = QtWidgets.QWidget()
        artifact_row = QtWidgets.QHBoxLayout(self.artifact_row)
        artifact_row.setContentsMargins(0, 0, 0, 0)
        for box in self.artifacts.values():
            box.setToolTip("Drawn at random on the clean images; the model learns to remove what is ticked")
            box.toggled.connect(self.completeChanged)
            box.toggled.connect(self._show_examples)
            artifact_row.addWidget(box)
        artifact_row.addStretch(1)
        self.examples = QtWidgets.QHBoxLayout()  # the middle slice, then with each ticked artifact
        self.example_row = QtWidgets.QWidget()
        self.example_row.setLayout(self.examples)
        self.examples.setContentsMargins(0, 0, 0, 0)
        self.examples.addStretch(1)
        self._example_key: tuple = ()
        self.shot_noise = QtWidgets.QCheckBox()
        self.shot_noise.setToolTip("Real film and charging come with shot noise: with this ticked, part of the "
                                   "training examples also get Poisson noise after the artifact, and the model "
                                   "learns to remove it too instead of passing it through")
        self.shot_noise.toggled.connect(self._show_examples)
        self._shot = shot_noise_defaults()
        self.use_region = QtWidgets.QCheckBox("Train on a region only")
        self.use_region.setToolTip("Train only on the part inside the yellow box, e.g. to leave out a damaged "
                                   "edge or a different tissue")
        self.region = BoxCanvas(single=True, name="Training region")
        self.use_region.toggled.connect(self._region_toggled)
        self.clean_note = QtWidgets.QLabel()  # clean images that measure noisy (not a bar: a warning)
        theme.set_tone(self.clean_note, "warn")
        self.clean_note.setWordWrap(True)
        self._facts: dict = {}  # (path, clean role) -> stack_facts(path, ...) (None while measured), in the background
        self.problem = QtWidgets.QLabel()
        theme.set_tone(self.problem, "warn")
        self.problem.setWordWrap(True)
        self.form = QtWidgets.QFormLayout(self)
        self.form.addRow("Stack", self.main)
        self.form.addRow("", self.clean_note)
        self.form.addRow("Noisy images", self.noisy)
        self.form.addRow("Noise examples", self.noise)
        self.form.addRow("", self.add_box)
        self.form.addRow("Remove", self.artifact_row)
        self.form.addRow("", self.shot_noise)
        self.form.addRow("Examples", self.example_row)
        self.form.addRow("Dose from", self.dose_source)
        self.form.addRow("", self.dose_note)
        self.form.addRow("Synthetic dose", self.dose_row)
        self.form.addRow(self.use_region)
        self.form.addRow(self.region)
        self.form.addRow(self.problem)
        self.main.currentIndexChanged.connect(self._main_changed)
        self.noisy.currentIndexChanged.connect(self._noisy_changed)
        self.dose_source.currentIndexChanged.connect(self._dose_source_changed)
        self.noise.changed.connect(self.completeChanged)
        self.region.changed.connect(self.completeChanged)
        self._dose_path = ""

    # -- set-up per family -----------------------------------------------------------------------------
    def initializePage(self) -> None:
        state, family = self.state, self.state.family
        context = (family, state.kind, state.stack, tuple(map(tuple, state.stacks)), state.init)
        if context == self._context:  # Back then Next with the same choices: keep what was set here (its noise
            self.completeChanged.emit()  # boxes and training region were thrown away: wizard audit)
            return
        self._context = context
        others = [p for _, p in state.stacks if p != state.stack]
        clean_default = others[0] if others else state.stack
        fill_stacks(self.main, state.stacks, clean_default if family in ("xception", "cyclic") else state.stack)
        fill_stacks(self.noisy, state.stacks, state.stack)
        fill_stacks(self.dose_source, state.stacks, state.stack if family == "xception" and others else "", NONE)
        label = {"nrrn": "Noisy stack", "n2v": "Noisy images"}.get(family, "Clean images")
        self.form.labelForField(self.main).setText(label)
        paired = self.paired()
        cyclic, xception = family == "cyclic" and not paired, family == "xception"
        for widget in (self.noisy, self.noise, self.add_box):
            self.form.setRowVisible(widget, cyclic)
        self.form.setRowVisible(self.artifact_row, paired)
        self.form.setRowVisible(self.shot_noise, paired)
        self.form.setRowVisible(self.example_row, paired)
        for key, box in self.artifacts.items():
            box.setChecked(key in KINDS[state.kind].artifacts.split(","))
        if paired:
            try:
                self._shot = shot_noise_defaults(state.init)
            except InputError:  # the start model vanished meanwhile: the settings page says so when it checks
                self._shot = shot_noise_defaults()
            share, (low, high) = self._shot
            self.shot_noise.setText(f"Shot noise too: Poisson noise at {low:g} to {high:g} electrons per pixel "
                                    f"after the artifact, on {share or shot_noise_defaults()[0]:.0%} of the examples")
            self.shot_noise.setChecked(bool(share))
        for widget in (self.dose_source, self.dose_note, self.dose_row):
            self.form.setRowVisible(widget, xception)
        self.setSubTitle("Clean images of your kind of sample; the artifacts ticked below are drawn on them "
                         "at random, and the model learns to remove them." if paired else {
            "nrrn": "The noisy stack NRRN learns from; its last slices are held back to check the result.",
            "n2v": "The noisy images Noise2Void learns from; the last slices are held back when there are several.",
            "xception": "Clean micrographs; realistic shot noise is added to them at the dose below.",
            "cyclic": "Clean images, noisy images, and boxes on blank regions of the noisy images that show the "
                      "noise alone.",
        }[family])
        self.use_region.setChecked(False)
        self.region.setVisible(False)
        self._measure_main()
        self._show_examples()
        if cyclic:
            self.noise.load(self.noisy.currentData())
        self._dose_source_changed()
        self.completeChanged.emit()

    def _main_changed(self) -> None:
        if self.use_region.isChecked():
            self.region.load(self.main.currentData())
        self._measure_main()
        self._show_examples()
        self.completeChanged.emit()

    def _cleans(self) -> bool:
        """Whether the main stack is the clean images (Xception, cyclic), not the noisy ones (NRRN, N2V)."""
        return self.state.family in ("xception", "cyclic")

    def _measure_main(self) -> None:
        """Measure the main stack's side and, for clean images, its dose off the GUI thread (once per stack)."""
        path, cleans = self.main.currentData() or "", self._cleans()
        if path and (path, cleans) not in self._facts:
            self._facts[(path, cleans)] = None  # being measured
            run_later(lambda: stack_facts(path, cleans),
                      lambda facts, error, k=(path, cleans): self._measured(k, facts, error))
        self._show_clean_note()

    def _measured(self, key: tuple, facts, error) -> None:
        self._facts[key] = facts if error is None else (None, None)
        self._show_clean_note()
        self.completeChanged.emit()

    def _main_facts(self) -> tuple[int | None, float | None]:
        """(side, dose) of the main stack as :func:`stack_facts` measured them; (None, None) until then."""
        return self._facts.get((self.main.currentData() or "", self._cleans())) or (None, None)

    def _show_clean_note(self) -> None:
        dose = self._main_facts()[1] if self._cleans() else None
        noisy = dose is not None and dose < CLEAN_DOSE_MIN
        self.clean_note.setText(
            f"These images look noisy: about {dose:.0f} electrons per pixel, measured on their flattest regions "
            f"(clean references measure over {CLEAN_DOSE_MIN:.0f}). The model learns to make images like the clean "
            "ones it is shown: choose your cleanest stack." if noisy else "")
        self.form.setRowVisible(self.clean_note, noisy)

    def _show_examples(self) -> None:
        """Redraw the artifact examples (computed off the GUI thread) for the chosen stack and ticks."""
        path, kinds = self.main.currentData() or "", self.chosen_artifacts().split(",")
        dose = example_dose(self._shot[1]) if self.shot_noise.isChecked() else None
        key = (path, tuple(k for k in kinds if k), dose)
        if not self.paired() or not path or key == self._example_key:
            return
        self._example_key = key
        run_later(lambda: artifact_examples(path, list(key[1]), dose),
                  lambda images, error, k=key: self._examples_ready(k, images, error))

    def _examples_ready(self, key: tuple, images, error) -> None:
        if key != self._example_key:  # the stack or the ticks changed meanwhile
            return
        clear_row(self.examples)
        if error is not None:
            self.examples.insertWidget(0, QtWidgets.QLabel(f"Cannot show this stack: {error}"))
            return
        noise = f", {key[2]:g} electrons/px" if key[2] else ""
        captions = ["Your image"] + [f"With {NOISE_KINDS[k].label}{noise}" for k in key[1]]
        for image, caption in zip(images, captions):
            label = QtWidgets.QLabel()
            label.setPixmap(thumbnail(image, EXAMPLE_PX))
            label.setToolTip("The middle slice of the clean stack with the artifact drawn as training draws it; "
                             "training draws it anew, at another place, on every crop")
            column = QtWidgets.QWidget()
            layout = QtWidgets.QVBoxLayout(column)
            layout.setContentsMargins(0, 0, 6, 0)
            layout.addWidget(label)
            layout.addWidget(QtWidgets.QLabel(caption))
            self.examples.insertWidget(self.examples.count() - 1, column)

    def _noisy_changed(self) -> None:
        self.noise.load(self.noisy.currentData())
        self.completeChanged.emit()

    def _region_toggled(self, on: bool) -> None:
        self.region.setVisible(on)
        if on:
            self.region.load(self.main.currentData())
        self.completeChanged.emit()

    def _dose_source_changed(self) -> None:
        path = self.dose_source.currentData() or ""
        self._dose_path = path
        low, high = dose_range(None)
        self.dose_low.setValue(low)
        self.dose_high.setValue(high)
        if not path:
            self.dose_note.setText("No noisy data chosen: training covers 25 to 100 electrons per pixel.")
            return
        self.dose_note.setText("Estimating the dose from flat regions…")
        run_later(lambda: estimate_stack_dose(path), lambda dose, error, p=path: self._dose_estimated(p, dose, error))

    def _dose_estimated(self, path: str, dose, error) -> None:
        if path != self._dose_path:
            return
        if error is not None or dose is None:
            self.dose_note.setText("Could not estimate a dose from these images (no flat region, or an offset); "
                                   "set the range by hand.")
            return
        low, high = dose_range(dose)
        self.dose_low.setValue(low)
        self.dose_high.setValue(high)
        self.dose_note.setText(f"Estimated dose: about {dose:.0f} electrons per pixel; training covers half to "
                               "twice that.")
        self.state.estimated_dose = dose

    # -- checks -----------------------------------------------------------------------------------------
    def config(self) -> str:
        """The configuration the run will use (the fine-tuned model's, or lite)."""
        if self.state.init:
            from emdenoise_gui.zoo.registry import resolve

            return resolve(self.state.init).card.config
        return "lite"

    def problem_text(self) -> str:
        family = self.state.family
        if not self.main.currentData():
            return "Choose the stack to train on."
        if self.paired():
            if not self.chosen_artifacts():
                return "Tick at least one artifact to remove."
        elif family == "cyclic":
            if self.noisy.currentData() == self.main.currentData():
                return "Choose clean images and noisy images that are different stacks."
            side = self._main_facts()[0]  # unknown while it is read: the run's own check stays
            if side is not None and side < MIN_BOX:  # the settings page sent the user round in a circle (audit)
                return (f"The clean images are {side} px on their shorter side: the cyclic GAN trains on crops of at "
                        f"least {MIN_BOX} px; choose larger images.")
            boxes = self.noise.boxes()
            if not boxes:
                return "Add at least one box on a blank region of the noisy images (“Add a box”)."
            if min(min(y1 - y0, x1 - x0) for y0, y1, x0, x1 in boxes) < MIN_BOX:
                if _too_small(self.noise):
                    return (f"The noisy images are smaller than {MIN_BOX} x {MIN_BOX} px: too small for this model "
                            "type; choose larger images.")
                return f"Make every box at least {MIN_BOX} px wide and high; drag a corner to enlarge it."
        if family == "xception" and self.dose_low.value() > self.dose_high.value():
            return "The lowest dose must not be above the highest."
        if self.use_region.isChecked():
            region = self.region.boxes()
            need = MIN_BOX
            if not region or min(region[0][1] - region[0][0], region[0][3] - region[0][2]) < need:
                if _too_small(self.region):
                    return (f"The images are smaller than {need} x {need} px, so no region of them can be trained "
                            "on alone: untick “Train on a region only”.")
                return f"Make the yellow region at least {need} px wide and high."
        return ""

    def paired(self) -> bool:
        """Whether the run is cyclic on clean images alone, with synthetic artifacts (no noisy images)."""
        return bool(KINDS[self.state.kind].artifacts)

    def chosen_artifacts(self) -> str:
        """The ticked artifacts as RunSpec.artifacts ("film,charge"), "" when none is."""
        return ",".join(key for key, box in self.artifacts.items() if box.isChecked())

    def _crop(self) -> int:
        """The training crop: the family's, no larger than the data (region, slices or noise boxes)."""
        crop, _ = default_crop_batch(self.state.family, self.config(), self.paired())
        region = self.region.boxes() if self.use_region.isChecked() else []
        if region:
            side = min(region[0][1] - region[0][0], region[0][3] - region[0][2])
        else:
            side = self._main_facts()[0] or stack_side(self.main.currentData())
        crop = min(crop, max(16, side // 16 * 16))
        if self.state.family == "cyclic" and not self.paired() and self.noise.boxes():
            smallest = min(min(y1 - y0, x1 - x0) for y0, y1, x0, x1 in self.noise.boxes())
            crop = min(crop, max(MIN_BOX, smallest // 16 * 16))
        return crop

    def isComplete(self) -> bool:
        text = self.problem_text()
        self.problem.setText(text)
        return not text

    def validatePage(self) -> bool:
        """Hand the choices to the state; False, with the reason on the page, when a chosen stack or the start
        model went away meanwhile (it raised out of the page before)."""
        try:
            return self._take_choices()
        except InputError as exc:
            self.problem.setText(in_gui_words(str(exc)))
            return False

    def _take_choices(self) -> bool:
        family, main = self.state.family, self.main.currentData()
        region = self.region.boxes()[0] if self.use_region.isChecked() else None
        source = rect_spec(main, region) if region else main
        role = {"nrrn": "noisy", "n2v": "noisy"}.get(family, "clean")
        data = {role: [source]}
        self.state.artifacts = self.chosen_artifacts() if self.paired() else ""
        share = self._shot[0] or shot_noise_defaults()[0]  # the fine-tuned model's share, else the shipped recipe's
        self.state.shot_noise = share if self.paired() and self.shot_noise.isChecked() else 0.0
        if family == "cyclic" and not self.paired():
            noisy = self.noisy.currentData()
            data["noisy"] = [noisy]
            data["noise"] = [rect_spec(noisy, box) for box in self.noise.boxes()]
        self.state.data = data
        self.state.dose = (self.dose_low.value(), self.dose_high.value()) if family == "xception" else None
        self.state.crop = self._crop()
        return True
