"""Attribution (归集口径): roll 表5 revenue up under a mapping version, in SQL.

Works from the stored return_item rows, so a new mapping version re-attributes every
period it covers without re-reading a workbook.
"""
from __future__ import annotations

import psycopg

from etl.mapping import UNATTRIBUTED

# 床位 and 护理 exist only for 住院, 挂号 only for 门急诊: elsewhere they go to 其他.
ATTRIBUTE_SQL = """
INSERT INTO attribution_total (return_id, hospital_code, period, mapping_version_id, system,
                               setting, category, amount)
SELECT i.return_id, i.hospital_code, i.period, %(version)s, s.system, i.setting, s.category,
       sum(i.amount)
FROM return_item i
LEFT JOIN mapping_row m ON m.version_id = %(version)s AND m.price_code = i.price_code
CROSS JOIN LATERAL (VALUES
    ('receipt', coalesce(m.receipt_category, %(none)s)),
    ('subject', CASE WHEN m.price_code IS NULL THEN %(none)s
                     WHEN i.setting = 'outpatient' AND m.subject_category IN ('床位', '护理') THEN '其他'
                     WHEN i.setting = 'inpatient' AND m.subject_category = '挂号' THEN '其他'
                     ELSE m.subject_category END),
    ('record', CASE WHEN i.setting = 'inpatient' THEN coalesce(m.record_leaf, %(none)s) END)
) AS s (system, category)
WHERE i.return_id = ANY(%(returns)s) AND s.category IS NOT NULL
GROUP BY i.return_id, i.hospital_code, i.period, s.system, i.setting, s.category
"""


def attribute(conn: psycopg.Connection, return_ids: list[int], version_id: int | None) -> None:
    """(Re)compute the rollups of `return_ids` under `version_id` (None: all unattributed)."""
    conn.execute("DELETE FROM attribution_total WHERE return_id = ANY(%s)", (return_ids,))
    conn.execute(ATTRIBUTE_SQL, {"version": version_id, "none": UNATTRIBUTED, "returns": return_ids})
