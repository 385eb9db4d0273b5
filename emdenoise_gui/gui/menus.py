"""The main window's menu bar: File, Edit, Process, View, Help, each entry wired to a window method.

Every shortcut a user can press is set here (Help ▸ Keyboard Shortcuts lists them from the
menus themselves, ``help.menu_shortcuts``).
"""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

KEY = QtGui.QKeySequence
#: Keys for the standard commands where this platform defines none (Quit and Settings on some Linux desktops).
FALLBACK_KEYS = {KEY.StandardKey.Quit: "Ctrl+Q", KEY.StandardKey.Preferences: "Ctrl+,",
                 KEY.StandardKey.SaveAs: "Ctrl+Shift+S", KEY.StandardKey.HelpContents: "F1",
                 KEY.StandardKey.Find: "Ctrl+F"}


def standard_key(key: QtGui.QKeySequence.StandardKey) -> QtGui.QKeySequence:
    """The platform's keys for a standard command, or :data:`FALLBACK_KEYS`' when it has none."""
    sequence = KEY(key)
    return KEY(FALLBACK_KEYS[key]) if sequence.isEmpty() and key in FALLBACK_KEYS else sequence


def _action(window, menu: QtWidgets.QMenu, text: str, slot, shortcut=None, tip: str = "") -> QtGui.QAction:
    action = QtGui.QAction(text, window)
    if shortcut is not None:
        action.setShortcut(shortcut)
    action.setStatusTip(tip)
    action.triggered.connect(slot)
    menu.addAction(action)
    return action


def _find_model(window) -> None:
    """The zoo shown (a closed dock opened, a tabbed one raised) and its search box ready for typing."""
    dock = window.docks["zoo"]
    dock.show()
    dock.raise_()
    window.zoo_panel.search.setFocus(QtCore.Qt.FocusReason.ShortcutFocusReason)
    window.zoo_panel.search.selectAll()


def build_menus(window) -> dict[str, QtGui.QAction]:
    """Fill ``window``'s menu bar (a ``main_window.MainWindow``); return the actions the window
    enables, disables or triggers, by name ("add", "save_as", "quit", ...)."""
    bar, c = window.menuBar(), window.controller
    actions: dict[str, QtGui.QAction] = {}
    file = bar.addMenu("&File")
    _action(window, file, "&New Project…", window.new_project_dialog, KEY.StandardKey.New)
    _action(window, file, "Open &Project…", window.open_project_dialog, KEY("Ctrl+Shift+O"))
    window.recent_menu = file.addMenu("&Recent Projects")
    window.recent_menu.aboutToShow.connect(window.fill_recent)
    file.addSeparator()
    actions["add"] = _action(window, file, "&Add Stacks…", window.add_stacks_dialog, KEY.StandardKey.Open,
                             "Add TIFF, MRC or OME-Zarr stacks to the project (an OME-Zarr folder: pick its zarr.json)")
    actions["save"] = _action(window, file, "&Save Project", c.save, KEY.StandardKey.Save,
                              "The project is also saved automatically after every change")
    actions["save_as"] = _action(window, file, "Save Project &As…", window.save_as_dialog,
                                 standard_key(KEY.StandardKey.SaveAs), "Go on with this project in another folder (e.g. when its folder is read-only)")
    file.addSeparator()
    actions["quit"] = _action(window, file, "&Quit", window.close, standard_key(KEY.StandardKey.Quit))
    edit = bar.addMenu("&Edit")
    undo = c.undo_stack.createUndoAction(window, "&Undo")
    undo.setShortcut(KEY.StandardKey.Undo)
    redo = c.undo_stack.createRedoAction(window, "&Redo")
    redo.setShortcut(KEY.StandardKey.Redo)
    edit.addAction(undo)
    edit.addAction(redo)
    edit.addSeparator()
    _action(window, edit, "&Find Model or Filter…", lambda: _find_model(window), standard_key(KEY.StandardKey.Find),
            "Type words of a model's or filter's name, kind or description in the zoo's search box")
    edit.addSeparator()
    _action(window, edit, "&Settings…", window.settings_dialog, standard_key(KEY.StandardKey.Preferences))
    process = bar.addMenu("&Process")
    _action(window, process, "&Preview Current Slice", window.preview_current, KEY("Ctrl+P"),
            "Denoise only the slice on screen")
    _action(window, process, "&Denoise Stack", window.denoise_command, KEY("Ctrl+D"),
            "Denoise the whole selected stack(s) into the results folder")
    _action(window, process, "&Train or Fine-tune Model…", lambda: window.train_wizard(), KEY("Ctrl+T"),
            "A guided wizard: from what data you have to a new model in the zoo")
    process.addSeparator()
    _action(window, process, "&Cancel All Jobs", c.cancel_all, KEY("Ctrl+."))
    view = bar.addMenu("&View")
    for dock, text in zip(window.docks.values(), ("&Project Panel", "Model &Zoo Panel", "&Jobs Panel")):
        toggle = dock.toggleViewAction()
        toggle.setText(text)
        view.addAction(toggle)
    _viewer_entries(window.viewer, view)
    help_menu = bar.addMenu("&Help")
    actions["guide"] = _action(window, help_menu, "&User Guide", window.show_guide,
                               standard_key(KEY.StandardKey.HelpContents), "Which denoiser to choose and what the views show")
    actions["shortcuts"] = _action(window, help_menu, "&Keyboard Shortcuts", window.show_shortcuts, KEY("Ctrl+/"))
    actions["system"] = _action(window, help_menu, "&System Information", window.show_system,
                                tip="Version, devices and why a GPU is (not) used: paste it into a bug report")
    help_menu.addSeparator()
    _action(window, help_menu, "&About EMDenoise", window.about)
    return actions


#: The compare view's toolbar commands in the View menu (keyboard users had no way to them): attribute, text
#: with its mnemonic, shortcut
VIEWER_ENTRIES = (("side_by_side", "&Side by Side", "Ctrl+1"), ("split", "Spli&t", "Ctrl+2"),
                  ("blink", "&Blink", "Ctrl+3"), ("high_pass_action", "&High-pass", "Ctrl+Shift+H"),
                  ("residual_action", "Resi&dual", "Ctrl+R"), ("line_action", "&Line Profile", "Ctrl+L"),
                  ("rect_action", "&IQR Box", "Ctrl+I"), ("region_action", "Re&gion", "Ctrl+G"),
                  ("auto_contrast_action", "&Auto Contrast", "Ctrl+Shift+A"),
                  ("reset_view_action", "&Fit Image to Window", "Ctrl+0"))


def _viewer_entries(viewer, menu: QtWidgets.QMenu) -> None:
    """The compare view's modes and tools (its toolbar's actions, so both stay in step) in ``menu``, with
    shortcuts, and its figure and region commands."""
    menu.addSeparator()
    for name, text, keys in VIEWER_ENTRIES:
        action = viewer.mode_actions[name] if name in viewer.mode_actions else getattr(viewer, name)
        action.setIconText(action.iconText())  # the toolbar keeps its short label; the menu says it in full
        action.setText(text)
        action.setShortcut(QtGui.QKeySequence(keys))
        menu.addAction(action)
        if name in ("blink", "residual_action", "region_action"):
            menu.addSeparator()
    figures = viewer.menu
    menu.addActions([figures.save_action, figures.copy_action])
    menu.aboutToShow.connect(figures.update_entries)
