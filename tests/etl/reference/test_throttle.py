"""Login throttling: exact under concurrency, doubling waits, and no lockout of the real user."""
from __future__ import annotations

import threading

import psycopg
import pytest
from psycopg.rows import dict_row

from etl.reference import throttle
from etl.reference.accounts import create_user

ADMIN = {"id": None, "username": "cli"}


@pytest.fixture()
def reviewer(conn):
    return {"id": create_user(conn, "rev", "password-123", "reviewer"), "username": "rev"}


def fail(conn, username, address, times=1):
    """`times` admitted-and-failed attempts; returns how many were admitted."""
    admitted = 0
    for _ in range(times):
        a = throttle.admit(conn, username, address)
        if a.attempt_id:
            throttle.settle(conn, a.attempt_id, None)
            admitted += 1
    return admitted


def age(conn, seconds):
    """Move every recorded attempt `seconds` into the past (time passing, without sleeping)."""
    conn.execute("UPDATE login_attempt SET at = at - make_interval(secs => %s)", (seconds,))


@pytest.mark.parametrize("failures, wait", [(0, 0), (4, 0), (5, 1), (6, 2), (10, 32), (14, 512), (15, 900),
                                            (400, 900)])
def test_the_wait_doubles_after_the_free_failures_and_is_capped(failures, wait):
    assert throttle.backoff(failures, throttle.ADDRESS_FREE) == wait


def test_parallel_attempts_are_counted_exactly(app, conn, reviewer):
    url = app.config["DATABASE_URL"]
    threads, results = 30, []
    barrier = threading.Barrier(threads)

    def attempt():
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as c:
            barrier.wait()
            results.append(throttle.admit(c, "rev", "10.9.9.9"))

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    admitted = [r for r in results if r.attempt_id]
    assert len(results) == threads
    assert len(admitted) == throttle.ADDRESS_FREE            # not one more, whatever the interleaving
    assert all(r.wait >= 1 for r in results if not r.attempt_id)


def test_an_address_waits_longer_after_each_failure_and_refusals_do_not_count(conn, reviewer):
    assert fail(conn, "rev", "10.0.0.66", throttle.ADDRESS_FREE) == throttle.ADDRESS_FREE
    refused = throttle.admit(conn, "rev", "10.0.0.66")
    assert refused.attempt_id is None and refused.wait == 1
    for _ in range(20):                                      # hammering while refused changes nothing
        throttle.admit(conn, "rev", "10.0.0.66")
    assert conn.execute("SELECT count(*) AS n FROM login_attempt").fetchone()["n"] == throttle.ADDRESS_FREE
    age(conn, 2)
    assert fail(conn, "rev", "10.0.0.66") == 1                # the 6th, after the 1 s wait
    assert throttle.admit(conn, "rev", "10.0.0.66").wait == 2
    age(conn, throttle.WINDOW_MINUTES * 60 + 1)               # failures older than the window are forgotten
    assert throttle.admit(conn, "rev", "10.0.0.66").attempt_id


def test_one_address_cannot_slow_the_account_elsewhere(conn, reviewer):
    conn.execute("INSERT INTO login_attempt (username, address, succeeded, at)"
                 " SELECT 'rev', '10.0.0.66', false, now() - make_interval(secs => g) FROM generate_series(1, 200) g")
    assert throttle.admit(conn, "rev", "10.0.0.66").wait > 0            # the attacker is slowed
    assert throttle.admit(conn, "rev", "172.16.0.5").attempt_id          # the user, anywhere else, is not


def test_many_addresses_slow_the_account_but_not_from_an_address_it_has_used(conn, reviewer):
    throttle.succeeded(conn, reviewer, "192.168.1.20", "login")          # the user's office
    # Two addresses together reach ACCOUNT_FREE; from then on every new address waits.
    assert [fail(conn, "rev", f"10.0.1.{n}", throttle.ADDRESS_FREE) for n in range(3)] == [5, 5, 0]
    assert throttle.admit(conn, "rev", "10.0.2.1").wait > 0
    assert throttle.admit(conn, "rev", "192.168.1.20").attempt_id         # the office does not
    throttle.unlock(conn, reviewer["id"], ADMIN)
    assert throttle.admit(conn, "rev", "10.0.2.1").attempt_id
    entry = conn.execute("SELECT before FROM audit_log WHERE action = 'user.unlock'").fetchone()
    assert entry["before"] == {"failures": 2 * throttle.ADDRESS_FREE + 1}


def test_a_login_clears_its_own_failures_only(conn, reviewer):
    fail(conn, "rev", "192.168.1.20", 3)
    fail(conn, "rev", "10.0.0.66", 4)
    a = throttle.admit(conn, "rev", "192.168.1.20")
    throttle.settle(conn, a.attempt_id, reviewer)
    left = conn.execute("SELECT address, count(*) AS n FROM login_attempt WHERE NOT succeeded GROUP BY 1").fetchall()
    assert [(r["address"], r["n"]) for r in left] == [("10.0.0.66", 4)]
    assert [r["action"] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")] == \
        ["user.create"] + ["login.failure"] * 7 + ["login.success"]
