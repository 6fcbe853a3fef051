"""Accounts: create users, check passwords (scrypt via werkzeug), end sessions (throttle: `throttle`)."""
from __future__ import annotations

import functools
import re
import secrets
from pathlib import Path

import psycopg
from werkzeug.security import check_password_hash, generate_password_hash

from etl.common.errors import HemonError

ROLES = {"hospital": "医院填报员", "reviewer": "省级审核员", "admin": "省级管理员", "leader": "领导",
         "prefecture": "市州审核员", "prefecture-leader": "市州领导"}
# Roles bound to one prefecture (region_code of a level-2 region): they see its hospitals only.
PREFECTURE_ROLES = ("prefecture", "prefecture-leader")
MIN_PASSWORD = 10
COMMON_PASSWORDS = frozenset(
    line.strip() for line in
    (Path(__file__).resolve().parent / "data" / "common_passwords.txt").read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#"))
DIGITS, LETTERS = "01234567890", "abcdefghijklmnopqrstuvwxyz"
# Generated passwords: no 0/o, 1/l/i, so they survive being read aloud or retyped from paper.
GENERATED_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GENERATED_LENGTH = 12          # 31**12 ≈ 2**59
# A generated password is 59 random bits and must be replaced at first login, so its hash
# can be light (scrypt N=2**10): 1,500 accounts hash in seconds, not minutes, and guessing
# 2**59 candidates stays out of reach. Passwords people choose keep werkzeug's default.
GENERATED_HASH = "scrypt:1024:8:1"


def password_problem(password: str, username: str) -> str | None:
    """Why `password` may not be used (a Chinese sentence), or None: length 10+, not the
    username, not a common password, not one character repeated or a straight run."""
    lowered = (password or "").lower()
    if len(password or "") < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 位"
    if username and lowered in (username.strip().lower(), username.strip().lower()[::-1]):
        return "密码不能与用户名相同"
    if lowered in COMMON_PASSWORDS or len(set(lowered)) <= 2 or lowered in DIGITS or lowered in DIGITS[::-1] \
            or lowered in LETTERS or lowered in LETTERS[::-1]:
        return "密码过于常见或简单，请使用字母、数字和符号的组合"
    return None
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def generate_password(username: str = "") -> str:
    """A random password that passes `password_problem`, for handing out on paper."""
    while True:
        password = "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(GENERATED_LENGTH))
        if password_problem(password, username) is None:
            return password


def check_role(conn: psycopg.Connection, role: str, hospital_code: str | None, region_code: str | None) -> None:
    """Refuse (HemonError, Chinese) a role without the hospital or prefecture it needs, or with
    one it must not have, or naming a hospital or prefecture that is not registered."""
    if role not in ROLES:
        raise HemonError(f"角色应为 {'/'.join(ROLES)} 之一")
    if (role == "hospital") != bool(hospital_code):
        raise HemonError("医院填报员必须指定所属机构（--hospital），其他角色不能指定")
    if (role in PREFECTURE_ROLES) != bool(region_code):
        raise HemonError("市州用户必须指定所属市州（--region），其他角色不能指定")
    if region_code and not conn.execute("SELECT 1 FROM region WHERE code = %s AND level = 2",
                                        (region_code,)).fetchone():
        raise HemonError(f"区划代码 {region_code} 不是本省的市州")
    if hospital_code and not conn.execute("SELECT 1 FROM hospital WHERE code = %s", (hospital_code,)).fetchone():
        raise HemonError(f"机构代码 {hospital_code} 不在医疗机构名录中")


def create_user(conn: psycopg.Connection, username: str, password: str, role: str,
                hospital_code: str | None = None, display_name: str | None = None,
                actor: dict | None = None, email: str | None = None, region_code: str | None = None) -> int:
    """Create an account (audited, by `actor` or the command line); prefecture roles need the
    `region_code` of a prefecture (level 2) of the registered divisions."""
    from etl.common.audit import record
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise HemonError("用户名不能为空，且不超过64个字符")
    check_role(conn, role, hospital_code, region_code)
    problem = password_problem(password, username)
    if problem:
        raise HemonError(problem)
    if email and not EMAIL.match(email):
        raise HemonError(f"邮箱“{email}”格式不正确")
    with conn.transaction():
        if conn.execute("SELECT 1 FROM app_user WHERE username = %s", (username,)).fetchone():
            raise HemonError(f"用户名 {username} 已存在")
        user_id = conn.execute(
            """INSERT INTO app_user (username, password_hash, role, hospital_code, display_name, email, region_code)
               VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (username, generate_password_hash(password), role, hospital_code, display_name, email,
             region_code)).fetchone()["id"]
        record(conn, actor, "user.create", f"user:{username}", None,
               {"role": role, "hospital_code": hospital_code, "region_code": region_code})
        return user_id


@functools.cache
def _decoy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def authenticate(conn: psycopg.Connection, username: str, password: str) -> dict | None:
    """The enabled account whose password this is, or None; an unknown username costs the same
    one hash check as a known one, so usernames cannot be probed by timing."""
    user = conn.execute(
        """SELECT id, username, password_hash, role, hospital_code, region_code, display_name, session_version,
                  disabled_at, must_change_password
           FROM app_user WHERE username = %s""", (username,)).fetchone()
    ok = check_password_hash(user["password_hash"] if user else _decoy_hash(), password or "")
    return user if ok and user and user["disabled_at"] is None else None


def get_user(conn: psycopg.Connection, user_id: int) -> dict | None:
    """The account, with `session_version` and `disabled_at` for the session check and
    `must_change_password` for the first-login redirect."""
    return conn.execute(
        """SELECT id, username, role, hospital_code, region_code, display_name, session_version, disabled_at,
                  must_change_password
           FROM app_user WHERE id = %s""", (user_id,)).fetchone()


def end_sessions(conn: psycopg.Connection, user_id: int) -> int:
    """End every session of the user (logout, password change, reset, disable); returns the
    new session version."""
    row = conn.execute("UPDATE app_user SET session_version = session_version + 1 WHERE id = %s"
                       " RETURNING session_version", (user_id,)).fetchone()
    return row["session_version"] if row else 0


def disable_user(conn: psycopg.Connection, user_id: int, actor: dict | None) -> None:
    """Disable an account (kept for the audit trail, never deleted) and end its sessions."""
    from etl.common.audit import record
    with conn.transaction():
        row = conn.execute("UPDATE app_user SET disabled_at = coalesce(disabled_at, now()) WHERE id = %s"
                           " RETURNING username", (user_id,)).fetchone()
        if row is None:
            raise HemonError("用户不存在")
        end_sessions(conn, user_id)
        record(conn, actor, "user.disable", f"user:{row['username']}", {"status": "enabled"}, {"status": "disabled"})


def set_password(conn: psycopg.Connection, user_id: int, password: str, actor: dict, action: str,
                 must_change: bool = False) -> None:
    """Set a password (audited as `action`, without it) and end the user's sessions.

    `must_change`: someone else knows it (an admin's reset), so the owner must replace it at
    their next login; a user setting their own clears the flag.
    """
    from etl.common.audit import record
    with conn.transaction():
        name = conn.execute("SELECT username FROM app_user WHERE id = %s", (user_id,)).fetchone()
        if name is None:
            raise HemonError("用户不存在")
        problem = password_problem(password, name["username"])
        if problem:
            raise HemonError(problem)
        if actor and actor.get("id") == user_id and not must_change:
            same = conn.execute("SELECT password_hash FROM app_user WHERE id = %s", (user_id,)).fetchone()
            if check_password_hash(same["password_hash"], password):
                raise HemonError("新密码不能与原密码相同")
        row = conn.execute("""UPDATE app_user SET password_hash = %s, session_version = session_version + 1,
                                                  must_change_password = %s
                              WHERE id = %s RETURNING username""",
                           (generate_password_hash(password, method=GENERATED_HASH) if must_change
                            else generate_password_hash(password), must_change, user_id)).fetchone()
        record(conn, actor, action, f"user:{row['username']}", None, {"must_change_password": must_change}
               if must_change else None)


def reset_password(conn: psycopg.Connection, user_id: int, actor: dict) -> str:
    """Give the user a new generated password, to be changed at their next login; returns it
    (the only copy: it is stored hashed, and audited without it)."""
    row = conn.execute("SELECT username FROM app_user WHERE id = %s", (user_id,)).fetchone()
    if row is None:
        raise HemonError("用户不存在")
    password = generate_password(row["username"])
    set_password(conn, user_id, password, actor, "user.password_reset", must_change=True)
    return password
def enable_user(conn: psycopg.Connection, user_id: int, actor: dict | None) -> None:
    """Enable a disabled account again (audited); it logs in with its existing password."""
    from etl.common.audit import record
    with conn.transaction():
        row = conn.execute("SELECT username, disabled_at FROM app_user WHERE id = %s FOR UPDATE",
                           (user_id,)).fetchone()
        if row is None:
            raise HemonError("用户不存在")
        if row["disabled_at"] is None:
            return                                  # already enabled: nothing to record
        conn.execute("UPDATE app_user SET disabled_at = NULL WHERE id = %s", (user_id,))
        record(conn, actor, "user.enable", f"user:{row['username']}", {"status": "disabled"}, {"status": "enabled"})


def change_role(conn: psycopg.Connection, user_id: int, role: str, hospital_code: str | None,
                region_code: str | None, actor: dict | None) -> None:
    """Give the account another role, with the hospital or prefecture that role needs (audited
    with before and after). The user's open sessions see the new role on their next page."""
    from etl.common.audit import record
    hospital_code = hospital_code if role == "hospital" else None
    region_code = region_code if role in PREFECTURE_ROLES else None
    check_role(conn, role, hospital_code, region_code)
    with conn.transaction():
        before = conn.execute("SELECT username, role, hospital_code, region_code FROM app_user WHERE id = %s"
                              " FOR UPDATE", (user_id,)).fetchone()
        if before is None:
            raise HemonError("用户不存在")
        after = {"role": role, "hospital_code": hospital_code, "region_code": region_code}
        old = {k: before[k] for k in after}
        if old == after:
            return
        conn.execute("UPDATE app_user SET role = %s, hospital_code = %s, region_code = %s WHERE id = %s",
                     (role, hospital_code, region_code, user_id))
        record(conn, actor, "user.role_change", f"user:{before['username']}", old, after)


# The users page's status filter: its SQL condition on app_user u.
STATUSES = {"active": "u.disabled_at IS NULL", "disabled": "u.disabled_at IS NOT NULL",
            "must_change": "u.must_change_password AND u.disabled_at IS NULL",
            "never": "u.last_login_at IS NULL"}


def find_users(conn: psycopg.Connection, text: str = "", role: str = "", status: str = "",
               region_code: str = "", limit: int = 50, offset: int = 0) -> tuple[list[dict], int]:
    """A page of accounts matching the filters, and how many match in all.

    `text` matches username, name, email, hospital name or code (a substring, any case);
    `region_code` a prefecture: its hospitals' accounts and its prefecture users.
    """
    where, params = ["true"], {"limit": limit, "offset": offset}
    if text:
        where.append("""(u.username ILIKE %(like)s OR u.display_name ILIKE %(like)s OR u.email ILIKE %(like)s
                         OR h.name ILIKE %(like)s OR u.hospital_code ILIKE %(like)s)""")
        params["like"] = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if role in ROLES:
        where.append("u.role = %(role)s")
        params["role"] = role
    if status in STATUSES:
        where.append(STATUSES[status])
    if region_code:
        where.append("(u.region_code = %(region)s OR prefecture_of(h.region_code) = %(region)s)")
        params["region"] = region_code
    rows = conn.execute(
        f"""SELECT u.id, u.username, u.role, u.hospital_code, u.region_code, u.display_name, u.email,
                   u.created_at, u.disabled_at, u.last_login_at, u.totp_enabled_at, u.must_change_password,
                   h.name AS hospital_name, r.name AS region_name, count(*) OVER () AS total
            FROM app_user u LEFT JOIN hospital h ON h.code = u.hospital_code
                 LEFT JOIN region r ON r.code = u.region_code
            WHERE {" AND ".join(where)}
            ORDER BY u.role, u.username LIMIT %(limit)s OFFSET %(offset)s""", params).fetchall()
    total = rows[0]["total"] if rows else (
        0 if offset == 0 else find_users(conn, text, role, status, region_code, 1, 0)[1])
    return rows, total


def list_users(conn: psycopg.Connection) -> list[dict]:
    return conn.execute(
        """SELECT u.id, u.username, u.role, u.hospital_code, u.region_code, u.display_name, u.email, u.created_at,
                  u.disabled_at, u.last_login_at, u.totp_enabled_at, h.name AS hospital_name
           FROM app_user u LEFT JOIN hospital h ON h.code = u.hospital_code ORDER BY u.role, u.username""").fetchall()
