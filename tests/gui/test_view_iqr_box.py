"""The IQR box starts on the flattest region, sized in nm; no tools over empty views; screenshot."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
import tifffile  # noqa: E402
from scipy import ndimage  # noqa: E402

from emdenoise_gui.core.assess import flattest_region  # noqa: E402
from emdenoise_gui.gui.panels.box_placement import box_side_px  # noqa: E402
from emdenoise_gui.gui.panels.compare_view import CompareView  # noqa: E402
from tests.gui.test_compare_view import FIBSEM_NAME, CountingStack  # noqa: E402

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / FIBSEM_NAME
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def structured(shape=(240, 320), seed=0):
    """Membrane-like structure everywhere except a flat patch at rows 150-210, columns 40-100."""
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(rng.normal(size=shape), 3) * 400 + 1000
    image[150:210, 40:100] = 1000.0
    return (image + rng.normal(0, 5, shape)).astype(np.float32)


def make_view(qtbot, size=(1000, 700)):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_box_side_follows_the_pixel_size():
    assert box_side_px((4096, 4096), (5.0, 5.0, 5.0)) == 50  # 250 nm
    assert box_side_px((4096, 4096), (1.0, 1.0, 1.0)) == 250
    assert box_side_px((520, 520), (1.0, 1.0, 1.0)) == 104  # at most 20 % of the short side
    assert box_side_px((4096, 4096), (40.0, 40.0, 40.0)) == 24  # at least 24 px
    assert box_side_px((4096, 2048), None) == 205  # a tenth of the short side without a pixel size
    assert box_side_px((100, 100), None) == 24
    assert box_side_px((16, 16), None) == 16  # never more than the image


def test_no_line_or_box_over_empty_views(qtbot):
    view = make_view(qtbot)
    rois = view.measure_panel.line.rois + view.measure_panel.box.rois
    assert not any(roi.isVisible() for roi in rois)
    assert not view._scale_bars
    view.set_original(structured()[None], "stack")
    assert all(roi.isVisible() for roi in rois)


def test_box_goes_to_the_flattest_region(qtbot):
    image = structured()
    view = make_view(qtbot)
    view.set_original(CountingStack(image[None], (10.0, 10.0, 10.0)), "stack")
    side = box_side_px(image.shape, (10.0, 10.0, 10.0))
    expected = flattest_region(image, side)
    qtbot.waitUntil(lambda: view.rect() == expected, timeout=5000)
    y0, x0, y1, x1 = expected
    assert (y1 - y0, x1 - x0) == (side, side) and 150 <= y0 and y1 <= 210 and 40 <= x0 and x1 <= 100


def test_box_stays_where_the_user_or_a_saved_view_put_it(qtbot):
    image = structured()
    view = make_view(qtbot)
    view.set_original(image[None], "stack")
    view.set_rect((10, 10, 40, 40))  # before the search is back
    view.box_placer.background.wait(5000)
    qtbot.wait(50)
    assert view.rect() == (10, 10, 40, 40)
    other = make_view(qtbot)
    other.set_original(image[None], "stack")
    other.restore_state({"rect": [20, 30, 50, 60]})
    other.box_placer.background.wait(5000)
    qtbot.wait(50)
    assert other.rect() == (20, 30, 50, 60)


def test_screenshot_iqr_box_on_a_fibsem_slice(qtbot):
    """docs/images/view_iqr_box.png: the pink box on the flattest part of a real FIB-SEM slice."""
    if not DATA.exists():
        pytest.skip("../shared/data is not beside this checkout")
    stack = tifffile.imread(DATA, key=range(2))
    view = make_view(qtbot, (1200, 800))
    view.set_original(CountingStack(stack, (10.0, 10.0, 10.0)), FIBSEM_NAME)
    view.set_result(np.stack([ndimage.gaussian_filter(s.astype(np.float32), 1.5) for s in stack]),
                    "Gaussian σ 1.5 px")
    expected = flattest_region(stack[0], 25)
    qtbot.waitUntil(lambda: view.rect() == expected, timeout=5000)
    qtbot.wait(100)
    IMAGES.mkdir(parents=True, exist_ok=True)
    assert view.grab().save(str(IMAGES / "view_iqr_box.png"))
    assert "25×25 px = 250 nm × 250 nm" in view.iqr_label.text()
