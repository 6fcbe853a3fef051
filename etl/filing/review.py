"""The province's review of a return: accept it, or return it for revision with a comment.

Every decision is audited and rescores the hospital's period, so a rating stops being
provisional the moment its return is accepted.
"""
from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from etl.common import audit
from etl.common.errors import HemonError
from etl.ratings.rescoring import rescore
from etl.reference.scope import Scope

MIN_EXPLANATION = 6
STATUS_NAMES = {"submitted": "已上报", "returned": "退回修改", "accepted": "已通过"}


def _current(conn, return_id: int) -> dict:
    row = conn.execute("SELECT id, hospital_code, period, version, status, is_current FROM return "
                       "WHERE id = %s FOR UPDATE", (return_id,)).fetchone()
    if row is None:
        raise HemonError("报表不存在")
    if not row["is_current"]:
        raise HemonError("该版本已被新版本替代，只能审核当前版本")
    return row


def unexplained_warnings(conn: psycopg.Connection, return_id: int) -> int:
    return conn.execute(
        """SELECT count(*) AS n FROM return_finding WHERE return_id = %s AND severity = 'warning'
           AND coalesce(length(btrim(explanation)), 0) < %s""", (return_id, MIN_EXPLANATION)).fetchone()["n"]


def accept(conn: psycopg.Connection, return_id: int, user: dict, thresholds_file: Path) -> dict:
    """Accept the current version; refused while a warning lacks its explanation."""
    with conn.transaction():
        ret = _current(conn, return_id)
        if ret["status"] == "accepted":
            raise HemonError("该报表已审核通过")
        missing = unexplained_warnings(conn, return_id)
        if missing:
            raise HemonError(f"尚有 {missing} 条核实性问题未填写说明（至少{MIN_EXPLANATION}个字），不能审核通过")
        conn.execute("UPDATE return SET status = 'accepted', reviewed_by = %s, reviewed_at = now(),"
                     " review_comment = NULL WHERE id = %s", (user["id"], return_id))
        audit.record(conn, user, "return.accept", f"return:{return_id}", {"status": ret["status"]},
                     {"status": "accepted"})
        rescore(conn, thresholds_file, periods=[ret["period"]], hospital=ret["hospital_code"])
    return ret


def return_for_revision(conn: psycopg.Connection, return_id: int, user: dict, comment: str,
                        thresholds_file: Path) -> dict:
    """Send the current version back to the hospital with a comment it will see."""
    comment = (comment or "").strip()
    if len(comment) < 4:
        raise HemonError("请填写退回原因（至少4个字），医院将看到这段说明")
    with conn.transaction():
        ret = _current(conn, return_id)
        conn.execute("UPDATE return SET status = 'returned', reviewed_by = %s, reviewed_at = now(),"
                     " review_comment = %s WHERE id = %s", (user["id"], comment, return_id))
        audit.record(conn, user, "return.return_for_revision", f"return:{return_id}",
                     {"status": ret["status"]}, {"status": "returned", "comment": comment})
        rescore(conn, thresholds_file, periods=[ret["period"]], hospital=ret["hospital_code"])
    return ret


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
            """SELECT f.explanation FROM return_finding f JOIN return r ON r.id = f.return_id
               WHERE f.return_id = %(rid)s AND f.seq = %(seq)s AND f.severity = 'warning' AND r.is_current
                 AND {where} FOR UPDATE OF f""").format(where=where),
            {"rid": return_id, "seq": seq} | extra).fetchone()
        if row is None:
            raise HemonError("找不到该核实性问题")
        conn.execute("UPDATE return_finding SET explanation = %s WHERE return_id = %s AND seq = %s",
                      (text, return_id, seq))
        audit.record(conn, user, "finding.explain", f"return:{return_id}#{seq}",
                     {"explanation": row["explanation"]}, {"explanation": text})


def findings(conn: psycopg.Connection, return_id: int) -> list[dict]:
    return conn.execute(
        """SELECT seq, code, severity, sheet, cell, message, explanation FROM return_finding
           WHERE return_id = %s ORDER BY CASE severity WHEN 'warning' THEN 0 ELSE 1 END, seq""",
        (return_id,)).fetchall()
