"""The audit log: every state change with who, when, what, before and after."""
from __future__ import annotations

import json
from decimal import Decimal

import psycopg


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
