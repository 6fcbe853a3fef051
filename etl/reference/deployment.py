"""What this deployment is: settings kept in the database (table deployment_setting)."""
from __future__ import annotations

import json

import psycopg


def setting(conn: psycopg.Connection, name: str, default=None):
    row = conn.execute("SELECT value FROM deployment_setting WHERE name = %s", (name,)).fetchone()
    return default if row is None else row["value"]


def set_setting(conn: psycopg.Connection, name: str, value) -> None:
    conn.execute("""INSERT INTO deployment_setting (name, value) VALUES (%s, %s::jsonb)
                    ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()""",
                 (name, json.dumps(value, ensure_ascii=False)))


def is_demo(conn: psycopg.Connection) -> bool:
    """True when the database holds the demo province (pages and bulletins say 演示数据)."""
    return bool(setting(conn, "demo", False))
