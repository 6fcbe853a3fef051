"""Open cases from ratings: one case per hospital and red domain; a later red month joins it.

Called by etl.ratings.rescoring.rescore at the end of every rescore, inside its transaction
and under its scoring locks: one hospital's rescores queue, a province-wide one excludes
them, so two rescores never decide about the same hospital at once. The INSERT also says
ON CONFLICT DO NOTHING on the one-open-case index, so even a caller without the locks cannot
open a second case. Green and yellow domains never open a case; a red month already covered
by a case (an open one, or a closed one up to its closing month) opens nothing.
"""
from __future__ import annotations

import json
from decimal import Decimal

import psycopg

from etl.common.audit import record
from etl.ratings import indicators as registry
from etl.ratings.overview import explain
from etl.reference import deployment

PLAN_DAYS = 15          # default days after opening for the plan (deployment_setting case_plan_days)

OPEN_SQL = """
WITH red AS (
    SELECT r.hospital_code, r.period, d.domain
    FROM rating r
    CROSS JOIN LATERAL (VALUES ('deficit', r.deficit), ('debt', r.debt), ('wages', r.wages)) AS d (domain, colour)
    WHERE r.period = ANY(%(periods)s) AND d.colour = 'red'
      AND (%(hospital)s::text IS NULL OR r.hospital_code = %(hospital)s)
),
fresh AS (
    SELECT red.hospital_code, red.domain, min(red.period) AS period
    FROM red
    WHERE NOT EXISTS (SELECT 1 FROM risk_case c
                      WHERE c.hospital_code = red.hospital_code AND c.domain = red.domain
                        AND (c.status <> 'closed' OR c.closed_period >= red.period))
    GROUP BY red.hospital_code, red.domain
)
INSERT INTO risk_case (hospital_code, domain, opened_period, plan_due)
SELECT hospital_code, domain, period, current_date + %(days)s::integer FROM fresh
ON CONFLICT (hospital_code, domain) WHERE status <> 'closed' DO NOTHING
RETURNING id, hospital_code, domain, opened_period
"""


def plan_days(conn: psycopg.Connection) -> int:
    """Days a hospital has for its plan after a case opens (or is sent back)."""
    return int(deployment.setting(conn, "case_plan_days", PLAN_DAYS))


def open_for_reds(conn: psycopg.Connection, periods: list[str], hospital: str | None = None) -> list[dict]:
    """Open a case for every red domain of `periods` (of `hospital`, or every hospital) not
    yet covered by one; fill each with its opening month's driver sentences and cells.

    Returns the cases opened (id, hospital_code, domain, opened_period). Run it where the
    ratings were just written, in the same transaction (rescoring does).
    """
    if not periods:
        return []
    opened = conn.execute(OPEN_SQL, {"periods": list(periods), "hospital": hospital,
                                     "days": plan_days(conn)}).fetchall()
    for case in opened:
        record(conn, None, "case.open", f"risk_case:{case['id']}", None, dict(case))
        conn.execute("UPDATE risk_case SET drivers = %s::jsonb WHERE id = %s",
                     (_json(drivers(conn, case["hospital_code"], case["opened_period"], case["domain"])), case["id"]))
    return opened


def drivers(conn: psycopg.Connection, hospital: str, period: str, domain: str) -> list[dict]:
    """The domain's red indicators that month, as the hospital page explains them: the
    sentence, the value and the cells it was computed from."""
    rating = conn.execute(
        """SELECT r.return_id, tv.body FROM rating r LEFT JOIN threshold_version tv ON tv.id = r.threshold_version_id
           WHERE r.hospital_code = %s AND r.period = %s""", (hospital, period)).fetchone()
    if rating is None or rating["return_id"] is None:
        return []
    specs = (rating["body"] or {}).get("indicators", {})
    cells = registry.sources(conn, rating["return_id"])
    out = []
    for row in conn.execute(
            """SELECT indicator, value, rating FROM indicator_value
               WHERE hospital_code = %s AND period = %s AND rating = 'red' ORDER BY indicator""",
            (hospital, period)):
        ind = registry.BY_ID.get(row["indicator"])
        if ind is None or ind.domain != domain or not ind.rated:
            continue
        out.append({"indicator": ind.id, "text": explain(ind.id, ind.label, row["value"], "red",
                                                         specs.get(ind.id, {})),
                    "value": row["value"], "cells": cells.get(ind.id, []),
                    "extra": list(ind.extra) if ind.extra else None})
    return out


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=lambda o: str(o) if isinstance(o, Decimal) else repr(o))
