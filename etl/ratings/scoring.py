"""Score: indicators and red/yellow/green ratings for whole periods, set-based in SQL.

`score(conn, periods)` recomputes every hospital's indicators and ratings for the periods
from the current valid returns, in one transaction: a failure leaves the previous result.
Thresholds come from config/risk.yaml and each rating records the version that made it.
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

logger = logging.getLogger(__name__)

DOMAINS = ("deficit", "debt", "wages")
# (alias, sheet item code, column) pivoted out of return_value for the formulas below.
INPUTS = (
    ("r100_m", "R100", "month"), ("r100_y", "R100", "ytd"), ("r110_m", "R110", "month"),
    ("r110_y", "R110", "ytd"), ("r113_m", "R113", "month"), ("e200_y", "E200", "ytd"),
    ("e210_m", "E210", "month"), ("e220_m", "E220", "month"), ("e240_m", "E240", "month"),
    ("e242_m", "E242", "month"), ("s300_m", "S300", "month"), ("s300_y", "S300", "ytd"),
    ("a100", "A100", "end"), ("a101", "A101", "end"), ("a102", "A102", "end"), ("a110", "A110", "end"),
    ("l200", "L200", "end"), ("l210", "L210", "end"), ("l221", "L221", "end"), ("l222", "L222", "end"),
    ("w402", "W402", "month"), ("w404", "W404", "month"), ("w405", "W405", "month"),
)
# Indicator formulas of risk.md over the pivoted inputs; NULLIF turns a zero divisor into n/a.
FORMULAS = {
    "surplus_rate_month": "s300_m / NULLIF(r100_m, 0)",
    "surplus_rate_ytd": "s300_y / NULLIF(r100_y, 0)",
    "deficit_months": "deficit_months",
    "debt_ratio": "l200 / NULLIF(a100, 0)",
    "current_ratio": "a110 / NULLIF(l210, 0)",
    "long_debt_to_revenue": "(l221 + l222) / NULLIF(r100_y * 12 / month_no, 0)",
    "cash_days": "a101 / NULLIF(e200_y / year_day, 0)",
    "overdue_debt": "overdue_debt",
    "wage_arrears": "w404",
    "wage_arrears_months": "CASE WHEN w404 > 0 THEN period_index(period) - period_index(w407) + 1"
                           " WHEN w404 = 0 THEN 0 END",
    "wage_arrears_to_payroll": "w404 / NULLIF(w402, 0)",
    "basic_wage_arrears": "w405",
    "personnel_cost_ratio": "e240_m / NULLIF(e210_m + e220_m, 0)",
    "drug_revenue_share": "r113_m / NULLIF(r110_m, 0)",
    "material_per_100": "e242_m / NULLIF(r110_m - r113_m, 0) * 100",
    "service_revenue_share": "(r110_m - non_service) / NULLIF(r110_m, 0)",
    "receivable_days": "a102 / NULLIF(r110_y / year_day, 0)",
    "unattributed_share": "unattributed / NULLIF(r110_m, 0)",
}


def validate_thresholds(body: dict) -> dict:
    """Check a thresholds document and normalise its numbers to decimal strings.

    Raises ValueError with a Chinese message naming the indicator at fault.
    """
    if not isinstance(body, dict) or not isinstance(body.get("indicators"), dict):
        raise ValueError("阈值配置缺少 indicators")
    out = {"version": str(body.get("version") or "unnamed"), "indicators": {},
           "monitored": dict(body.get("monitored") or {})}
    for name, spec in body["indicators"].items():
        if name not in FORMULAS or spec.get("domain") not in DOMAINS:
            raise ValueError(f"阈值配置：未知指标或风险领域 {name}")
        clean = {"domain": spec["domain"], "label": spec.get("label", name)}
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
    for name in out["monitored"]:
        if name not in FORMULAS:
            raise ValueError(f"阈值配置：未知监测指标 {name}")
    return out


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


def _indicator_sql() -> str:
    pivots = ",\n       ".join(
        f"max(v.amount) FILTER (WHERE v.item_code = '{code}' AND v.column_name = '{col}') AS {alias}"
        for alias, code, col in INPUTS)
    values = ",\n        ".join(f"('{name}', {expr})" for name, expr in FORMULAS.items())
    non_service = ", ".join(f"'{s}'" for s in NON_SERVICE_SUBJECTS)
    return f"""
WITH cur AS (
    SELECT id AS return_id, hospital_code, period FROM return WHERE is_current
),
pivot AS (
    SELECT cur.return_id, cur.hospital_code, cur.period,
       {pivots},
       max(v.text_value) FILTER (WHERE v.item_code = 'W407') AS w407
    FROM cur JOIN return_value v ON v.return_id = cur.return_id
    GROUP BY cur.return_id, cur.hospital_code, cur.period
),
streak AS (   -- consecutive deficit months: islands of S300 < 0 over consecutive periods
    SELECT return_id, period_index(period)
             - row_number() OVER (PARTITION BY hospital_code, s300_m < 0 ORDER BY period) AS island,
           hospital_code, period, s300_m < 0 AS deficit
    FROM pivot
),
runs AS (
    SELECT return_id, CASE WHEN deficit THEN row_number() OVER (
               PARTITION BY hospital_code, deficit, island ORDER BY period) ELSE 0 END AS deficit_months
    FROM streak
),
facts AS (
    SELECT p.*, runs.deficit_months,
           substr(p.period, 6, 2)::numeric AS month_no,
           extract(doy FROM (to_date(p.period || '-01', 'YYYY-MM-DD') + interval '1 month - 1 day'))::numeric
               AS year_day,
           coalesce((SELECT sum(d.overdue_amount) FROM return_debt d WHERE d.return_id = p.return_id), 0)
               AS overdue_debt,
           coalesce((SELECT sum(a.amount) FROM attribution_total a WHERE a.return_id = p.return_id
                     AND a.system = 'subject' AND a.category IN ({non_service})), 0) AS non_service,
           coalesce((SELECT sum(a.amount) FROM attribution_total a WHERE a.return_id = p.return_id
                     AND a.system = 'subject' AND a.category = '未归集'), 0) AS unattributed
    FROM pivot p JOIN runs USING (return_id)
    WHERE p.period = ANY(%(periods)s)
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
"""


RATING_SQL = """
WITH domain_of AS (
    SELECT key AS indicator, value ->> 'domain' AS domain
    FROM jsonb_each(%(thresholds)s::jsonb -> 'indicators')
),
worst AS (
    SELECT i.hospital_code, i.period, i.return_id, d.domain,
           max(CASE i.rating WHEN 'red' THEN 3 WHEN 'yellow' THEN 2 WHEN 'green' THEN 1 END) AS rank
    FROM indicator_value i JOIN domain_of d USING (indicator)
    WHERE i.period = ANY(%(periods)s)
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
WHERE NOT EXISTS (SELECT 1 FROM return r WHERE r.hospital_code = h.code AND r.period = p.period
                  AND r.is_current)
"""


def score(conn: psycopg.Connection, thresholds_file: Path, periods: list[str] | None = None) -> dict:
    """Recompute indicators and ratings for `periods` (None: every known period)."""
    active = active_thresholds(conn, thresholds_file)
    with conn.transaction():
        if periods is None:
            periods = [r["period"] for r in conn.execute("SELECT period FROM period ORDER BY period")]
        params = {"periods": periods, "thresholds": json.dumps(active["body"], ensure_ascii=False),
                  "version": active["id"]}
        conn.execute("DELETE FROM rating WHERE period = ANY(%(periods)s)", params)
        conn.execute("DELETE FROM indicator_value WHERE period = ANY(%(periods)s)", params)
        conn.execute(_indicator_sql(), params)
        conn.execute(RATING_SQL, params)
        counts = conn.execute(
            "SELECT rating, count(*) AS n FROM rating WHERE period = ANY(%(periods)s) GROUP BY rating",
            params).fetchall()
    result = {r["rating"]: r["n"] for r in counts}
    logger.info("scored %d periods: %s", len(periods), result)
    return result
