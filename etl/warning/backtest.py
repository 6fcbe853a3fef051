"""The backtest: how the projections would have done over the stored history.

Every rated month t that has a later rated month is an origin; the projection made at t
reads only months up to t (etl.warning.projection). For each hospital and domain rated
(red / yellow / green) at t and again at t+h, horizons h = 1..3, three questions:

- target "red": will the domain be red at t+h? Predicted by each model's projected colour,
  and by the naive forecast (its colour at t, i.e. last month's colour carried forward).
- target "yellow+": will it be yellow or red at t+h? Same three predictions.
- "list": the early-warning list itself — the domains whose projected colour at t+h is worse
  than at t (the ones it names). A hit is a named domain whose actual colour at t+h is at
  least the colour named; recall is hits over the domains that did get worse. The naive
  forecast names nobody, so its recall here is 0 by construction.

Precision = hits / predicted, recall = hits / actual (None when the divisor is 0). The
stored history is what is known now: a return revised later is read as revised.
"""
from __future__ import annotations

from collections import Counter

import psycopg

from etl.reference import deployment
from etl.reference.scope import Scope
from etl.warning import forecast
from etl.warning.projection import HORIZONS, RANK

METHODS = ("naive", "trend", "seasonal")
METHOD_NAMES = {"naive": "朴素预测（沿用本月颜色）", "trend": "趋势外推", "seasonal": "趋势＋季节"}
TARGETS = ("red", "yellow+", "list")
TARGET_NAMES = {"red": "将为红色", "yellow+": "将为黄色及以上", "list": "预警名单（将转差）"}
CACHE = "forecast_backtest"     # deployment_setting holding the last result and its fingerprint


def _now(conn) -> str:
    """The time in the province's zone (the sessions run in it), as YYYY-MM-DD HH:MM."""
    return conn.execute("SELECT to_char(now(), 'YYYY-MM-DD HH24:MI') AS at").fetchone()["at"]


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def run(conn: psycopg.Connection, scope: Scope | None = None) -> dict:
    """Backtest over every rated month of the hospitals in `scope` (default: the province).

    Returns {first, last, origins, hospitals, cases, rows: [{horizon, target, method,
    predicted, actual, hits, precision, recall}], computed_at}; precision and recall are
    rounded floats (ratios of counts)."""
    scope = scope or Scope.province()
    specs = forecast.thresholds_for(conn)
    periods = [r["period"] for r in conn.execute("SELECT DISTINCT period FROM rating ORDER BY period")]
    result = {"first": periods[0] if periods else None, "last": periods[-1] if periods else None,
              "origins": max(len(periods) - 1, 0), "hospitals": 0, "cases": {h: 0 for h in HORIZONS},
              "rows": [], "computed_at": _now(conn)}
    counts = {(h, t, m): Counter() for h in HORIZONS for t in TARGETS for m in METHODS}
    if len(periods) > 1 and specs:
        history = forecast.load(conn, periods[0], periods[-1], scope, list(specs))
        result["hospitals"] = len(history.hospitals)
        months: dict[str, list[int]] = {}
        for code, x in history.ratings:
            months.setdefault(code, []).append(x)
        for code in history.hospitals:
            for origin in sorted(months.get(code, ())):
                _origin(history, code, origin, specs, counts, result["cases"])
    for h in HORIZONS:
        for target in TARGETS:
            for method in METHODS:
                c = counts[(h, target, method)]
                result["rows"].append({"horizon": h, "target": target, "method": method,
                                       "predicted": c["predicted"], "actual": c["actual"], "hits": c["hits"],
                                       "precision": _ratio(c["hits"], c["predicted"]),
                                       "recall": _ratio(c["hits"], c["actual"])})
    return result


def _origin(history, code: str, origin: int, specs: dict, counts: dict, cases: dict) -> None:
    now_rating = history.ratings[(code, origin)]
    later = {h: history.ratings.get((code, origin + h)) for h in HORIZONS}
    if not any(later.values()):
        return
    projections, current = forecast.projections_at(history, code, origin, specs)
    for domain in forecast.DOMAINS:
        now = now_rating[domain]
        if now not in RANK:
            continue
        steps = {m: forecast.outlook(domain, projections, current, specs, m == "seasonal")
                 for m in ("trend", "seasonal")}
        for h in HORIZONS:
            actual = (later[h] or {}).get(domain)
            if actual not in RANK:
                continue
            cases[h] += 1
            projected = {"naive": now, **{m: steps[m][h - 1][0] or now for m in steps}}
            for target, least in (("red", 3), ("yellow+", 2)):
                for method, c in projected.items():
                    tally = counts[(h, target, method)]
                    said, was = RANK[c] >= least, RANK[actual] >= least
                    tally["predicted"] += said
                    tally["actual"] += was
                    tally["hits"] += said and was
            worse = RANK[actual] > RANK[now]
            for method, c in projected.items():
                tally = counts[(h, "list", method)]
                named = RANK[c] > RANK[now]
                tally["predicted"] += named
                tally["actual"] += worse
                tally["hits"] += named and RANK[actual] >= RANK[c]


def row(result: dict, horizon: int, target: str = "list", method: str = forecast.MODEL) -> dict | None:
    return next((r for r in result["rows"] if (r["horizon"], r["target"], r["method"]) == (horizon, target, method)),
                None)


def fingerprint(conn: psycopg.Connection) -> str:
    """Changes whenever ratings are rewritten (any rescore) or thresholds change."""
    r = conn.execute("""SELECT count(*) AS n, max(computed_at) AS at, max(threshold_version_id) AS tv,
                               min(period) AS a, max(period) AS b FROM rating""").fetchone()
    return f"{r['n']}|{r['at'].isoformat() if r['at'] else ''}|{r['tv']}|{r['a']}|{r['b']}"


def cached(conn: psycopg.Connection, *, store: bool = True) -> dict:
    """The province's backtest, recomputed only when the ratings changed since it was stored;
    `store=False` (inside a bulletin's read-only snapshot) computes without writing."""
    mark = fingerprint(conn)
    kept = deployment.setting(conn, CACHE)
    if kept and kept.get("fingerprint") == mark and "result" in kept:
        return _keys(kept["result"]) | {"stale": False}
    result = run(conn)
    if store:
        with conn.transaction():
            deployment.set_setting(conn, CACHE, {"fingerprint": mark, "result": result})
    return result | {"stale": False}


def latest(conn: psycopg.Connection) -> dict:
    """The stored backtest even if the ratings changed since (then "stale" is True), for the
    pages: a province-wide backtest takes tens of seconds, longer than a web request should.
    Computed and stored here only when none is stored yet; `refresh` or the
    `forecast-backtest` command brings it up to date."""
    kept = deployment.setting(conn, CACHE)
    if not kept or "result" not in kept:
        return cached(conn)
    return _keys(kept["result"]) | {"stale": kept.get("fingerprint") != fingerprint(conn)}


def refresh(conn: psycopg.Connection) -> dict:
    """Recompute the backtest now and store it."""
    result = run(conn)
    with conn.transaction():
        deployment.set_setting(conn, CACHE, {"fingerprint": fingerprint(conn), "result": result})
    return result | {"stale": False}


def _keys(result: dict) -> dict:
    """A result read back from JSON: horizons as ints again."""
    return result | {"cases": {int(k): v for k, v in result["cases"].items()}}

