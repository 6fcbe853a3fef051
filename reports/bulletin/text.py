"""How the bulletin writes things: a count, a share, an amount in 亿元, a period in Chinese."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

COLOURS = ("red", "yellow", "green", "missing")
LEVEL_GROUPS = ("三级", "二级", "一级", "未定级")

def share(part: int, whole: int) -> str:
    """'12.5%' — written as the submissions page writes its rates."""
    return "—" if not whole else "%.1f%%" % (part / whole * 100)


def yi(amount: Decimal | None) -> str:
    """Yuan as 亿元 with two decimals."""
    if amount is None:
        return "—"
    return f"{(Decimal(amount) / Decimal(100_000_000)).quantize(Decimal('0.01'), ROUND_HALF_UP):,}亿元"


def percent(value: Decimal | None, places: int = 1) -> str:
    if value is None:
        return "—"
    return f"{(Decimal(value) * 100).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)}%"


def change(now: int, before: int | None, unit: str = "家") -> str:
    if before is None:
        return "无可比数据"
    if now == before:
        return "持平"
    return f"{'增加' if now > before else '减少'}{abs(now - before)}{unit}"


def cn_period(period: str) -> str:
    return f"{int(period[:4])}年{int(period[5:])}月"


def level_group(level: str) -> str:
    return next((g for g in LEVEL_GROUPS if level.startswith(g)), level)
