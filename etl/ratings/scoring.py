"""Score: indicators and red/yellow/green ratings, set-based in SQL.

`score(conn, periods, hospital=)` recomputes the scorecards (a hospital-month's indicators,
values and colours, one row) and ratings of every hospital, or of one, for the periods from
the current valid returns, in one transaction: a failure leaves the previous result. It
writes only the rows whose result changed. Scorers serialise on advisory locks (`lock`): a
province-wide rescore excludes every other scorer, one hospital's excludes only that
hospital's and province-wide ones. Thresholds come from config/risk.yaml and each rating
records the version that made it.
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
from etl.common import locks
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


def _rank(value: str, spec: dict | None, params: dict) -> str:
    """SQL ranking an indicator's value: 3 red, 2 yellow, 1 green, 0 n/a (no value), as the
    database's indicator_colour() would colour it. The thresholds are added to `params`; the
    operators are the four validate_thresholds allows."""
    whens = []
    for colour, rank in (("red", 3), ("yellow", 2)):
        if spec and spec.get(colour):
            op, threshold = spec[colour]
            key = f"threshold_{len(params)}"
            params[key] = Decimal(threshold)
            whens.append(f"WHEN {value} {op} %({key})s::numeric THEN {rank}")
    return f"CASE WHEN {value} IS NULL THEN 0 {' '.join(whens)} ELSE 1 END"


def _score_sql(ids: list[str], specs: dict, params: dict, one_hospital: bool) -> tuple[str, ...]:
    """The statements writing the scorecards and ratings of %(periods)s (of %(hospital)s only
    when `one_hospital`); what they need beyond the caller's parameters is added to `params`.

    1. `scored_facts`: per current return of the scored periods, the cells the registry reads
       (a pivot of return_value restricted to those returns and cells), 表4's overdue debt and
       表5's subject totals. A statement of its own, so PostgreSQL may run it in parallel (it
       reads 3 million values and 2.7 million totals at 1,500 hospitals × 24 months; an INSERT
       never runs in parallel).
    2. `scored`: the deficit runs (S300 本月数 of every current return up to the last scored
       period), every indicator's value, each rated one's colour and each domain's worst colour.
    3. `rated`: the ratings, `missing` where a registered hospital has no current return.
    4. Then only what changed is written: scorecards no longer produced are deleted, the others
       upserted where they differ (those written are noted in `changed`); the same for ratings,
       and a rating whose scorecard changed is rewritten too, so its computed_at moves.
    """
    params["indicators"] = list(ids)
    # Each cell read gets a number, so the pivot compares one integer per aggregate, not two texts.
    pivots = ",\n       ".join(
        f"max(v.{'text_value' if code in registry.TEXT_ITEMS else 'amount'}) FILTER (WHERE k.n = {n}) AS {alias}"
        for n, (alias, code, col) in enumerate(INPUTS))
    cells = ", ".join(f"('{code}', '{col}', {n})" for n, (_, code, col) in enumerate(INPUTS))
    value, rank = (lambda name: f'"value:{name}"'), (lambda name: f'"rank:{name}"')
    rated = [name for name in ids if name in specs]
    measures = ",\n           ".join(f"({FORMULAS[name]})::numeric AS {value(name)}" for name in ids)
    ranks = ",\n           ".join(f"{_rank(value(name), specs[name], params)} AS {rank(name)}"
                                   for name in rated) or "0 AS no_rank"
    colour = "CASE {} WHEN 3 THEN 'red' WHEN 2 THEN 'yellow' WHEN 1 THEN 'green' ELSE 'n/a' END"
    colours = ", ".join(colour.format(rank(name)) if name in specs else "NULL" for name in ids)

    def worst(domain: str | None) -> str:
        names = [rank(n) for n in rated if domain is None or specs[n]["domain"] == domain]
        return f"greatest({', '.join(f'nullif({n}, 0)' for n in names)})" if names else "NULL"

    non_service = ", ".join(f"'{s}'" for s in NON_SERVICE_SUBJECTS)
    whose = "AND r.hospital_code = %(hospital)s" if one_hospital else ""
    scored = f"r.is_current AND r.period = ANY(%(periods)s) {whose}"
    mine = "AND x.hospital_code = %(hospital)s" if one_hospital else ""
    registered = "h.code = %(hospital)s" if one_hospital else "true"
    return f"""
CREATE TEMPORARY TABLE scored_facts ON COMMIT DROP AS
WITH cells AS (
    SELECT r.id AS return_id, r.hospital_code, r.period, r.status,
       {pivots}
    FROM return r JOIN return_value v ON v.return_id = r.id
         JOIN (VALUES {cells}) AS k (item_code, column_name, n)
           ON k.item_code = v.item_code AND k.column_name = v.column_name
    WHERE {scored}
    GROUP BY r.id
),
debt AS (
    SELECT d.return_id, sum(d.overdue_amount) AS overdue_debt
    FROM return r JOIN return_debt d ON d.return_id = r.id
    WHERE {scored} GROUP BY d.return_id
),
subject AS (
    SELECT a.return_id,
           sum(a.amount) FILTER (WHERE a.category IN ({non_service})) AS non_service,
           sum(a.amount) FILTER (WHERE a.category = '未归集') AS unattributed
    FROM return r JOIN attribution_total a ON a.return_id = r.id
    WHERE {scored} AND a.system = 'subject' AND a.category IN ({non_service}, '未归集')
    GROUP BY a.return_id
)
SELECT c.*,
       coalesce(debt.overdue_debt, 0) AS overdue_debt,
       coalesce(subject.non_service, 0) AS non_service,
       coalesce(subject.unattributed, 0) AS unattributed
FROM cells c LEFT JOIN debt USING (return_id) LEFT JOIN subject USING (return_id)
""", f"""
CREATE TEMPORARY TABLE scored ON COMMIT DROP AS
WITH chain AS (    -- S300 本月数 of every current return up to the last scored period
    SELECT return_id, hospital_code, period, s300_m FROM pg_temp.scored_facts
    UNION ALL
    SELECT r.id, r.hospital_code, r.period, v.amount
    FROM return r JOIN return_value v
         ON v.return_id = r.id AND v.item_code = 'S300' AND v.column_name = 'month'
    WHERE r.is_current AND r.period < %(last)s AND NOT r.period = ANY(%(periods)s) {whose}
),
streak AS (   -- consecutive deficit months: islands of S300 < 0 over consecutive periods
    SELECT return_id, hospital_code, period,
           period_index(period) - row_number() OVER (PARTITION BY hospital_code ORDER BY period) AS island
    FROM chain WHERE s300_m < 0
),
runs AS (
    SELECT return_id, row_number() OVER (PARTITION BY hospital_code, island ORDER BY period) AS deficit_months
    FROM streak
),
facts AS (
    SELECT f.*, coalesce(runs.deficit_months, 0) AS deficit_months,
           substr(f.period, 6, 2)::numeric AS month_no,
           extract(doy FROM (to_date(f.period || '-01', 'YYYY-MM-DD') + interval '1 month - 1 day'))::numeric
               AS year_day
    FROM pg_temp.scored_facts f LEFT JOIN runs USING (return_id)
),
measured AS MATERIALIZED (    -- materialised: each formula computed once, not once per use
    SELECT hospital_code, period, return_id, status,
           {measures}
    FROM facts
),
ranked AS MATERIALIZED (
    SELECT m.*,
           {ranks}
    FROM measured m
)
SELECT hospital_code, period, return_id, status,
       ARRAY[{', '.join(value(name) for name in ids)}]::numeric[] AS value,
       ARRAY[{colours}]::text[] AS rating,
       {worst(None)} AS overall, {worst('deficit')} AS deficit,
       {worst('debt')} AS debt, {worst('wages')} AS wages
FROM ranked
""", f"""
CREATE TEMPORARY TABLE rated ON COMMIT DROP AS
SELECT hospital_code, period, return_id,
       CASE overall WHEN 3 THEN 'red' WHEN 2 THEN 'yellow' ELSE 'green' END AS rating,
       {colour.format('deficit')} AS deficit, {colour.format('debt')} AS debt,
       {colour.format('wages')} AS wages, status <> 'accepted' AS provisional
FROM pg_temp.scored
UNION ALL
SELECT h.code, p.period, NULL, 'missing', 'missing', 'missing', 'missing', false
FROM hospital h CROSS JOIN unnest(%(periods)s::text[]) AS p (period)
WHERE {registered} AND hospital_expected(h.opened_from, h.closed_from, p.period)
  AND NOT EXISTS (SELECT 1 FROM return r WHERE r.hospital_code = h.code
                                   AND r.period = p.period AND r.is_current)
""", f"""
DELETE FROM scorecard x WHERE x.period = ANY(%(periods)s) {mine}
  AND NOT EXISTS (SELECT 1 FROM pg_temp.scored s WHERE s.hospital_code = x.hospital_code AND s.period = x.period)
""", """
CREATE TEMPORARY TABLE changed (hospital_code text, period text) ON COMMIT DROP
""", """
WITH written AS (
    INSERT INTO scorecard AS x (hospital_code, period, return_id, indicator, value, rating)
    SELECT hospital_code, period, return_id, %(indicators)s::text[], value, rating FROM pg_temp.scored
    ON CONFLICT (hospital_code, period) DO UPDATE
       SET return_id = excluded.return_id, indicator = excluded.indicator, value = excluded.value,
           rating = excluded.rating
     WHERE (x.return_id, x.indicator, x.value, x.rating)
           IS DISTINCT FROM (excluded.return_id, excluded.indicator, excluded.value, excluded.rating)
    RETURNING x.hospital_code, x.period
)
INSERT INTO pg_temp.changed SELECT hospital_code, period FROM written
""", f"""
DELETE FROM rating x WHERE x.period = ANY(%(periods)s) {mine}
  AND NOT EXISTS (SELECT 1 FROM pg_temp.rated s WHERE s.hospital_code = x.hospital_code AND s.period = x.period)
""", """
INSERT INTO rating AS x (hospital_code, period, return_id, rating, deficit, debt, wages, provisional,
                         threshold_version_id)
SELECT hospital_code, period, return_id, rating, deficit, debt, wages, provisional, %(version)s
FROM pg_temp.rated
ON CONFLICT (hospital_code, period) DO UPDATE
   SET return_id = excluded.return_id, rating = excluded.rating, deficit = excluded.deficit,
       debt = excluded.debt, wages = excluded.wages, provisional = excluded.provisional,
       threshold_version_id = excluded.threshold_version_id, computed_at = excluded.computed_at
 WHERE (x.return_id, x.rating, x.deficit, x.debt, x.wages, x.provisional, x.threshold_version_id)
       IS DISTINCT FROM (excluded.return_id, excluded.rating, excluded.deficit, excluded.debt,
                         excluded.wages, excluded.provisional, excluded.threshold_version_id)
    OR EXISTS (SELECT 1 FROM pg_temp.changed c WHERE c.hospital_code = x.hospital_code AND c.period = x.period)
"""


# Advisory lock keys (etl.common.locks lists them all). Every scorer takes PROVINCE first —
# exclusive for a province-wide rescore, shared for one hospital's — then, for one hospital,
# (HOSPITAL, hashtext(code)) exclusive: one fixed order, so scorers queue and never deadlock.
PROVINCE_LOCK = (7145004, 0)
HOSPITAL_LOCK = 7145005
# work_mem for a province-wide rescore: its pivot and window sorts stay in memory.
PROVINCE_WORK_MEM = "128MB"


def lock(conn: psycopg.Connection, hospital: str | None) -> None:
    """Take the scoring locks for this transaction: the whole province (None) or one hospital.

    Held until the transaction ends. Take them before reading what is scored (the periods, the
    thresholds, the returns), so what a scorer writes is computed from data committed by every
    scorer before it: a rescore that waited can never overwrite newer results with older ones.
    Waiting in the queue has its own limit (locks.WAIT), not the statement timeout.
    """
    if hospital is None:
        locks.take(conn, PROVINCE_LOCK)
    else:
        locks.take(conn, PROVINCE_LOCK, shared=True)
        key = conn.execute("SELECT hashtext(%s) AS k", (hospital,)).fetchone()["k"]
        locks.take(conn, (HOSPITAL_LOCK, key))


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
        params = {"periods": list(periods), "last": max(periods), "hospital": hospital, "version": active["id"]}
        whose = " AND hospital_code = %(hospital)s" if one else ""
        for statement in _score_sql(computed(active["body"]), active["body"]["indicators"], params, one):
            conn.execute(statement, params)
        conn.execute("DROP TABLE pg_temp.changed, pg_temp.rated, pg_temp.scored, pg_temp.scored_facts")
        counts = conn.execute(
            "SELECT rating, count(*) AS n FROM rating WHERE period = ANY(%(periods)s)" + whose
            + " GROUP BY rating", params).fetchall()
    result = {r["rating"]: r["n"] for r in counts}
    logger.info("scored %d periods%s: %s", len(periods), f" of {hospital}" if one else "", result)
    return result
