"""The audit log: every state change with who, when, what, before and after.

An action is a machine code (`user.create`); pages show its Chinese name from ACTION_NAMES,
the one table for every action recorded anywhere (tests/etl/common/test_audit.py scans the
sources for codes without a name)."""
from __future__ import annotations

import json
from decimal import Decimal

import psycopg

ACTION_NAMES = {
    "login.success": "登录成功",
    "login.failure": "登录失败",
    "user.create": "创建用户",
    "user.bulk_create": "批量创建医院账号",
    "user.disable": "停用账号",
    "user.enable": "启用账号",
    "user.role_change": "修改角色",
    "user.password_change": "修改密码",
    "user.password_reset": "重置密码",
    "user.unlock": "解除登录限制",
    "user.totp_enable": "启用两步验证",
    "user.totp_disable": "关闭两步验证",
    "user.totp_reset": "重置两步验证",
    "user.recovery_code_used": "使用恢复码登录",
    "return.upload": "上传报表",
    "return.accept": "审核通过报表",
    "return.return_for_revision": "退回报表修改",
    "return.prefecture_accept": "市级审核通过",
    "return.prefecture_return": "市级退回修改",
    "return.recheck": "退回市州复核",
    "return.reopen_request": "申请重新打开报表",
    "return.reopen_grant": "准许重新打开报表",
    "return.reopen_refuse": "不准重新打开报表",
    "setting.review": "修改审核设置",
    "case.open": "风险处置立案",
    "case.plan": "提交整改方案",
    "case.accept": "通过整改方案",
    "case.return": "退回整改方案",
    "case.note": "填写整改进展",
    "case.attach": "上传处置附件",
    "case.close": "风险处置销号",
    "case.escalate": "风险处置升级",
    "cases.settings": "修改风险处置设置",
    "finding.explain": "填写问题说明",
    "period.deadline": "修改报送截止日",
    "period.lock": "锁定报告期",
    "period.unlock": "解锁报告期",
    "reminder.sent": "发送截止提醒",
    "thresholds.save": "启用风险阈值",
    "mapping.load": "导入归集口径",
    "mapping.withdraw": "撤回归集口径",
    "registry.load": "导入医疗机构名录",
    "registry.create": "新增医疗机构",
    "registry.edit": "修改医疗机构",
    "registry.close": "关闭医疗机构",
    "registry.reopen": "恢复医疗机构",
    "registry.code_change": "更换机构代码",
    "registry.merge": "合并医疗机构",
    "registry.import": "网页导入医疗机构名录",
    "province.init": "初始化省份",
    "forecast.settings": "修改预警设置",
    "boundaries.load": "上传行政区划边界",
    "boundaries.reset": "恢复内置边界",
    "bulletin.publish": "生成监测月报",
    "bulletin.deliver": "发送监测月报",
    "bulletin.withdraw": "撤回监测月报",
}


def action_name(action: str) -> str:
    """The action's Chinese name (the code itself only for an action missing from the table)."""
    return ACTION_NAMES.get(action, action)


def _json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, default=lambda o: str(o) if isinstance(o, Decimal) else repr(o))


def record(conn: psycopg.Connection, user: dict | None, action: str, target: str | None = None,
           before=None, after=None) -> None:
    """Append one entry; call inside the transaction that makes the change."""
    conn.execute(
        """INSERT INTO audit_log (actor_id, actor_name, action, target, before, after)
           VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb)""",
        (user.get("id") if user else None, (user.get("username") if user else None) or "system", action,
         target, _json(before), _json(after)))


def entries(conn: psycopg.Connection, limit: int = 200, action: str | None = None) -> list[dict]:
    return conn.execute(
        """SELECT id, at, actor_name, action, target, before, after FROM audit_log
           WHERE %(action)s::text IS NULL OR action = %(action)s ORDER BY id DESC LIMIT %(limit)s""",
        {"action": action, "limit": limit}).fetchall()


def search(conn: psycopg.Connection, *, actor: str = "", action: str = "", since=None, until=None,
           hospitals: list[str] | None = None, limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """A page of entries, newest first, and how many match in all.

    `actor` matches the user name (any case, a substring); `since` / `until` are dates (both
    included, province time); `hospitals` codes match entries about those hospitals: their
    returns (and findings), their users, reminders to them, or naming one as hospital(_code).
    Each row carries `hospital_code` / `hospital_name` when the entry is about one return.
    """
    where, params = ["true"], {"limit": limit, "offset": offset}
    if actor:
        where.append("a.actor_name ILIKE %(actor)s")
        params["actor"] = "%" + actor.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if action:
        where.append("a.action = %(action)s")
        params["action"] = action
    if since:
        where.append("a.at >= %(since)s::date")
        params["since"] = since
    if until:
        where.append("a.at < %(until)s::date + 1")
        params["until"] = until
    if hospitals is not None:
        where.append("""(r.hospital_code = ANY(%(codes)s)
                         OR a.target = ANY(SELECT 'hospital:' || c FROM unnest(%(codes)s::text[]) AS c)
                         OR a.target IN (SELECT 'user:' || username FROM app_user WHERE hospital_code = ANY(%(codes)s))
                         OR a.after ->> 'hospital_code' = ANY(%(codes)s) OR a.before ->> 'hospital_code' = ANY(%(codes)s)
                         OR a.after ->> 'hospital' = ANY(%(codes)s))""")
        params["codes"] = list(hospitals)
    rows = conn.execute(
        f"""SELECT a.id, a.at, a.actor_name, a.action, a.target, a.before, a.after,
                   r.hospital_code, h.name AS hospital_name, count(*) OVER () AS total
            FROM audit_log a
                 LEFT JOIN return r ON a.target ~ '^return:[0-9]+'
                      AND r.id = substring(a.target FROM '^return:([0-9]+)')::bigint
                 LEFT JOIN hospital h ON h.code = r.hospital_code
            WHERE {" AND ".join(where)}
            ORDER BY a.id DESC LIMIT %(limit)s OFFSET %(offset)s""", params).fetchall()
    total = rows[0]["total"] if rows else (
        0 if offset == 0 else conn.execute(f"""SELECT count(*) AS n FROM audit_log a
            LEFT JOIN return r ON a.target ~ '^return:[0-9]+'
                 AND r.id = substring(a.target FROM '^return:([0-9]+)')::bigint
            WHERE {" AND ".join(where)}""", params).fetchone()["n"])
    return rows, total
