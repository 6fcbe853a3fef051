"""The bulletin's sections that need their own queries: province totals, one risk domain,
the 13-month trend, attribution (归集口径) and filing quality."""
from __future__ import annotations

import statistics
from collections import Counter
from decimal import Decimal

from psycopg import sql

from etl.attribution.categories import DRUG_SUBJECTS, UNATTRIBUTED
from etl.common.amounts import tolerance
from etl.common.codes import shift_period
from etl.ratings import indicators as registry
from etl.ratings import overview
from etl.reference.scope import Scope
from reports.bulletin.text import percent, share, yi

DOMAINS = tuple(overview.DOMAIN_NAMES)
# The indicator each domain's hospitals of concern are ranked by (worst first), from the
# registry; the ranking direction says which end is worst.
KEY_INDICATOR = registry.KEY_INDICATOR
CONCERN_LIMIT = 10
TREND_MONTHS = 13            # this month and the same month last year at both ends

FINANCE_SQL = """
SELECT v.hospital_code,
       sum(v.amount) FILTER (WHERE v.item_code = 'R100' AND v.column_name = 'month') AS revenue,
       sum(v.amount) FILTER (WHERE v.item_code = 'E200' AND v.column_name = 'month') AS expense,
       sum(v.amount) FILTER (WHERE v.item_code = 'R100' AND v.column_name = 'ytd') AS revenue_ytd,
       sum(v.amount) FILTER (WHERE v.item_code = 'S300' AND v.column_name = 'ytd') AS surplus_ytd,
       sum(v.amount) FILTER (WHERE v.item_code = 'L200' AND v.column_name = 'end') AS liabilities,
       sum(v.amount) FILTER (WHERE v.item_code = 'A100' AND v.column_name = 'end') AS assets,
       sum(v.amount) FILTER (WHERE v.item_code = 'W404' AND v.column_name = 'month') AS wage_arrears
FROM return r JOIN return_value v ON v.return_id = r.id
WHERE r.period = %(period)s AND r.is_current AND {scope}
GROUP BY v.hospital_code
"""
FINANCE_KEYS = ("revenue", "expense", "revenue_ytd", "surplus_ytd", "liabilities", "assets", "wage_arrears")


def _finance_rows(conn, period: str, scope: Scope) -> dict[str, dict]:
    where, extra = scope.clause("r.hospital_code")
    return {r["hospital_code"]: r for r in conn.execute(sql.SQL(FINANCE_SQL).format(scope=where),
                                                        {"period": period} | extra)}


def _totals(rows: dict[str, dict], codes) -> dict:
    out = {k: sum((rows[c][k] or Decimal(0) for c in codes), Decimal(0)) for k in FINANCE_KEYS}
    out["hospitals"] = len(codes)
    out["surplus"] = out["revenue"] - out["expense"]
    out["surplus_rate_ytd"] = out["surplus_ytd"] / out["revenue_ytd"] if out["revenue_ytd"] else None
    out["debt_ratio"] = out["liabilities"] / out["assets"] if out["assets"] else None
    return out


def finance(conn, period: str, previous: str, last_year: str, scope: Scope) -> dict:
    """The totals over the returns filed in `scope`, and the same-month-last-year comparison
    over the hospitals that filed both months (like for like)."""
    now = _finance_rows(conn, period, scope)
    out = {"now": _totals(now, list(now))}
    for key, other in (("previous", previous), ("last_year", last_year)):
        then = _finance_rows(conn, other, scope)
        both = sorted(set(now) & set(then))
        if both:
            a, b = _totals(now, both), _totals(then, both)
            out[key] = {"hospitals": len(both), "revenue_now": a["revenue"], "revenue_then": b["revenue"],
                        "revenue_growth": (a["revenue"] - b["revenue"]) / b["revenue"] if b["revenue"] else None,
                        "surplus_rate_ytd_now": a["surplus_rate_ytd"], "surplus_rate_ytd_then": b["surplus_rate_ytd"],
                        "wage_arrears_now": a["wage_arrears"], "wage_arrears_then": b["wage_arrears"]}
        else:
            out[key] = None
    return out


def thresholds(conn, period: str) -> dict:
    row = conn.execute(
        """SELECT tv.body FROM rating r JOIN threshold_version tv ON tv.id = r.threshold_version_id
           WHERE r.period = %s ORDER BY r.computed_at DESC LIMIT 1""", (period,)).fetchone()
    return (row["body"] if row else {}).get("indicators", {})


def domain(conn, domain: str, period: str, rows: list[dict], thresholds: dict, scope: Scope) -> dict:
    """One risk domain over `rows` (period_overview in `scope`, each with its `place`): counts,
    each indicator's median and colours in `scope`, the hospitals of concern."""
    c = Counter(r[domain] for r in rows)
    counts = {k: c.get(k, 0) for k in ("red", "yellow", "green", "n/a", "missing")}
    indicators = [k for k, spec in thresholds.items() if spec.get("domain") == domain]
    values: dict[str, dict[str, dict]] = {}
    where, extra = scope.clause("hospital_code")
    for v in conn.execute(sql.SQL(
            "SELECT hospital_code, indicator, value, rating FROM indicator_value "
            "WHERE period = %(period)s AND indicator = ANY(%(indicators)s) AND {}").format(where),
            {"period": period, "indicators": indicators} | extra):
        values.setdefault(v["indicator"], {})[v["hospital_code"]] = v
    table = []
    for ind in indicators:
        vals = [v["value"] for v in values.get(ind, {}).values() if v["value"] is not None]
        rc = Counter(v["rating"] for v in values.get(ind, {}).values())
        table.append({"indicator": ind, "label": registry.label(ind),
                      "median": overview.format_value(ind, statistics.median(vals)) if vals else "—",
                      "computed": len(vals), "red": rc.get("red", 0), "yellow": rc.get("yellow", 0),
                      "yellow_rule": _rule(ind, thresholds[ind], "yellow"),
                      "red_rule": _rule(ind, thresholds[ind], "red")})
    key, direction = KEY_INDICATOR[domain]
    key_values = values.get(key, {})

    def rank(r):
        v = key_values.get(r["code"], {}).get("value")
        worst_first = v if direction == "asc" else (-v if v is not None else None)
        return (0 if r[domain] == "red" else 1, worst_first is None, worst_first or 0, r["code"])

    concern = sorted((r for r in rows if r[domain] in ("red", "yellow")), key=rank)
    return {
        "key": domain, "name": overview.DOMAIN_NAMES[domain], "counts": counts,
        "key_indicator": key, "key_label": registry.label(key),
        "indicators": table,
        "concern_total": len(concern),
        "concern": [{"code": r["code"], "name": r["name"], "prefecture": r["place"],
                     "colour": r[domain],
                     "key_value": overview.format_value(key, key_values.get(r["code"], {}).get("value")),
                     "drivers": r["domain_drivers"][domain]} for r in concern[:CONCERN_LIMIT]],
        "sentence": _domain_sentence(domain, counts, len(concern)),
    }


def _rule(indicator: str, spec: dict, colour: str) -> str:
    if not spec.get(colour):
        return "—"
    op, value = spec[colour]
    return f"{overview.OPS[op]}{overview.format_value(indicator, value)}"


def _domain_sentence(domain: str, counts: dict, concern: int) -> str:
    name = overview.DOMAIN_NAMES[domain]
    if not concern:
        return f"本月无医院在{name}方面亮红灯或黄灯。"
    return (f"本月{name}方面红色{counts['red']}家、黄色{counts['yellow']}家、绿色{counts['green']}家"
            + (f"、无法计算{counts['n/a']}家" if counts["n/a"] else "") + "。")


def trend(conn, period: str, scope: Scope) -> dict:
    first = shift_period(period, -(TREND_MONTHS - 1))
    months = [shift_period(first, i) for i in range(TREND_MONTHS)]
    out = {"periods": months, "overall": {}, **{d: {} for d in DOMAINS}}
    where, extra = scope.clause("hospital_code")
    for r in conn.execute(sql.SQL(
            """SELECT period, 'overall' AS domain, rating AS colour, count(*) AS n FROM rating
               WHERE period BETWEEN %(a)s AND %(b)s AND {where} GROUP BY period, rating
               UNION ALL
               SELECT period, d.domain, d.colour, count(*) FROM rating
               CROSS JOIN LATERAL (VALUES ('deficit', deficit), ('debt', debt), ('wages', wages)) d (domain, colour)
               WHERE period BETWEEN %(a)s AND %(b)s AND {where} GROUP BY period, d.domain, d.colour""").format(
            where=where), {"a": first, "b": period} | extra):
        out[r["domain"]].setdefault(r["colour"], {})[r["period"]] = r["n"]
    for key in ("overall", *DOMAINS):
        out[key] = {colour: [out[key].get(colour, {}).get(p, 0) for p in months]
                    for colour in ("red", "yellow", "green", "n/a", "missing")}
    return out


RECONCILIATION_SQL = """
WITH cur AS (SELECT r.id, r.hospital_code, r.amount_unit,
                    (SELECT count(*) FROM return_item i WHERE i.return_id = r.id) AS items
             FROM return r WHERE r.period = %(period)s AND r.is_current AND {scope}),
declared AS (
    SELECT v.return_id, v.item_code, v.amount FROM return_value v JOIN cur ON cur.id = v.return_id
    WHERE v.column_name = 'month' AND v.item_code IN ('R111', 'R112', 'R113', 'R114')
),
rolled AS (
    SELECT a.return_id,
           sum(a.amount) FILTER (WHERE a.setting = 'outpatient') AS outpatient,
           sum(a.amount) FILTER (WHERE a.setting = 'inpatient') AS inpatient,
           sum(a.amount) FILTER (WHERE a.category = ANY(%(drugs)s)) AS drugs,
           sum(a.amount) FILTER (WHERE a.category = %(none)s) AS unattributed
    FROM attribution_total a JOIN cur ON cur.id = a.return_id
    WHERE a.system = 'subject' GROUP BY a.return_id
)
SELECT cur.id AS return_id, cur.hospital_code AS code, h.name,
       coalesce(CASE WHEN %(by_county)s THEN reg.name ELSE pref.name END, '') AS prefecture,
       cur.amount_unit, cur.items,
       (SELECT amount FROM declared d WHERE d.return_id = cur.id AND d.item_code = 'R111') AS r111,
       (SELECT amount FROM declared d WHERE d.return_id = cur.id AND d.item_code = 'R112') AS r112,
       (SELECT coalesce(sum(amount), 0) FROM declared d WHERE d.return_id = cur.id
          AND d.item_code IN ('R113', 'R114')) AS r113_114,
       coalesce(rolled.outpatient, 0) AS outpatient, coalesce(rolled.inpatient, 0) AS inpatient,
       coalesce(rolled.drugs, 0) AS drugs, coalesce(rolled.unattributed, 0) AS unattributed,
       coalesce(rolled.outpatient, 0) + coalesce(rolled.inpatient, 0) AS attributed_total
FROM cur JOIN hospital h ON h.code = cur.hospital_code
LEFT JOIN region pref ON pref.code = prefecture_of(h.region_code)
LEFT JOIN region reg ON reg.code = h.region_code
LEFT JOIN rolled ON rolled.return_id = cur.id
ORDER BY cur.hospital_code
"""


def attribution(conn, period: str, scope: Scope) -> dict:
    """Unattributed revenue and the returns in `scope` whose rollups do not reconcile with 表1,
    computed as the return page computes them (etl.attribution.rollup.summary)."""
    where, extra = scope.clause("r.hospital_code")
    rows = conn.execute(sql.SQL(RECONCILIATION_SQL).format(scope=where),
                        {"period": period, "none": UNATTRIBUTED, "drugs": list(DRUG_SUBJECTS),
                         "by_county": scope.is_prefecture} | extra).fetchall()
    version = conn.execute("SELECT v.name, v.effective_from FROM mapping_version v WHERE v.id = mapping_version_for(%s)",
                           (period,)).fetchone()
    total = sum((r["attributed_total"] for r in rows), Decimal(0))
    unattributed = sum((r["unattributed"] for r in rows), Decimal(0))
    problems = []
    for r in rows:
        for label, declared, rolled in (("门急诊收入（R111）", r["r111"], r["outpatient"]),
                                        ("住院收入（R112）", r["r112"], r["inpatient"]),
                                        ("药品＋卫生材料收入（R113＋R114）", r["r113_114"], r["drugs"])):
            # The validation's rule: a figure typed in 万元/千元 may be off by half its precision.
            if declared is not None and abs(declared - rolled) > tolerance(r["amount_unit"], r["items"] + 1):
                problems.append({"code": r["code"], "name": r["name"], "prefecture": r["prefecture"], "line": label,
                                 "declared": f"{declared / 10000:,.2f}", "attributed": f"{rolled / 10000:,.2f}",
                                 "difference": f"{(rolled - declared) / 10000:,.2f}"})
    top = sorted((r for r in rows if r["unattributed"] > 0), key=lambda r: -r["unattributed"])
    return {"version": version["name"] if version else None,
            "returns": len(rows), "revenue": yi(total), "unattributed": f"{unattributed / 10000:,.2f}万元",
            "unattributed_share": percent(unattributed / total, 2) if total else "—",
            "hospitals_with_unattributed": len(top),
            "top_unattributed": [{"code": r["code"], "name": r["name"], "prefecture": r["prefecture"],
                                  "amount": f"{r['unattributed'] / 10000:,.2f}",
                                  "share": percent(r["unattributed"] / r["attributed_total"], 2)
                                  if r["attributed_total"] else "—"} for r in top[:CONCERN_LIMIT]],
            "problems": problems}


def quality(conn, period: str, filings: dict, scope: Scope) -> dict:
    """Late, missing and returned filings in `scope`, and filing by prefecture (by county in
    a prefecture's bulletin)."""
    late = [r for r in filings["rows"] if r["filing"] == "late"]
    missing = [r for r in filings["rows"] if r["filing"] == "missing"]
    where, extra = scope.clause("r.hospital_code")
    returned = conn.execute(sql.SQL(
        """SELECT r.hospital_code AS code, h.name, r.version, r.review_comment
           FROM return r JOIN hospital h ON h.code = r.hospital_code
           WHERE r.period = %(period)s AND r.status = 'returned' AND {}
           ORDER BY r.hospital_code, r.version""").format(where), {"period": period} | extra).fetchall()
    status = Counter(r["status"] for r in filings["rows"] if r["status"])
    place = "county_name" if scope.is_prefecture else "prefecture_name"

    def ref(r):
        return {"code": r["code"], "name": r["name"], "prefecture": r[place]}
    return {"late": [ref(r) | {"first_at": r["first_at"].strftime("%Y-%m-%d")} for r in late],
            "missing": [ref(r) for r in missing],
            "returned": [{"code": r["code"], "name": r["name"], "version": r["version"],
                          "comment": r["review_comment"] or ""} for r in returned],
            "accepted": status.get("accepted", 0), "awaiting": sum(status.get(s, 0) for s in ("submitted", "prefecture_accepted", "rechecking")),
            "quality_notices": len(filings["quality"]),
            "by_prefecture": [{"name": g["name"] or "未登记地区", "hospitals": g["hospitals"], "on_time": g["on_time"],
                               "late": g["late"], "missing": g["missing"],
                               "completeness": share(g["on_time"] + g["late"], g["hospitals"])}
                              for g in filings["counties" if scope.is_prefecture else "prefectures"]]}
