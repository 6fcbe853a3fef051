"""Advisory locks that queue rather than fail.

A transaction-level advisory lock (`pg_advisory_xact_lock`, held to the end of the
transaction) taken with its own wait limit: waiting for one's turn behind a long job is not a
slow statement, so the wait gets `WAIT` instead of the session's statement timeout (a web
request's 30 s would turn an upload queued behind a province-wide job into an error).

Keys in use, two-key form (class, n), so they never meet the migrations' single key 7145001:
(7145002, yyyymm) / (7145003, yyyymmdd) the scheduler; 7145002 alone a new thresholds file;
(7145004, 0) and (7145005, hash) scoring (etl.ratings.scoring); (7145006, 0) registry and
account imports; (7145007, 0) attribution (etl.attribution.rollup); 7145010/7145011 login
throttling.
"""
from __future__ import annotations

import psycopg

WAIT = "10min"


def take(conn: psycopg.Connection, key: tuple[int, int], *, shared: bool = False) -> None:
    """Take advisory lock `key` for this transaction, exclusive or `shared`, waiting up to WAIT."""
    previous = conn.execute("SELECT current_setting('statement_timeout') AS was").fetchone()
    conn.execute("SELECT set_config('statement_timeout', %s, true)", (WAIT,))
    conn.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)" if shared else "SELECT pg_advisory_xact_lock(%s, %s)",
                 key)
    conn.execute("SELECT set_config('statement_timeout', %s, true)", (previous["was"],))
