"""Reopening an accepted return: the hospital asks with a reason, the province decides.

An accepted return is locked (the intake refuses a new version). The hospital asks to reopen
it (`request`); the level that accepted it — the province, the last level — grants or refuses
with a comment (`decide`). Granting sets the return to `reopened`: the rating is provisional
again (rescored) and the hospital may upload a new version, which starts the review afresh.
Each step is a review_step (the timeline) and an audit entry, in the transaction of the change.
"""
from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from etl.common import audit
from etl.common.errors import HemonError
from etl.filing import review, workflow
from etl.ratings.rescoring import rescore
from etl.reference.scope import Scope

MIN_REASON = 6


def open_request(conn: psycopg.Connection, return_id: int) -> dict | None:
    """The undecided reopen request of a return, if any."""
    return conn.execute(
        """SELECT q.id, q.reason, q.requested_at, coalesce(u.display_name, u.username) AS requested_by_name
           FROM reopen_request q LEFT JOIN app_user u ON u.id = q.requested_by
           WHERE q.return_id = %s AND q.decision IS NULL""", (return_id,)).fetchone()


def last_decision(conn: psycopg.Connection, return_id: int) -> dict | None:
    """The latest decided reopen request of a return (to show a refusal and its comment)."""
    return conn.execute(
        """SELECT q.decision, q.decision_comment, q.decided_at, q.reason FROM reopen_request q
           WHERE q.return_id = %s AND q.decision IS NOT NULL ORDER BY q.decided_at DESC LIMIT 1""",
        (return_id,)).fetchone()


def request(conn: psycopg.Connection, return_id: int, reason: str, user: dict, scope: Scope) -> int:
    """The hospital asks to reopen its accepted current return; returns the request's id."""
    reason = (reason or "").strip()[:2000]
    if len(reason) < MIN_REASON:
        raise HemonError(f"请说明申请重新打开的原因（至少{MIN_REASON}个字）")
    where, extra = scope.clause("hospital_code")
    with conn.transaction():
        found = conn.execute(sql.SQL("SELECT id FROM return WHERE id = %(id)s AND {}").format(where),
                             {"id": return_id} | extra).fetchone()
        if found is None:
            raise HemonError("报表不存在")
        ret = review.locked_return(conn, return_id)
        if ret["status"] != "accepted":
            raise HemonError("只有审核通过（已锁定）的报表需要申请重新打开；未锁定的报表可直接上传新版本")
        if open_request(conn, return_id):
            raise HemonError("已有一份重新打开申请正在等待审核，请勿重复提交")
        row = conn.execute("INSERT INTO reopen_request (return_id, reason, requested_by) VALUES (%s, %s, %s)"
                           " RETURNING id", (return_id, reason, user.get("id"))).fetchone()
        review.step(conn, ret, user, "hospital", "reopen_request", ret["status"], reason)
        audit.record(conn, user, "return.reopen_request", f"return:{return_id}", None,
                     {"request": row["id"], "reason": reason})
    return row["id"]


def decide(conn: psycopg.Connection, return_id: int, grant: bool, comment: str, user: dict,
           thresholds_file: Path) -> dict:
    """Grant (the return becomes `reopened`, its rating provisional) or refuse (it stays
    accepted) the open request, with a comment the hospital sees."""
    comment = (comment or "").strip()[:2000]
    if len(comment) < review.MIN_COMMENT:
        raise HemonError(f"请填写处理意见（至少{review.MIN_COMMENT}个字），医院将看到这段说明")
    if workflow.level_of(user) != "province":
        raise HemonError("重新打开由审核通过该报表的省级审核员决定")
    with conn.transaction():
        ret = review.locked_return(conn, return_id)
        pending = open_request(conn, return_id)
        if pending is None or ret["status"] != "accepted":
            raise HemonError("没有待处理的重新打开申请（可能已由他人处理），请查看最新状态")
        decision = "granted" if grant else "refused"
        conn.execute("UPDATE reopen_request SET decision = %s, decided_by = %s, decided_at = now(),"
                     " decision_comment = %s WHERE id = %s", (decision, user.get("id"), comment, pending["id"]))
        to = "reopened" if grant else "accepted"
        if grant:
            conn.execute("UPDATE return SET status = 'reopened', reviewed_by = %s, reviewed_at = now(),"
                         " review_comment = %s WHERE id = %s", (user.get("id"), comment, return_id))
        review.step(conn, ret, user, "province", "reopen_grant" if grant else "reopen_refuse", to, comment)
        audit.record(conn, user, "return.reopen_grant" if grant else "return.reopen_refuse", f"return:{return_id}",
                     {"status": "accepted", "request": pending["id"]}, {"status": to, "comment": comment})
        if grant:   # provisional again until accepted again
            rescore(conn, thresholds_file, periods=[ret["period"]], hospital=ret["hospital_code"])
    return ret | {"to": to}
