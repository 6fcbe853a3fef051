"""Rescoring owed by batch imports (etl/ratings/pending.py): a note taken while `settle` is
paying the same period is not swallowed, so the load it stands for is rescored later."""
import threading
import time

from etl.ratings import pending
from etl.reference import registry
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)

PERIOD = "2026-09"


def test_a_note_taken_while_settle_pays_its_period_stays_owed(app, conn, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    settings = intake.IntakeSettings.from_config(app.config)
    # Hospital 1's return, loaded as a batch does: its rescoring owed, then paid once.
    path = write_draft(tmp_path, draft(hospital_code(1), PERIOD), "1.xlsx")
    assert intake.ingest_file(conn, path, settings, rescore=False).status == "accepted"
    assert pending.settle(conn, settings.thresholds_file) is not None
    assert pending.owed(conn) == []
    pending.note(conn, PERIOD)             # another batch owes the same month now

    db = app.extensions["hemon_db"]
    with db.connect() as blocker, db.connect() as settler:
        # Hold a rating row: the settle below reads the notes, then waits in its rescore.
        blocker.execute("BEGIN")
        blocker.execute("SELECT 1 FROM rating WHERE period = %s FOR UPDATE", (PERIOD,))
        outcome = {}
        thread = threading.Thread(target=lambda: outcome.update(done=pending.settle(settler, settings.thresholds_file)))
        thread.start()
        pid = settler.info.backend_pid
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            waiting = conn.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            if waiting and waiting["wait_event_type"] == "Lock":
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the settle never reached its rescore")
        # Meanwhile hospital 2's return comes in, and its load notes the same month.
        path = write_draft(tmp_path, draft(hospital_code(2), PERIOD), "2.xlsx")
        assert intake.ingest_file(conn, path, settings, rescore=False).status == "accepted"
        blocker.execute("ROLLBACK")
        thread.join(60)
    assert outcome["done"] is not None
    # What the settle read is paid; hospital 2's note outlived it.
    assert pending.owed(conn) == [PERIOD]
    pending.settle(conn, settings.thresholds_file)
    ratings = {r["hospital_code"]: r["rating"] for r in
               conn.execute("SELECT hospital_code, rating FROM rating WHERE period = %s", (PERIOD,))}
    assert ratings[hospital_code(2)] != "missing" and pending.owed(conn) == []
