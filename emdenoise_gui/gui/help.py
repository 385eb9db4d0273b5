"""Help ▸ Keyboard Shortcuts and Help ▸ User Guide: what the keys do and how to choose a denoiser.

The shortcuts are read from the window's own menus (so the list cannot drift from them) plus
the image views' keys (``panels.keys.SHORTCUTS``) when that module is there. The guide is
short HTML in a QTextBrowser; its facts follow ``models.registry`` (families, what each
trains on), ``core.baselines`` (the filters) and the compare view's tools.
"""

from __future__ import annotations

import html

from PySide6 import QtCore, QtGui, QtWidgets


def menu_shortcuts(window: QtWidgets.QMainWindow) -> list[tuple[str, str, str]]:
    """(menu, command, keys) for every menu entry of ``window`` that has a shortcut, in menu order.

    Keys are written the way this computer shows them (Ctrl+O, or ⌘O on a Mac).
    """
    rows = []

    def walk(menu: QtWidgets.QMenu, path: str) -> None:
        for action in menu.actions():
            if action.menu() is not None:
                walk(action.menu(), f"{path} ▸ {action.text().replace('&', '')}")
            elif not action.isSeparator() and not action.shortcut().isEmpty():
                keys = action.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
                rows.append((path, action.text().replace("&", ""), keys))

    for top in window.menuBar().actions():
        if top.menu() is not None:
            walk(top.menu(), top.text().replace("&", ""))
    return rows


def viewer_shortcuts() -> list[tuple[str, str]]:
    """(keys, what they do) of the image views, or [] when this version's viewer has no key list."""
    try:
        from emdenoise_gui.gui.panels.keys import SHORTCUTS
    except ImportError:
        return []
    return [(str(keys), str(what)) for keys, what in SHORTCUTS]


def shortcuts_html(window: QtWidgets.QMainWindow) -> str:
    """Both lists as HTML tables."""
    def table(header: tuple[str, ...], rows) -> str:
        head = "".join(f"<th align=left>{html.escape(h)}</th>" for h in header)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
        return f"<table cellspacing=0 cellpadding=4><tr>{head}</tr>{body}</table>"

    menus = [(keys, command, menu) for menu, command, keys in menu_shortcuts(window)]
    text = "<h3>Menus</h3>" + table(("Keys", "Command", "Menu"), menus)
    viewer = viewer_shortcuts()
    if viewer:
        text += ("<h3>Image views</h3><p>Click an image first, so the keys go to the views.</p>"
                 + table(("Keys", "What it does"), viewer))
    return text


USER_GUIDE = """
<h2>EMDenoise in five minutes</h2>
<p><b>Projects.</b> A project is a folder. It remembers your stacks, the results made from them and
where you were in the viewer. Your input files are never changed or copied. Results go to the
project's <i>results</i> folder (or the folder set in Edit ▸ Settings), named
<i>stem_method</i> by default, e.g. <i>cells_flyem-nrrn-lite.tif</i>; an existing file is never
overwritten.</p>
<p><b>Stacks.</b> Drag TIFF or MRC files, OME-Zarr (.zarr) folders, or folders holding them onto the window, or use File ▸ Add Stacks (for an OME-Zarr folder, open it there and pick its <i>zarr.json</i>, or <i>.zattrs</i> in an older store).</p>
<p><b>Denoising.</b> When you show a stack the model zoo (right) marks how well each model fits it and
selects the app's pick; choose another if you like. Process ▸ Preview Current Slice tries it on the
slice on screen, and Process ▸ Denoise Stack runs it on the whole stack (if you chose a model that fits
the stack on screen poorly, it asks first; with several stacks selected, each is denoised with the same choice,
and it first checks how that fits each of them and names those it fits poorly; Stop check in the status bar,
or Esc, stops that check). Jobs run in the background (bottom panel); you can keep working and
cancel them there.</p>

<h2>Which denoiser?</h2>
<table cellspacing=0 cellpadding=4>
<tr><td><b>NRRN</b><br>(Noise2Noise from adjacent slices)</td>
<td>For <b>FIB-SEM stacks</b> (and serial sections thin enough that neighbouring slices are nearly alike), or for
<b>repeat scans</b> of the same area. Trained by you, it learns from your noisy stack itself: no clean images
needed (Process ▸ Train or Fine-tune Model). Each slice is denoised together with its
two neighbours. The shipped FlyEM FIB-SEM models are the default; they were trained on clean FlyEM slices with
shot noise added (their cards say so), not on your detector's noise; the lite one is the fast one.</td></tr>
<tr><td><b>Noise2Void</b><br>(N2V2 U-Net)</td>
<td>For <b>a single noisy image or stack</b> when nothing else is available. It trains on the noisy
images themselves and assumes the noise is independent from pixel to pixel (shot and read noise);
it cannot remove streaks or patterns that span several pixels.</td></tr>
<tr><td><b>Xception</b><br>(Ede &amp; Beanland 2019)</td>
<td>For <b>low-dose shot noise</b>. It is trained on <b>clean micrographs</b> to which Poisson noise
is added at a dose (electrons per pixel) you choose; it works best on images whose dose lies in the
range its model card names.</td></tr>
<tr><td><b>Cyclic GAN</b><br>(Quan et al. 2019)</td>
<td>For <b>artifacts no formula describes</b>, such as support-film texture or charging. It learns
from <b>unpaired examples</b>: clean images, patches of pure noise (blank regions, empty film) and
noisy images. For <b>uneven film shading and charging blobs</b> it can also learn from clean images
alone, with those artifacts drawn on them (the shipped <i>flyem-cyclic-artifacts</i> is made that
way, a third of its examples with shot noise on top; it removes the artifacts and the noise that comes
with them, but on plain shot noise NRRN is far better).</td></tr>
<tr><td><b>Classical filters</b></td>
<td>The Gaussian whose width is chosen for each image (<i>width by SURE</i>), Gaussian, median, Wiener,
wavelet and BM3D, plus 3-slice versions for stacks. They need no training: use
them <b>to compare</b> a network against, and as a fallback (the app falls back to the SURE-tuned
Gaussian where no model fits). BM3D is about as good as the SURE-tuned Gaussian on a single image and
hundreds of times slower; it is not shipped (its bm3d package is free for non-commercial use only): install
it yourself where its terms suit you. For <b>film shading or uneven illumination</b> try <i>Flat-field (divide)</i>,
for <b>charging</b> <i>Flat-field (subtract)</i>: they remove the slice's smooth background (anything larger
than about 100 px), then smooth with the SURE-tuned Gaussian. The <i>paper baselines</i> (bilateral, total variation (Chambolle and split Bregman), non-local means)
keep the papers' fixed settings: they are there to reproduce those comparisons, not for real data.</td></tr>
</table>
<p><b>How to choose.</b> A FIB-SEM stack, or any stack whose neighbouring slices are nearly alike: start with
NRRN (serial sections 50 nm apart are not alike: the zoo grades NRRN a poor fit there, Noise2Void suits them). One noisy micrograph: an
NRRN model also reads a single image (as its own neighbours), when its pixel size matches; or train
Noise2Void on the image itself. Low-dose images and clean examples of the same kind of specimen: Xception. Film or
charging artifacts: the cyclic GAN (with blank regions of the noisy images to learn from, or clean
images alone for shading and charging blobs). Always
compare with a classical filter on the same slice: a network should keep membranes and edges that
the filter blurs. The model zoo marks how well each model fits the shown stack.</p>

<h2>What the views show</h2>
<p><b>Side by side</b>: original left, result right; panning and zooming move both. <b>Split</b>: one
image, original left of the yellow divider, result right of it. <b>Blink</b>: original and result
alternate, so any shift or lost detail jumps out. One histogram sets the contrast of both.</p>
<p><b>Plain</b> views show the grey values. <b>High-pass</b> shows each image minus a Gaussian blur
(σ 5 px): shading, charging gradients and dose drift disappear and what is left is the fine
detail and the noise. Use it to see whether a denoiser removed noise or structure.
<b>Residual</b> shows original − result, what the denoiser took away: it should look like
featureless noise. Membranes or edges in the residual mean detail was lost.</p>
<p><b>Line profile</b> (yellow line): the grey values along the line in both images, plotted below
the views (orange: original, blue: result). A good result keeps the steps at membranes and edges
and flattens the jitter between them.</p>
<p><b>IQR box</b> (pink box): the interquartile range (75th minus 25th percentile) of the grey values
inside the box, for the original and the result, and their ratio. On a flat region (cytoplasm,
resin) it measures the noise, so a lower IQR in the result means less noise; across membranes it
measures contrast instead. It starts on the flattest part of the slice.</p>
"""


class TextDialog(QtWidgets.QDialog):
    """A resizable window showing HTML ``text`` with a Close button (Help menu)."""

    def __init__(self, title: str, text: str, parent=None, size=(640, 560)):
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QtWidgets.QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setHtml(text)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(*size)
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_DeleteOnClose)


def shortcuts_dialog(window: QtWidgets.QMainWindow) -> TextDialog:
    """Help ▸ Keyboard Shortcuts for ``window`` (shown by the caller)."""
    return TextDialog("Keyboard shortcuts", shortcuts_html(window), window, size=(560, 760))


def guide_dialog(window: QtWidgets.QMainWindow) -> TextDialog:
    """Help ▸ User Guide (shown by the caller)."""
    return TextDialog("EMDenoise user guide", USER_GUIDE, window, size=(720, 640))


def system_rows() -> list[tuple[str, str]]:
    """``emdenoise doctor``'s rows with the Qt platform the app really runs on (call off the GUI thread:
    it may import torch)."""
    from emdenoise_gui.cli.doctor import system_report

    platform = QtGui.QGuiApplication.platformName() or "unknown"
    return [(label, platform if label == "Qt platform" else value) for label, value in system_report()]


def system_dialog(window: QtWidgets.QMainWindow) -> TextDialog:
    """Help ▸ System Information: what ``emdenoise doctor`` prints, gathered off the GUI thread, with a
    Copy button for a bug report (shown by the caller)."""
    from emdenoise_gui.cli.doctor import format_report
    from emdenoise_gui.gui.panels.background import run_later

    dialog = TextDialog("System information", "<p>Gathering…</p>", window, size=(720, 420))
    copy = QtWidgets.QPushButton("Copy for a bug report")
    copy.setEnabled(False)
    dialog.layout().insertWidget(1, copy)

    def show(rows, error) -> None:
        if error is not None:
            dialog.browser.setPlainText(f"Could not gather the information: {error}")
            return
        dialog.report = format_report(rows)
        dialog.browser.setHtml("<table cellspacing=4>" + "".join(
            f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(v)}</td></tr>" for k, v in rows) + "</table>")
        copy.setEnabled(True)

    copy.clicked.connect(lambda: QtWidgets.QApplication.clipboard().setText(dialog.report))
    run_later(system_rows, show)
    return dialog
