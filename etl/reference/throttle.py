"""Login throttling: exponential backoff per address and per account, that an attacker cannot
turn into a lockout of the real user.

Policy (docs/security.md explains the choice):

- **Per address** (stricter): failures from one address in the last WINDOW_MINUTES, whatever
  the username. After ADDRESS_FREE failures, the next attempt must wait 2^(n − ADDRESS_FREE)
  seconds after the last failure, at most MAX_WAIT_SECONDS.
- **Per account**: failures against one username in the window, each address contributing at
  most ADDRESS_FREE of them, so no single address can reach ACCOUNT_FREE; beyond it the same
  doubling wait. Failures from addresses the account has logged in from before do not count,
  and attempts *from* such an address skip the account check (only their own address's count
  applies): an attacker elsewhere cannot keep the user out of their usual office.
- Refused attempts are not counted (the wait never renews itself); a success clears this
  username's failures from that address; an administrator can clear an account's failures.

Counting is exact under concurrency: `admit` takes transaction-level advisory locks on the
account and then the address (always in that order, so no deadlock), counts, and inserts the
attempt as a pending failure before the password is checked; `settle` records the outcome.
"""
from __future__ import annotations

from dataclasses import dataclass

import psycopg

from etl.common.errors import HemonError

ADDRESS_FREE = 5
ACCOUNT_FREE = 10
MAX_WAIT_SECONDS = 15 * 60
WINDOW_MINUTES = 60
KNOWN_ADDRESS_DAYS = 180
# Two-key advisory locks (class, hash); the migrations use the single key 7145001.
ACCOUNT_LOCK, ADDRESS_LOCK = 7145010, 7145011


@dataclass(frozen=True)
class Admission:
    """`attempt_id` when the attempt may go ahead, else the seconds to wait (`wait`)."""
    attempt_id: int | None
    wait: int


def backoff(failures: int, free: int) -> int:
    """Seconds to wait after the last failure when `failures` have been counted (0: none)."""
    if failures < free:
        return 0
    return min(MAX_WAIT_SECONDS, 2 ** min(failures - free, 20))


def _wait_for(conn: psycopg.Connection, username: str, address: str) -> int:
    row = conn.execute(
        """WITH known AS (
               SELECT a.address FROM login_address a JOIN app_user u ON u.id = a.user_id
               WHERE lower(u.username) = lower(%(user)s)
                 AND a.last_success_at > now() - make_interval(days => %(days)s)),
           recent AS (
               -- an attempt still being checked counts as a failure happening now (a stale one,
               -- left by a crash, as the failure it probably was)
               SELECT username, address,
                      CASE WHEN pending AND at > now() - interval '1 minute' THEN now() ELSE at END AS at
               FROM login_attempt WHERE NOT succeeded AND at > now() - make_interval(mins => %(window)s)),
           by_address AS (
               SELECT count(*) AS n, max(at) AS last FROM recent WHERE address = %(addr)s),
           per_source AS (
               SELECT least(count(*), %(free)s) AS n, max(at) AS last FROM recent
               WHERE lower(username) = lower(%(user)s) AND address NOT IN (SELECT address FROM known)
               GROUP BY address)
           SELECT a.n AS address_n, extract(epoch FROM now() - a.last) AS address_since,
                  (SELECT coalesce(sum(n), 0) FROM per_source) AS account_n,
                  (SELECT extract(epoch FROM now() - max(last)) FROM per_source) AS account_since,
                  %(addr)s IN (SELECT address FROM known) AS known
           FROM by_address a""",
        {"user": username, "addr": address, "window": WINDOW_MINUTES, "days": KNOWN_ADDRESS_DAYS,
         "free": ADDRESS_FREE}).fetchone()
    waits = [backoff(row["address_n"], ADDRESS_FREE) - float(row["address_since"] or 0)]
    if not row["known"]:
        waits.append(backoff(int(row["account_n"]), ACCOUNT_FREE) - float(row["account_since"] or 0))
    wait = max(waits)
    return int(wait) + 1 if wait > 0 else 0


def admit(conn: psycopg.Connection, username: str, address: str | None) -> Admission:
    """Decide whether `username` may try a password (or second factor) from `address` now; if
    so the attempt is already counted as a failure until `settle` says otherwise."""
    address = address or "unknown"
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(lower(%s)))", (ACCOUNT_LOCK, username))
        conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (ADDRESS_LOCK, address))
        wait = _wait_for(conn, username, address)
        if wait:
            return Admission(None, wait)
        row = conn.execute("INSERT INTO login_attempt (username, address, succeeded, pending)"
                           " VALUES (%s, %s, false, true) RETURNING id", (username, address)).fetchone()
        return Admission(row["id"], 0)


def settle(conn: psycopg.Connection, attempt_id: int, user: dict | None, step: str = "login") -> None:
    """Record the outcome of an admitted attempt. A failure is audited; a success at step
    "password" (a second factor still to come) only stops counting; any other step completes
    the login (`succeeded`)."""
    from etl.common.audit import record
    with conn.transaction():
        # The wait runs from when the failure was known, not from when the attempt began.
        row = conn.execute("UPDATE login_attempt SET succeeded = %s, pending = false, at = now() WHERE id = %s"
                           " RETURNING username, address", (user is not None, attempt_id)).fetchone()
        if row is None:
            return
        if user is None:
            record(conn, {"id": None, "username": row["username"]}, "login.failure", f"user:{row['username']}",
                   None, {"address": row["address"], "step": step})
        elif step != "password":
            succeeded(conn, user, row["address"], step)


def succeeded(conn: psycopg.Connection, user: dict, address: str | None, step: str) -> None:
    """Complete a login (audited): clear the username's failures from that address, remember
    the address as one the account uses, stamp last_login_at."""
    from etl.common.audit import record
    address = address or "unknown"
    with conn.transaction():
        conn.execute("DELETE FROM login_attempt WHERE lower(username) = lower(%s) AND address = %s"
                     " AND NOT succeeded", (user["username"], address))
        conn.execute(
            """INSERT INTO login_address (user_id, address) VALUES (%s, %s)
               ON CONFLICT (user_id, address) DO UPDATE SET last_success_at = now()""", (user["id"], address))
        conn.execute("UPDATE app_user SET last_login_at = now() WHERE id = %s", (user["id"],))
        record(conn, user, "login.success", f"user:{user['username']}", None, {"address": address, "step": step})


def failures(conn: psycopg.Connection) -> dict[str, int]:
    """Recent failures per username (lower case), for the users page."""
    return {r["u"]: r["n"] for r in conn.execute(
        """SELECT lower(username) AS u, count(*) AS n FROM login_attempt
           WHERE NOT succeeded AND at > now() - make_interval(mins => %s) GROUP BY 1""", (WINDOW_MINUTES,))}


def unlock(conn: psycopg.Connection, user_id: int, actor: dict | None) -> int:
    """Clear an account's recorded failures (every address), audited; returns how many."""
    from etl.common.audit import record
    with conn.transaction():
        user = conn.execute("SELECT username FROM app_user WHERE id = %s", (user_id,)).fetchone()
        if user is None:
            raise HemonError("用户不存在")
        cleared = conn.execute("DELETE FROM login_attempt WHERE lower(username) = lower(%s) AND NOT succeeded",
                               (user["username"],)).rowcount
        record(conn, actor, "user.unlock", f"user:{user['username']}", {"failures": cleared}, None)
        return cleared
