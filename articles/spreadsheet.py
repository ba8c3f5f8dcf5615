"""Cells that a spreadsheet would run as formulas, made harmless: shared by every CSV we write
(the corpus export and the agreement download), so that one rule covers both."""

from __future__ import annotations

# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

FORMULA_CHARS = frozenset(FORMULA_STARTS)


def neutralise(value: object) -> object:
    """Prefix a cell a spreadsheet would run as a formula with a single quote. Only text is
    touched: numbers (``-0.25``) stay numbers. Every CSV the project writes goes through this."""
    if isinstance(value, str) and value and value[0] in FORMULA_CHARS:
        return "'" + value
    return value
