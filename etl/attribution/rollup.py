"""Attribution (归集口径): roll 表5 revenue up under the mapping version in effect, in SQL.

Works from the stored return_item rows, so a new mapping version re-attributes every
period it covers without re-reading a workbook.
"""
from __future__ import annotations

import logging

import psycopg

from etl.attribution.categories import DRUG_SUBJECTS, RECORD_LEAVES, UNATTRIBUTED
from etl.common import locks

logger = logging.getLogger(__name__)

# The accounting subjects whose sum reconciles with 表1 R113 药品收入 + R114 卫生材料收入.

# Each return is attributed under the version in force for its period; the setting rule
# (床位/护理 only 住院, 挂号 only 门急诊, else 其他) is subject_in_setting() (migration 0005).
# MATERIALIZED: the version is looked up once per return, not once per 表5 row (2.2 s → 0.4 s
# for a 100,000-row return, bench/). {mapping} is how items meet their mapping rows (below).
_ATTRIBUTE = """
WITH target AS MATERIALIZED (
    SELECT r.id AS return_id, mapping_version_for(r.period) AS version_id
    FROM return r WHERE r.id = ANY(%(returns)s)
)
INSERT INTO attribution_total (return_id, hospital_code, period, mapping_version_id, system,
                               setting, category, amount)
SELECT i.return_id, i.hospital_code, i.period, t.version_id, s.system, i.setting, s.category,
       sum(i.amount)
FROM target t
JOIN return_item i ON i.return_id = t.return_id
{mapping}
CROSS JOIN LATERAL (VALUES
    ('receipt', coalesce(m.receipt_category, %(none)s)),
    ('subject', coalesce(subject_in_setting(i.setting, m.subject_category), %(none)s)),
    ('record', CASE WHEN i.setting = 'inpatient' THEN coalesce(m.record_leaf, %(none)s) END)
) AS s (system, category)
WHERE s.category IS NOT NULL
GROUP BY i.return_id, i.hospital_code, i.period, t.version_id, s.system, i.setting, s.category
"""
# A few items (an upload: a few hundred) look their code up by the primary key; as a plain
# join PostgreSQL hashed the whole version (50,000 codes, ~10 ms) even for a 338-row return
# (12.7 ms → 4.2 ms per typical upload on the bench province). Many items (a 100,000-row
# return, a re-attribution of every return) join the version by hash, which is then cheaper.
BY_KEY = _ATTRIBUTE.replace("{mapping}", """LEFT JOIN LATERAL (   -- OFFSET 0: kept a lookup per item
    SELECT m.receipt_category, m.subject_category, m.record_leaf FROM mapping_row m
    WHERE m.version_id = t.version_id AND m.price_code = i.price_code OFFSET 0
) m ON true""")
ATTRIBUTE_SQL = _ATTRIBUTE.replace(
    "{mapping}", "LEFT JOIN mapping_row m ON m.version_id = t.version_id AND m.price_code = i.price_code")
BY_KEY_MAX_ITEMS = 20_000


# Attributing returns takes this lock shared, re-attributing after a new mapping version
# exclusive, each to the end of its transaction. A version loaded while an upload is being
# attributed would otherwise miss it: the re-attribution cannot see the upload's uncommitted
# return, and the upload attributed under the version before. Now the re-attribution waits
# for uploads in flight to commit and then sees them; an upload arriving meanwhile waits and
# then attributes under the new version.
ATTRIBUTION_LOCK = (7145007, 0)


def attribute(conn: psycopg.Connection, return_ids: list[int], items: int | None = None) -> None:
    """(Re)compute the rollups of `return_ids`, each under the version in effect for it.
    `items`: how many 表5 rows they hold, if the caller knows (else counted)."""
    locks.take(conn, ATTRIBUTION_LOCK, shared=True)
    if items is None:
        items = conn.execute("SELECT count(*) AS n FROM return_item WHERE return_id = ANY(%s)",
                             (return_ids,)).fetchone()["n"]
    conn.execute("DELETE FROM attribution_total WHERE return_id = ANY(%s)", (return_ids,))
    conn.execute(BY_KEY if items <= BY_KEY_MAX_ITEMS else ATTRIBUTE_SQL,
                 {"none": UNATTRIBUTED, "returns": return_ids})


def reattribute_from(conn: psycopg.Connection, period: str) -> int:
    """Re-attribute every return of `period` and later (after a mapping version is loaded),
    uploads in flight included (ATTRIBUTION_LOCK)."""
    locks.take(conn, ATTRIBUTION_LOCK)
    ids = [r["id"] for r in conn.execute("SELECT id FROM return WHERE period >= %s", (period,))]
    if ids:
        attribute(conn, ids)
    logger.info("re-attributed %d returns from %s", len(ids), period)
    return len(ids)


def summary(conn: psycopg.Connection, return_id: int) -> dict:
    """One return's attribution as the pages show it: rollups per system, 未归集 codes,
    items moved to 其他 by the setting rule, and the reconciliation with 表1."""
    rows = conn.execute(
        """SELECT a.system, a.setting, a.category, a.amount, v.name AS version
           FROM attribution_total a LEFT JOIN mapping_version v ON v.id = a.mapping_version_id
           WHERE a.return_id = %s ORDER BY a.system, a.setting, a.amount DESC""", (return_id,)).fetchall()
    out = {"version": rows[0]["version"] if rows else None, "subject": [], "receipt": [], "record": {}}
    for r in rows:
        if r["system"] == "record":
            cls = RECORD_LEAVES.get(r["category"], r["category"])
            out["record"].setdefault(cls, []).append(r)
        else:
            out[r["system"]].append(r)
    # The version in force for this return, looked up once (not once per 表5 row).
    version_id = conn.execute("SELECT mapping_version_for(period) AS v FROM return WHERE id = %s",
                              (return_id,)).fetchone()["v"]
    out["unattributed"] = conn.execute(
        """SELECT i.price_code, min(i.item_name) AS item_name, sum(i.amount) AS amount
           FROM return_item i
           WHERE i.return_id = %s AND NOT EXISTS (
               SELECT 1 FROM mapping_row m WHERE m.price_code = i.price_code AND m.version_id = %s)
           GROUP BY i.price_code ORDER BY sum(i.amount) DESC""", (return_id, version_id)).fetchall()
    out["moved_to_other"] = conn.execute(
        """SELECT i.price_code, i.item_name, i.setting, m.subject_category, i.amount
           FROM return_item i
           CROSS JOIN LATERAL (SELECT subject_category FROM mapping_row m       -- by key, as in ATTRIBUTE_SQL
                               WHERE m.price_code = i.price_code AND m.version_id = %s OFFSET 0) m
           WHERE i.return_id = %s AND subject_in_setting(i.setting, m.subject_category) <> m.subject_category""",
        (version_id, return_id)).fetchall()
    declared = {r["item_code"]: r["amount"] for r in conn.execute(
        """SELECT item_code, amount FROM return_value WHERE return_id = %s AND column_name = 'month'
           AND item_code IN ('R111', 'R112', 'R113', 'R114')""", (return_id,))}
    subject = {(r["setting"], r["category"]): r["amount"] for r in out["subject"]}
    totals = {s: sum(a for (st, _), a in subject.items() if st == s) for s in ("outpatient", "inpatient")}
    drugs = sum(a for (_, c), a in subject.items() if c in DRUG_SUBJECTS)
    out["reconciliation"] = [
        ("门急诊收入（R111）", declared.get("R111"), totals["outpatient"]),
        ("住院收入（R112）", declared.get("R112"), totals["inpatient"]),
        ("药品收入＋卫生材料收入（R113＋R114）",
         (declared.get("R113") or 0) + (declared.get("R114") or 0), drugs),
    ]
    return out
