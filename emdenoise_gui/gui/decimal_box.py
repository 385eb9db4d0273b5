"""A spin box for decimal numbers a person types, in any locale."""

from __future__ import annotations

import re

from PySide6 import QtCore, QtGui, QtWidgets


class DecimalBox(QtWidgets.QDoubleSpinBox):
    """A QDoubleSpinBox (same keyword properties) that reads what people type the same way in every locale.

    - "." and "," are both read as the decimal point: in a German locale "0.5" was read as 5 ("." taken for a
      thousands separator) and "12.5" as 125, without a word; in the app's English one (gui.app) a German
      "0,5" is 0.5, not "05".
    - Thousands separators are never read as a decimal mark ("1,000" in the app's English locale is 1000, not
      1.0; in a German one "1.000" is 1.0, as "." is read as its decimal point).
    - The value is taken when typing ends (Return, Tab, a click elsewhere): a box whose valueChanged updates its
      wizard page was reformatted under the cursor at every key ("12," became "12,0"), dropping the decimals
      typed next.
    """

    def __init__(self, **properties):
        super().__init__(**properties)
        locale = QtCore.QLocale()
        locale.setNumberOptions(locale.numberOptions() | QtCore.QLocale.NumberOption.RejectGroupSeparator)
        self.setLocale(locale)
        self.setKeyboardTracking(False)

    def _in_locale(self, text: str) -> str:
        """``text`` with the other decimal mark ("," in an English locale, "." in a German one) as this locale's
        decimal point; in an English locale a comma before three digits ("1,000", "12,500.5") is the thousands
        separator an English reader means, and goes."""
        point = self.locale().decimalPoint()
        other = "," if point == "." else "."
        if other == "," and re.search(r"\d,\d{3}(?!\d)", text):
            return text.replace(",", "")
        return text.replace(other, point)

    def validate(self, text: str, position: int):
        state = super().validate(self._in_locale(text), position)[0]
        if state == QtGui.QValidator.State.Invalid and self.locale().decimalPoint() == "." \
                and re.search(r"\d,\d{0,2}(?!\d)", text):
            state = QtGui.QValidator.State.Intermediate  # "1,00" on its way to "1,000": too many decimals yet
        return state, text, position  # the text as typed: a comma becomes a point only when the value is read

    def fixup(self, text: str) -> str:
        """A text left unfinished when typing ends ("2,50" with one decimal): its number rounded to the box's
        decimals (Qt's own fixup dropped the comma as a thousands separator: 250)."""
        core = text.removeprefix(self.prefix()).removesuffix(self.suffix()).strip()
        digits = re.sub(r"[^0-9.eE+-]", "", self._in_locale(core).replace(self.locale().decimalPoint(), "."))
        try:
            number = float(digits)
        except ValueError:
            return text
        return self.prefix() + self.textFromValue(number) + self.suffix()

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt's name
        return super().valueFromText(self._in_locale(text))
