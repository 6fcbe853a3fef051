"""Read ratings back: the export contract of risk.md and the lists the pages show."""
from __future__ import annotations

from decimal import Decimal

import psycopg
from psycopg import sql

from etl.ratings import indicators as registry
from etl.reference.scope import Scope

INDICATORS = registry.IDS


def export_rows(conn: psycopg.Connection, period: str, scope: Scope, *, names: bool = False) -> list[dict]:
    """One object per hospital in `scope` expected to file `period` (closed ones drop out from
    their closing month), in the shape of risk.md's export contract.

    Indicator values are exact Decimals (None where n/a or missing). With `names`, each object
    also carries "name" and "prefecture" (for spreadsheets; the JSON contract has neither).
    """
    where, extra = scope.clause("h.code")
    rows = conn.execute(sql.SQL(
        """SELECT h.code, h.name, pref.name AS prefecture, r.rating, r.provisional, r.deficit, r.debt, r.wages,
                  (SELECT jsonb_object_agg(i.indicator, i.value::text) FROM indicator_value i
                   WHERE i.hospital_code = h.code AND i.period = %(period)s) AS indicators
           FROM hospital h
           LEFT JOIN region pref ON pref.code = prefecture_of(h.region_code)
           LEFT JOIN rating r ON r.hospital_code = h.code AND r.period = %(period)s
           WHERE {where} AND hospital_expected(h.opened_from, h.closed_from, %(period)s)
           ORDER BY h.code""").format(where=where), {"period": period} | extra).fetchall()
    out = []
    for r in rows:
        values = r["indicators"] or {}
        out.append({
            "hospital": r["code"], "period": period, "rating": r["rating"] or "missing",
            "provisional": bool(r["provisional"]),
            "domains": {"deficit": r["deficit"] or "missing", "debt": r["debt"] or "missing",
                        "wages": r["wages"] or "missing"},
            "indicators": {k: (Decimal(values[k]) if values.get(k) is not None else None) for k in INDICATORS},
        })
        if names:
            out[-1] |= {"name": r["name"], "prefecture": r["prefecture"] or ""}
    return out


# How each indicator reads in Chinese: the registry's unit and its rules (registry.format_value).
UNITS = {i.id: i.unit for i in registry.REGISTRY}
format_value = registry.format_value
COLOUR_NAMES = {"red": "红色", "yellow": "黄色", "green": "绿色", "missing": "未上报", "n/a": "无法计算"}
DOMAIN_NAMES = {"deficit": "收不抵支", "debt": "长期债务", "wages": "拖欠薪酬"}
OPS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}
# What a colour with no driving indicator says.
QUIET_COLOURS = {"green": "各项指标均未触及预警阈值", "n/a": "指标无法计算（缺少数据）", "missing": "本期未上报"}


def explain(indicator: str, label: str, value, colour: str, spec: dict) -> str:
    """One sentence, e.g. '资产负债率 72.3%（红色阈值 ≥70.0%）'."""
    text = f"{label} {format_value(indicator, value)}"
    if colour in ("red", "yellow") and spec.get(colour):
        op, threshold = spec[colour]
        text += f"（{COLOUR_NAMES[colour]}阈值 {OPS[op]}{format_value(indicator, threshold)}）"
    return text


def period_overview(conn: psycopg.Connection, period: str, scope: Scope) -> list[dict]:
    """Every hospital in `scope` expected to file `period` with its rating, return state and drivers."""
    where, extra = scope.clause("h.code")
    params = {"period": period} | extra
    rows = conn.execute(sql.SQL(
        """SELECT h.code, h.name, h.level, h.region_code, reg.name AS region_name,
                  pref.name AS prefecture_name, r.rating, r.deficit, r.debt, r.wages, r.provisional,
                  ret.version, ret.status, ret.submitted_at, p.deadline,
                  filed_late((SELECT min(x.submitted_at) FROM return x WHERE x.hospital_code = h.code
                              AND x.period = %(period)s), p.deadline) AS late, tv.body AS thresholds
           FROM hospital h
           LEFT JOIN region reg ON reg.code = h.region_code
           LEFT JOIN region pref ON pref.code = prefecture_of(h.region_code)
           LEFT JOIN rating r ON r.hospital_code = h.code AND r.period = %(period)s
           LEFT JOIN threshold_version tv ON tv.id = r.threshold_version_id
           LEFT JOIN return ret ON ret.hospital_code = h.code AND ret.period = %(period)s AND ret.is_current
           LEFT JOIN period p ON p.period = %(period)s
           WHERE {where} AND hospital_expected(h.opened_from, h.closed_from, %(period)s)
           ORDER BY CASE r.rating WHEN 'red' THEN 0 WHEN 'yellow' THEN 1 WHEN 'missing' THEN 2 ELSE 3 END,
                    h.region_code, h.code""").format(where=where), params).fetchall()
    where, _ = scope.clause("i.hospital_code")
    drivers = conn.execute(sql.SQL(
        """SELECT i.hospital_code, i.indicator, i.value, i.rating FROM indicator_value i
           WHERE i.period = %(period)s AND i.rating IN ('red', 'yellow') AND {where}
           ORDER BY i.hospital_code, i.rating, i.indicator""").format(where=where), params).fetchall()
    by_hospital: dict[str, list] = {}
    for d in drivers:
        by_hospital.setdefault(d["hospital_code"], []).append(d)
    for row in rows:
        specs = (row.pop("thresholds") or {}).get("indicators", {})
        row["rating"] = row["rating"] or "missing"
        row["domain_drivers"] = {}
        for domain in DOMAIN_NAMES:
            colour = row[domain] or "missing"
            row[domain] = colour
            row["domain_drivers"][domain] = [
                explain(d["indicator"], registry.label(d["indicator"]), d["value"], d["rating"], specs[d["indicator"]])
                for d in by_hospital.get(row["code"], [])
                if specs.get(d["indicator"], {}).get("domain") == domain and d["rating"] == colour
            ] or [QUIET_COLOURS.get(colour, "")]
    return rows


CHANGES_SQL = """
WITH runs AS (
    SELECT hospital_code, period, rating,
           lag(rating) OVER w AS previous,
           period_index(period) - row_number() OVER (PARTITION BY hospital_code, rating = 'red'
                                                     ORDER BY period) AS island
    FROM rating WHERE period <= %(period)s
    WINDOW w AS (PARTITION BY hospital_code ORDER BY period)
),
counted AS (
    SELECT *, count(*) OVER (PARTITION BY hospital_code, rating = 'red', island) AS red_months
    FROM runs
)
SELECT c.hospital_code AS code, h.name, h.level, c.rating, coalesce(c.previous, 'missing') AS previous,
       CASE WHEN c.rating = 'red' THEN c.red_months ELSE 0 END AS red_months
FROM counted c JOIN hospital h ON h.code = c.hospital_code
WHERE c.period = %(period)s AND {scope}
ORDER BY c.hospital_code
"""
RANK = {"green": 1, "yellow": 2, "red": 3}


def changes(conn: psycopg.Connection, period: str, scope: Scope) -> dict[str, list[dict]]:
    """The period's movements against the month before for the hospitals in `scope`: turned
    red, turned yellow, improved, and red for three months or more (the lists reviewers and
    the bulletin use)."""
    out = {"newly_red": [], "newly_yellow": [], "improved": [], "stayed_red": []}
    where, extra = scope.clause("h.code")
    for r in conn.execute(sql.SQL(CHANGES_SQL).format(scope=where), {"period": period} | extra):
        now, before = r["rating"], r["previous"]
        if now == "red" and before != "red":
            out["newly_red"].append(r)
        if now == "yellow" and before in ("green", "missing"):
            out["newly_yellow"].append(r)
        if now in RANK and before in RANK and RANK[now] < RANK[before]:
            out["improved"].append(r)
        if now == "red" and r["red_months"] >= 3:
            out["stayed_red"].append(r)
    out["stayed_red"].sort(key=lambda r: -r["red_months"])
    return out


def hospital(conn: psycopg.Connection, code: str, scope: Scope) -> dict | None:
    """The registry row with region names; None if absent or outside `scope`."""
    where, extra = scope.clause("h.code")
    return conn.execute(sql.SQL(
        """SELECT h.*, reg.name AS region_name, pref.name AS prefecture_name
           FROM hospital h
           LEFT JOIN region reg ON reg.code = h.region_code
           LEFT JOIN region pref ON pref.code = prefecture_of(h.region_code)
           WHERE h.code = %(code)s AND {where}""").format(where=where), {"code": code} | extra).fetchone()


def history(conn: psycopg.Connection, code: str, last: str, months: int = 24) -> dict:
    """A hospital's ratings, indicator values and returns for the `months` ending at `last`."""
    from etl.common.codes import shift_period
    first = shift_period(last, -(months - 1))
    params = {"code": code, "first": first, "last": last}
    ratings_ = conn.execute(
        """SELECT r.period, r.rating, r.deficit, r.debt, r.wages, r.provisional, r.return_id,
                  ret.version, ret.status, ret.submitted_at, ret.review_comment, ret.reviewed_at, p.deadline,
                  filed_late((SELECT min(x.submitted_at) FROM return x WHERE x.hospital_code = r.hospital_code
                              AND x.period = r.period), p.deadline) AS late
           FROM rating r
           LEFT JOIN return ret ON ret.id = r.return_id
           LEFT JOIN period p ON p.period = r.period
           WHERE r.hospital_code = %(code)s AND r.period BETWEEN %(first)s AND %(last)s
           ORDER BY r.period""", params).fetchall()
    values: dict[str, dict] = {}
    for row in conn.execute(
            """SELECT period, indicator, value, rating FROM indicator_value
               WHERE hospital_code = %(code)s AND period BETWEEN %(first)s AND %(last)s""", params):
        values.setdefault(row["indicator"], {})[row["period"]] = row
    return {"periods": [r["period"] for r in ratings_], "ratings": ratings_, "values": values}
