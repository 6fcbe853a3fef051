"""Changes to the registry one hospital at a time: add, edit, close, reopen, change of code,
merger; each kept in `hospital_event` (what changed, from, to, when, who) and audited.

Rows are validated exactly as the registry file is (`registry.validate_rows`), so a form and a
file refuse the same values with the same Chinese messages. Closing keeps every row the hospital
has; from the closing period on it is no longer expected to file (SQL `hospital_expected`), and
its ratings from then on are rescored away. A change of code or a merger closes the old record
with a successor: the returns and ratings filed under a code stay under it.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import psycopg

from etl.common import audit
from etl.common.codes import PERIOD_PATTERN, credit_code_problem
from etl.common.errors import HemonError, InputRejected
from etl.ratings.rescoring import rescore
from etl.reference.province import require as require_province
from etl.reference.registry import COLUMNS, known_region_codes, validate_rows

# Registry file column -> hospital column, in the file's order.
FIELDS = dict(zip(COLUMNS, ("code", "name", "level", "category", "affiliation", "region_code",
                            "longitude", "latitude", "beds")))
LABELS = {v: k for k, v in FIELDS.items()}
EDITABLE = tuple(FIELDS.values())[1:]
EVENT_NAMES = {"create": "新增", "edit": "修改", "close": "关闭", "reopen": "恢复", "code_change": "更换机构代码",
               "merge": "合并", "import": "名录导入"}
MIN_REASON = 2
# More new hospitals than this are rated by one province-wide rescore rather than one by one.
BULK_RATING = 50


def check_row(conn: psycopg.Connection, row: dict) -> dict:
    """One hospital from {registry column: value}, validated as a file row; raises
    InputRejected whose problems are (field label, message)."""
    try:
        return validate_rows([(1, row)], known_region_codes(conn), require_province(conn)["name"])[0]
    except InputRejected as exc:
        raise InputRejected("医疗机构信息有误，未保存", [(_field_of(msg), msg) for _, msg in exc.problems]) from None


def _field_of(message: str) -> str:
    return next((label for label in COLUMNS if message.startswith(label)), "")


def as_row(hospital: dict) -> dict:
    """A hospital row as {registry column: value} (the form's and the file's shape)."""
    return {label: hospital.get(key) for label, key in FIELDS.items()}


def get(conn: psycopg.Connection, code: str, lock: bool = False) -> dict | None:
    return conn.execute("SELECT * FROM hospital WHERE code = %s" + (" FOR UPDATE" if lock else ""),
                        (code,)).fetchone()


def _must_get(conn, code: str) -> dict:
    row = get(conn, code, lock=True)
    if row is None:
        raise HemonError(f"机构代码 {code} 未登记")
    return row


def _plain(value):
    return str(value) if isinstance(value, (Decimal, dt.date)) else value


def diff(before: dict, after: dict, keys=EDITABLE) -> dict:
    """{field: [before, after]} for the fields that differ (numbers compared exactly)."""
    return {k: [_plain(before.get(k)), _plain(after.get(k))] for k in keys
            if _plain(before.get(k)) != _plain(after.get(k))}


def event(conn, code: str, kind: str, user: dict | None, changes: dict | None = None, *, period: str | None = None,
          reason: str | None = None, other: str | None = None) -> None:
    conn.execute(
        """INSERT INTO hospital_event (hospital_code, kind, changes, period, reason, other_code, actor_id, actor_name)
           VALUES (%s, %s, %s::jsonb, %s, %s, %s, %s, %s)""",
        (code, kind, json.dumps(changes or {}, ensure_ascii=False), period, reason, other,
         user.get("id") if user else None, (user.get("username") if user else None) or "system"))


INSERT_SQL = """INSERT INTO hospital (code, name, level, category, affiliation, region_code, longitude, latitude,
                                      beds, opened_from)
                VALUES (%(code)s, %(name)s, %(level)s, %(category)s, %(affiliation)s, %(region_code)s,
                        %(longitude)s, %(latitude)s, %(beds)s, %(opened_from)s)"""
UPDATE_SQL = """UPDATE hospital SET name = %(name)s, level = %(level)s, category = %(category)s,
                       affiliation = %(affiliation)s, region_code = %(region_code)s, longitude = %(longitude)s,
                       latitude = %(latitude)s, beds = %(beds)s, updated_at = now()
                WHERE code = %(code)s"""


def _period(value: str | None, label: str) -> str:
    value = (value or "").strip()
    if not PERIOD_PATTERN.match(value):
        raise HemonError(f"{label}应为 YYYY-MM 格式的月份，如 2026-07")
    return value


def rate_new(conn: psycopg.Connection, codes: list[str], thresholds_file: Path) -> None:
    """Rate hospitals just registered in the months that already exist: `missing` where they owe
    a return, so the map, the overview and 报送情况 count them at once and not only after the
    next province-wide rescore."""
    if not codes or conn.execute("SELECT NOT EXISTS (SELECT 1 FROM period) AS none").fetchone()["none"]:
        return
    if len(codes) > BULK_RATING:
        rescore(conn, thresholds_file)
        return
    for code in codes:
        rescore(conn, thresholds_file, hospital=code)


def add(conn: psycopg.Connection, row: dict, user: dict | None, opened_from: str | None = None,
        thresholds_file: Path | None = None) -> dict:
    """Register a new hospital; `opened_from` (optional) is the first month it files. With
    `thresholds_file`, it is rated in the months that exist (`rate_new`)."""
    hospital = check_row(conn, row)
    hospital["opened_from"] = _period(opened_from, "起报月份") if (opened_from or "").strip() else None
    with conn.transaction():
        existing = get(conn, hospital["code"])
        if existing:
            raise HemonError(f"机构代码 {hospital['code']} 已登记为“{existing['name']}”")
        conn.execute(INSERT_SQL, hospital)
        event(conn, hospital["code"], "create", user, diff({}, hospital, tuple(FIELDS.values()) + ("opened_from",)),
              period=hospital["opened_from"])
        audit.record(conn, user, "registry.create", f"hospital:{hospital['code']}", None, hospital)
        if thresholds_file is not None:
            rate_new(conn, [hospital["code"]], thresholds_file)
    return hospital


def edit(conn: psycopg.Connection, code: str, row: dict, user: dict | None) -> dict:
    """Change a hospital's attributes (not its code: see `change_code`); returns the changes
    ({field: [before, after]}, empty when nothing changed)."""
    row = dict(row, 机构代码=code)
    hospital = check_row(conn, row)
    with conn.transaction():
        before = _must_get(conn, code)
        changes = diff(before, hospital)
        if not changes:
            return {}
        conn.execute(UPDATE_SQL, hospital)
        event(conn, code, "edit", user, changes)
        audit.record(conn, user, "registry.edit", f"hospital:{code}", {k: v[0] for k, v in changes.items()},
                     {k: v[1] for k, v in changes.items()})
    return changes


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise HemonError(f"请填写原因（至少 {MIN_REASON} 个字）")
    return reason


def _check_closable(conn, hospital: dict, period: str) -> None:
    if hospital["closed_from"]:
        raise HemonError(f"{hospital['name']}已于 {hospital['closed_from']} 起关闭")
    if hospital["opened_from"] and period <= hospital["opened_from"]:
        raise HemonError(f"关闭月份应晚于起报月份 {hospital['opened_from']}")
    filed = conn.execute("SELECT max(period) AS last FROM return WHERE hospital_code = %s AND period >= %s",
                         (hospital["code"], period)).fetchone()["last"]
    if filed:
        raise HemonError(f"{hospital['name']}已报送 {filed} 的报表，关闭月份应晚于 {filed}")


def _close(conn, hospital: dict, period: str, closed_on: dt.date, reason: str, successor: str | None) -> None:
    conn.execute("""UPDATE hospital SET closed_from = %s, closed_on = %s, closed_reason = %s, successor_code = %s,
                           updated_at = now() WHERE code = %s""",
                 (period, closed_on, reason, successor, hospital["code"]))


def _closing_state(period, closed_on, reason, successor=None) -> dict:
    return {"closed_from": period, "closed_on": str(closed_on), "closed_reason": reason, "successor_code": successor}


def close(conn: psycopg.Connection, code: str, period: str, reason: str, user: dict | None,
          thresholds_file: Path, closed_on: dt.date | None = None) -> None:
    """Close a hospital from `period` on: no return is expected from it then, its history stays.

    Refused when it has filed `period` or later (close from the month after its last return)."""
    period, reason = _period(period, "关闭月份"), _reason(reason)
    closed_on = closed_on or dt.date.today()
    with conn.transaction():
        hospital = _must_get(conn, code)
        _check_closable(conn, hospital, period)
        _close(conn, hospital, period, closed_on, reason, None)
        state = _closing_state(period, closed_on, reason)
        event(conn, code, "close", user, diff({}, state, tuple(state)), period=period, reason=reason)
        audit.record(conn, user, "registry.close", f"hospital:{code}", dict.fromkeys(state), state)
        rescore(conn, thresholds_file, from_period=period, hospital=code)


def reopen(conn: psycopg.Connection, code: str, reason: str, user: dict | None, thresholds_file: Path) -> None:
    """Undo a close (not a merger or a change of code: those have a successor)."""
    reason = _reason(reason)
    with conn.transaction():
        hospital = _must_get(conn, code)
        if not hospital["closed_from"]:
            raise HemonError(f"{hospital['name']}未关闭")
        if hospital["successor_code"]:
            raise HemonError(f"{hospital['name']}已并入或更换为 {hospital['successor_code']}，不能恢复")
        before = _closing_state(hospital["closed_from"], hospital["closed_on"], hospital["closed_reason"])
        conn.execute("""UPDATE hospital SET closed_from = NULL, closed_on = NULL, closed_reason = NULL,
                               updated_at = now() WHERE code = %s""", (code,))
        event(conn, code, "reopen", user, {k: [v, None] for k, v in before.items() if v is not None},
              period=hospital["closed_from"], reason=reason)
        audit.record(conn, user, "registry.reopen", f"hospital:{code}", before, {"closed_from": None, "reason": reason})
        rescore(conn, thresholds_file, from_period=hospital["closed_from"], hospital=code)


def change_code(conn: psycopg.Connection, code: str, new_code: str, period: str, reason: str, user: dict | None,
                thresholds_file: Path) -> None:
    """Register `new_code` for the same hospital from `period` on: the old record is closed with
    the new one as successor, the new one files from `period`, and the hospital's accounts move
    to the new code. Returns filed before stay under the old code."""
    new_code = (new_code or "").strip().upper()
    problem = credit_code_problem(new_code)
    if problem:
        raise HemonError(f"新机构代码“{new_code}”{problem}")
    period, reason = _period(period, "启用月份"), _reason(reason)
    with conn.transaction():
        old = _must_get(conn, code)
        if get(conn, new_code):
            raise HemonError(f"机构代码 {new_code} 已登记")
        _check_closable(conn, old, period)
        new = {k: old[k] for k in FIELDS.values()} | {"code": new_code, "opened_from": period}
        conn.execute(INSERT_SQL, new)
        _close(conn, old, period, dt.date.today(), reason, new_code)
        moved = conn.execute("UPDATE app_user SET hospital_code = %s WHERE hospital_code = %s RETURNING username",
                             (new_code, code)).fetchall()
        changes = {"code": [code, new_code]}
        event(conn, code, "code_change", user, changes, period=period, reason=reason, other=new_code)
        event(conn, new_code, "code_change", user, changes, period=period, reason=reason, other=code)
        audit.record(conn, user, "registry.code_change", f"hospital:{code}", {"code": code},
                     {"code": new_code, "from_period": period, "reason": reason,
                      "accounts_moved": [u["username"] for u in moved]})
        rescore(conn, thresholds_file, from_period=period, hospital=code)
        rescore(conn, thresholds_file, from_period=period, hospital=new_code)


def merge(conn: psycopg.Connection, code: str, into: str, period: str, reason: str, user: dict | None,
          thresholds_file: Path) -> None:
    """Record that hospital `code` is merged into `into` from `period` on: `code` is closed with
    `into` as its successor; both keep their history. Accounts stay where they are."""
    into = (into or "").strip().upper()
    period, reason = _period(period, "合并月份"), _reason(reason)
    with conn.transaction():
        absorbed = _must_get(conn, code)
        if into == code:
            raise HemonError("不能并入自身")
        target = get(conn, into, lock=True)
        if target is None:
            raise HemonError(f"并入机构代码 {into or '（空）'} 未登记")
        if target["closed_from"]:
            raise HemonError(f"{target['name']}已于 {target['closed_from']} 起关闭，不能并入")
        _check_closable(conn, absorbed, period)
        _close(conn, absorbed, period, dt.date.today(), reason, into)
        event(conn, code, "merge", user, {"successor_code": [None, into]}, period=period, reason=reason, other=into)
        event(conn, into, "merge", user, {"merged": [code, into]}, period=period, reason=reason, other=code)
        audit.record(conn, user, "registry.merge", f"hospital:{code}", {"successor_code": None},
                     {"successor_code": into, "from_period": period, "reason": reason})
        rescore(conn, thresholds_file, from_period=period, hospital=code)


def history(conn: psycopg.Connection, code: str) -> list[dict]:
    """A hospital's registry events, newest first, with the other hospital's name and, per
    change, the field's Chinese label."""
    rows = conn.execute(
        """SELECT e.*, o.name AS other_name FROM hospital_event e LEFT JOIN hospital o ON o.code = e.other_code
           WHERE e.hospital_code = %s ORDER BY e.id DESC""", (code,)).fetchall()
    for r in rows:
        r["kind_name"] = EVENT_NAMES.get(r["kind"], r["kind"])
        r["change_list"] = [{"field": CHANGE_LABELS.get(k, k), "before": v[0], "after": v[1]}
                            for k, v in (r["changes"] or {}).items()]
    return rows


CHANGE_LABELS = LABELS | {"opened_from": "起报月份", "closed_from": "关闭月份", "closed_on": "关闭日期",
                          "closed_reason": "关闭原因", "successor_code": "承继机构代码", "merged": "并入"}
