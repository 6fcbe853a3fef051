"""Periods and deadlines, and who has filed: completeness and timeliness by prefecture."""
from __future__ import annotations

import datetime as dt

import psycopg
from psycopg import sql

from etl.common import audit
from etl.common.codes import PERIOD_PATTERN, default_deadline, shift_period
from etl.common.errors import HemonError
from etl.filing.review import MIN_EXPLANATION
from etl.reference.scope import Scope
from etl.returns.loader import ensure_period


def listing(conn: psycopg.Connection) -> list[dict]:
    return conn.execute(
        """SELECT p.period, p.deadline, p.locked,
                  (SELECT count(*) FROM return r WHERE r.period = p.period AND r.is_current) AS filed,
                  (SELECT count(*) FROM hospital h
                   WHERE hospital_expected(h.opened_from, h.closed_from, p.period)) AS hospitals
           FROM period p ORDER BY p.period DESC""").fetchall()


def open_period(conn: psycopg.Connection, period: str, deadline: dt.date | None, user: dict,
                deadline_day: int = 10) -> None:
    """Open a period (and any month between it and the known ones) with its deadline."""
    if not PERIOD_PATTERN.match(period or ""):
        raise HemonError("报告期应为 YYYY-MM")
    with conn.transaction():
        ensure_period(conn, period, deadline_day)
        set_deadline(conn, period, deadline or default_deadline(period, deadline_day), user)


def set_deadline(conn: psycopg.Connection, period: str, deadline: dt.date, user: dict) -> None:
    if deadline <= default_deadline(period, 1) - dt.timedelta(days=1):
        raise HemonError("截止日期应晚于报告期结束")
    with conn.transaction():
        before = conn.execute("SELECT deadline FROM period WHERE period = %s FOR UPDATE", (period,)).fetchone()
        if before is None:
            raise HemonError(f"报告期 {period} 尚未开放")
        conn.execute("UPDATE period SET deadline = %s WHERE period = %s", (deadline, period))
        audit.record(conn, user, "period.deadline", f"period:{period}", {"deadline": str(before["deadline"])},
                     {"deadline": str(deadline)})


def set_locked(conn: psycopg.Connection, period: str, locked: bool, user: dict) -> None:
    with conn.transaction():
        row = conn.execute("UPDATE period SET locked = %s WHERE period = %s RETURNING period", (locked, period)).fetchone()
        if row is None:
            raise HemonError(f"报告期 {period} 尚未开放")
        audit.record(conn, user, "period.lock" if locked else "period.unlock", f"period:{period}", None,
                     {"locked": locked})


SUBMISSIONS_SQL = """
WITH h AS (
    SELECT h.code, h.name, h.level, prefecture_of(h.region_code) AS prefecture,
           coalesce(pref.name, '') AS prefecture_name,
           CASE WHEN reg.level = 3 THEN reg.code ELSE prefecture_of(h.region_code) END AS county,
           coalesce(CASE WHEN reg.level = 3 THEN reg.name END, pref.name || '（市本级）', '') AS county_name
    FROM hospital h
    LEFT JOIN region pref ON pref.code = prefecture_of(h.region_code)
    LEFT JOIN region reg ON reg.code = h.region_code
    WHERE {scope} AND hospital_expected(h.opened_from, h.closed_from, %(period)s)
),
f AS (
    SELECT r.hospital_code, min(r.submitted_at) AS first_at, max(r.version) AS versions,
           max(r.status) FILTER (WHERE r.is_current) AS status
    FROM return r WHERE r.period = %(period)s GROUP BY r.hospital_code
)
SELECT h.*, f.first_at, f.versions, f.status,
       CASE WHEN f.first_at IS NULL THEN 'missing'
            WHEN filed_late(f.first_at, p.deadline) THEN 'late' ELSE 'on_time' END AS filing
FROM h CROSS JOIN period p LEFT JOIN f ON f.hospital_code = h.code
WHERE p.period = %(period)s
ORDER BY h.prefecture, h.county, h.code
"""


def _rates(rows: list[dict], key: str) -> list[dict]:
    """Filed on time / late / missing, completeness and timeliness per value of `key`
    ("prefecture" or "county"), in code order."""
    groups: dict[str, dict] = {}
    for r in rows:
        g = groups.setdefault(r[key], {key: r[key], "code": r[key], "name": r[f"{key}_name"],
                                       "hospitals": 0, "on_time": 0, "late": 0, "missing": 0})
        g["hospitals"] += 1
        g[r["filing"]] += 1
    for g in groups.values():
        _with_rates(g)
    return sorted(groups.values(), key=lambda g: g["code"] or "")


def _with_rates(g: dict) -> dict:
    filed = g["on_time"] + g["late"]
    g["completeness"] = filed / g["hospitals"] if g["hospitals"] else None
    g["timeliness"] = g["on_time"] / g["hospitals"] if g["hospitals"] else None
    return g


def submissions(conn: psycopg.Connection, period: str, scope: Scope) -> dict:
    """Every hospital's filing for `period` in `scope`, and the rates by prefecture, by county
    (a hospital registered at prefecture level counts under 市本级) and in all."""
    where, extra = scope.clause("h.code")
    rows = conn.execute(sql.SQL(SUBMISSIONS_SQL).format(scope=where), {"period": period} | extra).fetchall()
    total = _with_rates({"hospitals": len(rows), **{k: sum(1 for r in rows if r["filing"] == k)
                                                    for k in ("on_time", "late", "missing")}})
    where, _ = scope.clause("r.hospital_code")
    quality = conn.execute(sql.SQL(
        """SELECT r.id AS return_id, r.hospital_code, h.name, f.code, f.cell, f.message
           FROM return_finding f JOIN return r ON r.id = f.return_id JOIN hospital h ON h.code = r.hospital_code
           WHERE r.period = %(period)s AND r.is_current AND f.code LIKE 'DQ!_%%' ESCAPE '!' AND {where}
           ORDER BY r.hospital_code, f.seq""").format(where=where), {"period": period} | extra).fetchall()
    return {"rows": rows, "prefectures": _rates(rows, "prefecture"), "counties": _rates(rows, "county"),
            "total": total, "quality": quality}


def pending(conn: psycopg.Connection, hospital_code: str, today: dt.date, deadline_day: int = 10) -> dict | None:
    """The period a hospital should be filing now (last month), if it has not: with its deadline
    and the days left (negative: overdue). None when filed, the period is locked, or the
    hospital does not owe it (closed before it, or filing only from a later month)."""
    owed = unfiled(conn, hospital_code, today, deadline_day)
    return None if owed is None or owed.pop("locked") else owed


def unfiled(conn: psycopg.Connection, hospital_code: str, today: dt.date, deadline_day: int = 10) -> dict | None:
    """Last month, if the hospital owes it and has not filed it: {period, deadline, days_left,
    locked}. None when filed or not owed (closed before it, or filing only from a later month)."""
    period = shift_period(f"{today.year:04d}-{today.month:02d}", -1)
    row = conn.execute(
        """SELECT p.deadline, coalesce(p.locked, false) AS locked,
                  EXISTS (SELECT 1 FROM return r WHERE r.hospital_code = %(code)s AND r.period = %(period)s)
                  OR NOT EXISTS (SELECT 1 FROM hospital h WHERE h.code = %(code)s
                                 AND hospital_expected(h.opened_from, h.closed_from, %(period)s)) AS filed
           FROM (SELECT %(period)s AS period) x LEFT JOIN period p ON p.period = x.period""",
        {"code": hospital_code, "period": period}).fetchone()
    if row["filed"]:
        return None
    deadline = row["deadline"] or default_deadline(period, deadline_day)
    return {"period": period, "deadline": deadline, "days_left": (deadline - today).days, "locked": row["locked"]}


def hospital_filings(conn: psycopg.Connection, code: str, today: dt.date, deadline_day: int = 10) -> list[dict]:
    """Return one hospital's returns by period, newest first (last month's included before it is
    opened): current version, first filing and lateness, counts of findings, and whether a
    missing return is overdue on `today`. The caller has checked `code` against its scope."""
    current = shift_period(f"{today:%Y-%m}", -1)
    rows = conn.execute(
        """WITH p AS (SELECT period, deadline, locked FROM period
                      UNION ALL
                      SELECT %(current)s, %(deadline)s, false
                      WHERE NOT EXISTS (SELECT 1 FROM period WHERE period = %(current)s))
           SELECT p.period, p.deadline, p.locked, r.id, r.version, r.status, r.submitted_at,
                  h.first_at, filed_late(h.first_at, p.deadline) AS late, coalesce(h.versions, 0) AS versions,
                  f.errors, f.warnings, f.notices, f.unexplained
           FROM p
           JOIN hospital reg ON reg.code = %(code)s
           LEFT JOIN return r ON r.period = p.period AND r.hospital_code = %(code)s AND r.is_current
           LEFT JOIN LATERAL (SELECT min(x.submitted_at) AS first_at, count(*) AS versions FROM return x
                              WHERE x.hospital_code = %(code)s AND x.period = p.period) h ON true
           LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE severity = 'error') AS errors,
                                     count(*) FILTER (WHERE severity = 'warning') AS warnings,
                                     count(*) FILTER (WHERE severity = 'notice') AS notices,
                                     count(*) FILTER (WHERE severity = 'warning'
                                                      AND coalesce(length(trim(explanation)), 0) < %(min)s) AS unexplained
                              FROM return_finding WHERE return_id = r.id) f ON true
           -- Months it does not owe (closed, or before its code was in use) only where it filed.
           WHERE hospital_expected(reg.opened_from, reg.closed_from, p.period) OR r.id IS NOT NULL
           ORDER BY p.period DESC""",
        {"current": current, "deadline": default_deadline(current, deadline_day),
         "code": code, "min": MIN_EXPLANATION}).fetchall()
    for row in rows:
        row["overdue_now"] = row["id"] is None and today > row["deadline"]
    return rows


# The share of registered hospitals that must have filed a month before pages open on it ahead
# of its deadline (config DEFAULT_PERIOD_SHARE overrides it in the app).
DEFAULT_SHARE = 0.8

# Every page asks for this (the month selector): the distinct rated periods by one index probe
# each (a skip scan of rating_period_idx), the filed counts in one grouped pass; it read all
# 36,000 ratings and counted each month's returns through the whole index before (35 ms).
RATED_SQL = """
WITH RECURSIVE rated AS (
    SELECT min(period) AS period FROM rating
    UNION ALL
    SELECT (SELECT min(x.period) FROM rating x WHERE x.period > rated.period) FROM rated
    WHERE rated.period IS NOT NULL
),
filed AS (SELECT period, count(*) AS n FROM return WHERE is_current AND {filed} GROUP BY period)
SELECT r.period, p.deadline, coalesce(f.n, 0) AS filed,
       (SELECT count(*) FROM hospital h
        WHERE hospital_expected(h.opened_from, h.closed_from, r.period) AND {registered}) AS hospitals
FROM rated r LEFT JOIN period p ON p.period = r.period LEFT JOIN filed f ON f.period = r.period
WHERE r.period IS NOT NULL
ORDER BY r.period DESC
"""


def _with_share(row: dict, deadline_day: int) -> dict:
    row["deadline"] = row["deadline"] or default_deadline(row["period"], deadline_day)
    row["share"] = row["filed"] / row["hospitals"] if row["hospitals"] else 0.0
    # Floored, so a month just under the threshold never reads as reaching it.
    row["percent"] = int(row["filed"] * 100 // row["hospitals"]) if row["hospitals"] else 0
    return row


def rated_periods(conn: psycopg.Connection, deadline_day: int = 10, scope: Scope | None = None) -> list[dict]:
    """Return the periods with ratings, newest first: period, deadline, filed, hospitals, share
    (filed / registered hospitals, 0..1) and percent (the share floored, for display). With a
    prefecture's `scope`, filed and hospitals count that prefecture's hospitals; any other
    scope counts the province's (a hospital's own share would read 0 % or 100 %)."""
    scope = scope if scope is not None and scope.is_prefecture else Scope.province()
    filed, params = scope.clause("hospital_code")
    registered, _ = scope.clause("h.code")
    query = sql.SQL(RATED_SQL).format(filed=filed, registered=registered)
    return [_with_share(r, deadline_day) for r in conn.execute(query, params)]


def choose(rows: list[dict], today: dt.date, share: float = DEFAULT_SHARE) -> str | None:
    """Pick the month pages open on from `rated_periods` rows: the newest whose deadline has
    passed (`today` after it), or a newer one once at least `share` of hospitals have filed it.

    When no month qualifies (only months still being filed) the oldest rated one; None for none."""
    for row in rows:
        if today > row["deadline"] or (row["hospitals"] and row["share"] >= share):
            return row["period"]
    return rows[-1]["period"] if rows else None


def default_period(conn: psycopg.Connection, today: dt.date, share: float = DEFAULT_SHARE,
                   deadline_day: int = 10) -> str | None:
    """Return the month every page opens on (see `choose`); None when nothing is rated yet."""
    return choose(rated_periods(conn, deadline_day), today, share)


def filing_share(conn: psycopg.Connection, period: str) -> dict | None:
    """Return how many registered hospitals have filed an open `period`: filed, hospitals, share,
    percent; None when the period is not open."""
    row = conn.execute(
        """SELECT p.period, p.deadline,
                  (SELECT count(*) FROM return x WHERE x.period = p.period AND x.is_current) AS filed,
                  (SELECT count(*) FROM hospital h
                   WHERE hospital_expected(h.opened_from, h.closed_from, p.period)) AS hospitals
           FROM period p WHERE p.period = %s""", (period,)).fetchone()
    return _with_share(row, 10) if row else None
