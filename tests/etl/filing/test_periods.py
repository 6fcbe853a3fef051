"""Periods: deadlines set by the admin, locks refused uploads, completeness and timeliness."""
import datetime as dt

import pytest

from etl.common.codes import shift_period
from etl.filing import periods, tasks
from etl.reference import registry
from etl.reference.accounts import create_user
from etl.reference.scope import Scope
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)


@pytest.fixture()
def world(conn, app, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [
        hospital_row(1), hospital_row(2), hospital_row(3, county="510104"), hospital_row(4, county="510104")]))
    settings = intake.IntakeSettings.from_config(app.config)
    tz = dt.timezone(dt.timedelta(hours=8))
    for n, day in ((1, 5), (2, 12), (3, 9)):          # 4 does not file; 2 files late (deadline 11-10)
        result = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(n, "510104" if n > 2 else "511102"))),
                                    settings, submitted_at=dt.datetime(2026, 11, day, 10, tzinfo=tz))
        assert result.status == "accepted", result.findings
    create_user(conn, "admin", "password-123", "admin")
    return settings


def test_rates_by_prefecture(conn, world):
    data = periods.submissions(conn, "2026-10", Scope.province())
    assert (data["total"]["on_time"], data["total"]["late"], data["total"]["missing"]) == (2, 1, 1)
    assert data["total"]["completeness"] == 0.75 and data["total"]["timeliness"] == 0.5
    by = {g["prefecture"]: g for g in data["prefectures"]}
    assert by["511100"]["timeliness"] == 0.5 and by["510100"]["completeness"] == 0.5


def test_admin_moves_the_deadline_and_lateness_follows(client, auth, conn, world):
    auth.login("admin")
    token = auth.csrf("/periods/")
    client.post("/periods/2026-10/deadline", data={"deadline": "2026-11-15", "csrf_token": token})
    assert periods.submissions(conn, "2026-10", Scope.province())["total"]["late"] == 0
    page = client.get("/periods/2026-10/submissions").get_data(as_text=True)
    assert "及时率 <b>75.0%</b>" in page
    client.post("/periods/2026-10/deadline", data={"deadline": "2026-10-15", "csrf_token": token})
    assert "截止日期应晚于报告期结束" in client.get("/periods/").get_data(as_text=True)
    assert conn.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'period.deadline'").fetchone()["n"] == 1


def test_a_locked_period_refuses_returns(client, auth, conn, world, tmp_path):
    auth.login("admin")
    client.post("/periods/2026-10/lock", data={"locked": "1", "csrf_token": auth.csrf("/periods/")})
    result = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(4, "510104")), "late.xlsx"), world)
    assert result.status == "rejected" and "COVER_PERIOD_LOCKED" in [f.code for f in result.findings]


def test_admin_opens_a_period(client, auth, conn, world):
    auth.login("admin")
    client.post("/periods/", data={"period": "2026-11", "deadline": "", "csrf_token": auth.csrf("/periods/")})
    row = conn.execute("SELECT deadline FROM period WHERE period = '2026-11'").fetchone()
    assert row["deadline"] == dt.date(2026, 12, 10)


def test_hospital_is_reminded_of_the_return_it_owes(conn, world):
    assert periods.pending(conn, hospital_code(1), dt.date(2026, 11, 8)) is None          # filed 2026-10
    owed = periods.pending(conn, hospital_code(4, "510104"), dt.date(2026, 11, 8))
    assert owed == {"period": "2026-10", "deadline": dt.date(2026, 11, 10), "days_left": 2}
    late = periods.pending(conn, hospital_code(1), dt.date(2026, 12, 12))
    assert late["period"] == "2026-11" and late["days_left"] == -2


def test_the_hospital_home_page_shows_the_month_owed_once(client, auth, conn, world):
    create_user(conn, "h4", "password-123", "hospital", hospital_code(4, "510104"))
    auth.login("h4")
    page = client.get("/").get_data(as_text=True)
    expected = periods.pending(conn, hospital_code(4, "510104"), dt.date.today())
    assert expected and page.count(f"{expected['period']} 月报") == 1
    assert 'id="task"' in page and "尚未上报" in page


def test_a_closed_hospital_owes_no_month(client, auth, conn, world):
    """Closed before last month: no reminder, no task saying 尚未上报."""
    code = hospital_code(4, "510104")
    last = shift_period(f"{dt.date.today():%Y-%m}", -1)
    conn.execute("UPDATE hospital SET closed_from = %s, closed_on = current_date WHERE code = %s",
                 (shift_period(last, -1), code))
    assert periods.pending(conn, code, dt.date.today()) is None
    assert tasks.hospital_tasks(conn, code, dt.date.today())["current"] is None
    create_user(conn, "h4", "password-123", "hospital", code)
    auth.login("h4")
    page = client.get("/").get_data(as_text=True)
    assert "尚未上报" not in page and 'id="task"' not in page


def _file(conn, settings, tmp_path, n: int, period: str):
    county = "510104" if n > 2 else "511102"
    result = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(n, county), period), f"{n}-{period}.xlsx"),
                                settings)
    assert result.status == "accepted", result.findings


def test_the_first_return_of_a_month_does_not_move_the_default(conn, world, tmp_path):
    _file(conn, world, tmp_path, 1, "2026-11")                     # 1 of 4 filed, deadline 2026-12-10
    assert periods.default_period(conn, dt.date(2026, 11, 29)) == "2026-10"
    rows = {r["period"]: r for r in periods.rated_periods(conn)}
    assert (rows["2026-11"]["filed"], rows["2026-11"]["hospitals"], rows["2026-11"]["percent"]) == (1, 4, 25)
    assert rows["2026-10"]["percent"] == 75
    assert periods.default_period(conn, dt.date(2026, 12, 10)) == "2026-10"   # the deadline day is still open
    assert periods.default_period(conn, dt.date(2026, 12, 11)) == "2026-11"   # past it: the new month
    assert periods.default_period(conn, dt.date(2026, 11, 29), share=0.25) == "2026-11"


def test_a_prefecture_sees_its_own_filing_share(client, auth, conn, world, tmp_path):
    """成都 (510100) has hospitals 3 and 4; 乐山 (511100) 1 and 2."""
    _file(conn, world, tmp_path, 3, "2026-11")
    chengdu = {r["period"]: r for r in periods.rated_periods(conn, scope=Scope.prefecture("510100"))}
    leshan = {r["period"]: r for r in periods.rated_periods(conn, scope=Scope.prefecture("511100"))}
    province = {r["period"]: r for r in periods.rated_periods(conn, scope=Scope.hospital(hospital_code(1)))}
    assert (chengdu["2026-11"]["filed"], chengdu["2026-11"]["hospitals"], chengdu["2026-11"]["percent"]) == (1, 2, 50)
    assert (leshan["2026-11"]["filed"], leshan["2026-11"]["hospitals"]) == (0, 2)
    assert (province["2026-11"]["filed"], province["2026-11"]["hospitals"]) == (1, 4)   # not a hospital's own
    create_user(conn, "cd", "password-123", "prefecture", region_code="510100")
    auth.login("cd")
    page = client.get("/?period=2026-11").get_data(as_text=True)
    assert "2026-11（已报 50%）" in page


def test_most_hospitals_filed_moves_the_default_before_the_deadline(conn, world, tmp_path):
    for n in (1, 2, 3):
        _file(conn, world, tmp_path, n, "2026-11")
    assert periods.default_period(conn, dt.date(2026, 11, 29)) == "2026-10"   # 75 % < 80 %
    _file(conn, world, tmp_path, 4, "2026-11")
    assert periods.default_period(conn, dt.date(2026, 11, 29)) == "2026-11"
    assert periods.filing_share(conn, "2026-11")["share"] == 1
    assert periods.filing_share(conn, "2031-01") is None


def test_default_period_without_ratings_and_with_only_an_unfinished_month(conn, world):
    assert periods.default_period(conn, dt.date(2026, 11, 29)) == "2026-10"
    assert periods.default_period(conn, dt.date(2026, 11, 1)) == "2026-10"    # the only month, though early
    conn.execute("DELETE FROM rating")
    assert periods.default_period(conn, dt.date(2026, 11, 29)) is None
