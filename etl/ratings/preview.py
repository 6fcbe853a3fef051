"""What a threshold change would do, before it is activated: each hospital's overall colour in
one period under the thresholds in force and under the proposed ones.

Read-only: it recolours the indicator values scoring already stored for the period with the
same SQL function scoring uses (`indicator_colour`) and the same roll-up (a domain is its
worst indicator, the hospital its worst domain, green when no domain has a colour), so the
preview is what `rescore` would write for that period. Hospitals without a return keep
`missing` either way and are not listed.
"""
from __future__ import annotations

import json

import psycopg

from etl.ratings.scoring import validate_thresholds

ORDER = ("red", "yellow", "green")

PREVIEW_SQL = """
WITH bodies (which, body) AS (VALUES ('old', %(old)s::jsonb), ('new', %(new)s::jsonb)),
coloured AS (
    SELECT i.hospital_code, b.which, t.spec ->> 'domain' AS domain,
           max(CASE indicator_colour(i.value, t.spec) WHEN 'red' THEN 3 WHEN 'yellow' THEN 2
                                                       WHEN 'green' THEN 1 END) AS rank
    FROM indicator_value i
         CROSS JOIN bodies b
         JOIN jsonb_each(b.body -> 'indicators') AS t (indicator, spec) ON t.indicator = i.indicator
    WHERE i.period = %(period)s
    GROUP BY i.hospital_code, b.which, t.spec ->> 'domain'
),
overall AS (
    SELECT hospital_code,
           coalesce(max(rank) FILTER (WHERE which = 'old'), 1) AS old_rank,
           coalesce(max(rank) FILTER (WHERE which = 'new'), 1) AS new_rank
    FROM coloured GROUP BY hospital_code
)
SELECT o.hospital_code AS code, h.name, o.old_rank, o.new_rank
FROM overall o JOIN hospital h ON h.code = o.hospital_code
ORDER BY o.new_rank DESC, h.code
"""
RANKS = {1: "green", 2: "yellow", 3: "red"}


def preview(conn: psycopg.Connection, active: dict, proposed: dict, period: str) -> dict:
    """Colours of `period` under the `active` thresholds body and under `proposed` (validated
    here: ValueError in Chinese when it is not acceptable).

    Returns {period, hospitals (rated that period), before / after (counts by colour),
    moves: [{from, to, hospitals: [{code, name}]}] worst destination first}.
    """
    proposed = validate_thresholds(proposed)
    rows = conn.execute(PREVIEW_SQL, {"old": json.dumps(active, ensure_ascii=False),
                                      "new": json.dumps(proposed, ensure_ascii=False),
                                      "period": period}).fetchall()
    before = {c: 0 for c in ORDER}
    after = {c: 0 for c in ORDER}
    moves: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        old, new = RANKS[r["old_rank"]], RANKS[r["new_rank"]]
        before[old] += 1
        after[new] += 1
        if old != new:
            moves.setdefault((old, new), []).append({"code": r["code"], "name": r["name"]})
    ordered = sorted(moves.items(), key=lambda kv: (ORDER.index(kv[0][1]), ORDER.index(kv[0][0])))
    return {"period": period, "hospitals": len(rows), "before": before, "after": after,
            "moves": [{"from": a, "to": b, "hospitals": hs} for (a, b), hs in ordered]}
