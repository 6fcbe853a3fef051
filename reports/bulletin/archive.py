"""The bulletin archive: every monthly bulletin (经济运行监测月报) ever generated.

`publish` builds a period's bulletin (reports.bulletin.build) and stores it as the period's
next version — the snapshot it was written from and every file — in one transaction, with
its audit entry: a build that fails leaves no row and the earlier versions as they were.
The web, `flask --app wsgi bulletin` and the scheduler all publish through here.

A version can be withdrawn (`withdraw`, an admin with a reason): it stays in the archive with
who, when and why, but `listing(visible_only=True)`, `latest` and `readable` leave it out, so
leaders (and their old links to its page and files) no longer reach it and the period's
previous version is the one they read.

Publishing runs at REPEATABLE READ, so every number in a bulletin comes from one moment of
the database, and takes `LOCK TABLE bulletin IN SHARE ROW EXCLUSIVE MODE` before its first
query, so publishes queue one behind the other and each sees the versions before it.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import pq, sql

from etl.common import audit
from etl.common.codes import PERIOD_PATTERN
from etl.common.errors import HemonError
from etl.reference.scope import Scope

TITLE = "经济运行监测月报"
TRIGGERS = ("manual", "schedule")
# The documents every bulletin has (the rest of its files are the figures inside them).
DOCUMENTS = ("bulletin.docx", "bulletin.pdf")

_COLUMNS = """b.id, b.period, b.version, b.trigger, b.generated_at, b.generated_by,
              u.username AS generated_by_name, b.delivered_at, b.delivered_to,
              b.region_code, reg.name AS region_name,
              b.withdrawn_at, b.withdrawn_reason,
              (SELECT w.username FROM app_user w WHERE w.id = b.withdrawn_by) AS withdrawn_by_name,
              coalesce((SELECT json_agg(json_build_object('name', f.name, 'media_type', f.media_type,
                                                          'size', octet_length(f.content)) ORDER BY f.name)
                        FROM bulletin_file f WHERE f.bulletin_id = b.id), '[]') AS files"""
_FROM = "FROM bulletin b LEFT JOIN app_user u ON u.id = b.generated_by LEFT JOIN region reg ON reg.code = b.region_code"
PROVINCE = Scope.province()


class AlreadyScheduled(HemonError):
    """The scheduler's bulletin for the period exists already (made by another worker)."""


def publish(conn: psycopg.Connection, period: str, *, trigger: str = "manual",
            user: dict | None = None, region: str | None = None) -> dict:
    """Build the period's bulletin and store it as its next version; returns it as `get` does.

    `region` (a prefecture's code) makes that prefecture's bulletin — the same content for its
    hospitals only — versioned on its own; None, the province's. `trigger='schedule'` raises
    AlreadyScheduled where the scheduler already made one for the period (and region). Errors
    from the build propagate (HemonError: a message for the user).
    """
    if not isinstance(period, str) or not PERIOD_PATTERN.fullmatch(period):
        raise HemonError("报告期应为 YYYY-MM 格式")
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger must be one of {TRIGGERS}")
    from reports.bulletin import build as builder
    with _publishing(conn):
        if region is not None and not conn.execute("SELECT 1 FROM region WHERE code = %s AND level = 2",
                                                    (region,)).fetchone():
            raise HemonError(f"区划代码 {region} 不是本省的市州")
        same = {"period": period, "region": region}
        if trigger == "schedule" and conn.execute(
                """SELECT 1 FROM bulletin WHERE period = %(period)s AND region_code IS NOT DISTINCT FROM %(region)s
                   AND trigger = 'schedule'""", same).fetchone():
            raise AlreadyScheduled(f"{period} 的定时月报已生成")
        version = conn.execute("""SELECT coalesce(max(version), 0) + 1 AS v FROM bulletin
                                  WHERE period = %(period)s AND region_code IS NOT DISTINCT FROM %(region)s""",
                               same).fetchone()["v"]
        built = builder.build(conn, period, Scope.prefecture(region) if region else PROVINCE)
        missing = [name for name in DOCUMENTS if name not in built.files]
        if missing:
            raise HemonError(f"月报缺少文件：{'、'.join(missing)}")
        bulletin_id = conn.execute(
            """INSERT INTO bulletin (period, version, trigger, generated_by, snapshot, region_code)
               VALUES (%s, %s, %s, %s, %s::jsonb, %s) RETURNING id""",
            (period, version, trigger, user.get("id") if user else None, dumps(built.content),
             region)).fetchone()["id"]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO bulletin_file (bulletin_id, name, media_type, content) VALUES (%s, %s, %s, %s)",
                            [(bulletin_id, name, media_type, bytes(content))
                             for name, (media_type, content) in sorted(built.files.items())])
        audit.record(conn, user, "bulletin.publish", f"bulletin:{bulletin_id}", None,
                     {"period": period, "version": version, "trigger": trigger, "files": sorted(built.files),
                      "region": region})
        return get(conn, bulletin_id)


@contextmanager
def _publishing(conn: psycopg.Connection):
    """One transaction at REPEATABLE READ whose snapshot is taken after earlier publishes commit.

    Inside a transaction the caller opened, a savepoint under the caller's isolation level.
    """
    idle = conn.info.transaction_status == pq.TransactionStatus.IDLE
    with conn.transaction():
        if idle:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # Not a query: the snapshot is taken by the first SELECT after it, once the lock is held.
        conn.execute("LOCK TABLE bulletin IN SHARE ROW EXCLUSIVE MODE")
        yield


def _visible(scope: Scope) -> tuple[sql.Composable, dict]:
    """The bulletins `scope` may read: all for the province, its own prefecture's for a
    prefecture (never the province's, which names every hospital), none for a hospital."""
    if scope.is_province:
        return sql.SQL("true"), {}
    if scope.is_prefecture:
        return sql.SQL("b.region_code = {}").format(sql.Placeholder("scope_prefecture")), \
            {"scope_prefecture": scope.region_code}
    return sql.SQL("false"), {}


def listing(conn: psycopg.Connection, period: str | None = None, *, scope: Scope = PROVINCE,
            visible_only: bool = False) -> list[dict]:
    """Every bulletin `scope` may read (or a period's), newest first: no snapshot, no bytes;
    files with sizes. The app passes the user's scope. `visible_only`: without withdrawn
    versions (what a leader may read)."""
    where, extra = _visible(scope)
    return conn.execute(sql.SQL(
        f"""SELECT {_COLUMNS}, b.snapshot -> 'summary' AS summary {_FROM}
            WHERE (%(period)s::text IS NULL OR b.period = %(period)s) AND {{}}
              AND NOT (%(visible)s AND b.withdrawn_at IS NOT NULL)
            ORDER BY b.generated_at DESC, b.id DESC""").format(where),
        {"period": period, "visible": visible_only} | extra).fetchall()


def get(conn: psycopg.Connection, bulletin_id: int, *, scope: Scope = PROVINCE) -> dict | None:
    """One bulletin with its snapshot (numbers as exact Decimals) and its files' names and
    sizes; None if absent or not for `scope` (the app passes the user's scope)."""
    where, extra = _visible(scope)
    row = conn.execute(sql.SQL(f"SELECT {_COLUMNS}, b.snapshot::text AS snapshot {_FROM} "
                               "WHERE b.id = %(id)s AND {}").format(where), {"id": bulletin_id} | extra).fetchone()
    if row is not None:
        row["snapshot"] = json.loads(row["snapshot"], parse_float=Decimal)
    return row


def readable(conn: psycopg.Connection, bulletin_id: int, *, scope: Scope = PROVINCE,
             withdrawn: bool = False) -> dict | None:
    """One bulletin as `get` gives it within `scope`, or None when missing, outside the scope
    or withdrawn (unless `withdrawn`)."""
    row = get(conn, bulletin_id, scope=scope)
    return row if row is not None and (withdrawn or row["withdrawn_at"] is None) else None


def latest(conn: psycopg.Connection, period: str, region: str | None = None) -> dict | None:
    """The period's newest version of the province's bulletin (or of `region`'s) that is not
    withdrawn, or None."""
    row = conn.execute("""SELECT id FROM bulletin WHERE period = %s AND region_code IS NOT DISTINCT FROM %s
                          AND withdrawn_at IS NULL ORDER BY version DESC LIMIT 1""", (period, region)).fetchone()
    return get(conn, row["id"]) if row else None


def prefectures_with_hospitals(conn: psycopg.Connection) -> list[str]:
    """The prefectures (level-2 region codes) with at least one registered hospital, in code
    order: the ones that get a bulletin of their own."""
    return [r["code"] for r in conn.execute(
        """SELECT DISTINCT reg.code FROM hospital h JOIN region reg ON reg.code = prefecture_of(h.region_code)
           WHERE reg.level = 2 ORDER BY reg.code""")]


def prefecture_names(conn: psycopg.Connection) -> list[dict]:
    """code and name of each prefecture with hospitals, for choosing whose bulletin to publish."""
    return conn.execute("SELECT code, name FROM region WHERE code = ANY(%s) ORDER BY code",
                        (prefectures_with_hospitals(conn),)).fetchall()
MAX_REASON = 500


def withdraw(conn: psycopg.Connection, bulletin_id: int, reason: str, user: dict | None) -> dict:
    """Withdraw one version: kept, hidden from readers, audited; returns it as `get` does.

    Raises HemonError (a Chinese message, nothing changed) without a reason, for a version
    already withdrawn, or for one that does not exist.
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise HemonError("请填写撤回原因")
    if len(reason) > MAX_REASON:
        raise HemonError(f"撤回原因不超过 {MAX_REASON} 字")
    with conn.transaction():
        row = conn.execute("SELECT period, version, withdrawn_at FROM bulletin WHERE id = %s FOR UPDATE",
                           (bulletin_id,)).fetchone()
        if row is None:
            raise HemonError("没有这份月报")
        if row["withdrawn_at"] is not None:
            raise HemonError(f"{row['period']} 月报第 {row['version']} 版已撤回")
        conn.execute("""UPDATE bulletin SET withdrawn_at = now(), withdrawn_by = %s, withdrawn_reason = %s
                        WHERE id = %s""", (user.get("id") if user else None, reason, bulletin_id))
        audit.record(conn, user, "bulletin.withdraw", f"bulletin:{bulletin_id}",
                     {"period": row["period"], "version": row["version"]}, {"reason": reason})
    return get(conn, bulletin_id)


def file(conn: psycopg.Connection, bulletin_id: int, name: str) -> tuple[str, bytes] | None:
    """(media type, bytes) of one of a bulletin's files, or None. The caller has checked the
    bulletin against the reader's scope (`get`)."""
    row = conn.execute("SELECT media_type, content FROM bulletin_file WHERE bulletin_id = %s AND name = %s",
                       (bulletin_id, name)).fetchone()
    return (row["media_type"], bytes(row["content"])) if row else None


def download_name(bulletin: dict, name: str) -> str:
    """What a file is called outside the platform: 经济运行监测月报-2026-10-v1.docx, …-v1-map.png."""
    stem, dot, ext = name.rpartition(".")
    base = f"{bulletin.get('region_name') or ''}{TITLE}-{bulletin['period']}-v{bulletin['version']}"
    if not dot:
        return f"{base}-{name}"
    return f"{base}.{ext}" if stem == "bulletin" else f"{base}-{stem}.{ext}"


def documents(conn: psycopg.Connection, bulletin_id: int) -> list[tuple[str, str, bytes]]:
    """The Word and PDF documents as (download name, media type, bytes)."""
    bulletin = get(conn, bulletin_id)
    if bulletin is None:
        return []
    out = []
    for name in DOCUMENTS:
        found = file(conn, bulletin_id, name)
        if found:
            out.append((download_name(bulletin, name), found[0], found[1]))
    return out


def write_files(conn: psycopg.Connection, bulletin_id: int, out_dir) -> list[Path]:
    """Write the bulletin's Word and PDF documents into out_dir (made if missing); their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, _media_type, content in documents(conn, bulletin_id):
        path = out_dir / name
        # Written beside and renamed: a reader never sees half a file.
        fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".bulletin-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(content)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        paths.append(path)
    return paths


def dumps(content) -> str:
    """The snapshot as JSON: Decimals as exact numbers, dates as ISO text."""
    def mark(o):
        if isinstance(o, Decimal):
            if not o.is_finite():
                raise ValueError(f"not a finite number in the bulletin snapshot: {o}")
            return f"\x00{format(o, 'f')}\x00"
        if isinstance(o, (dt.date, dt.datetime)):
            return o.isoformat()
        if isinstance(o, (set, tuple, frozenset)):
            return list(o)
        raise TypeError(f"not JSON serialisable in the bulletin snapshot: {type(o).__name__}")

    text = json.dumps(content, default=mark, ensure_ascii=False, allow_nan=False)
    return re.sub(r'"\\u0000(-?[0-9.]+)\\u0000"', r"\1", text)
