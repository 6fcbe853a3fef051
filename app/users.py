"""Accounts: create users and check passwords (scrypt via werkzeug)."""
from __future__ import annotations

import psycopg
from werkzeug.security import check_password_hash, generate_password_hash

from etl.errors import HemonError

ROLES = {"hospital": "医院填报员", "reviewer": "省级审核员", "admin": "省级管理员", "leader": "领导"}
MIN_PASSWORD = 8


def create_user(conn: psycopg.Connection, username: str, password: str, role: str,
                hospital_code: str | None = None, display_name: str | None = None) -> int:
    if role not in ROLES:
        raise HemonError(f"角色应为 {'/'.join(ROLES)} 之一")
    if (role == "hospital") != bool(hospital_code):
        raise HemonError("医院填报员必须指定所属机构（--hospital），其他角色不能指定")
    if len(password) < MIN_PASSWORD:
        raise HemonError(f"密码至少 {MIN_PASSWORD} 位")
    if hospital_code and not conn.execute("SELECT 1 FROM hospital WHERE code = %s", (hospital_code,)).fetchone():
        raise HemonError(f"机构代码 {hospital_code} 不在医疗机构名录中")
    with conn.transaction():
        if conn.execute("SELECT 1 FROM app_user WHERE username = %s", (username,)).fetchone():
            raise HemonError(f"用户名 {username} 已存在")
        return conn.execute(
            """INSERT INTO app_user (username, password_hash, role, hospital_code, display_name)
               VALUES (%s, %s, %s, %s, %s) RETURNING id""",
            (username, generate_password_hash(password), role, hospital_code, display_name)).fetchone()["id"]


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
