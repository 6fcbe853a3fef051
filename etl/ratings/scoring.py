"""Score: indicators and red/yellow/green ratings, set-based in SQL.

`score(conn, periods, hospital=)` recomputes the indicators and ratings of every hospital, or
of one, for the periods from the current valid returns, in one transaction: a failure leaves
the previous result. Scorers serialise on advisory locks (`lock`): a province-wide rescore
excludes every other scorer, one hospital's excludes only that hospital's and province-wide
ones. Thresholds come from config/risk.yaml and each rating records the version that made it.
"""
from __future__ import annotations

import hashlib
import json
import logging
from decimal import Decimal
from pathlib import Path

import psycopg
import yaml

from etl.attribution.categories import NON_SERVICE_SUBJECTS
from etl.ratings import indicators as registry

logger = logging.getLogger(__name__)

# (alias, sheet item code, column) pivoted out of return_value, and each indicator's SQL
# expression over them: both from the registry (etl.ratings.indicators).
DOMAINS = registry.DOMAINS
INPUTS = registry.inputs()
FORMULAS = {i.id: i.sql for i in registry.REGISTRY}


def validate_thresholds(body: dict) -> dict:
    """Check a thresholds document and normalise it: numbers to decimal strings, and each
    indicator's domain and label taken from the registry (a label in the file is ignored).

    `indicators` names rated indicators with their yellow/red conditions; `monitored` lists
    the monitored indicators the province computes and shows (a list, or a mapping whose
    values are ignored). Raises ValueError with a Chinese message naming the indicator at fault.
    """
    if not isinstance(body, dict) or not isinstance(body.get("indicators"), dict):
        raise ValueError("阈值配置缺少 indicators")
    out = {"version": str(body.get("version") or "unnamed"), "indicators": {}, "monitored": {}}
    for name, spec in body["indicators"].items():
        ind, spec = registry.BY_ID.get(name), spec or {}
        if ind is not None and not ind.rated:
            raise ValueError(f"阈值配置：{ind.label}（{name}）是监测指标，不评级，应列在 monitored 下")
        if ind is None or spec.get("domain", ind.domain) != ind.domain:   # the domain is the registry's
            raise ValueError(f"阈值配置：未知指标或风险领域 {name}")
        clean = {"domain": ind.domain, "label": ind.label}
        for colour in ("yellow", "red"):
            if spec.get(colour) is None:
                continue
            op, value = spec[colour]
            if op not in ("<", "<=", ">", ">="):
                raise ValueError(f"阈值配置：{name} 的比较符“{op}”无效")
            try:
                number = Decimal(str(value))
            except ArithmeticError:
                raise ValueError(f"阈值配置：{name} 的{colour}阈值“{value}”不是数字") from None
            if not number.is_finite():
                raise ValueError(f"阈值配置：{name} 的{colour}阈值“{value}”不是数字")
            clean[colour] = [op, str(number)]
        if "yellow" in clean and "red" in clean:
            (yop, yv), (rop, rv) = clean["yellow"], clean["red"]
            if (yop[0] != rop[0]) or (yop[0] == "<" and Decimal(rv) > Decimal(yv)) or \
                    (yop[0] == ">" and Decimal(rv) < Decimal(yv)):
                raise ValueError(f"阈值配置：{clean['label']} 的红色阈值应比黄色阈值更严重（方向一致且更极端）")
        out["indicators"][name] = clean
    for name in body.get("monitored") or ():
        ind = registry.BY_ID.get(name)
        if ind is None or ind.rated:
            raise ValueError(f"阈值配置：未知监测指标 {name}")
        out["monitored"][name] = {"label": ind.label}
    return out


def computed(body: dict) -> list[str]:
    """The indicators scoring computes under a thresholds body: every rated indicator and
    the monitored ones the body lists, in registry order."""
    listed = body.get("monitored") or {}
    return [i.id for i in registry.REGISTRY if i.rated or i.id in listed]


def load_thresholds(path: Path) -> dict:
    return validate_thresholds(yaml.safe_load(Path(path).read_text(encoding="utf-8")))


def _digest(body: dict) -> tuple[str, str]:
    text = json.dumps(body, sort_keys=True, ensure_ascii=False)
    return text, hashlib.sha256(text.encode()).hexdigest()


def active_thresholds(conn: psycopg.Connection, thresholds_file: Path) -> dict:
    """The version in force: the file's content is activated when first seen, an
    administrator's edit when saved; the one activated last wins. Returns {id, name, body}."""
    text, digest = _digest(load_thresholds(thresholds_file))
    with conn.transaction():
        # The lock (held to the end of the caller's transaction) only when the file is new, so
        # concurrent scorers do not queue on it for every upload.
        if conn.execute("SELECT 1 FROM threshold_version WHERE body_sha256 = %s", (digest,)).fetchone() is None:
            conn.execute("SELECT pg_advisory_xact_lock(7145002)")
            conn.execute("""INSERT INTO threshold_version (name, body, body_sha256, source)
                            VALUES (%s, %s::jsonb, %s, 'file') ON CONFLICT (body_sha256) DO NOTHING""",
                         (json.loads(text)["version"], text, digest))
        return conn.execute("""SELECT id, name, body, source, activated_at FROM threshold_version
                               ORDER BY activated_at DESC, id DESC LIMIT 1""").fetchone()


def save_thresholds(conn: psycopg.Connection, body: dict, user: dict | None, note: str = "") -> int:
    """Validate and activate an administrator's thresholds; audited. Returns the version id."""
    from etl.common.audit import record
    clean = validate_thresholds(body)
    text, digest = _digest(clean)
    with conn.transaction():
        before = conn.execute("""SELECT id, body FROM threshold_version
                                 ORDER BY activated_at DESC, id DESC LIMIT 1""").fetchone()
        row = conn.execute(
            """INSERT INTO threshold_version (name, body, body_sha256, source, created_by, note)
               VALUES (%s, %s::jsonb, %s, 'admin', %s, %s)
               ON CONFLICT (body_sha256) DO UPDATE SET activated_at = clock_timestamp()
               RETURNING id""",
            (clean["version"], text, digest, user["id"] if user else None, note or None)).fetchone()
        record(conn, user, "thresholds.save", f"threshold_version:{row['id']}",
               before["body"] if before else None, clean)
    return row["id"]


def _indicator_sql(ids: list[str], one_hospital: bool) -> str:
    """The INSERT of indicator values for %(periods)s (and %(hospital)s when `one_hospital`).

    Only the returns of the scored periods are pivoted, and only the cells the registry reads;
    the deficit run reads S300 本月数 of every earlier current return of the same hospitals.
    """
    # Each cell read gets a number, so the pivot compares one integer per aggregate, not two texts.
    pivots = ",\n       ".join(
        f"max(v.{'text_value' if code in registry.TEXT_ITEMS else 'amount'}) FILTER (WHERE k.n = {n}) AS {alias}"
        for n, (alias, code, col) in enumerate(INPUTS))
    cells = ", ".join(f"('{code}', '{col}', {n})" for n, (_, code, col) in enumerate(INPUTS))
    values = ",\n        ".join(f"('{name}', {FORMULAS[name]})" for name in ids)
    non_service = ", ".join(f"'{s}'" for s in NON_SERVICE_SUBJECTS)
    whose = "AND hospital_code = %(hospital)s" if one_hospital else ""
    upsert = ("ON CONFLICT (hospital_code, period, indicator) DO UPDATE SET return_id = excluded.return_id,"
              " value = excluded.value, rating = excluded.rating") if one_hospital else ""
    return f"""
WITH cur AS (
    SELECT id AS return_id, hospital_code, period FROM return
    WHERE is_current AND period <= %(last)s {whose}
),
chain AS (    -- S300 本月数 of every current return up to the last scored period
    SELECT cur.return_id, cur.hospital_code, cur.period, v.amount AS s300_m
    FROM cur LEFT JOIN return_value v
         ON v.return_id = cur.return_id AND v.item_code = 'S300' AND v.column_name = 'month'
),
streak AS (   -- consecutive deficit months: islands of S300 < 0 over consecutive periods
    SELECT return_id, period_index(period)
             - row_number() OVER (PARTITION BY hospital_code, s300_m < 0 ORDER BY period) AS island,
           hospital_code, period, s300_m < 0 AS deficit
    FROM chain
),
runs AS (
    SELECT return_id, CASE WHEN deficit THEN row_number() OVER (
               PARTITION BY hospital_code, deficit, island ORDER BY period) ELSE 0 END AS deficit_months
    FROM streak
),
pivot AS (
    SELECT cur.return_id, cur.hospital_code, cur.period,
       {pivots}
    FROM cur JOIN return_value v ON v.return_id = cur.return_id
         JOIN (VALUES {cells}) AS k (item_code, column_name, n)
           ON k.item_code = v.item_code AND k.column_name = v.column_name
    WHERE cur.period = ANY(%(periods)s)
    GROUP BY cur.return_id, cur.hospital_code, cur.period
),
debt AS (
    SELECT d.return_id, sum(d.overdue_amount) AS overdue_debt
    FROM pivot p JOIN return_debt d USING (return_id) GROUP BY d.return_id
),
subject AS (
    SELECT a.return_id,
           sum(a.amount) FILTER (WHERE a.category IN ({non_service})) AS non_service,
           sum(a.amount) FILTER (WHERE a.category = '未归集') AS unattributed
    FROM pivot p JOIN attribution_total a USING (return_id)
    WHERE a.system = 'subject' GROUP BY a.return_id
),
facts AS (
    SELECT p.*, runs.deficit_months,
           substr(p.period, 6, 2)::numeric AS month_no,
           extract(doy FROM (to_date(p.period || '-01', 'YYYY-MM-DD') + interval '1 month - 1 day'))::numeric
               AS year_day,
           coalesce(debt.overdue_debt, 0) AS overdue_debt,
           coalesce(subject.non_service, 0) AS non_service,
           coalesce(subject.unattributed, 0) AS unattributed
    FROM pivot p JOIN runs USING (return_id)
         LEFT JOIN debt USING (return_id) LEFT JOIN subject USING (return_id)
)
INSERT INTO indicator_value (hospital_code, period, indicator, return_id, value, rating)
SELECT f.hospital_code, f.period, x.indicator, f.return_id, x.value,
       CASE WHEN t.spec IS NULL THEN NULL ELSE indicator_colour(x.value, t.spec) END
FROM facts f
CROSS JOIN LATERAL (VALUES
        {values}
) AS x (indicator, value)
LEFT JOIN jsonb_each(%(thresholds)s::jsonb -> 'indicators') AS t (indicator, spec)
       ON t.indicator = x.indicator
{upsert}
"""


def _rating_sql(one_hospital: bool) -> str:
    """The INSERT of ratings for %(periods)s (and %(hospital)s when `one_hospital`), from the
    indicator values just written; `missing` where the hospital has no current return."""
    whose = "AND i.hospital_code = %(hospital)s" if one_hospital else ""
    registered = "h.code = %(hospital)s" if one_hospital else "true"
    upsert = ("ON CONFLICT (hospital_code, period) DO UPDATE SET return_id = excluded.return_id,"
              " rating = excluded.rating, deficit = excluded.deficit, debt = excluded.debt,"
              " wages = excluded.wages, provisional = excluded.provisional,"
              " threshold_version_id = excluded.threshold_version_id, computed_at = excluded.computed_at"
              ) if one_hospital else ""
    return f"""
WITH domain_of AS (
    SELECT key AS indicator, value ->> 'domain' AS domain
    FROM jsonb_each(%(thresholds)s::jsonb -> 'indicators')
),
worst AS (
    SELECT i.hospital_code, i.period, i.return_id, d.domain,
           max(CASE i.rating WHEN 'red' THEN 3 WHEN 'yellow' THEN 2 WHEN 'green' THEN 1 END) AS rank
    FROM indicator_value i JOIN domain_of d USING (indicator)
    WHERE i.period = ANY(%(periods)s) {whose}
    GROUP BY i.hospital_code, i.period, i.return_id, d.domain
),
domains AS (
    SELECT hospital_code, period, return_id,
           max(rank) FILTER (WHERE domain = 'deficit') AS deficit,
           max(rank) FILTER (WHERE domain = 'debt') AS debt,
           max(rank) FILTER (WHERE domain = 'wages') AS wages
    FROM worst GROUP BY hospital_code, period, return_id
),
colour (rank, name) AS (VALUES (1, 'green'), (2, 'yellow'), (3, 'red'))
INSERT INTO rating (hospital_code, period, return_id, rating, deficit, debt, wages, provisional,
                    threshold_version_id)
SELECT d.hospital_code, d.period, d.return_id,
       coalesce((SELECT name FROM colour WHERE rank = greatest(d.deficit, d.debt, d.wages)), 'green'),
       coalesce((SELECT name FROM colour WHERE rank = d.deficit), 'n/a'),
       coalesce((SELECT name FROM colour WHERE rank = d.debt), 'n/a'),
       coalesce((SELECT name FROM colour WHERE rank = d.wages), 'n/a'),
       r.status <> 'accepted', %(version)s
FROM domains d JOIN return r ON r.id = d.return_id
UNION ALL
SELECT h.code, p.period, NULL, 'missing', 'missing', 'missing', 'missing', false, %(version)s
FROM hospital h CROSS JOIN unnest(%(periods)s::text[]) AS p (period)
WHERE {registered} AND hospital_expected(h.opened_from, h.closed_from, p.period)
  AND NOT EXISTS (SELECT 1 FROM return r WHERE r.hospital_code = h.code
                                   AND r.period = p.period AND r.is_current)
{upsert}
"""


# Advisory lock keys (two-key form, never meeting the migrations' single-key 7145001 or the
# scheduler's (7145002, yyyymm) / (7145003, yyyymmdd)). Every scorer takes PROVINCE first —
# exclusive for a province-wide rescore, shared for one hospital's — then, for one hospital,
# (HOSPITAL, hashtext(code)) exclusive: one fixed order, so scorers queue and never deadlock.
PROVINCE_LOCK = (7145004, 0)
HOSPITAL_LOCK = 7145005
# How long a scorer may wait for its turn (the statement timeout is for slow statements).
LOCK_WAIT = "10min"
# work_mem for a province-wide rescore: its pivot and window sorts stay in memory.
PROVINCE_WORK_MEM = "128MB"


def lock(conn: psycopg.Connection, hospital: str | None) -> None:
    """Take the scoring locks for this transaction: the whole province (None) or one hospital.

    Held until the transaction ends. Take them before reading what is scored (the periods, the
    thresholds, the returns), so what a scorer writes is computed from data committed by every
    scorer before it: a rescore that waited can never overwrite newer results with older ones.
    """
    # Waiting in the queue is not a slow statement: the wait gets its own, longer limit.
    previous = conn.execute("SELECT current_setting('statement_timeout') AS was").fetchone()
    conn.execute("SELECT set_config('statement_timeout', %s, true)", (LOCK_WAIT,))
    if hospital is None:
        conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", PROVINCE_LOCK)
    else:
        conn.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", PROVINCE_LOCK)
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (HOSPITAL_LOCK, hospital))
    conn.execute("SELECT set_config('statement_timeout', %s, true)", (previous["was"],))


def score(conn: psycopg.Connection, thresholds_file: Path, periods: list[str] | None = None,
          hospital: str | None = None) -> dict:
    """Recompute indicators and ratings for `periods` (None: every known period), of every
    hospital or of `hospital` only (no other hospital's row is touched).

    Takes the scoring locks itself (see `lock`); returns the ratings written by colour.
    """
    with conn.transaction():
        lock(conn, hospital)
        active = active_thresholds(conn, thresholds_file)
        if periods is None:
            periods = [r["period"] for r in conn.execute("SELECT period FROM period ORDER BY period")]
        if not periods:
            return {}
        one = hospital is not None
        if not one:
            conn.execute(f"SET LOCAL work_mem = '{PROVINCE_WORK_MEM}'")
        params = {"periods": list(periods), "last": max(periods), "hospital": hospital,
                  "thresholds": json.dumps(active["body"], ensure_ascii=False), "version": active["id"]}
        whose = " AND hospital_code = %(hospital)s" if one else ""
        conn.execute("DELETE FROM rating WHERE period = ANY(%(periods)s)" + whose, params)
        conn.execute("DELETE FROM indicator_value WHERE period = ANY(%(periods)s)" + whose, params)
        conn.execute(_indicator_sql(computed(active["body"]), one), params)
        conn.execute(_rating_sql(one), params)
        counts = conn.execute(
            "SELECT rating, count(*) AS n FROM rating WHERE period = ANY(%(periods)s)" + whose
            + " GROUP BY rating", params).fetchall()
    result = {r["rating"]: r["n"] for r in counts}
    logger.info("scored %d periods%s: %s", len(periods), f" of {hospital}" if one else "", result)
    return result
