"""The model zoo panel: shipped and user models with their cards, the classical filters, paused training.

Picking an entry makes it the denoiser for Preview / Denoise. Import and export
(``zoo_files``) use the zoo's verified package functions on a worker thread; deleting a user model
asks first.

Told about the selected stack (:meth:`ZooPanel.assess_stack`), the panel marks every model's fit and
preselects the best (``zoo_fitting``).
Paused training runs (hidden ``.NAME.checkpoint`` folders in the user zoo) are listed with a Resume
button and context-menu entry (signal ``resume_requested``).
"""

from __future__ import annotations

import contextlib
import threading

from PySide6 import QtCore, QtWidgets

from emdenoise_gui.core import baselines
from emdenoise_gui.core.events import CancelToken
from emdenoise_gui.gui import theme
from emdenoise_gui.gui.panels import zoo_text
from emdenoise_gui.gui.panels.zoo_files import ZooFiles
from emdenoise_gui.gui.panels.zoo_fitting import FIT_COLUMN, ROLE, ZooFitting
from emdenoise_gui.jobs.denoise import Denoiser
from emdenoise_gui.models.registry import by_preference
from emdenoise_gui.zoo import fit as zoo_fit

#: Listed first among the filters: the ones the app falls back to (the best filters of the quality benchmark
#: at a fraction of BM3D's time); the others follow in the registry's order, the papers' baselines.
FIRST_FILTERS = ("gaussian-sure", "gaussian-sure-avg")
#: The group of the papers' baselines with their published, fixed settings (``Filter.as_published``).
PUBLISHED = "Paper baselines (published settings)"
PUBLISHED_KEY = f"group:{PUBLISHED}"  # its heading's item key (each heading's is "group:" + its title)
#: Selected when there is no shipped model to select (a stack every model fits poorly gets
#: ``zoo.fit.fallback_filter`` instead, which is this one where its slices differ).
FALLBACK_KEY = f"filter:{baselines.DEFAULT_FILTER}"


class ZooPanel(ZooFiles, ZooFitting, QtWidgets.QWidget):
    """Lists models (shipped, user), paused training runs and filters, each model with its fit to the stack.

    Signals: ``chosen(object)`` carries a :class:`Denoiser` (None for an entry that denoises nothing: a
    paused run, an unusable package); ``message(str, str)`` (title, text) asks the
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
        self.search = QtWidgets.QLineEdit()
        self.search.setPlaceholderText("Find a model or filter…")
        self.search.setToolTip("Shows the models and filters whose name, kind or description holds every word typed")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Find a model or filter")
        self.search.textChanged.connect(self._apply_search)
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
        self.export_button.setToolTip("Save the selected model as a package to share (.zip; for bioimage.io: "
                                      "emdenoise zoo export --format bioimageio)")
        self.delete_button.setToolTip("Remove the selected model of your own from the zoo, or discard the selected "
                                      "paused training (asks first)")
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
        top_layout.addWidget(self.search)
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
        self._batch = False  # inside _rebuilding
        self.device, self.tiling = "auto", (512, None)  # tile px, and the papers' stride px or None (fast)
        self.stack_key: str | None = None  # the stack the fits are for
        self.facts: zoo_fit.StackFacts | None = None
        self.fits: dict[str, zoo_fit.Fit] = {}  # item key -> fit to the stack
        self.best_key: str | None = None  # the preselected denoiser for the stack
        self._assess_failed = ""  # why the shown stack could not be measured ("": it could): no preselection
        self._generation = 0  # bumped per stack: results for an older one are dropped
        self._assessed: tuple | None = None  # what the latest assessment was asked for (ZooFitting.assess_stack)
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
        with self._rebuilding():
            self._fill(registry)
        self._select(keep or self.default_key(), by_hand=select is not None)

    @contextlib.contextmanager
    def _rebuilding(self):
        """Change many rows at once: the Kind and Fit columns sized once at the end, not after every change (each
        change of a row re-measured every row: 300 models froze the window 4-6 s a refresh, zoo audit)."""
        if self._batch:  # already inside one
            yield
            return
        self._batch = True
        header = self.list.header()
        self.list.blockSignals(True)
        self.list.setUpdatesEnabled(False)
        for column in (1, FIT_COLUMN):
            header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.Interactive)
        try:
            yield
        finally:
            for column in (1, FIT_COLUMN):
                self.list.resizeColumnToContents(column)
                header.setSectionResizeMode(column, QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
            self.list.setUpdatesEnabled(True)
            self.list.blockSignals(False)
            self._batch = False

    def _fill(self, registry) -> None:
        """The list's rows: the zoo's entries, the paused runs and the filters, under their headings."""
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
            else:  # selectable, so its details say what is wrong and Delete removes it (it was greyed out of reach)
                item.setToolTip(0, entry.problem)
                for column in (0, 1):
                    item.setData(column, theme.TONE_ROLE, "muted")
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
        self._apply_search()

    def _apply_search(self) -> None:
        """Show only the entries whose name, kind or description holds every word typed in the search box
        (case aside), and only the headings with such entries; an empty box shows all. A lab's zoo of
        hundreds of models is found by name this way; the selection stays what it was."""
        words = self.search.text().lower().split()
        for i in range(self.list.topLevelItemCount()):
            group = self.list.topLevelItem(i)
            shown = 0
            for j in range(group.childCount()):
                item = group.child(j)
                text = " ".join((item.text(0), item.text(1), item.toolTip(0))).lower()
                hidden = bool(words) and (item.data(0, ROLE) not in self.entries
                                          or not all(word in text for word in words))
                item.setHidden(hidden)
                shown += not hidden
            group.setHidden(bool(words) and not shown)
            if words and shown and group.data(0, ROLE) == PUBLISHED_KEY:
                group.setExpanded(True)  # what was found is in view
                self._heading_marked(group)

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
        unusable = key.startswith("model:") and entry.package is None  # selectable to read why, and to delete
        if self.stack_key is not None and not self._auto and not key.startswith("paused:") and not unusable:
            self._picked[self.stack_key] = key
        self._show_details(key, entry)
        is_user_model = key.startswith("model:") and not entry.shipped
        self.delete_button.setEnabled(bool(is_user_model) or key.startswith("paused:"))
        self._enable_transfers()
        # a paused run or an unusable package denoises nothing: None, so the window does not go on running
        # the model selected before (it did, the list showing another entry selected: review)
        self.chosen.emit(self._denoiser(key))
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

    # -- paused training -------------------------------------------------------------------------------
    def resume_current(self) -> bool:
        """Ask for the selected paused run to go on training (``resume_requested`` with its folder)."""
        key = self.current_key() or ""
        if not key.startswith("paused:"):
            return False
        run = self.entries[key]
        user = self.model_user(str(run.path), run.name)
        if user:  # resumed by a job waiting in the queue already: a second one would train it twice
            self.message.emit("Already resumed", f"“{run.name}” is resumed by the job “{user}” (Jobs panel).")
            return False
        self.resume_requested.emit(str(run.path))
        return True

    def _context_menu(self, position) -> None:
        item = self.list.itemAt(position)
        key = item.data(0, ROLE) if item else None
        if not key or not key.startswith("paused:"):
            return
        self.list.setCurrentItem(item)
        menu = QtWidgets.QMenu(self)
        menu.addAction("Resume training", self.resume_current)
        menu.addAction("Discard…", self.delete_current)
        menu.exec(self.list.viewport().mapToGlobal(position))
