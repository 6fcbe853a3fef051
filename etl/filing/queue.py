"""The review queue (a reviewer's home): a period's returns by what they wait for, at the
reviewer's level and in the reviewer's scope, and each prefecture's review progress.

Buckets: 待审核 (`awaiting`: waiting for a decision at this level — with two levels the
province also gets what the prefecture left past its deadline, marked `prefecture_overdue`),
有核实说明 (`explained`: awaiting ones with explanations to read), 已退回待重报 (`returned`),
逾期未报 (`missing`: no return after the filing deadline), and for the province 申请重新打开
(`reopen`). Every query takes the user's Scope; filters (prefecture, hospital level) narrow it.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
from psycopg import sql

from etl.common.errors import HemonError
from etl.filing import review, workflow
from etl.reference.scope import Scope

BUCKETS = {"awaiting": "待审核", "explained": "有核实说明", "returned": "已退回待重报", "missing": "逾期未报",
           "reopen": "申请重新打开"}

# prefecture_of is computed once per hospital (a materialised CTE): as a join key and sort key
# it would run for every use, ~0.1 ms each.
ROWS_SQL = """
WITH h AS MATERIALIZED (
    SELECT h.code, h.name, h.level, prefecture_of(h.region_code) AS prefecture FROM hospital h
    WHERE {scope} AND (%(level)s::text IS NULL OR h.level = %(level)s)
)
SELECT h.code, h.name, h.level, h.prefecture, coalesce(pref.name, '') AS prefecture_name,
       r.id, r.version, r.status, r.submitted_at, r.review_comment, p.deadline,
       filed_late((SELECT min(x.submitted_at) FROM return x WHERE x.hospital_code = h.code
                   AND x.period = p.period), p.deadline) AS late,
       coalesce(f.errors, 0) AS errors, coalesce(f.warnings, 0) AS warnings, coalesce(f.notices, 0) AS notices,
       coalesce(f.unexplained, 0) AS unexplained, coalesce(f.explained, 0) AS explained,
       q.id AS reopen_id, q.reason AS reopen_reason
FROM h
CROSS JOIN period p
LEFT JOIN region pref ON pref.code = h.prefecture
LEFT JOIN return r ON r.hospital_code = h.code AND r.period = p.period AND r.is_current
LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE severity = 'error') AS errors,
           count(*) FILTER (WHERE severity = 'warning') AS warnings,
           count(*) FILTER (WHERE severity = 'notice') AS notices,
           count(*) FILTER (WHERE severity = 'warning' AND coalesce(length(btrim(explanation)), 0) < %(min)s) AS unexplained,
           count(*) FILTER (WHERE severity = 'warning' AND coalesce(length(btrim(explanation)), 0) >= %(min)s) AS explained
    FROM return_finding WHERE return_id = r.id) f ON true
LEFT JOIN reopen_request q ON q.return_id = r.id AND q.decision IS NULL
WHERE p.period = %(period)s AND (%(prefecture)s::text IS NULL OR h.prefecture = %(prefecture)s)
ORDER BY h.prefecture, h.code
"""


def rows(conn: psycopg.Connection, period: str, scope: Scope, user: dict, *, prefecture: str | None = None,
         level: str | None = None, today: dt.date | None = None) -> dict:
    """The queue of `period` for `user` (its level) in `scope`: {bucket: [rows]}, each row with
    `clean` (no errors, no unexplained warnings), `prefecture_overdue`, `overdue_here` (awaiting
    past this level's deadline) and its `findings`."""
    today = today or conn.execute("SELECT current_date AS d").fetchone()["d"]
    cfg = workflow.settings(conn)
    at = workflow.level_of(user)
    where, extra = scope.clause("h.code")
    found = conn.execute(sql.SQL(ROWS_SQL).format(scope=where),
                         {"period": period, "min": review.MIN_EXPLANATION, "prefecture": prefecture or None,
                          "level": level or None} | extra).fetchall()
    out: dict[str, list[dict]] = {b: [] for b in BUCKETS}
    for r in found:
        r["status_name"] = workflow.STATUS_NAMES.get(r["status"], "未上报")
        r["clean"] = r["errors"] == 0 and r["unexplained"] == 0
        r["prefecture_overdue"] = bool(r["status"]) and workflow.prefecture_overdue(
            cfg, r["status"], period, today, r["prefecture"] is not None)
        if r["id"] is None:
            if today > r["deadline"]:
                out["missing"].append(r)
        elif r["status"] in ("returned", "reopened"):
            out["returned"].append(r)
        elif r["reopen_id"] and at == "province":
            out["reopen"].append(r)
        elif workflow.awaiting(cfg, at, r["status"], period, today, r["prefecture"] is not None):
            # Past this level's own deadline (the prefecture's is marked above, for the province).
            r["overdue_here"] = today > (cfg.prefecture_deadline(period) if at == "prefecture"
                                         else cfg.province_deadline(period))
            out["awaiting"].append(r)
            if r["explained"]:
                out["explained"].append(r)
    ids = [r["id"] for b in ("awaiting", "reopen") for r in out[b]]
    by_return: dict[int, list[dict]] = {}
    for f in conn.execute(
            """SELECT return_id, seq, code, severity, sheet, cell, message, explanation FROM return_finding
               WHERE return_id = ANY(%s) AND severity IN ('warning', 'notice')
               ORDER BY return_id, CASE severity WHEN 'warning' THEN 0 ELSE 1 END, seq""", (ids,)):
        by_return.setdefault(f["return_id"], []).append(f)
    for b in out.values():
        for r in b:
            r["findings"] = by_return.get(r["id"], [])
    return out


def accept_clean(conn: psycopg.Connection, period: str, scope: Scope, user: dict, thresholds_file: Path, *,
                 prefecture: str | None = None, level: str | None = None) -> dict:
    """Accept every clean return awaiting `user`'s level in the (filtered) queue, each in its
    own transaction and audited on its own; one refused (decided meanwhile) does not stop the rest.
    Returns {"accepted": n, "refused": [(hospital name, reason)]}."""
    queue = rows(conn, period, scope, user, prefecture=prefecture, level=level)
    done, refused = 0, []
    for r in queue["awaiting"]:
        if not r["clean"]:
            continue
        try:
            review.accept(conn, r["id"], user, thresholds_file, expected=r["status"])
            done += 1
        except HemonError as exc:
            refused.append((r["name"], str(exc)))
    return {"accepted": done, "refused": refused}


PROGRESS_SQL = """
WITH h AS MATERIALIZED (SELECT h.code, prefecture_of(h.region_code) AS prefecture FROM hospital h WHERE {scope}),
cur AS (SELECT r.hospital_code, r.status FROM return r WHERE r.period = %(period)s AND r.is_current),
firsts AS (SELECT s.hospital_code, min(s.at) AS at FROM review_step s
           WHERE s.period = %(period)s AND s.level = 'prefecture' AND s.action IN ('accept', 'return')
           GROUP BY s.hospital_code)
SELECT h.prefecture, coalesce(reg.name, '未登记地区') AS name, count(*) AS hospitals,
       count(c.status) AS filed, count(fs.at) AS reviewed,
       count(fs.at) FILTER (WHERE fs.at::date <= %(deadline)s) AS on_time,
       count(*) FILTER (WHERE c.status IN ('submitted', 'rechecking')) AS waiting,
       count(*) FILTER (WHERE c.status = 'accepted') AS accepted
FROM h LEFT JOIN region reg ON reg.code = h.prefecture
LEFT JOIN cur c ON c.hospital_code = h.code
LEFT JOIN firsts fs ON fs.hospital_code = h.code
GROUP BY h.prefecture, reg.name
ORDER BY h.prefecture NULLS LAST
"""


def progress(conn: psycopg.Connection, period: str, scope: Scope, today: dt.date | None = None) -> dict:
    """Each prefecture's review of `period`: hospitals, filed, reviewed by the prefecture (a first
    accept or return), on time (by its deadline), still waiting, accepted; and the deadline."""
    today = today or conn.execute("SELECT current_date AS d").fetchone()["d"]
    cfg = workflow.settings(conn)
    deadline = cfg.prefecture_deadline(period)
    where, extra = scope.clause("h.code")
    found = conn.execute(sql.SQL(PROGRESS_SQL).format(scope=where),
                         {"period": period, "deadline": deadline} | extra).fetchall()
    for r in found:
        r["overdue"] = r["waiting"] if today > deadline else 0
    return {"rows": found, "deadline": deadline, "levels": cfg.levels, "past": today > deadline}
