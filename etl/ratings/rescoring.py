"""Rescore after a change: the one entry point every caller uses (intake, review, mappings,
thresholds, the CLI, the demo).

Which periods a change touches is decided here: a change to period P can move every later
period's indicators (year-to-date and run-length indicators read back in time), so "from P"
means P and every later known period. Scoring itself is `scoring.score`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

from etl.ratings import scoring


@dataclass(frozen=True)
class Rescored:
    """What a rescore did: the periods it scored (oldest first) and the ratings by colour."""
    periods: tuple[str, ...]
    counts: dict


def rescore(conn: psycopg.Connection, thresholds_file: Path, *, periods: list[str] | None = None,
            from_period: str | None = None) -> Rescored:
    """Recompute indicators and ratings: exactly `periods`, or `from_period` and every later
    known period, or (neither given) every known period.

    Give at most one of the two. From a period no known period reaches, nothing is scored (and
    the counts are empty). Runs in one transaction (nested in the caller's if there is one).
    """
    if periods is not None and from_period is not None:
        raise ValueError("give periods or from_period, not both")
    with conn.transaction():
        if periods is None:
            periods = later_periods(conn, from_period)
            if from_period is not None and not periods:
                return Rescored((), {})
        counts = scoring.score(conn, thresholds_file, list(periods))
    return Rescored(tuple(periods), counts)


def later_periods(conn: psycopg.Connection, first: str | None) -> list[str]:
    """Return the known periods from `first` on (None: all), oldest first."""
    return [r["period"] for r in conn.execute(
        "SELECT period FROM period WHERE %(first)s::text IS NULL OR period >= %(first)s ORDER BY period",
        {"first": first})]
