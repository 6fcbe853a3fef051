"""Move a case through its life: plan → review → progress → 销号, or escalation.

待提交整改方案 (awaiting_plan) —hospital submits→ 方案待审核 (plan_review) —reviewer→
退回补充 (returned, back to the hospital) or 整改中 (in_progress); 整改中 reads 待销号 once
the domain has had `listing.close_months` consecutive non-red months, and the reviewer's
sign-off makes it 已销号 (closed). A reviewer may escalate (已升级) any case not closed; an
escalated case stays in hand (red months still join it) and may still be closed when quiet.

Every step takes the case row FOR UPDATE (scoped), checks the state, writes and audits in one
transaction; a refused step raises HemonError with a Chinese message and changes nothing.
"""
from __future__ import annotations

from psycopg import sql

from etl.cases import listing, plans
from etl.cases.opening import plan_days
from etl.cases.progress import NOTE_MIN
from etl.common.audit import record
from etl.common.codes import PERIOD_PATTERN
from etl.common.errors import HemonError
from etl.reference.scope import Scope

MIN_COMMENT = 4


def _locked(conn, case_id: int, scope: Scope) -> dict:
    where, extra = scope.clause("hospital_code")
    row = conn.execute(sql.SQL("SELECT * FROM risk_case WHERE id = %(id)s AND {} FOR UPDATE").format(where),
                       {"id": case_id} | extra).fetchone()
    if row is None:
        raise HemonError("未找到该风险处置事项")
    return row


def _uid(user: dict | None) -> int | None:
    return user["id"] if user else None      # None: the command line or the system


def _target(case_id: int) -> str:
    return f"risk_case:{case_id}"


def submit_plan(conn, case_id: int, user: dict | None, scope: Scope, plan: plans.Plan) -> None:
    """The hospital's cause analysis and plan; the case waits for review."""
    with conn.transaction():
        case = _locked(conn, case_id, scope)
        if case["status"] not in ("awaiting_plan", "returned"):
            raise HemonError("该事项当前不能提交整改方案（方案已提交或已在整改中）")
        before = plans.load(conn, case_id)
        plans.store(conn, case_id, plan)
        conn.execute("UPDATE risk_case SET status = 'plan_review', plan_submitted_at = now() WHERE id = %s",
                     (case_id,))
        record(conn, user, "case.plan", _target(case_id),
               {"status": case["status"], "cause": case["cause"], **{k: [dict(r) for r in v] for k, v in before.items()}},
               {"status": "plan_review", **plan.as_dict()})


def review_plan(conn, case_id: int, user: dict | None, scope: Scope, accept: bool, comment: str = "") -> None:
    """Accept the plan (整改中) or send it back for more (退回补充, a comment required; the
    hospital gets a new plan deadline)."""
    comment = (comment or "").strip()
    if not accept and len(comment) < MIN_COMMENT:
        raise HemonError(f"退回补充须写明需要补充的内容（至少 {MIN_COMMENT} 个字）")
    with conn.transaction():
        case = _locked(conn, case_id, scope)
        if case["status"] != "plan_review":
            raise HemonError("该事项没有待审核的整改方案")
        status = "in_progress" if accept else "returned"
        conn.execute(
            """UPDATE risk_case SET status = %(status)s, review_comment = %(comment)s, reviewed_by = %(user)s,
                      reviewed_at = now(),
                      accepted_at = CASE WHEN %(accept)s THEN now() ELSE accepted_at END,
                      plan_due = CASE WHEN %(accept)s THEN plan_due ELSE current_date + %(days)s::integer END
               WHERE id = %(id)s""",
            {"status": status, "comment": comment or None, "user": _uid(user), "accept": accept,
             "days": plan_days(conn), "id": case_id})
        record(conn, user, "case.accept" if accept else "case.return", _target(case_id),
               {"status": case["status"]}, {"status": status, "comment": comment})


def add_note(conn, case_id: int, user: dict | None, scope: Scope, period: str, body: str) -> None:
    """The hospital's progress note for a month since opening (one per month; writing it
    again replaces it, the old text kept in the audit log)."""
    body = (body or "").strip()
    if not PERIOD_PATTERN.match(period or ""):
        raise HemonError("请选择进展说明所属的报告期")
    if len(body) < NOTE_MIN:
        raise HemonError(f"请填写整改进展（至少 {NOTE_MIN} 个字）")
    with conn.transaction():
        case = _locked(conn, case_id, scope)
        if case["status"] not in ("in_progress", "escalated"):
            raise HemonError("整改方案审核通过后才能填写月度进展")
        if period < case["opened_period"]:
            raise HemonError(f"进展说明的报告期应不早于立案月份 {case['opened_period']}")
        before = conn.execute("SELECT body FROM risk_case_note WHERE case_id = %s AND period = %s",
                              (case_id, period)).fetchone()
        conn.execute("""INSERT INTO risk_case_note (case_id, period, body, author_id) VALUES (%s, %s, %s, %s)
                        ON CONFLICT (case_id, period) DO UPDATE SET body = excluded.body,
                            author_id = excluded.author_id, written_at = now()""",
                     (case_id, period, body[:4000], _uid(user)))
        record(conn, user, "case.note", _target(case_id), before and {"period": period, "body": before["body"]},
               {"period": period, "body": body})


def close(conn, case_id: int, user: dict | None, scope: Scope, comment: str = "") -> None:
    """销号: the reviewer's sign-off, once the domain has had the required run of non-red months."""
    with conn.transaction():
        case = _locked(conn, case_id, scope)
        if case["status"] not in ("in_progress", "escalated"):
            raise HemonError("整改方案审核通过且整改见效后才能销号")
        need = listing.close_months(conn)
        quiet = conn.execute("SELECT case_quiet_months(%s, %s, %s) AS n",
                             (case["hospital_code"], case["domain"], case["opened_period"])).fetchone()["n"]
        if quiet < need:
            raise HemonError(f"须连续 {need} 个月不为红色才能销号（目前连续 {quiet} 个月）")
        last = conn.execute("SELECT max(period) AS p FROM rating WHERE hospital_code = %s AND rating <> 'missing'",
                            (case["hospital_code"],)).fetchone()["p"]
        conn.execute("""UPDATE risk_case SET status = 'closed', closed_period = %s, closed_at = now(),
                               closed_by = %s, closing_comment = %s WHERE id = %s""",
                     (last, _uid(user), (comment or "").strip() or None, case_id))
        record(conn, user, "case.close", _target(case_id), {"status": case["status"]},
               {"status": "closed", "closed_period": last, "quiet_months": quiet, "comment": comment})


def escalate(conn, case_id: int, user: dict | None, scope: Scope, reason: str) -> None:
    """已升级: handed up (e.g. to the commission's leadership) with a reason."""
    reason = (reason or "").strip()
    if len(reason) < MIN_COMMENT:
        raise HemonError(f"请写明升级原因（至少 {MIN_COMMENT} 个字）")
    with conn.transaction():
        case = _locked(conn, case_id, scope)
        if case["status"] in ("closed", "escalated"):
            raise HemonError("该事项已销号或已升级")
        conn.execute("UPDATE risk_case SET status = 'escalated', escalated_at = now(), escalation_reason = %s "
                     "WHERE id = %s", (reason, case_id))
        record(conn, user, "case.escalate", _target(case_id), {"status": case["status"]},
               {"status": "escalated", "reason": reason})
