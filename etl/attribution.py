"""Attribution (归集口径): roll 表5 revenue up under the mapping version in effect, in SQL.

Works from the stored return_item rows, so a new mapping version re-attributes every
period it covers without re-reading a workbook.
"""
from __future__ import annotations

import logging

import psycopg

from etl.mapping import UNATTRIBUTED

logger = logging.getLogger(__name__)

# Each return is attributed under the latest version effective on or before its period.
# 床位 and 护理 exist only for 住院, 挂号 only for 门急诊: elsewhere they go to 其他.
ATTRIBUTE_SQL = """
WITH target AS (
    SELECT r.id AS return_id,
           (SELECT v.id FROM mapping_version v WHERE v.effective_from <= r.period
            ORDER BY v.effective_from DESC, v.id DESC LIMIT 1) AS version_id
    FROM return r WHERE r.id = ANY(%(returns)s)
)
INSERT INTO attribution_total (return_id, hospital_code, period, mapping_version_id, system,
                               setting, category, amount)
SELECT i.return_id, i.hospital_code, i.period, t.version_id, s.system, i.setting, s.category,
       sum(i.amount)
FROM target t
JOIN return_item i ON i.return_id = t.return_id
LEFT JOIN mapping_row m ON m.version_id = t.version_id AND m.price_code = i.price_code
CROSS JOIN LATERAL (VALUES
    ('receipt', coalesce(m.receipt_category, %(none)s)),
    ('subject', CASE WHEN m.price_code IS NULL THEN %(none)s
                     WHEN i.setting = 'outpatient' AND m.subject_category IN ('床位', '护理') THEN '其他'
                     WHEN i.setting = 'inpatient' AND m.subject_category = '挂号' THEN '其他'
                     ELSE m.subject_category END),
    ('record', CASE WHEN i.setting = 'inpatient' THEN coalesce(m.record_leaf, %(none)s) END)
) AS s (system, category)
WHERE s.category IS NOT NULL
GROUP BY i.return_id, i.hospital_code, i.period, t.version_id, s.system, i.setting, s.category
"""


def attribute(conn: psycopg.Connection, return_ids: list[int]) -> None:
    """(Re)compute the rollups of `return_ids`, each under the version in effect for it."""
    conn.execute("DELETE FROM attribution_total WHERE return_id = ANY(%s)", (return_ids,))
    conn.execute(ATTRIBUTE_SQL, {"none": UNATTRIBUTED, "returns": return_ids})


def reattribute_from(conn: psycopg.Connection, period: str) -> int:
    """Re-attribute every return of `period` and later (after a mapping version is loaded)."""
    ids = [r["id"] for r in conn.execute("SELECT id FROM return WHERE period >= %s", (period,))]
    if ids:
        attribute(conn, ids)
    logger.info("re-attributed %d returns from %s", len(ids), period)
    return len(ids)
