"""Cases as users see them: scoped lists with filters, one case, and its state in words.

Every query takes the user's Scope (etl.reference.scope), applied in the query. A case's
state is its stored status, except that a case 整改中 whose domain has had `close_months`
consecutive non-red months (case_quiet_months) reads 待销号: it becomes closable without
anyone moving it, and stops being closable if a red month comes back.
"""
from __future__ import annotations

import datetime as dt

import psycopg
from psycopg import sql

from etl.reference import deployment
from etl.reference.scope import Scope

CLOSE_MONTHS = 3        # default consecutive non-red months before 销号 (deployment_setting case_close_months)
STATE_NAMES = {"awaiting_plan": "待提交整改方案", "plan_review": "方案待审核", "returned": "退回补充",
               "in_progress": "整改中", "closable": "待销号", "closed": "已销号", "escalated": "已升级"}
OPEN_STATES = tuple(s for s in STATE_NAMES if s != "closed")

LIST_SQL = """
WITH base AS (
    SELECT c.id, c.hospital_code, h.name AS hospital_name, c.domain, c.status, c.opened_period,
           c.opened_at, c.plan_due, c.drivers, c.cause, c.plan_submitted_at, c.review_comment,
           c.reviewed_at, c.accepted_at, c.escalated_at, c.escalation_reason, c.closed_period,
           c.closed_at, c.closing_comment, prefecture_of(h.region_code) AS prefecture_code,
           pref.name AS prefecture_name,
           case_quiet_months(c.hospital_code, c.domain, c.opened_period) AS quiet_months,
           CASE WHEN c.status = 'in_progress' THEN coalesce((
               SELECT array_agg(r.period ORDER BY r.period) FROM rating r
               WHERE r.hospital_code = c.hospital_code AND r.rating <> 'missing'
                 AND r.period > greatest(c.opened_period, to_char(c.accepted_at - interval '1 month', 'YYYY-MM'))
                 AND NOT EXISTS (SELECT 1 FROM risk_case_note n WHERE n.case_id = c.id AND n.period = r.period)
           ), '{{}}') ELSE '{{}}' END AS notes_missing
    FROM risk_case c
    JOIN hospital h ON h.code = c.hospital_code
    LEFT JOIN region pref ON pref.code = prefecture_of(h.region_code)
    WHERE {scope} AND (%(id)s::bigint IS NULL OR c.id = %(id)s)
),
stated AS (
    SELECT base.*,
           CASE WHEN status = 'in_progress' AND quiet_months >= %(close_months)s THEN 'closable' ELSE status END AS state,
           status IN ('awaiting_plan', 'returned') AND coalesce(%(today)s::date, current_date) > plan_due AS plan_overdue
    FROM base
),
flagged AS (
    SELECT stated.*, plan_overdue OR cardinality(notes_missing) > 0 AS overdue FROM stated
)
SELECT * FROM flagged
WHERE (%(state)s::text IS NULL OR state = %(state)s)
  AND (%(domain)s::text IS NULL OR domain = %(domain)s)
  AND (%(prefecture)s::text IS NULL OR prefecture_code = %(prefecture)s)
  AND (%(overdue)s::boolean IS NULL OR overdue = %(overdue)s)
  AND (%(period)s::text IS NULL OR (opened_period <= %(period)s AND (closed_period IS NULL OR closed_period >= %(period)s)))
ORDER BY overdue DESC, opened_period, hospital_code, domain
"""


def close_months(conn: psycopg.Connection) -> int:
    """Consecutive non-red months after which a case may be closed (销号)."""
    return int(deployment.setting(conn, "case_close_months", CLOSE_MONTHS))


def cases(conn: psycopg.Connection, scope: Scope, *, state: str | None = None, domain: str | None = None,
          prefecture: str | None = None, overdue: bool | None = None, period: str | None = None,
          today: dt.date | None = None, case_id: int | None = None) -> list[dict]:
    """The cases in `scope`, overdue first; filters: state (STATE_NAMES' keys), domain,
    prefecture (region code), overdue, and `period` (cases in hand during that month: opened
    by then and not closed before it). `today` fixes the clock for overdue (default: today)."""
    where, extra = scope.clause("c.hospital_code")
    rows = conn.execute(sql.SQL(LIST_SQL).format(scope=where), {
        "id": case_id, "close_months": close_months(conn), "today": today, "state": state, "domain": domain,
        "prefecture": prefecture, "overdue": overdue, "period": period} | extra).fetchall()
    for r in rows:
        r["state_name"] = STATE_NAMES[r["state"]]
    return rows


def case(conn: psycopg.Connection, case_id: int, scope: Scope, today: dt.date | None = None) -> dict | None:
    """One case if `scope` may see it, else None."""
    rows = cases(conn, scope, case_id=case_id, today=today)
    return rows[0] if rows else None


def open_cases(conn: psycopg.Connection, hospital: str, scope: Scope) -> list[dict]:
    """A hospital's cases not yet closed (the hospital page and home link to them)."""
    where, extra = scope.clause("hospital_code")
    return conn.execute(sql.SQL(
        """SELECT id, domain, status, opened_period FROM risk_case
           WHERE hospital_code = %(code)s AND status <> 'closed' AND {}
           ORDER BY opened_period, domain""").format(where), {"code": hospital} | extra).fetchall()
