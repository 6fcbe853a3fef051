"""Numbers as hospitals type them: numbers, cached formula values, or text."""
from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal, InvalidOperation

UNIT_FACTORS = {"元": Decimal(1), "千元": Decimal(1000), "万元": Decimal(10000)}
# The precision each unit is ordinarily presented at, in that unit: 元 to the fen, 千元 in whole
# numbers, 万元 to two decimals (100 yuan). Equalities hold within what rounding to it allows.
UNIT_PRECISION = {"元": Decimal("0.01"), "千元": Decimal(1), "万元": Decimal("0.01")}
MIN_TOLERANCE = Decimal(1)
CURRENCY_SIGNS = ("¥", "RMB", "CNY")
DASHES = {"-", "—", "–", "－", "——", "--", "/"}


class AmountError(ValueError):
    """A cell that should hold a number does not; the message is Chinese, for the user."""


class AmountUnitError(AmountError):
    """A number typed with a unit word that is not the return's unit ('1,234.00元' in 万元)."""


def tolerance(unit: str | None, figures: int) -> Decimal:
    """How far (yuan) an equality of `figures` rounded amounts may miss and still hold.

    Each figure typed at the unit's precision is off by at most half of it, so a total and
    its parts (figures = parts + 1) may differ by figures × half a unit of precision; never
    less than 1 yuan. 元: 1 yuan up to 200 figures; 万元 at 2 decimals: 50 yuan a figure;
    千元 whole: 500 yuan a figure.
    """
    if unit not in UNIT_FACTORS:
        return MIN_TOLERANCE
    half = UNIT_FACTORS[unit] * UNIT_PRECISION[unit] / 2
    return max(MIN_TOLERANCE, half * figures)


def parse_amount(value, blank_is_zero: bool, unit: str | None = None) -> Decimal | None:
    """Read one amount cell exactly.

    Accepts numbers, '1,234.50', full-width digits, '(1,234)' and '-1234' as negatives, a
    leading ¥ (a currency mark, not a magnitude) and a trailing unit word equal to `unit`
    (the cover's 金额单位: '28237.8745万元' in a 万元 return). A blank or a dash is zero where
    `blank_is_zero` (表1–表3) and None ("not given") elsewhere. Raises AmountUnitError for a
    unit word other than `unit`, AmountError for a percent sign, a date, or any other text.
    """
    if isinstance(value, float):        # first: most cells are numbers (neither bool nor a date is a float)
        if value != value or value in (float("inf"), float("-inf")):
            raise AmountError("不是有效数字")
        if value.is_integer() and abs(value) < 1e15:
            return Decimal(int(value))
        # str() gives the shortest text that round-trips, i.e. what Excel shows.
        return Decimal(str(value))
    if value is None or value == "":
        return Decimal(0) if blank_is_zero else None
    if isinstance(value, bool) or isinstance(value, (dt.date, dt.datetime, dt.time)):
        raise AmountError("应为金额数字，不能是日期或逻辑值")
    if isinstance(value, int):
        return Decimal(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    if text in DASHES or text == "":
        return Decimal(0) if blank_is_zero else None
    if "%" in text:
        raise AmountError(f"金额单元格不能含百分号：“{value}”")
    minus, core = ("-", text[1:]) if text.startswith("-") else ("", text)
    for sign in CURRENCY_SIGNS:
        if core.upper().startswith(sign):
            text = minus + core[len(sign):]
    word = next((w for w in ("万元", "千元", "元") if text.endswith(w)), None)
    if word:
        text = text[:-len(word)]
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
    if word and word != unit:   # a number with another unit ('十万元' is not a number: above)
        raise AmountUnitError(f"金额带有单位“{word}”，与封面金额单位“{unit or '（未填）'}”不一致：“{value}”")
    return -number if negative else number


def cell_text(value) -> str:
    """A cell as trimmed text ('' for blank); whole floats lose their '.0'."""
    if value is None:
        return ""
    if type(value) is str and value.isascii():      # NFKC leaves ASCII as it is
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return unicodedata.normalize("NFKC", str(value)).strip()
