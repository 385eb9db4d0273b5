"""Decimal numbers typed in German, French or English read as meant (locale audit of 2026-12-06): German "0.5"
was read as 5 and "12.5" as 125 (a thousands separator), and a box wired to its wizard page dropped the decimals
typed after the separator ("12,5" became 12)."""

import pytest

pytest.importorskip("pytestqt")
from PySide6 import QtCore, QtWidgets  # noqa: E402

from emdenoise_gui.gui.decimal_box import DecimalBox  # noqa: E402


@pytest.fixture
def in_locale():
    before = QtCore.QLocale()

    def use(language, country):
        QtCore.QLocale.setDefault(QtCore.QLocale(language, country))

    yield use
    QtCore.QLocale.setDefault(before)


def _typed(qtbot, box, text):
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), text)
    qtbot.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)
    return box.value()


@pytest.mark.parametrize("language, country", [(QtCore.QLocale.Language.German, QtCore.QLocale.Country.Germany),
                                               (QtCore.QLocale.Language.French, QtCore.QLocale.Country.France),
                                               (QtCore.QLocale.Language.English, QtCore.QLocale.Country.UnitedStates)])
def test_both_decimal_marks_read_as_the_decimal_point_on_a_wizard_page(qtbot, in_locale, language, country):
    in_locale(language, country)
    page = QtWidgets.QWizardPage()
    box = DecimalBox(minimum=0.5, maximum=1e6, decimals=1)
    box.setSuffix(" e⁻/px")
    box.valueChanged.connect(page.completeChanged)  # as the data page wires its dose boxes
    QtWidgets.QVBoxLayout(page).addWidget(box)
    qtbot.addWidget(page)
    page.show()
    assert _typed(qtbot, box, "12.5") == pytest.approx(12.5)
    if QtCore.QLocale().decimalPoint() == ",":
        assert _typed(qtbot, box, "12,5") == pytest.approx(12.5)
        assert _typed(qtbot, box, "0.5") == pytest.approx(0.5)  # was 5


def test_a_learning_rate_typed_with_a_point_in_german(qtbot, in_locale):
    in_locale(QtCore.QLocale.Language.German, QtCore.QLocale.Country.Germany)
    box = DecimalBox(minimum=0.0, maximum=0.1, decimals=5, singleStep=1e-4, specialValueText="automatic")
    qtbot.addWidget(box)
    box.show()
    assert _typed(qtbot, box, "0.0005") == pytest.approx(0.0005)  # was refused: the box stayed "automatic"


def test_the_app_writes_numbers_as_its_english_labels_do_and_reads_a_decimal_comma(qtbot, in_locale):
    """Under a German system locale the boxes showed "0,00050" beside labels saying "24.4 steps per second"."""
    from emdenoise_gui.gui.app import use_english_numbers

    in_locale(QtCore.QLocale.Language.German, QtCore.QLocale.Country.Germany)
    use_english_numbers()
    box = DecimalBox(minimum=0.5, maximum=1e6, decimals=1)
    qtbot.addWidget(box)
    box.show()
    box.setValue(1500.5)
    assert box.text() == "1500.5"
    assert _typed(qtbot, box, "12.5") == pytest.approx(12.5)
    assert _typed(qtbot, box, "0,5") == pytest.approx(0.5)  # a German decimal comma: not "05"
    assert _typed(qtbot, box, "2,50") == pytest.approx(2.5)  # more decimals than the box shows: rounded, not 250
    assert _typed(qtbot, box, "1,000") == pytest.approx(1000.0)  # an English thousands separator, as it reads
