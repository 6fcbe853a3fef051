"""The early-warning list: hospitals and domains likely to turn red or yellow within 3 months.

For a period (the origin) and a Scope: every rated indicator with thresholds is projected
(etl.warning.projection) from the stored indicator values; a domain's projected colour at each
horizon is the worst of its indicators' projected colours (an indicator too short to project
keeps its colour). A hospital's domain is warned of when that colour is worse than its rating
now (red, yellow or green; n/a and missing months give none): the worst colour reached within
3 months, the first month it is reached, and the indicator that reaches it, with a sentence.
Thresholds are those the origin month was rated with, so "now" and the projection agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import psycopg
from psycopg import sql

from etl.common.codes import period_from_index, period_index, shift_period
from etl.ratings import indicators as registry
from etl.ratings import overview
from etl.reference.scope import Scope
from etl.warning import projection
from etl.warning.projection import HORIZONS, RANK

DOMAINS = registry.DOMAINS
DOMAIN_NAMES = overview.DOMAIN_NAMES
# The model the list and the bulletin use: "seasonal" (trend and season) or "trend" alone.
# The backtest measures both (docs/forecast.md says why this one).
MODEL = "seasonal"
# Months of history read before the origin: this year's window and last year's, plus a margin.
HISTORY_MONTHS = projection.SEASON + projection.WINDOW


def thresholds_for(conn: psycopg.Connection, period: str | None = None) -> dict:
    """The rated indicators' specs {indicator: {"yellow": …, "red": …}} of the threshold
    version that rated `period` (None: the newest rated period); {} when nothing is rated."""
    row = conn.execute(
        """SELECT tv.body FROM rating r JOIN threshold_version tv ON tv.id = r.threshold_version_id
           WHERE %(p)s::text IS NULL OR r.period = %(p)s
           ORDER BY r.period DESC, r.computed_at DESC LIMIT 1""", {"p": period}).fetchone()
    body = (row["body"] if row else {}).get("indicators", {})
    return {k: v for k, v in body.items() if k in registry.BY_ID and (v.get("yellow") or v.get("red"))}


@dataclass
class History:
    """Indicator values and domain ratings of the hospitals in a scope over a span of months."""
    values: dict[tuple[str, str], dict[int, Decimal]]     # (hospital, indicator) -> {month: value}
    ratings: dict[tuple[str, int], dict[str, str]]        # (hospital, month) -> {domain: colour}
    hospitals: dict[str, dict]                            # code -> name, prefecture


def load(conn: psycopg.Connection, first: str, last: str, scope: Scope, indicators: list[str]) -> History:
    """Read the values and ratings from `first` to `last` (periods) of the hospitals in `scope`."""
    where, extra = scope.clause("hospital_code")
    params = {"a": first, "b": last, "ids": indicators} | extra
    values: dict[tuple[str, str], dict[int, Decimal]] = {}
    for r in conn.execute(sql.SQL(
            """SELECT hospital_code, period, indicator, value FROM indicator_value
               WHERE period BETWEEN %(a)s AND %(b)s AND indicator = ANY(%(ids)s) AND value IS NOT NULL
                 AND {where}""").format(where=where), params):
        values.setdefault((r["hospital_code"], r["indicator"]), {})[period_index(r["period"])] = r["value"]
    ratings = {(r["hospital_code"], period_index(r["period"])): {d: r[d] for d in DOMAINS}
               for r in conn.execute(sql.SQL(
                   """SELECT hospital_code, period, deficit, debt, wages FROM rating
                      WHERE period BETWEEN %(a)s AND %(b)s AND {where}""").format(where=where), params)}
    where, extra = scope.clause("h.code")
    hospitals = {r["code"]: r for r in conn.execute(sql.SQL(
        """SELECT h.code, h.name, coalesce(pref.name, '') AS prefecture FROM hospital h
           LEFT JOIN region pref ON pref.code = prefecture_of(h.region_code) WHERE {where}""").format(where=where),
        extra)}
    return History(values, ratings, hospitals)


def outlook(domain: str, projections: dict[str, projection.Projection | None], current: dict[str, Decimal],
            specs: dict, seasonal: bool = True) -> list[tuple[str | None, str | None]]:
    """Per horizon 1..3, (the domain's projected colour, the indicator driving it): the worst
    projected colour of the domain's indicators that have a value now; an indicator without a
    projection keeps its value. The driver is the first (registry order) reaching the worst
    colour, preferring one that changes colour."""
    out = []
    members = [i for i in specs if registry.BY_ID[i].domain == domain and current.get(i) is not None]
    members.sort(key=registry.IDS.index)
    now_colours = {ind: projection.colour(float(current[ind]), specs[ind]) for ind in members}
    for h in HORIZONS:
        best: tuple[int, int, str] | None = None
        for ind in members:
            p = projections.get(ind)
            c = now_colours[ind] if p is None else projection.colour(p.at(h, seasonal), specs[ind])
            key = (RANK[c], 1 if RANK[c] > RANK[now_colours[ind]] else 0)
            if best is None or key > best[:2]:
                best = (*key, ind)
        out.append((None, None) if best is None else
                   (next(k for k, v in RANK.items() if v == best[0]), best[2]))
    return out


def warning(now: str, steps: list[tuple[str | None, str | None]]) -> tuple[str, int, str] | None:
    """(colour, months ahead, indicator) when the projected colour gets worse than `now`:
    the worst colour reached, at the first month it is reached; None otherwise."""
    if now not in RANK:
        return None
    reached = [(RANK[c], h, ind) for h, (c, ind) in enumerate(steps, 1) if c and RANK[c] > RANK[now]]
    if not reached:
        return None
    worst = max(r for r, _, _ in reached)
    _, h, ind = next(x for x in reached if x[0] == worst)
    return next(k for k, v in RANK.items() if v == worst), h, ind


def projections_at(history: History, code: str, origin: int, specs: dict) -> tuple[dict, dict]:
    """(projections, current values) of one hospital's rated indicators at `origin`."""
    projections, current = {}, {}
    for ind in specs:
        series = history.values.get((code, ind))
        if series and origin in series:
            current[ind] = series[origin]
            projections[ind] = projection.project(ind, series, origin)
    return projections, current


def warnings(conn: psycopg.Connection, period: str, scope: Scope, *, model: str = MODEL,
             horizon: int = len(HORIZONS)) -> list[dict]:
    """The early-warning list of `period` within `scope`, looking `horizon` months ahead (1–3):
    one dict per hospital and domain warned of (hospital, hospital_name, prefecture, period, domain, domain_name, now,
    colour, months_ahead, target_period, indicator, indicator_label, value, projected,
    threshold, reason), red first, then the soonest, then by hospital code."""
    specs = thresholds_for(conn, period)
    if not specs:
        return []
    history = load(conn, shift_period(period, -HISTORY_MONTHS), period, scope, list(specs))
    origin, seasonal = period_index(period), model == "seasonal"
    out = []
    for code, info in history.hospitals.items():
        rating = history.ratings.get((code, origin))
        if not rating:
            continue
        projections, current = projections_at(history, code, origin, specs)
        for domain in DOMAINS:
            found = warning(rating[domain], outlook(domain, projections, current, specs, seasonal)[:horizon])
            if found is None:
                continue
            colour, h, ind = found
            p = projections.get(ind)
            if p is None:      # thresholds changed since this month was rated: nothing projected
                continue
            op, threshold = specs[ind][colour]
            out.append({
                "hospital": code, "hospital_name": info["name"], "prefecture": info["prefecture"],
                "period": period, "domain": domain, "domain_name": DOMAIN_NAMES[domain],
                "now": rating[domain], "colour": colour, "months_ahead": h,
                "target_period": period_from_index(origin + h), "indicator": ind,
                "indicator_label": registry.label(ind), "value": p.now,
                "projected": round(p.at(h, seasonal), 4), "threshold": f"{op}{threshold}",
                "reason": projection.reason(p, h, colour, specs[ind], seasonal)})
    out.sort(key=lambda w: (-RANK[w["colour"]], w["months_ahead"], w["hospital"], DOMAINS.index(w["domain"])))
    return out
