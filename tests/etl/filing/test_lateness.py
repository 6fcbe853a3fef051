"""Lateness (migration 0008, filed_late): a return is late when its FIRST submission's date,
on the province's clock, is after the period's deadline."""
import datetime as dt

import pytest

from etl.filing import periods
from etl.reference import registry
from etl.reference.scope import Scope
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)

SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def late(conn, when: dt.datetime | None, deadline=dt.date(2026, 11, 10)):
    return conn.execute("SELECT filed_late(%s, %s) AS late", (when, deadline)).fetchone()["late"]


def test_the_deadline_day_itself_is_on_time_and_the_day_after_late(conn):
    assert late(conn, dt.datetime(2026, 11, 10, 0, 0, tzinfo=SHANGHAI)) is False
    assert late(conn, dt.datetime(2026, 11, 10, 23, 59, tzinfo=SHANGHAI)) is False
    assert late(conn, dt.datetime(2026, 11, 11, 0, 0, tzinfo=SHANGHAI)) is True
    assert late(conn, None) is None                       # nothing filed: neither late nor on time


def test_the_date_is_the_sessions_clock(conn):
    # 16:30 UTC on the deadline day is already the next day in Shanghai (the app's session zone).
    utc = dt.datetime(2026, 11, 10, 16, 30, tzinfo=dt.timezone.utc)
    assert conn.execute("SHOW timezone").fetchone()["TimeZone"] == "Asia/Shanghai"
    assert late(conn, utc) is True
    with conn.transaction():
        conn.execute("SET LOCAL timezone = 'UTC'")
        assert late(conn, utc) is False


@pytest.fixture()
def filed(conn, app, tmp_path):
    """Hospital 1 files on the deadline day, 2 the day after, 3 on time and again after it."""
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(n) for n in (1, 2, 3)]))
    settings = intake.IntakeSettings.from_config(app.config)
    for n, day, name in ((1, 10, "a"), (2, 11, "b"), (3, 9, "c"), (3, 20, "d")):
        d = draft(hospital_code(n), surplus=150_000 + day)       # a new file each time, so a new version
        result = intake.ingest_file(conn, write_draft(tmp_path, d, f"{name}.xlsx"), settings,
                                    submitted_at=dt.datetime(2026, 11, day, 18, tzinfo=SHANGHAI))
        assert result.status == "accepted", result.findings
    assert conn.execute("SELECT deadline FROM period WHERE period = '2026-10'").fetchone()["deadline"] \
        == dt.date(2026, 11, 10)


def test_submissions_count_only_the_first_filing(conn, filed):
    rows = {r["code"]: r["filing"] for r in periods.submissions(conn, "2026-10", Scope.province())["rows"]}
    assert rows == {hospital_code(1): "on_time", hospital_code(2): "late", hospital_code(3): "on_time"}


def test_the_overview_says_the_same(conn, filed):
    from etl.ratings import overview
    rows = {r["code"]: r["late"] for r in overview.period_overview(conn, "2026-10", Scope.province())}
    assert rows == {hospital_code(1): False, hospital_code(2): True, hospital_code(3): False}
