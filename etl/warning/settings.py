"""The province's setting for the early warning in the bulletin, and the gate it sets.

Kept in deployment_setting 'forecast': {"bulletin": bool, "min_precision": "0.60",
"horizon": 1..3}. Off by default. When on, the bulletin lists the warnings due within
`horizon` months only while the backtest precision of the list at that horizon is at least
`min_precision` (a share, kept as exact decimal text).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import psycopg

from etl.common.audit import record
from etl.common.errors import HemonError
from etl.reference import deployment
from etl.warning import backtest

NAME = "forecast"
DEFAULTS = {"bulletin": False, "min_precision": "0.60", "horizon": 3}


def current(conn: psycopg.Connection) -> dict:
    return DEFAULTS | (deployment.setting(conn, NAME) or {})


def save(conn: psycopg.Connection, enabled: bool, min_precision_percent: str, horizon: str,
         user: dict | None) -> dict:
    """Validate and keep the setting (precision given in percent, 0–100; horizon 1–3); audited.
    Raises HemonError with a Chinese message, changing nothing, on bad input."""
    try:
        percent = Decimal((min_precision_percent or "").strip())
    except InvalidOperation:
        raise HemonError("最低精确率应为 0 到 100 之间的数字（百分比）") from None
    if not percent.is_finite() or not 0 <= percent <= 100:
        raise HemonError("最低精确率应为 0 到 100 之间的数字（百分比）")
    if (horizon or "").strip() not in ("1", "2", "3"):
        raise HemonError("预警期限应为 1、2 或 3 个月")
    new = {"bulletin": bool(enabled), "min_precision": str((percent / 100).normalize()),
           "horizon": int(horizon)}
    with conn.transaction():
        before = deployment.setting(conn, NAME)
        deployment.set_setting(conn, NAME, new)
        record(conn, user, "forecast.settings", f"deployment_setting:{NAME}", before, new)
    return new


def gate(conn: psycopg.Connection, result: dict | None = None) -> dict:
    """Whether the bulletin shows the list: {enabled, horizon, min_precision, precision, open}.
    `result` is a backtest already computed (else the cached one, computed without storing)."""
    s = current(conn)
    out = {"enabled": bool(s["bulletin"]), "horizon": int(s["horizon"]),
           "min_precision": Decimal(str(s["min_precision"])), "precision": None, "open": False}
    if not out["enabled"]:
        return out
    result = result if result is not None else backtest.cached(conn, store=False)
    found = backtest.row(result, out["horizon"])
    if found and found["precision"] is not None:
        out["precision"] = Decimal(str(found["precision"]))
        out["open"] = out["precision"] >= out["min_precision"]
    return out
