"""Hospital accounts in bulk: one account per registered hospital that has none, with a random
initial password, listed in a workbook for distribution.

The workbook is the only copy of the passwords (they are stored hashed and audited without
them), so a caller writes it before the transaction commits: a workbook that cannot be
written leaves no account behind. Every generated account must change its password at its
first login (app_user.must_change_password).
"""
from __future__ import annotations

import io
from collections.abc import Callable

import psycopg
from werkzeug.security import generate_password_hash

from etl.common.audit import record
from etl.reference.accounts import GENERATED_HASH, generate_password

COLUMNS = ("机构代码", "机构名称", "用户名", "初始密码")
# Two admins pressing the button at once would race for the same usernames: they queue.
LOCK = (7145006, 0)
SHEET = "医院账号"


def _username(code: str, taken: set[str]) -> str:
    """The hospital's 机构代码, the name its staff already know; a suffix only if it is taken."""
    name, n = code, 1
    while name.lower() in taken:
        n += 1
        name = f"{code}-{n}"
    taken.add(name.lower())
    return name


def create_hospital_accounts(conn: psycopg.Connection, actor: dict | None,
                             deliver: Callable[[bytes, list[dict]], None]) -> list[dict]:
    """Create the missing hospital accounts and hand the workbook to `deliver` before commit.

    A hospital counts as having an account when any hospital user (enabled or disabled) is
    bound to it, so an account an admin disabled is not silently replaced. `deliver(data,
    rows)` receives the .xlsx bytes and the rows (机构代码, 机构名称, 用户名, 初始密码); if it
    raises, nothing is created. Returns the rows (empty when every hospital has an account).
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", LOCK)
        hospitals = conn.execute(
            """SELECT h.code, h.name FROM hospital h
               WHERE h.closed_from IS NULL
                 AND NOT EXISTS (SELECT 1 FROM app_user u WHERE u.hospital_code = h.code)
               ORDER BY h.region_code, h.code""").fetchall()
        if not hospitals:
            return []
        taken = {r["name"] for r in conn.execute("SELECT lower(username) AS name FROM app_user")}
        rows, inserts = [], []
        for h in hospitals:
            username = _username(h["code"], taken)
            password = generate_password(username)
            rows.append({"机构代码": h["code"], "机构名称": h["name"], "用户名": username, "初始密码": password})
            inserts.append((username, generate_password_hash(password, method=GENERATED_HASH), h["code"]))
        with conn.cursor() as cur:
            cur.executemany(
                """INSERT INTO app_user (username, password_hash, role, hospital_code, must_change_password)
                   VALUES (%s, %s, 'hospital', %s, true)""", inserts)
        for username, _, code in inserts:
            record(conn, actor, "user.create", f"user:{username}", None,
                   {"role": "hospital", "hospital_code": code, "generated": True})
        record(conn, actor, "user.bulk_create", "app_user", None, {"accounts": len(inserts)})
        deliver(workbook(rows), rows)
    return rows


def workbook(rows: list[dict]) -> bytes:
    """The accounts as an .xlsx: codes and passwords as text, columns wide enough to read."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([r[c] for c in COLUMNS])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.number_format = "@"         # text: a code must never become a number
    for letter, width in zip("ABCD", (24, 40, 26, 18)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A2"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
