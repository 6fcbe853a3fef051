"""A case month by month: the domain's indicators since opening, against the plan's
milestones, with the hospital's progress note and (wages) the repayment check."""
from __future__ import annotations

from decimal import Decimal

import psycopg

from etl.cases import plans, repayment
from etl.ratings import indicators as registry
from etl.ratings.overview import COLOUR_NAMES

NOTE_MIN = 6            # characters of a progress note at least


def _direction(spec: dict) -> str | None:
    """'up' when higher values are worse (red/yellow use > or >=), 'down' when lower are."""
    for colour in ("red", "yellow"):
        if spec.get(colour):
            return "up" if spec[colour][0].startswith(">") else "down"
    return None


def months(conn: psycopg.Connection, case: dict, plan: dict) -> list[dict]:
    """From the opening month to the hospital's latest rated month (newest first): the
    domain's colour, each rated indicator of the domain (value, colour, the month's milestone
    and whether it is met), and the progress note."""
    domain = case["domain"]
    indicators = plans.domain_indicators(domain)
    ratings = conn.execute(
        """SELECT r.period, domain_colour(r.deficit, r.debt, r.wages, %(domain)s) AS colour, tv.body
           FROM rating r LEFT JOIN threshold_version tv ON tv.id = r.threshold_version_id
           WHERE r.hospital_code = %(code)s AND r.period >= %(since)s ORDER BY r.period DESC""",
        {"domain": domain, "code": case["hospital_code"], "since": case["opened_period"]}).fetchall()
    values = {(r["period"], r["indicator"]): r for r in conn.execute(
        """SELECT period, indicator, value, rating FROM indicator_value
           WHERE hospital_code = %s AND period >= %s AND indicator = ANY(%s)""",
        (case["hospital_code"], case["opened_period"], [i.id for i in indicators]))}
    notes = {n["period"]: n for n in conn.execute(
        """SELECT n.period, n.body, n.written_at, u.display_name, u.username FROM risk_case_note n
           LEFT JOIN app_user u ON u.id = n.author_id WHERE n.case_id = %s""", (case["id"],))}
    targets = {(m["period"], m["indicator"]): m["target"] for m in plan["milestones"]}
    out = []
    for r in ratings:
        specs = (r["body"] or {}).get("indicators", {})
        rows = []
        for ind in indicators:
            v = values.get((r["period"], ind.id))
            target = targets.get((r["period"], ind.id))
            met = None
            if target is not None and v and v["value"] is not None:
                way = _direction(specs.get(ind.id, {}))
                met = (Decimal(v["value"]) <= target) if way == "up" else (Decimal(v["value"]) >= target)
            rows.append({"indicator": ind.id, "label": ind.label,
                         "value": registry.format_value(ind.id, v["value"] if v else None),
                         "colour": v["rating"] if v else None,
                         "target": registry.format_value(ind.id, target) if target is not None else None,
                         "met": met})
        out.append({"period": r["period"], "colour": r["colour"], "colour_name": COLOUR_NAMES.get(r["colour"], ""),
                    "indicators": rows, "note": notes.get(r["period"])})
    return out


def detail(conn: psycopg.Connection, case: dict) -> dict:
    """Everything the case page shows besides the case row: plan, months, repayment check,
    attachments."""
    plan = plans.load(conn, case["id"])
    schedule = repayment.check(conn, case, plan["repayments"]) if case["domain"] == "wages" else []
    files = conn.execute(
        """SELECT seq, file_name, kind, file_size, uploaded_at FROM risk_case_file WHERE case_id = %s ORDER BY seq""",
        (case["id"],)).fetchall()
    return {"plan": plan, "months": months(conn, case, plan), "repayments": schedule,
            "shortfall": repayment.latest_shortfall(schedule), "files": files}
