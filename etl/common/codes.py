"""Identifiers the platform checks: credit codes, region codes and periods."""
from __future__ import annotations

import datetime as dt
import re

# GB 32100-2015 unified social credit code: 31 characters (no I, O, Z, S, V).
CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CREDIT_PATTERN = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
REGION_PATTERN = re.compile(r"^[1-9][0-9]{5}$")
# \Z, not $: "2026-10\n" is not a period.
PERIOD_PATTERN = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])\Z")
PERIOD_CN_PATTERN = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月$")


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS))
    return CREDIT_CHARSET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """Why `code` is not a valid credit code, in Chinese, or None if it is."""
    if not CREDIT_PATTERN.match(code or ""):
        return "应为18位统一社会信用代码（数字或大写字母，不含I、O、Z、S、V）"
    if credit_check_char(code[:17]) != code[17]:
        return f"校验位错误：第18位应为“{credit_check_char(code[:17])}”"
    return None


def number_code_problem(value) -> str | None:
    """Why a credit code cell holding a number (Excel turned the text into 1.25101E+17) is
    unusable, in Chinese, or None for text. Excel keeps 15 significant digits, so the 18-digit
    code cannot be recovered from the number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    shown = f"{value:.5E}" if abs(value) >= 1e11 else str(value)   # as Excel's 常规 format shows it
    return (f"被 Excel 当作数字保存（显示为 {shown}），18位代码已无法还原；请将该单元格设为“文本”格式，"
            "重新输入完整代码（或在代码前加英文单引号 '）后上传")


def with_check_char(first17: str) -> str:
    """Complete a 17-character stem into a valid credit code (used by the demo)."""
    return first17 + credit_check_char(first17)


def parse_period(value) -> str | None:
    """`YYYY-MM` from 'YYYY-MM', 'YYYY年M月' or a date cell; None if it is none of them."""
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value.year:04d}-{value.month:02d}"
    text = str(value or "").strip()
    if PERIOD_PATTERN.match(text):
        return text
    m = PERIOD_CN_PATTERN.match(text)
    if m and 1 <= int(m.group(2)) <= 12:
        return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"
    return None


def period_index(period: str) -> int:
    """Months since year 0: consecutive periods differ by one."""
    return int(period[:4]) * 12 + int(period[5:7]) - 1


def period_from_index(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def shift_period(period: str, months: int) -> str:
    return period_from_index(period_index(period) + months)


def period_end(period: str) -> dt.date:
    nxt = shift_period(period, 1)
    return dt.date(int(nxt[:4]), int(nxt[5:7]), 1) - dt.timedelta(days=1)


def default_deadline(period: str, day: int = 10) -> dt.date:
    nxt = shift_period(period, 1)
    return dt.date(int(nxt[:4]), int(nxt[5:7]), day)


def periods_between(first: str, last: str) -> list[str]:
    return [period_from_index(i) for i in range(period_index(first), period_index(last) + 1)]
