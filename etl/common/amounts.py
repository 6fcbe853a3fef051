"""Numbers as hospitals type them: numbers, cached formula values, or text."""
from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal, InvalidOperation

UNIT_FACTORS = {"元": Decimal(1), "千元": Decimal(1000), "万元": Decimal(10000)}
DASHES = {"-", "—", "–", "－", "——", "--", "/"}


class AmountError(ValueError):
    """A cell that should hold a number does not; the message is Chinese, for the user."""


def parse_amount(value, blank_is_zero: bool) -> Decimal | None:
    """Read one amount cell exactly.

    Accepts numbers, '1,234.50', full-width digits, '(1,234)' and '-1234' as negatives.
    A blank or a dash is zero where `blank_is_zero` (表1–表3) and None ("not given")
    elsewhere. Raises AmountError for a percent sign, a date, or any other text.
    """
    if value is None or value == "":
        return Decimal(0) if blank_is_zero else None
    if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime, dt.time)):
        raise AmountError("应为金额数字，不能是日期或逻辑值")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise AmountError("不是有效数字")
        if value.is_integer() and abs(value) < 1e15:
            return Decimal(int(value))
        # str() gives the shortest text that round-trips, i.e. what Excel shows.
        return Decimal(str(value))
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    if text in DASHES or text == "":
        return Decimal(0) if blank_is_zero else None
    if "%" in text:
        raise AmountError(f"金额单元格不能含百分号：“{value}”")
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1]
    text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise AmountError(f"不是数字：“{value}”") from None
    if not number.is_finite():
        raise AmountError(f"不是数字：“{value}”")
    return -number if negative else number


def cell_text(value) -> str:
    """A cell as trimmed text ('' for blank); whole floats lose their '.0'."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFKC", str(value)).strip()
