"""Project one indicator 1–3 months ahead from the hospital's own history, and say why.

The model, kept explainable (docs/forecast.md):

- trend: the Theil–Sen slope (median of the slopes between every pair of months) over the
  last WINDOW months that have a value, at least MIN_POINTS of them, the latest being the
  origin month itself; the projection starts from the latest value: y(t+h) = y(t) + b·h.
  Year-to-date indicators (YEAR_TO_DATE) take the window within the origin's year only.
- season, where the same months a year earlier are known (y(t−12) and y(t−12+h), and
  MIN_POINTS values in the window a year earlier): last year's change over the same h months
  minus last year's own trend, y(t−12+h) − y(t−12) − b₋₁₂·h, is added. With no season this
  term is ~0; with no change of trend the whole projection is last year's change.

Only months up to the origin are read, so a history that also holds later months projects
the same (the backtest relies on it). Projections are floats: the values are ratios, days,
months and amounts projected for a warning, never stored or added up as money, so exact
decimals would buy nothing; the values shown as "now" and the thresholds stay exact.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from statistics import median

from etl.ratings import indicators as registry
from etl.ratings import overview

WINDOW = 6          # months of the trend
MIN_POINTS = 3      # values the trend needs inside its window
SEASON = 12
HORIZONS = (1, 2, 3)
RANK = {"green": 1, "yellow": 2, "red": 3}
COLOUR_NAMES = overview.COLOUR_NAMES
# Units whose values cannot go below zero (a projection is clamped there).
NON_NEGATIVE = {"days", "months", "money", "yuan"}
# A seasonal term smaller than this share of the distance moved is not worth a clause.
SEASON_WORDS_SHARE = 0.2
# Indicators read from 本年累计数 start again each January: their trend is taken within the
# origin's year only (in January and February there is no trend, so no projection).
YEAR_TO_DATE = frozenset(i.id for i in registry.REGISTRY if any(a.endswith("_y") for a in i.reads))


@dataclass(frozen=True)
class Projection:
    indicator: str
    origin: int                     # period index of the latest month used
    now: Decimal                    # the value at the origin, exact as stored
    slope: float                    # per month, over this year's window
    points: int                     # months with a value in the window
    seasonal: tuple[float, ...]     # per horizon; () when last year is not known
    values: tuple[float, ...]       # projected, per horizon 1..3 (seasonal term included)
    trend_values: tuple[float, ...]  # projected by the trend alone

    def at(self, h: int, seasonal: bool = True) -> float:
        return (self.values if seasonal else self.trend_values)[h - 1]


def theil_sen(points: list[tuple[int, float]]) -> float:
    """The median of the slopes between every pair of points (x distinct)."""
    slopes = [(y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(points) for x2, y2 in points[i + 1:]]
    return median(slopes)


class _Floats(dict):
    """A view of a history as floats, converting each month when first read."""

    def __init__(self, history):
        super().__init__()
        self.history = history

    def __contains__(self, x) -> bool:
        return self.history.get(x) is not None

    def __missing__(self, x) -> float:
        value = self[x] = float(self.history[x])
        return value


def _window(history: dict[int, float], end: int, same_year: bool = False) -> list[tuple[int, float]]:
    first = end - WINDOW + 1
    if same_year:
        first = max(first, end - end % 12)          # January of the end's year
    return [(x, history[x]) for x in range(first, end + 1) if x in history]


def project(indicator: str, history: dict[int, Decimal | float], origin: int) -> Projection | None:
    """The projection of `indicator` from `history` (period index -> value, None-free) made at
    `origin`; None when the origin has no value or the window has under MIN_POINTS values.
    Months after `origin` in `history` are never read."""
    if history.get(origin) is None:
        return None
    floats = _Floats(history)     # read lazily: only the months the windows name, all ≤ origin
    ytd = indicator in YEAR_TO_DATE
    window = _window(floats, origin, ytd)
    if len(window) < MIN_POINTS:
        return None
    slope = theil_sen(window)
    now = floats[origin]
    trend = tuple(now + slope * h for h in HORIZONS)
    seasonal: tuple[float, ...] = ()
    base, last_year = origin - SEASON, _window(floats, origin - SEASON, ytd)
    if base in floats and len(last_year) >= MIN_POINTS and all(base + h in floats for h in HORIZONS):
        slope_then = theil_sen(last_year)
        seasonal = tuple(floats[base + h] - floats[base] - slope_then * h for h in HORIZONS)
    values = tuple(t + (seasonal[i] if seasonal else 0.0) for i, t in enumerate(trend))
    if registry.BY_ID[indicator].unit in NON_NEGATIVE:
        values, trend = tuple(max(v, 0.0) for v in values), tuple(max(v, 0.0) for v in trend)
    now_exact = history[origin] if isinstance(history[origin], Decimal) else Decimal(str(history[origin]))
    return Projection(indicator, origin, now_exact, slope, len(window), seasonal, values, trend)


@lru_cache(maxsize=256)
def _number(value) -> float:
    return float(Decimal(str(value)))


def meets(value: float, rule) -> bool:
    """Whether `value` meets a threshold rule [op, value] (as the SQL threshold_met)."""
    if not rule:
        return False
    op, threshold = rule[0], _number(rule[1])
    if op == "<":
        return value < threshold
    if op == "<=":
        return value <= threshold
    if op == ">":
        return value > threshold
    return value >= threshold


def colour(value: float | None, spec: dict) -> str | None:
    """red, yellow or green under a spec {"yellow": [op, v], "red": [op, v]}; None without a value."""
    if value is None:
        return None
    if meets(value, spec.get("red")):
        return "red"
    if meets(value, spec.get("yellow")):
        return "yellow"
    return "green"


def _amount(indicator: str, delta: float) -> str:
    """A change per month (magnitude) in the indicator's unit: 6.0天, 1.2个百分点, 3.50万元."""
    unit, d = registry.BY_ID[indicator].unit, abs(delta)
    if unit in ("percent", "pp"):
        return f"{d * 100:.1f}个百分点"
    if unit == "days":
        return f"{d:.1f}天"
    if unit == "months":
        return f"{d:.1f}个月"
    if unit == "money":
        return f"{d / 10000:,.2f}万元"
    if unit == "yuan":
        return f"{d:.2f}元"
    return f"{d:.2f}"


def _direction(indicator: str, delta: float) -> str:
    counted = registry.BY_ID[indicator].unit in ("months", "money", "yuan")
    if delta > 0:
        return "增加" if counted else "上升"
    return "减少" if counted else "下降"


def _crossing(indicator: str, rule) -> str:
    """How reaching a threshold reads: 降至30.0天以下, 达到70.0%及以上, 超过0元."""
    op, value = rule
    shown = registry.format_value(indicator, value)
    return {"<": f"降至{shown}以下", "<=": f"降至{shown}及以下",
            ">": f"超过{shown}", ">=": f"达到{shown}及以上"}[op]


def reason(p: Projection, months_ahead: int, colour_reached: str, spec: dict, seasonal: bool = True) -> str:
    """One sentence: 现金可支付天数现为42.0天，近6个月平均每月下降6.0天，预计2个月后降至30.0天以下（红色）."""
    label = registry.label(p.indicator)
    text = f"{label}现为{registry.format_value(p.indicator, p.now)}，"
    per_month = _amount(p.indicator, p.slope)
    if not any(ch in "123456789" for ch in per_month):     # rounds to zero as written
        text += f"近{WINDOW}个月基本持平"
    else:
        text += f"近{WINDOW}个月平均每月{_direction(p.indicator, p.slope)}{per_month}"
    if seasonal and p.seasonal:
        term = p.seasonal[months_ahead - 1]
        moved = abs(p.values[months_ahead - 1] - float(p.now)) or 1.0
        if abs(term) >= SEASON_WORDS_SHARE * moved:
            text += f"，按去年同期的季节变化另{_direction(p.indicator, term)}{_amount(p.indicator, term)}"
    return f"{text}，预计{months_ahead}个月后{_crossing(p.indicator, spec[colour_reached])}（{COLOUR_NAMES[colour_reached]}）"
