"""The audit log page (/admin/audit, a view of the admin blueprint): Chinese action names,
filters (who, what, when, hospital), paging, and each entry's before/after as a small table
of field: before → after in words, never raw JSON."""
from __future__ import annotations

import datetime as dt
import json

from flask import flash, render_template, request

from app.admin import bp
from app.auth import login_required
from app.db import get_conn
from app.inputs import page_number
from etl.common import audit
from etl.common.codes import CREDIT_PATTERN
from etl.ratings.indicators import BY_ID
from etl.ratings.overview import COLOUR_NAMES, OPS
from etl.reference.accounts import ROLES

PER_PAGE = 50
# Field names as the page shows them; a field missing here shows its key.
FIELDS = {
    "role": "角色", "hospital_code": "机构代码", "hospital": "机构代码", "region_code": "所属市州", "status": "状态",
    "comment": "退回意见", "explanation": "说明", "period": "报告期", "version": "版本", "deadline": "截止日",
    "locked": "锁定", "name": "名称", "effective_from": "生效月份", "rows": "行数", "hospitals": "医院数",
    "accounts": "账号数", "address": "登录地址", "step": "步骤", "failures": "失败次数", "trigger": "触发方式",
    "files": "文件", "to": "收件人", "warnings": "警告数", "sha256": "文件摘要", "generated": "系统生成",
    "must_change_password": "须修改密码", "packaged": "内置边界", "note": "说明", "monitored": "监测指标",
    "reason": "原因",
}
VALUES = {"accepted": "已通过", "returned": "已退回", "submitted": "待审核", "manual": "手动", "schedule": "定时",
          "enabled": "正常", "disabled": "已停用",
          "login": "密码", "password": "密码（待两步验证）", "totp": "两步验证码", "recovery": "恢复码", **ROLES}
TARGETS = {"user": "用户", "return": "报表", "hospital": "医院", "period": "报告期", "bulletin": "月报",
           "threshold_version": "阈值版本", "mapping_version": "映射版本", "boundary_version": "边界版本"}


def _field(key: str) -> str:
    """'indicators.debt_ratio.red' → '资产负债率 红色阈值'; a plain key through FIELDS."""
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "indicators" and parts[1] in BY_ID:
        return f"{BY_ID[parts[1]].label} {COLOUR_NAMES.get(parts[2], parts[2])}阈值"
    if len(parts) >= 2 and parts[0] in ("indicators", "monitored") and parts[1] in BY_ID:
        return BY_ID[parts[1]].label + (" " + ".".join(parts[2:]) if len(parts) > 2 else "")
    return FIELDS.get(key, key)


def _text(value) -> str:
    """A value in words: None as —, a threshold [op, v] as ≥ 0.7, lists joined, no JSON escapes."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return VALUES.get(value, value)
    if isinstance(value, list):
        if len(value) == 2 and value[0] in OPS:
            return f"{OPS[value[0]]} {value[1]}"
        return "、".join(_text(v) for v in value) or "—"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _flat(value, prefix: str = "") -> dict:
    if isinstance(value, dict) and value:
        out = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix or "值": value}


def changes(before, after) -> list[dict]:
    """Rows {field, before, after} in words: every field when only one side exists, else only the
    fields that differ (label and domain copies of a thresholds body drop out this way)."""
    old, new = _flat(before) if before is not None else {}, _flat(after) if after is not None else {}
    keys = list(dict.fromkeys([*old, *new]))
    both = before is not None and after is not None
    return [{"field": _field(k), "before": _text(old.get(k)) if before is not None else "",
             "after": _text(new.get(k)) if after is not None else ""}
            for k in keys if not both or old.get(k) != new.get(k)]


def target_words(target: str | None) -> str:
    if not target:
        return ""
    kind, _, rest = target.partition(":")
    return f"{TARGETS[kind]} {rest}" if kind in TARGETS and rest else target


def _date(name: str):
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        flash(f"日期“{value[:20]}”应为 YYYY-MM-DD，已忽略该条件", "error")
        return None


def _hospital_codes(conn, text: str) -> list[str] | None:
    """The codes a hospital filter means: the code itself, or hospitals whose name contains it."""
    if not text:
        return None
    if CREDIT_PATTERN.match(text.upper()):
        return [text.upper()]
    return [r["code"] for r in conn.execute(
        "SELECT code FROM hospital WHERE name ILIKE %s ORDER BY code LIMIT 200",
        ("%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%",))]


@bp.get("/audit")
@login_required("admin")
def audit_log():
    conn = get_conn()
    args = {k: request.args.get(k, "").strip()[:100] for k in ("who", "what", "since", "until", "hospital")}
    if args["what"] and args["what"] not in audit.ACTION_NAMES:
        args["what"] = ""
    page = page_number()
    rows, total = audit.search(conn, actor=args["who"], action=args["what"], since=_date("since"),
                               until=_date("until"), hospitals=_hospital_codes(conn, args["hospital"]),
                               limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    for row in rows:
        row["action_name"] = audit.action_name(row["action"])
        row["target_words"] = target_words(row["target"])
        row["changes"] = changes(row["before"], row["after"])
    return render_template("admin/audit.html", entries=rows, total=total, page=page, per_page=PER_PAGE,
                           args={k: v for k, v in args.items() if v}, form=args, actions=audit.ACTION_NAMES)
