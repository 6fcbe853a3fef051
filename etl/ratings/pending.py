"""Rescoring owed by batch imports: recorded with each file, paid once at the end.

A batch import loads each workbook in its own transaction and records there, in
`pending_rescore`, the first period that workbook's ratings depend on. `settle` rescores from
the earliest recorded period and clears what it paid in one transaction, so however a batch
ends (finished, killed, crashed) ratings are either rescored or still owed, never silently
left on superseded versions. `import-returns` settles at its start and end, `score` too.
"""
from __future__ import annotations

from pathlib import Path

import psycopg

from etl.ratings import rescoring, scoring


def note(conn: psycopg.Connection, period: str) -> None:
    """Record that ratings from `period` on must be recomputed (call inside the load's transaction)."""
    # A row of its own, never merged into an existing one: a settle running now holds the rows
    # it read and deletes exactly those, so this note outlives it (migration 0021).
    conn.execute("INSERT INTO pending_rescore (period) VALUES (%s)", (period,))


def owed(conn: psycopg.Connection) -> list[str]:
    """The periods recorded and not yet rescored, oldest first."""
    return [r["period"] for r in conn.execute("SELECT DISTINCT period FROM pending_rescore ORDER BY period")]


def settle(conn: psycopg.Connection, thresholds_file: Path) -> rescoring.Rescored | None:
    """Rescore from the earliest owed period (and every period never scored), then clear the
    periods paid; None when nothing was owed. One transaction: killed, it leaves the debt."""
    with conn.transaction():
        # The province's scoring lock first, as every scorer takes it: two settling imports
        # then queue on it (with its long wait), never on the rows below under the statement
        # timeout while the other holds the lock for its rescoring.
        scoring.lock(conn, None)
        # The notes read now are the ones paid; a note taken meanwhile is a new row and stays owed.
        notes = conn.execute("SELECT id, period FROM pending_rescore ORDER BY period FOR UPDATE").fetchall()
        if not notes:
            return None
        periods = sorted({r["period"] for r in notes})
        first = conn.execute(
            """SELECT min(p.period) AS first FROM period p
               WHERE p.period >= %s OR NOT EXISTS (SELECT 1 FROM rating r WHERE r.period = p.period)""",
            (periods[0],)).fetchone()["first"] or periods[0]
        done = rescoring.rescore(conn, thresholds_file, from_period=first)
        conn.execute("DELETE FROM pending_rescore WHERE id = ANY(%s)", ([r["id"] for r in notes],))
    return done
