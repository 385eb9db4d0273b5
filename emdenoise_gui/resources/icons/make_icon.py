"""Rebuild the app icon from the bundled FlyEM demo (run from the repo root with Qt installed).

The icon is one slice of the demo crop in a rounded square, split along its diagonal: the noisy
input above, the clean image below, so it says what the app does. Written as PNG at the sizes a
desktop asks for (emdenoise_<N>.png); the installer makes the Windows .ico and macOS .icns from
the largest. Derived from the FlyEM FIB-SEM volume (CC BY 3.0): see ../demo/ATTRIBUTION.md.
"""

from pathlib import Path

import numpy as np
import tifffile
from PySide6 import QtCore, QtGui

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "demo"
SIZES = (48, 128, 256, 512)
SLICE, CROP = 8, (slice(40, 232), slice(40, 232))  # 192 x 192 px of slice 8


def _image(path: Path) -> QtGui.QImage:
    """Slice SLICE of the demo stack at ``path``, cropped, as an 8-bit grey QImage."""
    pixels = np.ascontiguousarray(tifffile.imread(path, key=SLICE)[CROP])
    image = QtGui.QImage(pixels.data, pixels.shape[1], pixels.shape[0], pixels.strides[0],
                         QtGui.QImage.Format.Format_Grayscale8)
    return image.copy()


def draw(size: int) -> QtGui.QImage:
    """The icon as a size x size ARGB image with a transparent margin."""
    noisy, clean = _image(DEMO / "flyem_fibsem_demo_noisy.tif"), _image(DEMO / "flyem_fibsem_demo.tif")
    icon = QtGui.QImage(size, size, QtGui.QImage.Format.Format_ARGB32_Premultiplied)
    icon.fill(QtCore.Qt.GlobalColor.transparent)
    painter = QtGui.QPainter(icon)
    painter.setRenderHints(QtGui.QPainter.RenderHint.Antialiasing | QtGui.QPainter.RenderHint.SmoothPixmapTransform)
    margin = size * 0.06
    box = QtCore.QRectF(margin, margin, size - 2 * margin, size - 2 * margin)
    frame = QtGui.QPainterPath()
    frame.addRoundedRect(box, size * 0.16, size * 0.16)
    painter.setClipPath(frame)
    painter.drawImage(box, clean)
    upper = QtGui.QPainterPath()
    upper.addPolygon(QtGui.QPolygonF([box.topLeft(), box.topRight(), box.bottomLeft()]))
    painter.setClipPath(frame.intersected(upper))
    painter.drawImage(box, noisy)
    painter.setClipPath(frame)
    painter.setPen(QtGui.QPen(QtGui.QColor("#ffb000"), max(2.0, size * 0.03)))
    painter.drawLine(box.topRight(), box.bottomLeft())
    painter.setClipping(False)
    painter.setPen(QtGui.QPen(QtGui.QColor("#2b2b2b"), max(1.0, size * 0.012)))
    painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
    painter.drawPath(frame)
    painter.end()
    return icon


if __name__ == "__main__":
    app = QtGui.QGuiApplication([])
    for size in SIZES:
        draw(size).save(str(HERE / f"emdenoise_{size}.png"))
