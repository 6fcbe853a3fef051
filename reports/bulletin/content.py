"""The monthly bulletin (经济运行监测月报): what it says, computed from the database.

`compose` gathers every number and writes every sentence once, into a JSON-safe dict (the
bulletin's content, archived as its data snapshot); the Word, PDF and web renderers only lay
that content out, so the three always say the same thing. The figures come from the same
functions the pages use (overview.period_overview, overview.changes, periods.submissions), so
the bulletin's numbers are the web's numbers for the same period.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from etl.common.codes import PERIOD_PATTERN, shift_period
from etl.common.errors import HemonError
from etl.filing import periods as period_filings
from etl.ratings import overview
from etl.reference import deployment
from etl.reference.scope import Scope, area_name
from reports.bulletin import early_warning, sections
from reports.bulletin.cases import section as case_section
from reports.bulletin.text import (
    COLOURS,
    LEVEL_GROUPS,
    change,
    cn_period,
    level_group,
    percent,
    share,
    yi,
)

TITLE = "公立医院经济运行监测月报"
# The shape of the content dict. Archived snapshots keep the format they were written in
# (none written: 1) and reports.bulletin.layout draws each as it was; a change to the
# shape raises this and adds a layout for the new format beside the old one.
FORMAT = 1
TIMEZONE = "Asia/Shanghai"   # the province's clock, as config.Base.TIMEZONE
PROVINCE = Scope.province()   # the province's bulletin, whoever reads it


def compose(conn: psycopg.Connection, period: str, scope: Scope = PROVINCE) -> dict:
    """The bulletin's content for `period` over the hospitals in `scope`: the province's, or
    one prefecture's (the same sections, with its counties where the province has prefectures;
    `area`, `group_label` and `region_code` say which)."""
    if not PERIOD_PATTERN.match(period or ""):
        raise HemonError("报告期应为 YYYY-MM")
    if conn.execute("SELECT 1 FROM period WHERE period = %s", (period,)).fetchone() is None:
        raise HemonError(f"报告期 {period} 尚未开放，无法生成月报")
    previous, last_year = shift_period(period, -1), shift_period(period, -12)
    name = area_name(conn, scope)
    rows = overview.period_overview(conn, period, scope)
    if not rows:
        raise HemonError(f"{name if scope.is_prefecture else ''}尚未登记医疗机构，无法生成月报")
    by_county = scope.is_prefecture
    for r in rows:   # where a hospital is, in the tables: its prefecture, or its county in a prefecture's
        r["place"] = (r["region_name"] if by_county else r["prefecture_name"]) or ""
    counts = _counts(rows)
    before = _rating_counts(conn, previous, scope)
    year_ago = _rating_counts(conn, last_year, scope)
    filings = period_filings.submissions(conn, period, scope)
    moves = overview.changes(conn, period, scope)
    thresholds = sections.thresholds(conn, period)
    places = {r["code"]: r["place"] for r in rows}
    content = {
        "format": FORMAT,
        "period": period,
        "title": f"{name}{TITLE}",
        "area": "全省" if scope.is_province else f"全{name[-1]}",      # 全市 / 全州
        "group_label": "县（市、区）" if by_county else "市（州）",
        "region_code": scope.region_code,
        "period_label": cn_period(period),
        "generated_at": dt.datetime.now(ZoneInfo(TIMEZONE)).isoformat(timespec="seconds"),
        "demo": deployment.is_demo(conn),
        "provisional": sum(1 for r in rows if r["provisional"]),
        "counts": counts, "previous_counts": before, "last_year_counts": year_ago,
        "filing": _filing(filings),
        "finance": sections.finance(conn, period, previous, last_year, scope),
        "by_prefecture": _group_counts(rows, lambda r: r["place"] or "未登记地区"),
        "by_level": _group_counts(rows, lambda r: level_group(r["level"]), order=LEVEL_GROUPS),
        "movements": {k: [_hospital_ref(m, places) for m in v] for k, v in moves.items()},
        "domains": [sections.domain(conn, d, period, rows, thresholds, scope) for d in sections.DOMAINS],
        "trend": sections.trend(conn, period, scope),
        "cases": case_section(conn, period, scope),
        "attribution": sections.attribution(conn, period, scope),
        "quality": sections.quality(conn, period, filings, scope),
        "appendix": [_appendix_row(r) for r in rows],
        "inputs": _inputs(conn, period, scope),
    }
    warning = early_warning.section(conn, period, scope)   # only when on and precise enough: no key otherwise
    if warning is not None:
        content["early_warning"] = warning
    content["summary"] = _summary(content)
    return _jsonable(content)


def _counts(rows: list[dict]) -> dict:
    c = Counter(r["rating"] for r in rows)
    return {"total": len(rows), **{k: c.get(k, 0) for k in COLOURS}}


def _rating_counts(conn, period: str, scope: Scope) -> dict | None:
    where, extra = scope.clause("hospital_code")
    rows = conn.execute(sql.SQL("SELECT rating, count(*) AS n FROM rating WHERE period = %(period)s AND {} "
                                "GROUP BY rating").format(where), {"period": period} | extra).fetchall()
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


def _appendix_row(r: dict) -> dict:
    return {"code": r["code"], "name": r["name"], "prefecture": r["place"],
            "level": r["level"], "rating": r["rating"], "deficit": r["deficit"], "debt": r["debt"],
            "wages": r["wages"], "provisional": bool(r["provisional"]), "version": r["version"]}


def _inputs(conn, period: str, scope: Scope) -> dict:
    """What the bulletin was computed from: enough to tell later whether the data changed."""
    where, extra = scope.clause("r.hospital_code")
    mine, _ = scope.clause("x.hospital_code")
    row = conn.execute(sql.SQL(
        """SELECT coalesce(jsonb_agg(jsonb_build_array(r.hospital_code, r.id, r.version, r.status)
                                     ORDER BY r.hospital_code), '[]') AS returns,
                  (SELECT array_agg(DISTINCT threshold_version_id) FROM rating x
                   WHERE x.period = %(p)s AND {mine}) AS thresholds,
                  (SELECT max(computed_at) FROM rating x WHERE x.period = %(p)s AND {mine}) AS rated_at,
                  mapping_version_for(%(p)s) AS mapping_version
           FROM return r WHERE r.period = %(p)s AND r.is_current AND {where}""").format(mine=mine, where=where),
        {"p": period} | extra).fetchone()
    return {"returns": row["returns"], "threshold_version_ids": row["thresholds"] or [],
            "mapping_version_id": row["mapping_version"],
            "rated_at": row["rated_at"].isoformat() if row["rated_at"] else None}


def _summary(c: dict) -> list[str]:
    """总体情况 in a few sentences, every number from the content above."""
    f, n, fin = c["filing"], c["counts"], c["finance"]
    out = [f"{c['period_label']}，{c.get('area', '全省')}纳入监测的公立医院{f['hospitals']}家，已报送{f['filed']}家"
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


