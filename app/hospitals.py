"""One hospital's page: ratings and indicators over time, drill-through to the cells."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from app import inputs, month
from app import review as review_panel
from app.auth import current_scope, login_required
from app.db import get_conn
from app.forecast import READERS as FORECAST_READERS
from etl.attribution import rollup
from etl.filing import review
from etl.ratings import indicators, overview, scoring
from etl.reference import finder
from etl.reference.registry_changes import history as registry_history
from etl.reference.scope import Scope
from etl.warning import forecast
from reports import charts

bp = Blueprint("hospitals", __name__, url_prefix="/hospitals")
TRENDS = ("surplus_rate_month", "debt_ratio", "cash_days", "wage_arrears")
# Roles that see more than one hospital and may open hospital pages: the header's search box.
SEARCHERS = ("reviewer", "admin", "prefecture")


def init_globals(state) -> None:
    state.app.jinja_env.globals.setdefault("SEARCHERS", SEARCHERS)


bp.record_once(init_globals)


@bp.get("/search")
@login_required(*SEARCHERS)
def search():
    """Hospitals in the user's scope by name, code or pinyin initials (?q=); ?format=json for
    the header's suggestions. One hit opens its page; links carry the page's month (?period=)."""
    conn = get_conn()
    query = request.args.get("q", "").strip()
    period = inputs.period(request.args.get("period"), required=False) or month.default(conn)
    found = finder.search(conn, query, current_scope())
    if request.args.get("format") == "json":
        return jsonify([{"code": h["code"], "name": h["name"], "level": h["level"],
                         "prefecture": h["prefecture_name"] or "",
                         "url": url_for("hospitals.detail", code=h["code"], period=period)} for h in found])
    if len(found) == 1:
        return redirect(url_for("hospitals.detail", code=found[0]["code"], period=period))
    return render_template("hospitals/search.html", query=query, found=found, period=period,
                           limit=finder.LIMIT)


@bp.get("/<code>")
@login_required("reviewer", "admin", "hospital", "prefecture")
def detail(code):
    conn = get_conn()
    info = overview.hospital(conn, code, current_scope())
    if info is None:
        abort(404)
    period, periods = month.chosen(conn)
    # The registry's changes (closing, code change, merger): who made them only for the province.
    events = {"history": registry_history(conn, code), "show_actor": g.user["role"] != "hospital"}
    if period is None:
        return render_template("hospitals/detail.html", info=info, period=None, **events)
    hist = overview.history(conn, code, period)
    by_period = {r["period"]: r for r in hist["ratings"]}
    current = by_period.get(period)
    specs = conn.execute(
        "SELECT body FROM threshold_version WHERE id = (SELECT threshold_version_id FROM rating "
        "WHERE hospital_code = %s AND period = %s)", (code, period)).fetchone()
    specs = (specs or {}).get("body") or scoring.load_thresholds(current_app.config["RISK_THRESHOLDS_FILE"])
    rows = []
    cells = indicators.sources(conn, current["return_id"]) if current and current["return_id"] else {}
    shown = scoring.computed(specs)   # rated ones and the monitored ones the version lists
    for ind in indicators.REGISTRY:
        if ind.id not in shown:
            continue
        spec = specs["indicators"].get(ind.id) or {}
        value = hist["values"].get(ind.id, {}).get(period)
        colour = value["rating"] if value else None
        if colour != "n/a" and not (spec.get("yellow") or spec.get("red")):
            # No thresholds: scoring's green means only "not rated"; the page says "—".
            colour = None
        rows.append({"name": ind.id, "label": ind.label, "domain": ind.domain if ind.rated else None,
                     "value": value["value"] if value else None, "colour": colour,
                     "text": overview.explain(ind.id, ind.label, value["value"] if value else None, colour or "", spec),
                     "formula": ind.words, "cells": cells.get(ind.id, []), "extra": ind.extra})
    strip = charts.rating_strip(hist["periods"], [
        ("总体", {r["period"]: r["rating"] for r in hist["ratings"]}),
        *[(label, {r["period"]: r[d] for r in hist["ratings"]}) for d, label in overview.DOMAIN_NAMES.items()]])
    trends = [charts.trend_line(indicators.label(n), hist["periods"],
                                {p: v["value"] for p, v in hist["values"].get(n, {}).items()},
                                lambda v, n=n: overview.format_value(n, v),
                                {c: specs["indicators"].get(n, {}).get(c) for c in ("yellow", "red")})
              for n in TRENDS]
    # The early warning for this hospital, for those who read the list (not the hospital itself,
    # not leaders: docs/forecast.md). Its own history only, so it costs one hospital's rows.
    warned = (forecast.warnings(conn, period, Scope.hospital(code))
              if g.user["role"] in FORECAST_READERS else None)
    found = review.findings(conn, current["return_id"]) if current and current["return_id"] else []
    attributed = rollup.summary(conn, current["return_id"]) if current and current["return_id"] else None
    return render_template("hospitals/detail.html", info=info, period=period, periods=periods,
                           findings=found, statuses=review.STATUS_NAMES,
                           rv=review_panel.panel(conn, current["return_id"] if current else None), attributed=attributed,
                           current=current, rows=rows, months=list(reversed(hist["ratings"])),
                           strip=Markup(strip), trends=[Markup(t) for t in trends],
                           colours=overview.COLOUR_NAMES, domains=overview.DOMAIN_NAMES, warned=warned,
                           **events)

