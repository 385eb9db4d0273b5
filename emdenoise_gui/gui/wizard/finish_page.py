"""Wizard page 5: how well the new model does on held-back data, and denoising with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtWidgets

from emdenoise_gui.core import metrics
from emdenoise_gui.core.assess import flattest_region
from emdenoise_gui.core.errors import InputError
from emdenoise_gui.gui import theme
from emdenoise_gui.gui.wizard.training_page import captioned_image


def evaluation(scores: dict, preview: tuple | None, family: str) -> tuple[str, bool]:
    """What the held-back data say about a ``family`` model, in words, and whether they say not to use it: PSNR
    against a clean reference where the run had one (beside the noisy input and the filter it must beat,
    ``zoo.card.bar_filter``), otherwise the blind-spot bar or the spread (IQR) of grey levels on the flattest
    part of the held-back crop."""
    from emdenoise_gui.zoo.card import bar_filter
    from emdenoise_gui.zoo.fit import failure_words, validation_failure

    failure = validation_failure(scores)
    which = failure[0] if failure else None
    if "val_psnr_db" in scores:
        model = scores["val_psnr_db"]
        others = [f"the noisy input: {scores['input_psnr_db']:.2f} dB"] if "input_psnr_db" in scores else []
        label = bar_filter(family)[1]
        if "filter_psnr_db" in scores:
            others.append(f"the filter “{label}” on the same crops: {scores['filter_psnr_db']:.2f} dB")
        text = (f"On held-back data with a clean reference, the denoised images reach <b>{model:.2f} dB</b> PSNR"
                f"{' (' + '; '.join(others) + ')' if others else ''}; higher is better.")
        if which in ("input", "filter"):  # said only "higher is better" (wizard audit)
            also = "; or use that filter" if which == "filter" else ""
            return (text + f"<p style='{theme.tone_style('warn')}'><b>This model {failure_words(failure, f'“{label}”')}"
                    f"</b>: do not use it as it is. Train it longer, with more data, or start from a shipped model"
                    f"{also}.</p>", True)
        return text, False
    if which in ("neighbours", "estimate"):
        _, loss, bar = failure
        # a run that blew up, not one too short
        lower = ", with a lower learning rate" if which == "neighbours" and loss > 10 * bar else ""
        also = ", or use the SURE-tuned Gaussian filter" if which == "estimate" else ""
        return (f"<p style='{theme.tone_style('warn')}'><b>On held-back slices this model {failure_words(failure)}"
                f"</b>: do not use it as it is. Train it longer{lower}, or start from a shipped model{also}.</p>", True)
    estimate = _estimate_text(scores)
    ratio = flat_iqr_ratio(preview)
    if ratio is None:
        return estimate or "No held-back preview to measure: look at the result on your own stack.", False
    kept = contrast_kept(preview)
    if kept is not None and kept < FLAT_RESULT:  # a low spread in the flat part means nothing then
        return (f"<p style='{theme.tone_style('warn')}'><b>The result is nearly flat</b>: its contrast is {kept:.2f}× that of "
                "the smoothed input on a held-back crop, so the model erased the image along with the noise. Do "
                "not use it as it is: train it longer, with more data, or start from a shipped model.</p>", True)
    return (estimate + f"On the flattest part of a held-back crop the spread of grey levels (IQR) is "
            f"<b>{ratio:.2f}×</b> that of the noisy input (lower = less noise; 1 = unchanged). Check the residual: "
            "it should look like pure noise; visible membranes would mean the model removes structure.", False)


def _estimate_text(scores: dict) -> str:
    """The error a self-supervised model leaves on held-back slices against the SURE-tuned Gaussian's and its
    start model's, by Stein's estimate (card metrics ``val_risk``, ``filter_risk``, ``init_risk``), as a
    sentence; "" where the run made no estimate."""
    from emdenoise_gui.zoo.fit import CLEARLY_WORSE, estimate_words

    value, bar = scores.get("val_risk"), scores.get("filter_risk")
    if value is None or bar is None or not 0 < value < CLEARLY_WORSE * bar:
        return ""
    if value < bar:
        text = (f"On held-back slices the model leaves less error than the SURE-tuned Gaussian filter "
                f"(<b>{estimate_words(value, bar)}</b>). ")
    else:  # within the estimate's allowance: no verdict either way
        text = (f"On held-back slices the model leaves about as much error as the SURE-tuned Gaussian filter "
                f"(<b>{estimate_words(value, bar)}</b>, closer than the estimate can tell apart). ")
    start = scores.get("init_risk")
    if start is not None and 0 < start < value:
        text += (f"The model it started from leaves {100.0 * (1.0 - start / value):.0f} % less error than the new "
                 "one there: denoising with that one may serve you better. ")
    return text


#: Below this share of the smoothed input's contrast a result counts as flat (a working denoiser keeps
#: most of it: the smoothing already took the noise out of the reference).
FLAT_RESULT = 0.3
#: The smoothing (Gaussian sigma, px) that takes most of the noise out of the reference contrast.
SMOOTH_PX = 2.0


def contrast_kept(preview: tuple | None) -> float | None:
    """Standard deviation of the denoised held-back crop over that of the noisy crop smoothed by a
    Gaussian of :data:`SMOOTH_PX` px (both (H, W) float32); None without a preview or contrast."""
    if preview is None:
        return None
    from scipy import ndimage

    noisy, denoised = (np.asarray(a, np.float64) for a in preview)
    reference = float(np.std(ndimage.gaussian_filter(noisy, SMOOTH_PX)))
    return float(np.std(denoised)) / reference if reference > 0 else None


def flat_iqr_ratio(preview: tuple | None) -> float | None:
    """IQR of the denoised over the noisy held-back crop (both (H, W) float32) in its flattest quarter."""
    if preview is None:
        return None
    noisy, denoised = preview
    side = max(8, min(noisy.shape) // 4)
    y0, x0, y1, x1 = flattest_region(noisy, side)
    before = metrics.iqr_rect(noisy, (y0, x0, y1, x1))
    return metrics.iqr_rect(denoised, (y0, x0, y1, x1)) / before if before > 0 else None


def validation_note(card) -> str:
    """A sentence before the verdict when the run validated on its training data (its card's
    ``training.validation``): the page spoke of data "it never trained on" beside a one-slice run's card saying
    "the training data itself" (wizard audit); "" otherwise."""
    if not str((card.training or {}).get("validation", "")).startswith("the training data itself"):
        return ""
    return ("<p>The stack had too few slices to hold any back: what follows was measured on slices it trained "
            "on, which flatters it.</p>")


#: the previews' smallest side and the height of a caption above one (px)
MIN_SQUARE_PX, CAPTION_PX = 160, 30


class FinishPage(QtWidgets.QWizardPage):
    """The evaluation, where the model went, and an offer to denoise the stack with it (on Finish)."""

    def __init__(self, state, controller, parent=None):
        super().__init__(parent)
        self.state, self.controller = state, controller
        self.setTitle("Your new model")
        self.setSubTitle("How it does on data it never trained on, where it was saved, and whether to denoise your "
                         "stack with it now.")
        self.summary = QtWidgets.QLabel()
        self.summary.setWordWrap(True)
        # the held-back crop, the model's result and what it took away, side by side
        self.panes = [captioned_image(title) for title in
                      ("Held-back crop: noisy", "Denoised", "Residual (noisy − denoised)")]
        self.residual = QtWidgets.QWidget()  # as tall as its width makes the squares: captions on the images
        row = QtWidgets.QHBoxLayout(self.residual)
        row.setContentsMargins(0, 0, 0, 0)
        for widget, _box, _item in self.panes:
            row.addWidget(widget)
        self.denoise_now = QtWidgets.QCheckBox()
        self.denoise_now.setToolTip("Start denoising the whole stack with the new model when you press Finish")
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.residual)
        layout.addWidget(self.denoise_now)
        layout.addStretch(1)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_squares()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._fit_squares()

    def _fit_squares(self) -> None:
        """The row of previews as tall as square images of a third of its width each, plus their captions."""
        margins = self.layout().contentsMargins()
        width = self.width() - margins.left() - margins.right()
        spacing = self.residual.layout().spacing() * (len(self.panes) - 1)
        self.residual.setFixedHeight(max(MIN_SQUARE_PX, (width - spacing) // len(self.panes)) + CAPTION_PX)

    def initializePage(self) -> None:
        from emdenoise_gui.zoo.package import verify_folder

        state = self.state
        try:
            package = verify_folder(Path(state.package))
        except InputError as exc:  # deleted or damaged since training wrote it: say so, offer nothing
            self.card, self.unusable = None, True
            self.summary.setText(f"<p style='{theme.tone_style('warn')}'>The new model cannot be opened: {exc}</p>")
            self.residual.setVisible(False)
            self.denoise_now.setChecked(False)
            self.denoise_now.setVisible(False)
            return
        self.card = package.card
        best = (self.card.training or {}).get("best_step")
        kept = f"; the weights of step {best:,} kept, the best validated" if isinstance(best, int) and \
            best != self.card.steps else ""
        words, self.unusable = evaluation(self.card.metrics, state.preview, self.card.family)
        self.summary.setText(f"<p>Added to the model zoo as <b>{self.card.name}</b> ({self.card.family}, "
                             f"{self.card.steps:,} steps{kept}).</p>{validation_note(self.card)}<p>{words}</p>")
        if state.preview is not None:
            # torch is loaded by the training
            from emdenoise_gui.training.trainers.base import display_pair

            noisy, denoised = state.preview
            residual = np.asarray(noisy, np.float32) - np.asarray(denoised, np.float32)
            spread = float(np.percentile(np.abs(residual), 99.5)) or 1.0
            shown = (*display_pair(noisy, denoised), residual)
            for (_widget, box, item), image, levels in zip(self.panes, shown, ((0, 1), (0, 1), (-spread, spread))):
                item.setImage(image, levels=levels)
                box.autoRange(padding=0)
        self.residual.setVisible(state.preview is not None)
        record = self._project_record()
        self.denoise_now.setVisible(record is not None)
        if record is not None:
            self.denoise_now.setText(f"Denoise {record.name} with it now")
            self.denoise_now.setChecked(not self.unusable)  # ticked beside "do not use it" before (wizard audit)

    def _project_record(self):
        project = getattr(self.controller, "project", None)
        if project is None:
            return None
        return next((r for r in project.stacks if r.path == self.state.stack), None)

    def validatePage(self) -> bool:
        record = self._project_record()
        if record is not None and self.card is not None and self.denoise_now.isChecked():
            from emdenoise_gui.jobs.denoise import Denoiser

            self.denoiser = Denoiser("model", self.card.name, str(self.state.package), self.card.weights_sha256)
            self.controller.denoise([record.id], self.denoiser)
        return True
