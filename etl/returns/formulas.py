"""Compute the template's subtotal formulas where no program stored their results.

A workbook filled by a program (openpyxl, a HIS export) and never opened in Excel/WPS keeps
the template's formulas (总收入 =C3+C8+…) without cached results. Reading them as blank would
store 0 and bury the hospital's one real mistake under a cascade of sum errors. Formulas of
the template's own shape — cell references on the same sheet joined by + and −, or
SUM(one range) — are computed here, exactly (Decimal), from the sheet's values; anything else
stays an uncomputed Mark and the reader reports it once.
"""
from __future__ import annotations

import re
from decimal import Decimal

from etl.common.amounts import AmountError, parse_amount
from etl.returns.marks import Mark, column_number

_REF = r"\$?([A-Z]{1,3})\$?([0-9]{1,7})"
_TERMS = re.compile(rf"^\s*[+-]?\s*{_REF}(?:\s*[+-]\s*{_REF})*\s*$")
_TERM = re.compile(rf"([+-]?)\s*{_REF}")
_SUM = re.compile(rf"^\s*SUM\(\s*{_REF}\s*:\s*{_REF}\s*\)\s*$", re.IGNORECASE)
MAX_RANGE = 10_000


def compute(values: dict, marks: dict) -> dict:
    """Marks with every simple formula replaced by its Decimal value (or the error it shows).

    `values` maps (row, column) to what calamine read; `marks` the sheet's marks.
    """
    out = dict(marks)
    for pos, mark in marks.items():
        if mark.kind == "formula":
            out[pos] = _value(pos, values, out, set())
    return out


def _value(pos, values, out, seen):
    """A cell's Decimal value, an error Mark, or the formula Mark when it cannot be computed."""
    mark = out.get(pos)
    if mark is None:
        raw = values.get(pos)
        try:
            return parse_amount(raw, blank_is_zero=True)
        except AmountError:
            return Mark("error", "#VALUE!")   # what Excel shows for text in a sum
    if not isinstance(mark, Mark) or mark.kind == "error":
        return mark
    if pos in seen:
        return mark
    terms = _terms(mark.text)
    if terms is None:
        return mark
    seen = seen | {pos}
    total = Decimal(0)
    for sign, ref in terms:
        v = _value(ref, values, out, seen)
        if isinstance(v, Mark):
            out[pos] = v if v.kind == "error" else mark
            return out[pos]
        total += -v if sign == "-" else v
    out[pos] = total
    return total


def _terms(formula: str):
    """[(sign, (row, column))] for '+A1-B2…' or 'SUM(A1:A9)'; None for any other formula."""
    text = formula.lstrip("=").replace("of:", "").replace("[.", "").replace("]", "").replace(".", "")
    if _TERMS.match(text):
        return [(sign or "+", (int(row), column_number(col))) for sign, col, row in _TERM.findall(text)]
    m = _SUM.match(text)
    if m:
        c1, r1, c2, r2 = column_number(m[1]), int(m[2]), column_number(m[3]), int(m[4])
        if (abs(r2 - r1) + 1) * (abs(c2 - c1) + 1) > MAX_RANGE:
            return None
        return [("+", (r, c)) for r in range(min(r1, r2), max(r1, r2) + 1) for c in range(min(c1, c2), max(c1, c2) + 1)]
    return None
