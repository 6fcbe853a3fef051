"""Wage arrears plans (欠薪化解): a wages case's schedule against each month's W404.

The schedule says how much of the arrears the hospital repays each month. The balance it
promises after month P is the arrears it had when the case opened (表3 W404 本月数, 期末累计
拖欠薪酬, of the opening month) less every amount scheduled up to P. When the return for P
shows a W404 above that, the difference is the shortfall (new arrears count too: the promise
is about the balance). Months not yet filed have no verdict.
"""
from __future__ import annotations

from decimal import Decimal

import psycopg

ITEM = "W404"


def balances(conn: psycopg.Connection, hospital: str, periods: list[str]) -> dict[str, dict]:
    """W404 本月数 of the hospital's current returns for `periods`: {period: {amount, sheet, cell}}."""
    return {r["period"]: r for r in conn.execute(
        """SELECT r.period, v.amount, v.sheet, v.cell FROM return r
           JOIN return_value v ON v.return_id = r.id AND v.item_code = %s AND v.column_name = 'month'
           WHERE r.hospital_code = %s AND r.is_current AND r.period = ANY(%s)""",
        (ITEM, hospital, list(periods)))}


def check(conn: psycopg.Connection, case: dict, schedule: list[dict]) -> list[dict]:
    """One row per scheduled month: planned, expected balance, actual W404 (with its cell)
    and shortfall (a Decimal > 0, 0 when on track, None when the month is not filed).

    `case` needs hospital_code and opened_period; `schedule` rows period and amount.
    """
    if not schedule:
        return []
    found = balances(conn, case["hospital_code"], [case["opened_period"]] + [s["period"] for s in schedule])
    start = found.get(case["opened_period"])
    base = Decimal(start["amount"]) if start and start["amount"] is not None else None
    out, repaid = [], Decimal(0)
    for s in schedule:
        repaid += Decimal(s["amount"])
        expected = None if base is None else max(base - repaid, Decimal(0))
        actual = found.get(s["period"])
        amount = None if actual is None or actual["amount"] is None else Decimal(actual["amount"])
        shortfall = None if amount is None or expected is None else max(amount - expected, Decimal(0))
        out.append({"period": s["period"], "planned": Decimal(s["amount"]), "repaid_by_plan": repaid,
                    "expected": expected, "actual": amount,
                    "cell": f"{actual['sheet']}!{actual['cell']}" if actual and actual["cell"] else None,
                    "shortfall": shortfall})
    return out


def latest_shortfall(rows: list[dict]) -> Decimal | None:
    """The shortfall of the latest filed scheduled month (None: none filed yet)."""
    filed = [r for r in rows if r["shortfall"] is not None]
    return filed[-1]["shortfall"] if filed else None


def shortfalls(conn: psycopg.Connection, cases: list[dict]) -> dict[int, Decimal]:
    """The latest shortfall of each wages case in `cases` that has one ({case id: yuan})."""
    out = {}
    for case in cases:
        if case["domain"] != "wages":
            continue
        schedule = conn.execute("SELECT period, amount FROM risk_case_repayment WHERE case_id = %s ORDER BY period",
                                (case["id"],)).fetchall()
        gap = latest_shortfall(check(conn, case, schedule))
        if gap is not None:
            out[case["id"]] = gap
    return out
