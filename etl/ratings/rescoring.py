"""Rescore after a change: the one entry point every caller uses (intake, review, mappings,
thresholds, the CLI, the demo).

Which periods a change touches is decided here: a change to period P can move every later
period's indicators (year-to-date and run-length indicators read back in time), so "from P"
means P and every later known period. A change to one hospital's returns (an upload, an
accept, a return for revision) rescores that hospital only (`hospital=`): its indicators
depend on its own returns and the thresholds alone. Scoring itself is `scoring.score`; a
domain rated red opens its case (etl.cases.opening) in the same transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from etl.cases import opening
from etl.ratings import scoring


@dataclass(frozen=True)
class Rescored:
    """What a rescore did: the periods it scored (oldest first) and the ratings by colour."""
    periods: tuple[str, ...]
    counts: dict


def rescore(conn: psycopg.Connection, thresholds_file: Path, *, periods: list[str] | None = None,
            from_period: str | None = None, hospital: str | None = None) -> Rescored:
    """Recompute indicators and ratings: exactly `periods`, or `from_period` and every later
    known period, or (neither given) every known period; of `hospital` only, or of every
    hospital (None).

    Give at most one of `periods` / `from_period`. From a period no known period reaches,
    nothing is scored (and the counts are empty). Runs in one transaction (nested in the
    caller's if there is one), holding the scoring locks (`scoring.lock`) to its end: one
    hospital's rescores queue behind each other and behind a province-wide one, which waits
    for them all. Counts are of the rows written (one hospital's when `hospital` is given).
    """
    if periods is not None and from_period is not None:
        raise ValueError("give periods or from_period, not both")
    with conn.transaction():
        # Locks first: the periods are read after every earlier scorer committed.
        scoring.lock(conn, hospital)
        if periods is None:
            periods = later_periods(conn, from_period)
            if from_period is not None and not periods:
                return Rescored((), {})
        counts = scoring.score(conn, thresholds_file, list(periods), hospital=hospital)
        # Under the same locks: a red domain opens its case (etl/cases/opening.py).
        opening.open_for_reds(conn, list(periods), hospital)
    return Rescored(tuple(periods), counts)


def later_periods(conn: psycopg.Connection, first: str | None) -> list[str]:
    """Return the known periods from `first` on (None: all), oldest first."""
    return [r["period"] for r in conn.execute(
        "SELECT period FROM period WHERE %(first)s::text IS NULL OR period >= %(first)s ORDER BY period",
        {"first": first})]
