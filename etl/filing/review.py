"""Review decisions on a return: accept, return to the hospital, send back to the prefecture.

Which level may do what from which status is `etl.filing.workflow.decide`; here each decision
locks the return row, checks, writes the status, a `review_step` (the timeline) and the audit
entry, and rescores the hospital's period — one transaction. Two reviewers acting on one
return queue on the row lock; the second sees the first's decision and is refused with a
message naming it (pass `expected`, the status the reviewer saw, to be told even when the
new status would allow the action). A rating stops being provisional only when its return
is accepted at the last level.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import psycopg
from psycopg import sql

from etl.common import audit
from etl.common.errors import HemonError
from etl.filing import workflow
from etl.ratings.rescoring import rescore
from etl.reference.scope import Scope

MIN_EXPLANATION = 6
MIN_COMMENT = 4
STATUS_NAMES = workflow.STATUS_NAMES
AUDIT_ACTIONS = {("province", "accept"): "return.accept", ("province", "return"): "return.return_for_revision",
                 ("province", "recheck"): "return.recheck", ("prefecture", "accept"): "return.prefecture_accept",
                 ("prefecture", "return"): "return.prefecture_return"}


def locked_return(conn, return_id: int) -> dict:
    """The return row, locked FOR UPDATE, with its hospital's prefecture; refused when it is
    missing or no longer the current version."""
    row = conn.execute(
        """SELECT r.id, r.hospital_code, r.period, r.version, r.status, r.is_current,
                  prefecture_of(h.region_code) AS prefecture, current_date AS today
           FROM return r JOIN hospital h ON h.code = r.hospital_code
           WHERE r.id = %s FOR UPDATE OF r""", (return_id,)).fetchone()
    if row is None:
        raise HemonError("报表不存在")
    if not row["is_current"]:
        raise HemonError("该版本已被新版本替代，只能审核当前版本")
    return row


def last_step(conn, hospital_code: str, period: str) -> dict | None:
    return conn.execute("SELECT level, action, to_status, user_name, at FROM review_step"
                        " WHERE hospital_code = %s AND period = %s ORDER BY id DESC LIMIT 1",
                        (hospital_code, period)).fetchone()


def changed_meanwhile(conn, ret: dict, expected: str | None) -> None:
    """Refuse when the return is no longer in the status the reviewer saw (another reviewer
    decided it first): nothing is written, and the message says who did what."""
    if expected is None or expected == ret["status"]:
        return
    step = last_step(conn, ret["hospital_code"], ret["period"])
    who = (f"已由 {step['user_name']} 于 {step['at']:%m-%d %H:%M} {workflow.ACTION_NAMES[step['action']]}"
           if step else "状态已变化")
    raise HemonError(f"该报表{who}，现为“{STATUS_NAMES.get(ret['status'], ret['status'])}”；"
                     "您的操作未执行，请查看最新状态后再处理")


def step(conn, ret: dict, user: dict, level: str, action: str, to_status: str, comment: str | None) -> None:
    """Write one step of the timeline (the caller writes the audit entry in the same transaction)."""
    conn.execute(
        """INSERT INTO review_step (return_id, hospital_code, period, level, action, from_status, to_status,
                                    comment, user_id, user_name)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (ret["id"], ret["hospital_code"], ret["period"], level, action, ret["status"], to_status, comment,
         user.get("id"), user.get("display_name") or user.get("username") or "system"))


def unexplained_warnings(conn: psycopg.Connection, return_id: int) -> int:
    return conn.execute(
        """SELECT count(*) AS n FROM return_finding WHERE return_id = %s AND severity = 'warning'
           AND coalesce(length(btrim(explanation)), 0) < %s""", (return_id, MIN_EXPLANATION)).fetchone()["n"]


def _decide(conn, return_id: int, user: dict, action: str, comment: str | None, thresholds_file: Path,
            expected: str | None, today: dt.date | None) -> dict:
    level = workflow.level_of(user)
    with conn.transaction():
        ret = locked_return(conn, return_id)
        changed_meanwhile(conn, ret, expected)
        cfg = workflow.settings(conn)
        to = workflow.decide(cfg, level, action, ret["status"], period=ret["period"], today=today or ret["today"],
                             has_prefecture=ret["prefecture"] is not None)
        if action == "accept":
            missing = unexplained_warnings(conn, return_id)
            if missing:
                raise HemonError(f"尚有 {missing} 条核实性问题未填写说明（至少{MIN_EXPLANATION}个字），不能审核通过")
        conn.execute("UPDATE return SET status = %s, reviewed_by = %s, reviewed_at = now(), review_comment = %s"
                     " WHERE id = %s", (to, user.get("id"), comment, return_id))
        step(conn, ret, user, level, action, to, comment)
        after = {"status": to, "level": level} | ({"comment": comment} if comment else {})
        audit.record(conn, user, AUDIT_ACTIONS[level, action], f"return:{return_id}", {"status": ret["status"]}, after)
        if "accepted" in (to, ret["status"]) or to == "returned":
            rescore(conn, thresholds_file, periods=[ret["period"]], hospital=ret["hospital_code"])
    return ret | {"to": to}


def _comment(comment: str | None, what: str) -> str:
    comment = (comment or "").strip()[:2000]
    if len(comment) < MIN_COMMENT:
        raise HemonError(f"请填写{what}（至少{MIN_COMMENT}个字）")
    return comment


def accept(conn: psycopg.Connection, return_id: int, user: dict, thresholds_file: Path, *,
           expected: str | None = None, today: dt.date | None = None) -> dict:
    """Accept the current version at the user's level (the prefecture: 市级审核通过; the
    province: accepted and locked); refused while a warning lacks its explanation."""
    return _decide(conn, return_id, user, "accept", None, thresholds_file, expected, today)


def return_for_revision(conn: psycopg.Connection, return_id: int, user: dict, comment: str,
                        thresholds_file: Path, *, expected: str | None = None, today: dt.date | None = None) -> dict:
    """Send the current version back to the hospital with a comment it will see (退回意见)."""
    return _decide(conn, return_id, user, "return", _comment(comment, "退回原因，医院将看到这段说明"),
                   thresholds_file, expected, today)


def send_back_to_prefecture(conn: psycopg.Connection, return_id: int, user: dict, comment: str,
                            thresholds_file: Path, *, expected: str | None = None,
                            today: dt.date | None = None) -> dict:
    """The province sends a prefecture-accepted return back to the prefecture (退回市州复核)."""
    return _decide(conn, return_id, user, "recheck", _comment(comment, "退回市州复核的意见"),
                   thresholds_file, expected, today)


def explain_finding(conn: psycopg.Connection, return_id: int, seq: int, text: str, user: dict,
                    scope: Scope) -> None:
    """The hospital's explanation (说明) of one warning on its own current return (a return
    outside `scope` is not found)."""
    text = (text or "").strip()
    if len(text) < MIN_EXPLANATION:
        raise HemonError(f"说明至少{MIN_EXPLANATION}个字")
    where, extra = scope.clause("r.hospital_code")
    with conn.transaction():
        row = conn.execute(sql.SQL(
            """SELECT f.explanation, r.status FROM return_finding f JOIN return r ON r.id = f.return_id
               WHERE f.return_id = %(rid)s AND f.seq = %(seq)s AND f.severity = 'warning' AND r.is_current
                 AND {where} FOR UPDATE OF f, r""").format(where=where),
            {"rid": return_id, "seq": seq} | extra).fetchone()
        if row is None:
            raise HemonError("找不到该核实性问题")
        if row["status"] == "accepted":
            raise HemonError("报表已审核通过并锁定，不能再修改说明")
        conn.execute("UPDATE return_finding SET explanation = %s WHERE return_id = %s AND seq = %s",
                      (text, return_id, seq))
        audit.record(conn, user, "finding.explain", f"return:{return_id}#{seq}",
                     {"explanation": row["explanation"]}, {"explanation": text})


def findings(conn: psycopg.Connection, return_id: int) -> list[dict]:
    return conn.execute(
        """SELECT seq, code, severity, sheet, cell, message, explanation FROM return_finding
           WHERE return_id = %s ORDER BY CASE severity WHEN 'warning' THEN 0 ELSE 1 END, seq""",
        (return_id,)).fetchall()


def timeline(conn: psycopg.Connection, hospital_code: str, period: str) -> list[dict]:
    """Every upload and review step of a hospital's period, oldest first: at, who, level,
    what (Chinese), version, comment. The caller has checked the hospital against its scope."""
    rows = conn.execute(
        """SELECT * FROM (
             SELECT r.submitted_at AS at, coalesce(u.display_name, u.username, '省级导入') AS who, 'hospital' AS level,
                    'upload' AS action, r.version, NULL::text AS comment, 'submitted' AS to_status, 0 AS ord
             FROM return r LEFT JOIN app_user u ON u.id = r.uploaded_by
             WHERE r.hospital_code = %(code)s AND r.period = %(period)s
             UNION ALL
             SELECT s.at, s.user_name, s.level, s.action, r.version, s.comment, s.to_status, s.id
             FROM review_step s JOIN return r ON r.id = s.return_id
             WHERE s.hospital_code = %(code)s AND s.period = %(period)s) t
           ORDER BY at, ord""", {"code": hospital_code, "period": period}).fetchall()
    for r in rows:
        r["what"] = workflow.ACTION_NAMES[r["action"]]
        r["level_name"] = workflow.LEVEL_NAMES[r["level"]]
        r["status_name"] = STATUS_NAMES.get(r["to_status"], r["to_status"])
    return rows
