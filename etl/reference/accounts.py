"""Accounts: create users, check passwords (scrypt via werkzeug), throttle logins."""
from __future__ import annotations

import re

import psycopg
from werkzeug.security import check_password_hash, generate_password_hash

from etl.common.errors import HemonError

ROLES = {"hospital": "医院填报员", "reviewer": "省级审核员", "admin": "省级管理员", "leader": "领导"}
MIN_PASSWORD = 8
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def create_user(conn: psycopg.Connection, username: str, password: str, role: str,
                hospital_code: str | None = None, display_name: str | None = None,
                actor: dict | None = None, email: str | None = None) -> int:
    """Create an account (audited, by `actor` or the command line)."""
    from etl.common.audit import record
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise HemonError("用户名不能为空，且不超过64个字符")
    if role not in ROLES:
        raise HemonError(f"角色应为 {'/'.join(ROLES)} 之一")
    if (role == "hospital") != bool(hospital_code):
        raise HemonError("医院填报员必须指定所属机构（--hospital），其他角色不能指定")
    if len(password) < MIN_PASSWORD:
        raise HemonError(f"密码至少 {MIN_PASSWORD} 位")
    if email and not EMAIL.match(email):
        raise HemonError(f"邮箱“{email}”格式不正确")
    if hospital_code and not conn.execute("SELECT 1 FROM hospital WHERE code = %s", (hospital_code,)).fetchone():
        raise HemonError(f"机构代码 {hospital_code} 不在医疗机构名录中")
    with conn.transaction():
        if conn.execute("SELECT 1 FROM app_user WHERE username = %s", (username,)).fetchone():
            raise HemonError(f"用户名 {username} 已存在")
        user_id = conn.execute(
            """INSERT INTO app_user (username, password_hash, role, hospital_code, display_name, email)
               VALUES (%s, %s, %s, %s, %s, %s) RETURNING id""",
            (username, generate_password_hash(password), role, hospital_code, display_name, email)).fetchone()["id"]
        record(conn, actor, "user.create", f"user:{username}", None,
               {"role": role, "hospital_code": hospital_code})
        return user_id


def authenticate(conn: psycopg.Connection, username: str, password: str) -> dict | None:
    user = conn.execute(
        "SELECT id, username, password_hash, role, hospital_code, display_name FROM app_user WHERE username = %s",
        (username,)).fetchone()
    if user is None:
        # Spend the same time as a real check, so usernames cannot be probed by timing.
        check_password_hash(generate_password_hash("x"), password)
        return None
    return user if check_password_hash(user["password_hash"], password) else None


def get_user(conn: psycopg.Connection, user_id: int) -> dict | None:
    return conn.execute(
        "SELECT id, username, role, hospital_code, display_name FROM app_user WHERE id = %s",
        (user_id,)).fetchone()


# Throttling: this many failures within the window lock the username (or the address) out.
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW_MINUTES = 15


def login_blocked(conn: psycopg.Connection, username: str, address: str | None) -> int:
    """Minutes until `username` from `address` may try again (0: now)."""
    row = conn.execute(
        """WITH recent AS (
               SELECT * FROM login_attempt WHERE at > now() - make_interval(mins => %(window)s)
               AND NOT succeeded)
           SELECT (SELECT count(*) FROM recent WHERE lower(username) = lower(%(user)s)) AS by_user,
                  (SELECT count(*) FROM recent WHERE address = %(addr)s) AS by_address,
                  (SELECT min(at) FROM recent WHERE lower(username) = lower(%(user)s) OR address = %(addr)s)
                      AS oldest,
                  now() AS now""",
        {"window": WINDOW_MINUTES, "user": username, "addr": address}).fetchone()
    if row["by_user"] < MAX_FAILURES_PER_USER and row["by_address"] < MAX_FAILURES_PER_ADDRESS:
        return 0
    wait = (row["oldest"] - row["now"]).total_seconds() / 60 + WINDOW_MINUTES
    return max(1, int(wait + 0.999))


def record_login(conn: psycopg.Connection, username: str, address: str | None, user: dict | None) -> None:
    """Remember the attempt and audit it; a success clears the username's failures."""
    from etl.common.audit import record
    with conn.transaction():
        conn.execute("INSERT INTO login_attempt (username, address, succeeded) VALUES (%s, %s, %s)",
                     (username, address, user is not None))
        if user is not None:
            conn.execute("DELETE FROM login_attempt WHERE lower(username) = lower(%s) AND NOT succeeded",
                         (username,))
        record(conn, user or {"id": None, "username": username},
               "login.success" if user else "login.failure", f"user:{username}", None, {"address": address})


def set_password(conn: psycopg.Connection, user_id: int, password: str, actor: dict, action: str) -> None:
    from etl.common.audit import record
    if len(password) < MIN_PASSWORD:
        raise HemonError(f"密码至少 {MIN_PASSWORD} 位")
    with conn.transaction():
        row = conn.execute("UPDATE app_user SET password_hash = %s WHERE id = %s RETURNING username",
                           (generate_password_hash(password), user_id)).fetchone()
        if row is None:
            raise HemonError("用户不存在")
        record(conn, actor, action, f"user:{row['username']}", None, None)


def list_users(conn: psycopg.Connection) -> list[dict]:
    return conn.execute(
        """SELECT u.id, u.username, u.role, u.hospital_code, u.display_name, u.email, u.created_at, h.name AS hospital_name
           FROM app_user u LEFT JOIN hospital h ON h.code = u.hospital_code ORDER BY u.role, u.username""").fetchall()
