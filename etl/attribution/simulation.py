"""The simulation (模拟测试): the same returns attributed under mapping version A and B.

Nothing is written: both rollups are computed from the stored 表5 rows for the chosen
periods, and the monitored indicators that depend on attribution are compared.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from psycopg import sql

from etl.attribution.categories import NON_SERVICE_SUBJECTS, UNATTRIBUTED
from etl.common.errors import HemonError
from etl.reference.scope import Scope

# 表5 revenue of the chosen returns by hospital, price code and setting, with the subject
# category under each version (the same setting rule as attribution: subject_in_setting()).
ITEMS_SQL = """
WITH chosen AS (
    SELECT id, hospital_code, period FROM return
    WHERE is_current AND period BETWEEN %(first)s AND %(last)s AND {scope}
),
items AS (
    SELECT c.hospital_code, i.price_code, i.setting, sum(i.amount) AS amount
    FROM chosen c JOIN return_item i ON i.return_id = c.id
    GROUP BY c.hospital_code, i.price_code, i.setting
)
SELECT it.hospital_code, it.price_code, it.setting, it.amount,
       coalesce(a.price_name, b.price_name) AS price_name,
       coalesce(subject_in_setting(it.setting, a.subject_category), %(none)s) AS subject_a,
       coalesce(subject_in_setting(it.setting, b.subject_category), %(none)s) AS subject_b,
       coalesce(a.receipt_category, %(none)s) AS receipt_a, coalesce(b.receipt_category, %(none)s) AS receipt_b
FROM items it
LEFT JOIN mapping_row a ON a.version_id = %(a)s AND a.price_code = it.price_code
LEFT JOIN mapping_row b ON b.version_id = %(b)s AND b.price_code = it.price_code
"""
MEDICAL_REVENUE_SQL = """
SELECT r.hospital_code, h.name, sum(v.amount) AS r110
FROM return r JOIN return_value v ON v.return_id = r.id AND v.item_code = 'R110' AND v.column_name = 'month'
JOIN hospital h ON h.code = r.hospital_code
WHERE r.is_current AND r.period BETWEEN %(first)s AND %(last)s AND {scope}
GROUP BY r.hospital_code, h.name
"""


@dataclass
class Comparison:
    a: dict
    b: dict
    first: str
    last: str
    threshold_points: Decimal
    categories: list = field(default_factory=list)   # {system, category, a, b, diff}
    hospitals: list = field(default_factory=list)    # {code, name, r110, share_a, share_b, points, ...}
    items: list = field(default_factory=list)        # {price_code, name, setting, subject_a, subject_b, amount}
    totals: dict = field(default_factory=dict)

    @property
    def movers(self) -> list[dict]:
        return [h for h in self.hospitals if h["points"] is not None and abs(h["points"]) > self.threshold_points]


def version_by_name(conn: psycopg.Connection, name: str) -> dict:
    row = conn.execute("SELECT id, name, effective_from FROM mapping_version WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise HemonError(f"映射版本“{name}”不存在")
    return row


def default_range(conn: psycopg.Connection) -> tuple[str, str]:
    """The last complete calendar year with returns (clamped to the data), else every period."""
    row = conn.execute("SELECT min(period) AS lo, max(period) AS hi FROM return").fetchone()
    if row["lo"] is None:
        raise HemonError("尚无报表数据，无法模拟")
    year = int(row["hi"][:4]) - (0 if row["hi"].endswith("-12") else 1)
    first, last = max(f"{year}-01", row["lo"]), f"{year}-12"
    if last < row["lo"]:
        return row["lo"], row["hi"]
    return first, last


def compare(conn: psycopg.Connection, name_a: str, name_b: str, first: str | None = None,
            last: str | None = None, threshold_points: Decimal = Decimal(1), *, scope: Scope) -> Comparison:
    """Compare versions `name_a` and `name_b` over the returns of the hospitals in `scope`
    (default range: `default_range`); every total is over those hospitals only."""
    a, b = version_by_name(conn, name_a), version_by_name(conn, name_b)
    if not first or not last:
        first, last = default_range(conn)
    result = Comparison(a, b, first, last, Decimal(str(threshold_points)))
    where, extra = scope.clause("hospital_code")
    params = {"a": a["id"], "b": b["id"], "first": first, "last": last, "none": UNATTRIBUTED} | extra
    rows = conn.execute(sql.SQL(ITEMS_SQL).format(scope=where), params).fetchall()
    by_cat: dict[tuple, list] = {}
    per_hospital: dict[str, dict] = {}
    moved: dict[tuple, dict] = {}
    for r in rows:
        for system, ka, kb in (("subject", "subject_a", "subject_b"), ("receipt", "receipt_a", "receipt_b")):
            by_cat.setdefault((system, r[ka]), [Decimal(0), Decimal(0)])[0] += r["amount"]
            by_cat.setdefault((system, r[kb]), [Decimal(0), Decimal(0)])[1] += r["amount"]
        h = per_hospital.setdefault(r["hospital_code"], {"non_a": Decimal(0), "non_b": Decimal(0),
                                                          "un_a": Decimal(0), "un_b": Decimal(0),
                                                          "moved": Decimal(0), "moved_items": []})
        h["non_a"] += r["amount"] if r["subject_a"] in NON_SERVICE_SUBJECTS else 0
        h["non_b"] += r["amount"] if r["subject_b"] in NON_SERVICE_SUBJECTS else 0
        h["un_a"] += r["amount"] if r["subject_a"] == UNATTRIBUTED else 0
        h["un_b"] += r["amount"] if r["subject_b"] == UNATTRIBUTED else 0
        if r["subject_a"] != r["subject_b"] or r["receipt_a"] != r["receipt_b"]:
            h["moved"] += r["amount"]
            h["moved_items"].append(r["price_code"])
            item = moved.setdefault((r["price_code"], r["setting"]), {
                "price_code": r["price_code"], "name": r["price_name"], "setting": r["setting"],
                "subject_a": r["subject_a"], "subject_b": r["subject_b"], "receipt_a": r["receipt_a"],
                "receipt_b": r["receipt_b"], "amount": Decimal(0), "hospitals": 0})
            item["amount"] += r["amount"]
            item["hospitals"] += 1
    result.categories = sorted(
        ({"system": s, "category": c, "a": v[0], "b": v[1], "diff": v[1] - v[0]} for (s, c), v in by_cat.items()),
        key=lambda x: (x["system"] != "subject", -abs(x["diff"]), x["category"]))
    total = {"r110": Decimal(0), "non_a": Decimal(0), "non_b": Decimal(0), "un_a": Decimal(0), "un_b": Decimal(0)}
    where, _ = scope.clause("r.hospital_code")
    for r in conn.execute(sql.SQL(MEDICAL_REVENUE_SQL).format(scope=where), params):
        h = per_hospital.get(r["hospital_code"], {"non_a": 0, "non_b": 0, "un_a": 0, "un_b": 0, "moved": 0,
                                                  "moved_items": []})
        r110 = r["r110"]
        share = lambda non: (r110 - non) / r110 if r110 else None
        sa, sb = share(h["non_a"]), share(h["non_b"])
        result.hospitals.append({
            "code": r["hospital_code"], "name": r["name"], "r110": r110, "share_a": sa, "share_b": sb,
            "points": (sb - sa) * 100 if sa is not None and sb is not None else None,
            "unattributed_a": h["un_a"] / r110 if r110 else None, "unattributed_b": h["un_b"] / r110 if r110 else None,
            "moved_revenue": h["moved"], "moved_items": sorted(set(h["moved_items"]))})
        for k in ("non_a", "non_b", "un_a", "un_b"):
            total[k] += h[k]
        total["r110"] += r110
    result.hospitals.sort(key=lambda h: (-(abs(h["points"]) if h["points"] is not None else -1), h["code"]))
    result.items = sorted(moved.values(), key=lambda i: -i["amount"])
    if total["r110"]:
        result.totals = {"r110": total["r110"],
                         "share_a": (total["r110"] - total["non_a"]) / total["r110"],
                         "share_b": (total["r110"] - total["non_b"]) / total["r110"],
                         "unattributed_a": total["un_a"] / total["r110"],
                         "unattributed_b": total["un_b"] / total["r110"]}
        result.totals["points"] = (result.totals["share_b"] - result.totals["share_a"]) * 100
    return result
