"""Small helpers shared by test modules: the scheduler's period, row counts, finding codes."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from etl.returns import intake


def last_month(now: dt.datetime | None = None) -> str:
    """The period the scheduler would report on now (the previous month, province time)."""
    today = (now or dt.datetime.now(ZoneInfo("Asia/Shanghai"))).date()
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first.year:04d}-{first.month:02d}"


def ingest(conn, settings, path, **kw):
    return intake.ingest_file(conn, path, settings, **kw)


def count(conn, table):
    return conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]


def codes(result):
    return sorted({f.code for f in result.findings})
