"""The model zoo panel: shipped and user models with their cards, the classical filters, paused training.

Picking an entry makes it the denoiser for Preview / Denoise. Import and export
(``zoo_files``) use the zoo's verified package functions on a worker thread; deleting a user model
asks first.

Told about the selected stack (:meth:`ZooPanel.assess_stack`), the panel measures it on a background
thread (``zoo.fit.measure_facts``), marks every model's fit in the "Fit" column (the reason as its
tooltip and, for the selected model, in the line under the list), and preselects the best fit unless
the user picked a denoiser by hand for that stack. The selected model's estimated time for the stack
(``inference.estimate``, a speed measured once per model and device) is worked out off the GUI thread too.
Paused training runs (hidden ``.NAME.checkpoint`` folders in the user zoo) are listed with a Resume
button and context-menu entry (signal ``resume_requested``).
"""

from __future__ import annotations

import contextlib
import html
import threading
from pathlib import Path

from PySide6 import QtCore, QtWidgets

from emdenoise_gui.core import baselines
from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.gui import theme
from emdenoise_gui.gui.panels import zoo_text
from emdenoise_gui.gui.panels.zoo_files import ZooFiles
from emdenoise_gui.jobs.denoise import Denoiser
from emdenoise_gui.models.registry import by_preference
from emdenoise_gui.zoo import fit as zoo_fit

ROLE = QtCore.Qt.ItemDataRole.UserRole
FIT_COLUMN = 2
FIT_WORDS = {"good": "Good fit", "possible": "Possible fit", "poor": "Poor fit"}
#: Listed first among the filters: the ones the app falls back to (the best filters of the quality benchmark
#: at a fraction of BM3D's time); the others follow in the registry's order, the papers' baselines.
FIRST_FILTERS = ("gaussian-sure", "gaussian-sure-avg")
#: The group of the papers' baselines with their published, fixed settings (``Filter.as_published``).
PUBLISHED = "Paper baselines (published settings)"
PUBLISHED_KEY = f"group:{PUBLISHED}"  # its heading's item key (each heading's is "group:" + its title)
#: Selected when there is no shipped model to select (a stack every model fits poorly gets
#: ``zoo.fit.fallback_filter`` instead, which is this one where its slices differ).
FALLBACK_KEY = f"filter:{baselines.DEFAULT_FILTER}"


def _opener(stack):
    """A context manager giving a (Z, Y, X) stack to read on a worker thread: a file of its own when the
    stack has a path (the window's reader may be busy on the GUI thread), else ``stack`` itself."""
    path = stack if isinstance(stack, (str, Path)) else getattr(stack, "path", None)
    if path is not None and Path(path).exists():  # a file, or an OME-Zarr store folder
        from emdenoise_gui.core.io import open_stack

        return lambda: open_stack(path)
    return lambda: contextlib.nullcontext(stack)


class ZooPanel(ZooFiles, QtWidgets.QWidget):
    """Lists models (shipped, user), paused training runs and filters, each model with its fit to the stack.

    Signals: ``chosen(object)`` carries a :class:`Denoiser`; ``message(str, str)`` (title, text) asks the
    window to show a warning; ``status(str, int)`` a line for the status bar and for how many ms (0: until the next; "" clears it);
    ``resume_requested(str)`` carries a paused run's checkpoint folder. Import, export and delete:
    ``zoo_files.ZooFiles``.
    ``device`` ("auto", "cpu", "cuda", ...) and ``tile`` (px) are what time estimates assume
    (:meth:`set_compute`).
    """

    chosen = QtCore.Signal(object)
    message = QtCore.Signal(str, str)
    status = QtCore.Signal(str, int)
    resume_requested = QtCore.Signal(str)
    _arrived = QtCore.Signal(str, object, object)  # (what, token, result) from a worker thread

    def __init__(self, parent=None):
        super().__init__(parent)
        self._threads: list[threading.Thread] = []  # the measurements in flight (see shutdown)
        self._stopping = CancelToken()
        self.list = QtWidgets.QTreeWidget()
        self.list.setHeaderLabels(["Denoiser", "Kind", "Fit"])
        self.list.setRootIsDecorated(False)  # the groups are headings, always open: no branch arrows,
        self.list.setItemsExpandable(False)  # and their entries need only a small indent (names uncut)
        self.list.setIndentation(12)
        self.list.setTextElideMode(QtCore.Qt.TextElideMode.ElideMiddle)  # a long name keeps its end
        self.list.setItemDelegate(theme.ToneDelegate(self.list))  # fit and grey texts in the theme's tones
        self.list.setAccessibleName("Models and filters")
        header = self.list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QtWidgets.QHeaderView.ResizeMode.Stretch)
        for column in (1, FIT_COLUMN):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.list.currentItemChanged.connect(self._changed)
        self.list.itemClicked.connect(self._heading_clicked)
        self.list.itemExpanded.connect(self._heading_marked)
        self.list.itemCollapsed.connect(self._heading_marked)
        self.list.setContextMenuPolicy(QtCore.Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.fit_label = QtWidgets.QLabel()
        self.fit_label.setWordWrap(True)
        self.fit_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.fit_label.setContentsMargins(2, 2, 2, 2)
        self.fit_label.setMinimumHeight(4 * self.fit_label.fontMetrics().lineSpacing() + 4)  # fit + time, wrapped
        self.fit_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop | QtCore.Qt.AlignmentFlag.AlignLeft)
        self.details = QtWidgets.QTextBrowser()
        self.details.setOpenExternalLinks(False)
        self.details.setAccessibleName("Model details")
        self.import_button = QtWidgets.QPushButton("Import…")
        self.export_button = QtWidgets.QPushButton("Export…")
        self.delete_button = QtWidgets.QPushButton("Delete")
        self.resume_button = QtWidgets.QPushButton("Resume")
        self.resume_button.setToolTip("Go on training the selected paused run")
        self.import_button.setToolTip("Add a model package (.zip, folder or bioimage.io zip) to your zoo")
        self.export_button.setToolTip("Save the selected model as a package to share, or for bioimage.io")
        self.delete_button.setToolTip("Remove the selected model of your own from the zoo (asks first)")
        self.import_button.clicked.connect(lambda: self.import_dialog())
        self.export_button.clicked.connect(self.export_dialog)
        self.delete_button.clicked.connect(self.delete_current)
        self.resume_button.clicked.connect(self.resume_current)
        buttons = QtWidgets.QHBoxLayout()
        for b in (self.import_button, self.export_button, self.delete_button, self.resume_button):
            buttons.addWidget(b)
        top = QtWidgets.QWidget()
        top_layout = QtWidgets.QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.list, 1)
        top_layout.addWidget(self.fit_label)
        splitter = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(self.details)
        splitter.setSizes([400, 160])
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter, 1)
        layout.addLayout(buttons)
        self.entries: dict[str, object] = {}
        self.device, self.tiling = "auto", (512, None)  # tile px, and the papers' stride px or None (fast)
        self.stack_key: str | None = None  # the stack the fits are for
        self.facts: zoo_fit.StackFacts | None = None
        self.fits: dict[str, zoo_fit.Fit] = {}  # item key -> fit to the stack
        self.best_key: str | None = None  # the preselected denoiser for the stack
        self._assess_failed = ""  # why the shown stack could not be measured ("": it could): no preselection
        self._generation = 0  # bumped per stack: results for an older one are dropped
        self._auto = False  # True while the panel itself changes the selection
        self._picked: dict[str, str] = {}  # stack key -> denoiser key the user chose for it
        self._speeds: dict[str, float] = {}  # weights sha256 -> s/MP on (device, tile)
        self._estimating: set[str] = set()
        self._timing_failed: dict[str, str] = {}  # weights sha256 -> why its speed could not be timed
        self._where = "this computer"  # the device speeds were timed on, set by the worker that timed them
        self._arrived.connect(self._deliver)
        self.refresh()

    # -- listing -------------------------------------------------------------------------------------
    def refresh(self, select: str | None = None) -> None:
        """List the zoo again, keeping the selection (or selecting the item key ``select``, which then
        counts as the user's choice for the current stack)."""
        from emdenoise_gui.zoo import registry

        keep = select or self.current_key()
        self.list.blockSignals(True)
        self.list.clear()
        self.entries = {}
        groups = {}
        for title in ("Shipped models", "Your models", "Classical filters", PUBLISHED):
            group = QtWidgets.QTreeWidgetItem([title, ""])
            group.setData(0, ROLE, f"group:{title}")
            group.setFlags(QtCore.Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            self.list.addTopLevelItem(group)
            group.setFirstColumnSpanned(True)  # a heading: its title may run across Kind and Fit
            groups[title] = group
        for entry in registry.list_entries():
            group = groups["Shipped models" if entry.shipped else "Your models"]
            key = f"model:{entry.path}"
            kind = zoo_text.family_name(entry.package.card.family) if entry.package else "unusable"
            item = QtWidgets.QTreeWidgetItem([entry.name, kind])
            item.setData(0, ROLE, key)
            if entry.package is not None:
                item.setToolTip(0, f"{entry.name}: {entry.package.card.description}")
            else:
                item.setToolTip(0, entry.problem)
                item.setDisabled(True)
            group.addChild(item)
            self.entries[key] = entry
        for run in registry.list_paused():
            key = f"paused:{run.path}"
            item = QtWidgets.QTreeWidgetItem([run.name, "paused"])  # the Kind column says what it is
            item.setData(0, ROLE, key)
            for column in (0, 1):
                item.setToolTip(column, f"{run.name}: training stopped at step {run.step:,} of {run.steps:,}; "
                                        "select it and press Resume")
                item.setData(column, theme.TONE_ROLE, "muted")
            groups["Your models"].addChild(item)
            self.entries[key] = run
        if not groups["Your models"].childCount():  # say where models of one's own come from
            hint = QtWidgets.QTreeWidgetItem(["none yet: Process ▸ Train or Fine-tune Model"])
            hint.setFlags(QtCore.Qt.ItemFlag.NoItemFlags)
            hint.setData(0, theme.TONE_ROLE, "muted")
            groups["Your models"].addChild(hint)
            hint.setFirstColumnSpanned(True)  # across Kind and Fit, which it has none of
        for f in sorted(baselines.FILTERS.values(), key=lambda f: f.name not in FIRST_FILTERS):  # stable
            key = f"filter:{f.name}"
            item = QtWidgets.QTreeWidgetItem([f.label, "filter"])
            item.setData(0, ROLE, key)
            item.setToolTip(0, f.description)
            if not f.available:  # listed, so its absence is explained, but not picked: nothing to run
                item.setFlags(QtCore.Qt.ItemFlag.NoItemFlags)  # greyed, not clickable: Denoise never gets it
                item.setText(0, f"{f.label} (not installed)")
                item.setToolTip(0, baselines.MISSING[f.requires])
            groups[PUBLISHED if f.as_published else "Classical filters"].addChild(item)
            self.entries[key] = f
        for title, group in groups.items():  # the papers' baselines folded away (selecting one unfolds them)
            group.setExpanded(title != PUBLISHED)
        groups[PUBLISHED].setToolTip(0, zoo_text.PUBLISHED_TIP + " Click to show or hide them.")
        self._heading_marked(groups[PUBLISHED])
        self._mark_fits()
        self.list.blockSignals(False)
        self._select(keep or self.default_key(), by_hand=select is not None)

    def default_key(self) -> str | None:
        """A usable shipped model (NRRN first: it suits FIB-SEM stacks; of a family the smallest, which is
        the fastest on a CPU), else the SURE-tuned Gaussian (``FALLBACK_KEY``)."""
        shipped = sorted((entry.package.card.parameters, key, entry.package.card.family)
                         for key, entry in self.entries.items()
                         if key.startswith("model:") and getattr(entry, "shipped", False) and entry.package)
        for family in by_preference():
            for _, key, fam in shipped:
                if fam == family:
                    return key
        return FALLBACK_KEY

    def current_key(self) -> str | None:
        item = self.list.currentItem()
        return item.data(0, ROLE) if item else None

    def _items(self):
        for i in range(self.list.topLevelItemCount()):
            group = self.list.topLevelItem(i)
            for j in range(group.childCount()):
                yield group.child(j)

    def item(self, key: str) -> QtWidgets.QTreeWidgetItem | None:
        """The list item of the item key ``key`` ("model:PATH", "filter:NAME", "paused:PATH"), or None."""
        return next((item for item in self._items() if item.data(0, ROLE) == key), None)

    def select(self, key: str | None) -> None:
        """Select the item key ``key``; for the current stack this counts as the user's choice."""
        self._select(key, by_hand=True)

    def _entry_past(self, heading, previous) -> QtWidgets.QTreeWidgetItem | None:
        """The first entry beyond ``heading`` in the way the keyboard moved from ``previous`` (a folded group
        going down unfolds), or None."""
        down = self.list.visualItemRect(heading).top() > self.list.visualItemRect(previous).top()
        if down and heading.data(0, ROLE) == PUBLISHED_KEY:
            heading.setExpanded(True)
        step = self.list.itemBelow if down else self.list.itemAbove
        item = step(heading)
        while item is not None and item.data(0, ROLE) not in self.entries:
            item = step(item)
        return item

    def _heading_clicked(self, item, _column: int) -> None:
        """A click on the folding group's heading folds or unfolds it (the other groups stay open)."""
        if item.data(0, ROLE) == PUBLISHED_KEY:
            item.setExpanded(not item.isExpanded())

    def _heading_marked(self, item) -> None:
        """The folding group's heading shows a triangle for its state (the tree draws no arrows)."""
        if item.data(0, ROLE) == PUBLISHED_KEY:
            item.setText(0, f"{'▾' if item.isExpanded() else '▸'} {PUBLISHED}")

    def _select(self, key: str | None, by_hand: bool) -> None:
        item = self.item(key) if key else None
        if item is None:
            return
        if item.parent() is not None:
            item.parent().setExpanded(True)  # a selection is never hidden in a folded group
        self._auto = not by_hand
        try:
            self.list.setCurrentItem(item)
        finally:
            self._auto = False

    def current(self) -> Denoiser | None:
        key = self.current_key()
        return self._denoiser(key) if key else None

    def _denoiser(self, key: str) -> Denoiser | None:
        entry = self.entries.get(key)
        if key.startswith("filter:"):
            return Denoiser("filter", entry.name)
        if not key.startswith("model:") or entry is None or entry.package is None:
            return None
        card = entry.package.card
        return Denoiser("model", card.name, str(entry.package.path), card.weights_sha256)

    def _changed(self, item, previous) -> None:
        if item is not None and item.parent() is None and previous is not None:  # a group heading
            by_mouse = QtWidgets.QApplication.mouseButtons() != QtCore.Qt.MouseButton.NoButton
            target = None if by_mouse else self._entry_past(item, previous)
            if target is None:
                with QtCore.QSignalBlocker(self.list):  # a click on a group heading keeps the chosen denoiser
                    self.list.setCurrentItem(previous)
            else:  # the arrow keys go on past it (they stopped there: no key left the group)
                self.list.setCurrentItem(target)
            return
        key = item.data(0, ROLE) if item else None
        entry = self.entries.get(key) if key else None
        self.resume_button.setEnabled(bool(key and key.startswith("paused:")))
        self._show_fit()
        if entry is None:
            self.details.clear()
            self.delete_button.setEnabled(False)
            self._enable_transfers()
            return
        if self.stack_key is not None and not self._auto and not key.startswith("paused:"):
            self._picked[self.stack_key] = key
        self._show_details(key, entry)
        is_user_model = key.startswith("model:") and not entry.shipped
        self.delete_button.setEnabled(bool(is_user_model))
        self._enable_transfers()
        denoiser = self._denoiser(key)
        if denoiser is not None:
            self.chosen.emit(denoiser)
        self._estimate(key)

    def _show_details(self, key: str, entry) -> None:
        """The details box: the card, filter or paused run of the item key ``key`` (its entry ``entry``)."""
        if key.startswith("paused:"):
            self.details.setHtml(zoo_text.paused_html(entry))
        elif key.startswith("filter:"):
            self.details.setHtml(zoo_text.filter_html(entry, theme.tone_style("possible")))
        elif entry.package is None:
            self.details.setHtml(zoo_text.unusable_html(entry))
        else:
            self.details.setHtml(zoo_text.card_html(entry.package.card, entry.shipped))

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Another appearance: the coloured texts written as HTML (fit line, details) in its colours."""
        super().changeEvent(event)
        key = self.current_key()
        if event.type() == QtCore.QEvent.Type.PaletteChange and key in self.entries:
            self._show_fit()
            self._show_details(key, self.entries[key])

    # -- fit to the selected stack -------------------------------------------------------------------
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
        its path, or a (Z, Y, X) array; ``voxel_size_nm`` (z, y, x) nm or None (then the file's).

        Returns at once: the stack is measured on a worker thread (a fresh reader of its file), then the
        fits are marked and the best fit preselected, unless the user picked a denoiser by hand for this
        stack (that one is selected again). Results for a stack chosen before the latest are dropped.
        """
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
        if voxel_size_nm is None:
            voxel_size_nm = getattr(getattr(stack, "meta", None), "voxel_size_nm", None)
        path = stack if isinstance(stack, (str, Path)) else getattr(stack, "path", None)
        name = Path(path).name if path is not None else ""
        models = [e for k, e in self.entries.items() if k.startswith("model:") and e.package is not None]
        device, tiling = self.device, self.tiling

        def work():
            try:
                with opener() as data:
                    facts = zoo_fit.measure_facts(data, voxel_size_nm, name)
            except Exception as exc:  # shown in the panel: a worker's exception would otherwise vanish
                self._post("facts", generation, exc)
                return
            self._post("facts", generation, facts)
            speeds = {}
            try:
                ranked = zoo_fit.choosable(zoo_fit.rank(models, facts))  # those pick may choose
                best = ranked[0][1].grade if ranked else None
                for entry, fit in ranked:  # the candidates for preselection: their speed decides among them
                    if fit.grade == best and best != "poor":
                        speed = self._measure(entry.package, device, tiling)
                        if not isinstance(speed, Exception):
                            speeds[entry.package.card.weights_sha256] = speed
            finally:  # the preselection happens even if a speed could not be had
                self._post("speeds", (generation, device, tiling), speeds)

        self._start("assess", work)

    def forget_stack(self) -> None:
        """No stack is shown any more: no fit marks, the line under the list asks for one; a
        measurement still running for the old stack is dropped when it arrives."""
        self.stack_key, self.facts, self.fits, self.best_key = None, None, {}, None
        self._assess_failed = ""
        self._generation += 1
        self._mark_fits()
        self._show_fit()

    def _measure(self, package, device: str, tiling: tuple[int, int | None]) -> float | Exception:
        """Seconds per megapixel of ``package`` (worker thread), or the exception that stopped the timing
        (the model cannot run here, the app is closing); notes which device was timed ("the CPU",
        "the GPU"), the only one the estimate may name."""
        from emdenoise_gui.inference.estimate import device_words, measure_speed
        from emdenoise_gui.models.device import pick_device

        try:
            self._where = device_words(pick_device(device))
            return measure_speed(package, device, tiling[0], cancel=self._stopping, stride=tiling[1])
        except Exception as exc:  # no estimate is better than a broken panel; the job itself reports real errors
            return exc

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
        if self.facts is None:
            return None
        if key.startswith("model:") and entry.package is not None:
            return zoo_fit.assess_fit(entry.package.card, self.facts)
        if key.startswith("filter:") and entry.slices > 1:  # averaging neighbours needs them alike
            return zoo_fit.slices_fit(entry.slices, self.facts, model=False)
        return None

    def _mark_fits(self) -> None:
        """Put each item's fit (a coloured mark, its reason as tooltip) in the Fit column."""
        self.fits = {}
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

    # -- paused training -------------------------------------------------------------------------------
    def resume_current(self) -> bool:
        """Ask for the selected paused run to go on training (``resume_requested`` with its folder)."""
        key = self.current_key() or ""
        if not key.startswith("paused:"):
            return False
        self.resume_requested.emit(str(self.entries[key].path))
        return True

    def _context_menu(self, position) -> None:
        item = self.list.itemAt(position)
        key = item.data(0, ROLE) if item else None
        if not key or not key.startswith("paused:"):
            return
        self.list.setCurrentItem(item)
        menu = QtWidgets.QMenu(self)
        menu.addAction("Resume training", self.resume_current)
        menu.exec(self.list.viewport().mapToGlobal(position))
