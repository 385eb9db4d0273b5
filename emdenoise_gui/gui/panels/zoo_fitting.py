"""The zoo panel's fit to the selected stack (:class:`ZooFitting`, a part of ``zoo_panel.ZooPanel``).

Told about the selected stack (:meth:`ZooFitting.assess_stack`), the panel measures it on a background
thread (``zoo.fit.measure_facts``), marks every model's fit in the "Fit" column (the reason as its
tooltip and, for the selected model, in the line under the list), and preselects the best fit unless
the user picked a denoiser by hand for that stack; among equal fits those fast enough for the stack
first, the lightest of a family leading (``zoo.fit.rank``), one model of each architecture timed. The selected model's estimated time for the stack (``inference.estimate``, a speed
measured once per model and device) is worked out off the GUI thread too.
"""

from __future__ import annotations

import contextlib
import html
import json
import threading
from pathlib import Path

from PySide6 import QtCore

from emdenoise_gui.core.baselines import FILTERS
from emdenoise_gui.gui import theme
from emdenoise_gui.zoo import fit as zoo_fit

ROLE = QtCore.Qt.ItemDataRole.UserRole
FIT_COLUMN = 2
FIT_WORDS = {"good": "Good fit", "possible": "Possible fit", "poor": "Poor fit"}
#: Architectures timed at most for a stack's preselection (models of one architecture run at one speed).
MAX_TIMED = 6


def _opener(stack):
    """A context manager giving a (Z, Y, X) stack to read on a worker thread: a file of its own when the
    stack has a path (the window's reader may be busy on the GUI thread), else ``stack`` itself."""
    path = stack if isinstance(stack, (str, Path)) else getattr(stack, "path", None)
    if path is not None and Path(path).exists():  # a file, or an OME-Zarr store folder
        from emdenoise_gui.core.io import open_stack

        return lambda: open_stack(path)
    return lambda: contextlib.nullcontext(stack)


def judged(key: str, entry) -> bool:
    """Whether the zoo list's item ``key`` ("model:PATH", "filter:NAME", "paused:PATH") with its ``entry`` has a
    fit to a stack: a model, or a filter of neighbouring slices (averaging neighbours needs them alike); a
    one-image filter runs on any stack, a paused run on none."""
    if key.startswith("model:"):
        return entry.package is not None
    return key.startswith("filter:") and entry.slices > 1


def entry_fit(key: str, entry, facts: zoo_fit.StackFacts | None) -> zoo_fit.Fit | None:
    """How the zoo list's item ``key`` with its ``entry`` fits the stack whose ``facts`` are given; None where
    there is nothing to judge (no facts, or not :func:`judged`)."""
    if facts is None or not judged(key, entry):
        return None
    if key.startswith("model:"):
        return zoo_fit.assess_fit(entry.package.card, facts)
    fit = zoo_fit.slices_fit(entry.slices, facts, model=False)
    similarity = facts.similarity
    if fit.grade == "poor" and facts.depth >= entry.slices and similarity is not None \
            and FILTERS[key.split(":", 1)[1]].alone_when_unlike:  # graded poor, as good as that (help audit)
        return zoo_fit.Fit("possible", f"neighbouring slices differ (similarity {similarity:.2f}): this "
                                       "filter smooths each slice alone there, as its one-slice version does")
    return fit


class ZooFitting:
    """The fit part of :class:`~emdenoise_gui.gui.panels.zoo_panel.ZooPanel` (which provides ``list``,
    ``entries``, ``fit_label``, ``_arrived`` and the selection)."""

    def set_compute(self, device: str, tile: int, stride: int | None = None) -> None:
        """The device ("auto", "cpu", "cuda", ...), tile size (px) and stride (px: "quality: paper"; None:
        fast) jobs run with: what estimates assume (the paper's stride 256 is 4x the work)."""
        if (device, (int(tile), stride)) != (self.device, self.tiling):
            self.device, self.tiling = device, (int(tile), stride)
            self._speeds.clear()
            self._timing_failed.clear()
            self._show_fit()
            self._estimate(self.current_key())

    def assess_stack(self, key: str, stack, voxel_size_nm=None) -> None:
        """Judge every model against the stack ``key`` (the window's stack id): ``stack`` a core.io Stack,
        its path, or a (Z, Y, X) array; ``voxel_size_nm`` (z, y, x) nm or None (then the file's). The same file
        asked again with the same zoo and compute settings (its result shown, say) keeps what it has.

        Returns at once: the stack is measured on a worker thread (a fresh reader of its file), then the
        fits are marked and the best fit preselected, unless the user picked a denoiser by hand for this
        stack (that one is selected again). Results for a stack chosen before the latest are dropped.
        """
        if voxel_size_nm is None:
            voxel_size_nm = getattr(getattr(stack, "meta", None), "voxel_size_nm", None)
        path = stack if isinstance(stack, (str, Path)) else getattr(stack, "path", None)
        models = [e for k, e in self.entries.items() if k.startswith("model:") and e.package is not None]
        device, tiling = self.device, self.tiling
        asked = (key, str(path), voxel_size_nm, device, tiling, tuple(str(e.path) for e in models))
        if path is not None and asked == self._assessed and key == self.stack_key and not self._assess_failed:
            return  # the same stack shown again (its result, the window opening): measured, or being measured
        self._assessed = asked  # three assessments of one stack at start-up timed models side by side
        self.stack_key, self.facts, self.fits, self.best_key = key, None, {}, None
        self._assess_failed = ""
        self._generation += 1
        generation = self._generation
        self._mark_fits()
        picked = self._picked.get(key)
        if picked in self.entries:
            self._select(picked, by_hand=False)
        self._show_fit()
        opener = _opener(stack)
        name = Path(path).name if path is not None else ""

        def work():
            try:
                with opener() as data:
                    facts = zoo_fit.measure_facts(data, voxel_size_nm, name, path or "")
            except Exception as exc:  # shown in the panel: a worker's exception would otherwise vanish
                self._post("facts", generation, exc)
                return
            self._post("facts", generation, facts)
            speeds, timed = {}, {}  # timed: architecture -> its speed (the weights do not change it)
            try:
                ranked = zoo_fit.choosable(zoo_fit.rank(models, facts), facts)  # those pick may choose
                best = ranked[0][1].grade if ranked else None
                for entry, fit in ranked:  # the candidates: which are fast enough for the stack
                    if fit.grade != best or best == "poor":
                        continue
                    card = entry.package.card  # 87 good fits of 3 architectures were timed one by one: 132 s
                    shape = (card.family, json.dumps(card.architecture, sort_keys=True))
                    if shape not in timed and len(timed) < MAX_TIMED:
                        timed[shape] = self._measure(entry.package, device, tiling)
                    speed = timed.get(shape)
                    if speed is not None and not isinstance(speed, Exception):
                        speeds[card.weights_sha256] = speed
            finally:  # the preselection happens even if a speed could not be had
                self._post("speeds", (generation, device, tiling), speeds)

        self._start("assess", work)

    def forget_stack(self) -> None:
        """No stack is shown any more: no fit marks, the line under the list asks for one; a
        measurement still running for the old stack is dropped when it arrives."""
        self.stack_key, self.facts, self.fits, self.best_key = None, None, {}, None
        self._assess_failed = ""
        self._assessed = None
        self._generation += 1
        self._mark_fits()
        self._show_fit()

    def _measure(self, package, device: str, tiling: tuple[int, int | None]) -> float | Exception:
        """Seconds per megapixel of ``package`` (worker thread), or the exception that stopped the timing
        (the model cannot run here, the app is closing); notes which device was timed ("the CPU",
        "the GPU"), the only one the estimate may name."""
        import torch

        from emdenoise_gui.gui.workers import cpu_cores, job_threads
        from emdenoise_gui.inference.estimate import device_words, measure_speed
        from emdenoise_gui.models.device import pick_device

        threads = torch.get_num_threads()  # timed with the threads a job gets (one core is left to the window):
        torch.set_num_threads(job_threads(cpu_cores(), 1, threads))  # with all, 2 cores promised twice the speed
        try:
            self._where = device_words(pick_device(device))
            return measure_speed(package, device, tiling[0], cancel=self._stopping, stride=tiling[1])
        except Exception as exc:  # no estimate is better than a broken panel; the job itself reports real errors
            return exc
        finally:
            torch.set_num_threads(threads)

    def _start(self, name: str, work) -> None:
        thread = threading.Thread(target=work, name=f"emdenoise-zoo-{name}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Stop the panel's measurements (a speed timing stops at its next tile) and wait up to
        ``timeout_s`` for their threads; True if they all ended. The window calls it when it closes."""
        from emdenoise_gui.gui.lifetime import threads_ended, wait_drawing

        self._stopping.cancel()
        return wait_drawing(threads_ended(list(self._threads)), timeout_s)

    def picked_by_hand(self, stack_key: str) -> bool:
        """Whether the user chose a denoiser for the stack ``stack_key`` (the panel then keeps it)."""
        return stack_key in self._picked

    @property
    def preselecting(self) -> bool:
        """Whether the shown stack's fit check, or the preselection that follows it (once the candidates'
        speeds are timed), is still to come; False once it failed (the panel says why)."""
        return self.stack_key is not None and self.best_key is None and not self._assess_failed

    @property
    def measuring(self) -> bool:
        """Whether a worker still measures for the list: the shown stack's fit check and preselection, or a
        model's speed."""
        return self.preselecting or bool(self._estimating)

    def _post(self, what: str, token, result) -> None:
        """Hand a worker's result to the GUI thread (queued); nothing once the window closes or the panel is
        gone (a timing that outlives ``shutdown``'s wait finishes after the panel was deleted)."""
        if self._stopping.cancelled:
            return
        try:
            self._arrived.emit(what, token, result)
        except (RuntimeError, TypeError):  # deleted while the worker ran: PySide6 raises either
            pass

    def _deliver(self, what: str, token, result) -> None:
        if what == "facts" and token == self._generation:
            self._facts_arrived(result)
        elif what == "speeds" and token[0] == self._generation:
            if token[1:] == (self.device, self.tiling):  # timed for the device and tiling jobs still run with
                self._speeds.update(result)
            self._preselect()
            self._show_fit()
        elif what == "transfer":
            self._transfer_done(token, result)
        elif what == "speed":
            sha, device, tiling = token
            self._estimating.discard(sha)
            if (device, tiling) == (self.device, self.tiling):
                if isinstance(result, Exception):
                    self._timing_failed[sha] = str(result) or type(result).__name__
                else:
                    self._speeds[sha] = result
            else:  # timed for settings changed meanwhile: time the selected model again for the new ones
                self._estimate(self.current_key())
            self._show_fit()

    def _facts_arrived(self, facts) -> None:
        if isinstance(facts, Exception):
            self._assess_failed = str(facts) or type(facts).__name__
            self._show_fit()
            return
        self.facts = facts
        self._mark_fits()
        self._show_fit()
        self._estimate(self.current_key())

    def _preselect(self) -> None:
        """Select the best fit for the stack (a filter when every model fits poorly), unless picked by hand."""
        models = [e for k, e in self.entries.items() if k.startswith("model:") and e.package is not None]
        best = zoo_fit.pick(models, self.facts, self._speeds)[0] if self.facts else None
        self.best_key = f"model:{best.path}" if best is not None else f"filter:{zoo_fit.fallback_filter(self.facts)}"
        if self.stack_key not in self._picked:
            self._select(self.best_key, by_hand=False)

    def _fit_of(self, key: str, entry) -> zoo_fit.Fit | None:
        return entry_fit(key, entry, self.facts)

    def _mark_fits(self) -> None:
        """Put each item's fit (a coloured mark, its reason as tooltip) in the Fit column."""
        self.fits = {}
        with self._rebuilding():
            self._put_fit_marks()

    def _put_fit_marks(self) -> None:
        for item in self._items():
            key = item.data(0, ROLE)
            fit = self._fit_of(key, self.entries[key]) if key in self.entries else None
            if fit is None:  # a one-image filter works on any stack, which the blank column did not say
                one_image = self.facts is not None and key and key.startswith("filter:")
                item.setText(FIT_COLUMN, "any" if one_image else "")
                item.setData(FIT_COLUMN, theme.TONE_ROLE, "muted")
                item.setToolTip(FIT_COLUMN, "Filters one image at a time: runs on any stack, and smooths detail "
                                            "along with the noise" if one_image else "")
                continue
            self.fits[key] = fit
            item.setText(FIT_COLUMN, f"● {fit.grade}")
            item.setData(FIT_COLUMN, theme.TONE_ROLE, fit.grade)
            item.setToolTip(FIT_COLUMN, f"{FIT_WORDS[fit.grade]}: {fit.reason}")

    def _estimate_text(self, key: str) -> str:
        from emdenoise_gui.inference.estimate import format_duration

        entry = self.entries.get(key)
        if self.facts is None or not key.startswith("model:") or getattr(entry, "package", None) is None:
            return ""
        sha = entry.package.card.weights_sha256
        speed = self._speeds.get(sha)
        if speed is None and sha in self._timing_failed and sha not in self._estimating:
            return ("Estimated time for this stack: unknown, timing this model failed "
                    f"({html.escape(self._timing_failed[sha])}). Select it again to retry.")
        if speed is None:
            return "Estimated time for this stack: measuring this model's speed…"
        return f"Estimated time for this stack: {format_duration(speed * self.facts.megapixels)} on {self._where}"

    def _show_fit(self) -> None:
        """The line under the list: the selected denoiser's fit to the stack and its estimated time."""
        key = self.current_key()
        entry = self.entries.get(key) if key else None
        if key and key.startswith("paused:"):
            self.fit_label.setText(f"Paused at step {entry.step:,} of {entry.steps:,}: press Resume to finish it.")
        elif self.stack_key is None:
            self.fit_label.setText("Select a stack to see which models fit it.")
        elif self.facts is None and self._assess_failed:  # kept through a repaint or a settings change
            self.fit_label.setText(f"Could not measure this stack: {html.escape(self._assess_failed)}")
        elif self.facts is None:
            self.fit_label.setText("Measuring the stack to see which models fit it…")
        else:
            fit = self.fits.get(key or "")
            lines = [] if fit is None else [(
                f"<span style='{theme.tone_style(fit.grade)}'>●</span> <b>{FIT_WORDS[fit.grade]}</b>: "
                f"{html.escape(fit.reason)}")]
            if key and key == self.best_key and key.startswith("filter:"):
                lines.append("No model here suits this stack well: a classical filter is safer.")
            estimate = self._estimate_text(key or "")
            lines += [estimate] if estimate else []
            self.fit_label.setText("<br>".join(lines) or "No fit check for this filter: it works slice by slice.")

    def _estimate(self, key: str | None) -> None:
        """Measure the selected model's speed on a worker thread when it is not known yet."""
        entry = self.entries.get(key) if key else None
        if self.facts is None or not key or not key.startswith("model:") or getattr(entry, "package", None) is None:
            return
        sha = entry.package.card.weights_sha256
        if sha in self._speeds or sha in self._estimating:
            return
        self._estimating.add(sha)
        package, device, tiling = entry.package, self.device, self.tiling
        self._start("estimate", lambda: self._post("speed", (sha, device, tiling), self._measure(package, device, tiling)))
        if self._timing_failed.pop(sha, None) is not None:  # a retry: the line says "measuring" again
            self._show_fit()

