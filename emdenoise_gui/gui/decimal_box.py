"""A spin box for decimal numbers a person types, in any locale."""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets


class DecimalBox(QtWidgets.QDoubleSpinBox):
    """A QDoubleSpinBox (same keyword properties) that reads what people type the same way in every locale.

    - Where the locale's decimal point is "," (German, French, Turkish), "." is read as the decimal point too:
      German "0.5" was read as 5 ("." taken for a thousands separator) and "12.5" as 125, without a word.
    - Thousands separators are refused, never read.
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
        point = self.locale().decimalPoint()
        return text.replace(".", point) if point != "." else text

    def validate(self, text: str, position: int):
        return super().validate(self._in_locale(text), position)

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt's name
        return super().valueFromText(self._in_locale(text))
