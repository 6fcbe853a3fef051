"""The monthly bulletin (经济运行监测月报): what it says, computed from the database.

`compose` gathers every number and writes every sentence once, into a JSON-safe dict (the
bulletin's content, archived as its data snapshot); the Word, PDF and web renderers only lay
that content out, so the three always say the same thing. The figures come from the same
functions the pages use (ratings.period_overview, ratings.changes, periods.submissions), so
the bulletin's numbers are the web's numbers for the same period.
"""
from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import psycopg

from etl import periods as period_filings
from etl import ratings
from etl.codes import PERIOD_PATTERN, shift_period
from etl.errors import HemonError
from etl.validation import TOLERANCE   # 1 yuan: the reconciliation rule of attribution.md

COLOURS = ("red", "yellow", "green", "missing")
DOMAINS = tuple(ratings.DOMAIN_NAMES)
# The indicator each domain's hospitals of concern are ranked by (worst first) and the
# indicators its section reports; the ranking direction says which end is worst.
KEY_INDICATOR = {"deficit": ("surplus_rate_ytd", "asc"), "debt": ("debt_ratio", "desc"),
                 "wages": ("wage_arrears", "desc")}
CONCERN_LIMIT = 10
TREND_MONTHS = 13            # this month and the same month last year at both ends
LEVEL_GROUPS = ("三级", "二级", "一级", "未定级")
TITLE = "公立医院经济运行监测月报"
TIMEZONE = "Asia/Shanghai"   # the province's clock, as config.Base.TIMEZONE


@dataclass
class Bulletin:
    period: str
    content: dict
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def build(conn: psycopg.Connection, period: str) -> Bulletin:
    """The bulletin for `period`: its content, its figures, and the .docx and .pdf."""
    from reports import bulletin_pdf, bulletin_word, figures
    content = compose(conn, period)
    images = figures.draw(conn, content)
    files = {name: ("image/png", data) for name, data in images.items()}
    files["bulletin.docx"] = ("application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                              bulletin_word.render(content, images))
    files["bulletin.pdf"] = ("application/pdf", bulletin_pdf.render(content, images))
    return Bulletin(period, content, files)


# --- formatting: one way to write a count, a share, an amount ----------------------------

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


# --- composing ----------------------------------------------------------------------------

def compose(conn: psycopg.Connection, period: str) -> dict:
    if not PERIOD_PATTERN.match(period or ""):
        raise HemonError("报告期应为 YYYY-MM")
    if conn.execute("SELECT 1 FROM period WHERE period = %s", (period,)).fetchone() is None:
        raise HemonError(f"报告期 {period} 尚未开放，无法生成月报")
    previous, last_year = shift_period(period, -1), shift_period(period, -12)
    rows = ratings.period_overview(conn, period)
    if not rows:
        raise HemonError("尚未登记医疗机构，无法生成月报")
    counts = _counts(rows)
    before = _rating_counts(conn, previous)
    year_ago = _rating_counts(conn, last_year)
    filings = period_filings.submissions(conn, period)
    moves = ratings.changes(conn, period)
    thresholds = _thresholds(conn, period)
    prefectures = {r["code"]: r["prefecture_name"] or "" for r in rows}
    content = {
        "period": period,
        "title": f"{_province_name(conn)}{TITLE}",
        "period_label": cn_period(period),
        "generated_at": dt.datetime.now(ZoneInfo(TIMEZONE)).isoformat(timespec="seconds"),
        "demo": _is_demo(conn),
        "provisional": sum(1 for r in rows if r["provisional"]),
        "counts": counts, "previous_counts": before, "last_year_counts": year_ago,
        "filing": _filing(filings),
        "finance": _finance(conn, period, previous, last_year),
        "by_prefecture": _group_counts(rows, lambda r: r["prefecture_name"] or "未登记地区"),
        "by_level": _group_counts(rows, lambda r: level_group(r["level"]), order=LEVEL_GROUPS),
        "movements": {k: [_hospital_ref(m, prefectures) for m in v] for k, v in moves.items()},
        "domains": [_domain(conn, d, period, rows, thresholds) for d in DOMAINS],
        "trend": _trend(conn, period),
        "attribution": _attribution(conn, period),
        "quality": _quality(conn, period, filings),
        "appendix": [_appendix_row(r) for r in rows],
        "inputs": _inputs(conn, period),
    }
    content["summary"] = _summary(content)
    return _jsonable(content)


def _counts(rows: list[dict]) -> dict:
    c = Counter(r["rating"] for r in rows)
    return {"total": len(rows), **{k: c.get(k, 0) for k in COLOURS}}


def _rating_counts(conn, period: str) -> dict | None:
    rows = conn.execute("SELECT rating, count(*) AS n FROM rating WHERE period = %s GROUP BY rating",
                        (period,)).fetchall()
    if not rows:
        return None
    c = {r["rating"]: r["n"] for r in rows}
    return {"total": sum(c.values()), **{k: c.get(k, 0) for k in COLOURS}}


def _group_counts(rows, key, order=()) -> list[dict]:
    groups: dict[str, Counter] = {}
    for r in rows:
        groups.setdefault(key(r), Counter())[r["rating"]] += 1
    names = [g for g in order if g in groups] + sorted(g for g in groups if g not in order)
    out = []
    for name in names:
        c, total = groups[name], sum(groups[name].values())
        out.append({"name": name, "total": total, **{k: c.get(k, 0) for k in COLOURS},
                    "red_yellow_share": share(c.get("red", 0) + c.get("yellow", 0), total)})
    if not order:   # prefectures: most red and yellow first
        out.sort(key=lambda g: (-(g["red"] + g["yellow"]) / g["total"], -g["red"], g["name"]))
    return out


def _hospital_ref(m: dict, prefectures: dict[str, str]) -> dict:
    return {"code": m["code"], "name": m["name"], "prefecture": prefectures.get(m["code"], ""), "rating": m["rating"],
            "previous": m["previous"], "red_months": m["red_months"]}


def _filing(filings: dict) -> dict:
    t = filings["total"]
    filed = t["on_time"] + t["late"]
    return {"hospitals": t["hospitals"], "filed": filed, "on_time": t["on_time"], "late": t["late"],
            "missing": t["missing"], "completeness": share(filed, t["hospitals"]),
            "timeliness": share(t["on_time"], t["hospitals"])}


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
WHERE r.period = %s AND r.is_current
GROUP BY v.hospital_code
"""
FINANCE_KEYS = ("revenue", "expense", "revenue_ytd", "surplus_ytd", "liabilities", "assets", "wage_arrears")


def _finance_rows(conn, period: str) -> dict[str, dict]:
    return {r["hospital_code"]: r for r in conn.execute(FINANCE_SQL, (period,))}


def _totals(rows: dict[str, dict], codes) -> dict:
    out = {k: sum((rows[c][k] or Decimal(0) for c in codes), Decimal(0)) for k in FINANCE_KEYS}
    out["hospitals"] = len(codes)
    out["surplus"] = out["revenue"] - out["expense"]
    out["surplus_rate_ytd"] = out["surplus_ytd"] / out["revenue_ytd"] if out["revenue_ytd"] else None
    out["debt_ratio"] = out["liabilities"] / out["assets"] if out["assets"] else None
    return out


def _finance(conn, period: str, previous: str, last_year: str) -> dict:
    """The province's totals over the returns filed, and the same-month-last-year comparison
    over the hospitals that filed both months (like for like)."""
    now = _finance_rows(conn, period)
    out = {"now": _totals(now, list(now))}
    for key, other in (("previous", previous), ("last_year", last_year)):
        then = _finance_rows(conn, other)
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


def _thresholds(conn, period: str) -> dict:
    row = conn.execute(
        """SELECT tv.body FROM rating r JOIN threshold_version tv ON tv.id = r.threshold_version_id
           WHERE r.period = %s ORDER BY r.computed_at DESC LIMIT 1""", (period,)).fetchone()
    return (row["body"] if row else {}).get("indicators", {})


def _domain(conn, domain: str, period: str, rows: list[dict], thresholds: dict) -> dict:
    c = Counter(r[domain] for r in rows)
    counts = {k: c.get(k, 0) for k in ("red", "yellow", "green", "n/a", "missing")}
    indicators = [k for k, spec in thresholds.items() if spec.get("domain") == domain]
    values: dict[str, dict[str, dict]] = {}
    for v in conn.execute(
            "SELECT hospital_code, indicator, value, rating FROM indicator_value WHERE period = %s AND indicator = ANY(%s)",
            (period, indicators)):
        values.setdefault(v["indicator"], {})[v["hospital_code"]] = v
    table = []
    for ind in indicators:
        vals = [v["value"] for v in values.get(ind, {}).values() if v["value"] is not None]
        rc = Counter(v["rating"] for v in values.get(ind, {}).values())
        table.append({"indicator": ind, "label": thresholds[ind]["label"],
                      "median": ratings.format_value(ind, statistics.median(vals)) if vals else "—",
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
        "key": domain, "name": ratings.DOMAIN_NAMES[domain], "counts": counts,
        "key_indicator": key, "key_label": thresholds.get(key, {}).get("label", key),
        "indicators": table,
        "concern_total": len(concern),
        "concern": [{"code": r["code"], "name": r["name"], "prefecture": r["prefecture_name"] or "",
                     "colour": r[domain],
                     "key_value": ratings.format_value(key, key_values.get(r["code"], {}).get("value")),
                     "drivers": r["domain_drivers"][domain]} for r in concern[:CONCERN_LIMIT]],
        "sentence": _domain_sentence(domain, counts, len(concern)),
    }


def _rule(indicator: str, spec: dict, colour: str) -> str:
    if not spec.get(colour):
        return "—"
    op, value = spec[colour]
    return f"{ratings.OPS[op]}{ratings.format_value(indicator, value)}"


def _domain_sentence(domain: str, counts: dict, concern: int) -> str:
    name = ratings.DOMAIN_NAMES[domain]
    if not concern:
        return f"本月无医院在{name}方面亮红灯或黄灯。"
    return (f"本月{name}方面红色{counts['red']}家、黄色{counts['yellow']}家、绿色{counts['green']}家"
            + (f"、无法计算{counts['n/a']}家" if counts["n/a"] else "") + "。")


def _trend(conn, period: str) -> dict:
    first = shift_period(period, -(TREND_MONTHS - 1))
    months = [shift_period(first, i) for i in range(TREND_MONTHS)]
    out = {"periods": months, "overall": {}, **{d: {} for d in DOMAINS}}
    for r in conn.execute(
            """SELECT period, 'overall' AS domain, rating AS colour, count(*) AS n FROM rating
               WHERE period BETWEEN %(a)s AND %(b)s GROUP BY period, rating
               UNION ALL
               SELECT period, d.domain, d.colour, count(*) FROM rating
               CROSS JOIN LATERAL (VALUES ('deficit', deficit), ('debt', debt), ('wages', wages)) d (domain, colour)
               WHERE period BETWEEN %(a)s AND %(b)s GROUP BY period, d.domain, d.colour""",
            {"a": first, "b": period}):
        out[r["domain"]].setdefault(r["colour"], {})[r["period"]] = r["n"]
    for key in ("overall", *DOMAINS):
        out[key] = {colour: [out[key].get(colour, {}).get(p, 0) for p in months]
                    for colour in ("red", "yellow", "green", "n/a", "missing")}
    return out


RECONCILIATION_SQL = """
WITH cur AS (SELECT id, hospital_code FROM return WHERE period = %(period)s AND is_current),
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
SELECT cur.id AS return_id, cur.hospital_code AS code, h.name, coalesce(pref.name, '') AS prefecture,
       (SELECT amount FROM declared d WHERE d.return_id = cur.id AND d.item_code = 'R111') AS r111,
       (SELECT amount FROM declared d WHERE d.return_id = cur.id AND d.item_code = 'R112') AS r112,
       (SELECT coalesce(sum(amount), 0) FROM declared d WHERE d.return_id = cur.id
          AND d.item_code IN ('R113', 'R114')) AS r113_114,
       coalesce(rolled.outpatient, 0) AS outpatient, coalesce(rolled.inpatient, 0) AS inpatient,
       coalesce(rolled.drugs, 0) AS drugs, coalesce(rolled.unattributed, 0) AS unattributed,
       coalesce(rolled.outpatient, 0) + coalesce(rolled.inpatient, 0) AS attributed_total
FROM cur JOIN hospital h ON h.code = cur.hospital_code
LEFT JOIN region pref ON pref.code = prefecture_of(h.region_code)
LEFT JOIN rolled ON rolled.return_id = cur.id
ORDER BY cur.hospital_code
"""


def _attribution(conn, period: str) -> dict:
    """Unattributed revenue and the returns whose rollups do not reconcile with 表1,
    computed as the return page computes them (etl.attribution.summary)."""
    from etl.attribution import DRUG_SUBJECTS
    from etl.mapping import UNATTRIBUTED
    rows = conn.execute(RECONCILIATION_SQL, {"period": period, "none": UNATTRIBUTED,
                                             "drugs": list(DRUG_SUBJECTS)}).fetchall()
    version = conn.execute("SELECT v.name, v.effective_from FROM mapping_version v WHERE v.id = mapping_version_for(%s)",
                           (period,)).fetchone()
    total = sum((r["attributed_total"] for r in rows), Decimal(0))
    unattributed = sum((r["unattributed"] for r in rows), Decimal(0))
    problems = []
    for r in rows:
        for label, declared, rolled in (("门急诊收入（R111）", r["r111"], r["outpatient"]),
                                        ("住院收入（R112）", r["r112"], r["inpatient"]),
                                        ("药品＋卫生材料收入（R113＋R114）", r["r113_114"], r["drugs"])):
            if declared is not None and abs(declared - rolled) > TOLERANCE:
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


def _quality(conn, period: str, filings: dict) -> dict:
    late = [r for r in filings["rows"] if r["filing"] == "late"]
    missing = [r for r in filings["rows"] if r["filing"] == "missing"]
    returned = conn.execute(
        """SELECT r.hospital_code AS code, h.name, r.version, r.review_comment
           FROM return r JOIN hospital h ON h.code = r.hospital_code
           WHERE r.period = %s AND r.status = 'returned' ORDER BY r.hospital_code, r.version""",
        (period,)).fetchall()
    status = Counter(r["status"] for r in filings["rows"] if r["status"])

    def ref(r):
        return {"code": r["code"], "name": r["name"], "prefecture": r["prefecture_name"]}
    return {"late": [ref(r) | {"first_at": r["first_at"].strftime("%Y-%m-%d")} for r in late],
            "missing": [ref(r) for r in missing],
            "returned": [{"code": r["code"], "name": r["name"], "version": r["version"],
                          "comment": r["review_comment"] or ""} for r in returned],
            "accepted": status.get("accepted", 0), "awaiting": status.get("submitted", 0),
            "quality_notices": len(filings["quality"]),
            "by_prefecture": [{"name": g["name"] or "未登记地区", "hospitals": g["hospitals"], "on_time": g["on_time"],
                               "late": g["late"], "missing": g["missing"],
                               "completeness": share(g["on_time"] + g["late"], g["hospitals"])}
                              for g in filings["prefectures"]]}


def _appendix_row(r: dict) -> dict:
    return {"code": r["code"], "name": r["name"], "prefecture": r["prefecture_name"] or "",
            "level": r["level"], "rating": r["rating"], "deficit": r["deficit"], "debt": r["debt"],
            "wages": r["wages"], "provisional": bool(r["provisional"]), "version": r["version"]}


def _inputs(conn, period: str) -> dict:
    """What the bulletin was computed from: enough to tell later whether the data changed."""
    row = conn.execute(
        """SELECT coalesce(jsonb_agg(jsonb_build_array(r.hospital_code, r.id, r.version, r.status)
                                     ORDER BY r.hospital_code), '[]') AS returns,
                  (SELECT array_agg(DISTINCT threshold_version_id) FROM rating WHERE period = %(p)s) AS thresholds,
                  (SELECT max(computed_at) FROM rating WHERE period = %(p)s) AS rated_at,
                  mapping_version_for(%(p)s) AS mapping_version
           FROM return r WHERE r.period = %(p)s AND r.is_current""", {"p": period}).fetchone()
    return {"returns": row["returns"], "threshold_version_ids": row["thresholds"] or [],
            "mapping_version_id": row["mapping_version"],
            "rated_at": row["rated_at"].isoformat() if row["rated_at"] else None}


def _summary(c: dict) -> list[str]:
    """总体情况 in a few sentences, every number from the content above."""
    f, n, fin = c["filing"], c["counts"], c["finance"]
    out = [f"{c['period_label']}，全省纳入监测的公立医院{f['hospitals']}家，已报送{f['filed']}家"
           f"（按时{f['on_time']}家、逾期{f['late']}家），未报送{f['missing']}家，报送完整率{f['completeness']}、"
           f"及时率{f['timeliness']}。"]
    if c["provisional"]:
        out[-1] += f"其中{c['provisional']}家的报表尚未审核通过，评级为暂定。"
    rated = n["total"]
    text = (f"评级结果：红色{n['red']}家（{share(n['red'], rated)}）、黄色{n['yellow']}家（{share(n['yellow'], rated)}）、"
            f"绿色{n['green']}家（{share(n['green'], rated)}）")
    text += f"、未上报{n['missing']}家。" if n["missing"] else "。"
    comparisons = [f"{label}红色{change(n['red'], other['red'])}、黄色{change(n['yellow'], other['yellow'])}"
                   for label, other in (("与上月相比，", c["previous_counts"]), ("与上年同月相比，", c["last_year_counts"]))
                   if other]
    out.append(text + ("".join(f"{x}；" for x in comparisons[:-1]) + f"{comparisons[-1]}。" if comparisons else ""))
    m = c["movements"]
    out.append(f"本月新转红色{len(m['newly_red'])}家、新转黄色{len(m['newly_yellow'])}家，评级好转{len(m['improved'])}家；"
               f"连续3个月及以上为红色{len(m['stayed_red'])}家。")
    now = fin["now"]
    if now["hospitals"]:
        text = (f"已报送医院本月总收入合计{yi(now['revenue'])}、总费用{yi(now['expense'])}，"
                f"本年累计收支结余率{percent(now['surplus_rate_ytd'])}")
        ly = fin["last_year"]
        if ly and ly["revenue_then"]:
            text += (f"；可比的{ly['hospitals']}家医院本月总收入较上年同月"
                     f"{'增长' if ly['revenue_growth'] >= 0 else '下降'}{percent(abs(ly['revenue_growth']))}，"
                     f"累计收支结余率由上年同期的{percent(ly['surplus_rate_ytd_then'])}变为{percent(ly['surplus_rate_ytd_now'])}")
        out.append(text + "。")
    out.append("分领域看，" + "；".join(
        f"{d['name']}红色{d['counts']['red']}家、黄色{d['counts']['yellow']}家" for d in c["domains"]) + "。")
    return out


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _province_name(conn) -> str:
    row = conn.execute("SELECT name FROM region WHERE level = 1 ORDER BY code LIMIT 1").fetchone()
    return row["name"] if row else "全省"


def _is_demo(conn) -> bool:
    from etl.demo import has_demo_users
    return has_demo_users(conn)
