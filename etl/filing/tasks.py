"""A hospital's to-do: this month's return (period, deadline, status, the 退回意见 in full,
what to do next), and any other month waiting for it (returned, reopened, explanations owed)."""
from __future__ import annotations

import datetime as dt

import psycopg

from etl.common.codes import shift_period
from etl.filing import periods, reopening, review, workflow

TASK_SQL = """
SELECT r.id, r.period, r.version, r.status, r.review_comment, r.reviewed_at, p.deadline, p.locked,
       (SELECT count(*) FROM return_finding f WHERE f.return_id = r.id AND f.severity = 'warning'
          AND coalesce(length(btrim(f.explanation)), 0) < %(min)s) AS unexplained
FROM return r JOIN period p ON p.period = r.period
WHERE r.hospital_code = %(code)s AND r.is_current AND (r.period = %(period)s OR r.status IN ('returned', 'reopened'))
ORDER BY r.period DESC
"""


def next_step(task: dict, levels: int) -> str:
    """What the hospital should do now, in one Chinese sentence."""
    status = task.get("status")
    if status is None:
        if task.get("locked"):
            return "该报告期已锁定，不能再上报，请联系省卫健委。"
        days = task["days_left"]
        when = f"还有 {days} 天" if days >= 0 else f"已逾期 {-days} 天"
        return f"尚未上报（截止 {task['deadline']}，{when}）：下载空白报表，填好后在“报表填报”上传。"
    if status == "returned":
        return "报表已被退回：请按下面的退回意见修改报表后重新上传；如数据无误，请在报表页面填写核实说明后重新上传修改后的文件。"
    if status == "reopened":
        return "重新打开申请已同意：请修改报表后上传新版本，新版本将重新审核。"
    if status == "accepted":
        if task.get("reopen_open"):
            return "报表已审核通过并锁定；重新打开申请已提交，正等待省级审核员处理。"
        return "报表已审核通过并锁定，无需操作。如确需修改，请在报表页面申请重新打开并说明原因。"
    if task.get("unexplained"):
        return f"有 {task['unexplained']} 条核实性问题尚未填写说明：请在报表页面逐条填写，审核员才能审核通过。"
    if status == "prefecture_accepted":
        return "市州已审核通过，正等待省级审核，无需操作。"
    if status == "rechecking":
        return "省级已退回市州复核，正等待市州审核，无需操作。"
    return "已上报，正等待" + ("市州" if levels == 2 else "省级") + "审核，无需操作。"


def hospital_tasks(conn: psycopg.Connection, code: str, today: dt.date, deadline_day: int = 10) -> dict:
    """{"current": this month's task (last month's return; None when the hospital does not owe
    it), "others": other months waiting for the hospital}. `code` is the user's own hospital
    (its scope)."""
    period = shift_period(f"{today:%Y-%m}", -1)
    cfg = workflow.settings(conn)
    found = conn.execute(TASK_SQL, {"code": code, "period": period, "min": review.MIN_EXPLANATION}).fetchall()
    current = next((r for r in found if r["period"] == period), None)
    if current is None:
        # Not filed: a task only if the hospital owes the month (a closed one does not).
        owed = periods.unfiled(conn, code, today, deadline_day)
        if owed is not None:
            current = {"id": None, "period": period, "status": None, "deadline": owed["deadline"],
                       "locked": owed["locked"], "review_comment": None}
    if current is not None:
        current["days_left"] = (current["deadline"] - today).days
    tasks = [t for t in [current] if t] + [r for r in found if r["period"] != period]
    for t in tasks:
        t["status_name"] = workflow.STATUS_NAMES.get(t["status"], "未上报")
        if t["status"] == "accepted":
            t["reopen_open"] = reopening.open_request(conn, t["id"]) is not None
            t["reopen_last"] = reopening.last_decision(conn, t["id"])
        t["next"] = next_step(t, cfg.levels)
    return {"current": current, "others": [t for t in tasks if t is not current]}
