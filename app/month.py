"""The month a page opens on, one rule for every page (etl.filing.periods.choose).

Overview, map, region and hospital pages, the bulletin form and the ratings export open on the
newest month whose deadline has passed, or a newer one once DEFAULT_PERIOD_SHARE of hospitals
have filed it, so the first return of a new month does not turn everyone's pages grey. A
?period= in the address always wins; links between pages carry it.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, request

from app import inputs
from app.auth import current_scope
from etl.filing import periods


def today() -> dt.date:
    """Today in the province's time zone (deadlines are the province's dates)."""
    return dt.datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).date()


def share() -> float:
    return float(current_app.config["DEFAULT_PERIOD_SHARE"])


def default(conn, rows: list[dict] | None = None) -> str | None:
    """The month pages open on; `rows` from `periods.rated_periods` if the caller has them."""
    if rows is None:
        rows = periods.rated_periods(conn, current_app.config["DEADLINE_DAY"])
    return periods.choose(rows, today(), share())


def chosen(conn) -> tuple[str | None, list[dict]]:
    """The page's period (?period= when given, else the default; a malformed one is a 400 in
    Chinese) and the selector's choices: rated periods newest first with their filing share
    (a prefecture user's: its prefecture's hospitals)."""
    rows = periods.rated_periods(conn, current_app.config["DEADLINE_DAY"], current_scope())
    period = inputs.period(request.args.get("period"), required=False) or default(conn, rows)
    return period, rows
