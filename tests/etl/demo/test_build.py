"""The demo province, built once through the real pipeline (workbooks written, then taken in)."""
import json
from collections import Counter

import pytest

from app.db import get_conn
from etl.demo import build
from etl.demo.province import DEMO_LAST, demo_hospitals
from etl.reference import deployment


@pytest.fixture(scope="module")
def last_month(demo_app):
    runner = demo_app.test_cli_runner()
    result = runner.invoke(args=["export-ratings", "--period", DEMO_LAST, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_every_demo_hospital_is_rated_in_the_last_month(last_month):
    assert sorted(r["hospital"] for r in last_month) == sorted(h["机构代码"] for h in demo_hospitals())
    assert all(r["rating"] in ("red", "yellow", "green") for r in last_month)


def test_all_three_colours_overall_and_in_every_domain(last_month):
    assert set(Counter(r["rating"] for r in last_month)) == {"red", "yellow", "green"}
    for domain in ("deficit", "debt", "wages"):
        assert set(Counter(r["domains"][domain] for r in last_month)) == {"red", "yellow", "green"}, domain


def test_demo_went_through_the_pipeline(demo_app):
    with demo_app.app_context():
        conn = get_conn()
        counts = conn.execute(
            """SELECT count(*) AS returns, count(DISTINCT period) AS periods,
                      (SELECT count(*) FROM (SELECT 1 FROM return x JOIN period p USING (period)
                                             GROUP BY x.hospital_code, x.period, p.deadline
                                             HAVING filed_late(min(x.submitted_at), p.deadline)) l) AS late
               FROM return r""").fetchone()
        assert counts["periods"] == 24 and counts["returns"] > 24 * 120
        assert counts["late"] > 0                      # the late filers' story
        assert conn.execute("SELECT count(*) AS n FROM return_item").fetchone()["n"] > 100_000
        assert conn.execute("SELECT count(*) AS n FROM rating WHERE rating = 'missing'").fetchone()["n"] > 0
        assert deployment.is_demo(conn)


def test_demo_refuses_a_database_with_returns(demo_app):
    result = demo_app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1 and "空数据库" in result.output


def test_demo_logins_work(demo_app):
    client = demo_app.test_client()
    import re
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/auth/login").get_data(as_text=True)).group(1)
    username, password, _ = build.DEMO_LOGINS[1]
    assert client.post("/auth/login", data={"username": username, "password": password,
                                            "csrf_token": token}).status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert page.count('data-rating="red"') >= 1 and "演示数据" in page


def test_demo_simulation_lists_movers_and_exports(demo_app, tmp_path):
    from openpyxl import load_workbook
    out = tmp_path / "sim.xlsx"
    result = demo_app.test_cli_runner().invoke(args=[
        "compare-mappings", build.DEMO_MAPPING_NAME, build.DEMO_DRAFT_NAME, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2025-01 至 2025-12" in result.output
    wb = load_workbook(out)
    hospitals = list(wb["医院对比"].iter_rows(min_row=2, values_only=True))
    assert len(hospitals) == len(demo_hospitals())
    moves = [abs(r[5]) for r in hospitals]
    assert moves == sorted(moves, reverse=True) and moves[0] > 0
    assert wb["变动项目"].max_row > 10


def test_the_demo_prefecture_login_sees_chengdu_only(demo_app):
    import re
    client = demo_app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/auth/login").get_data(as_text=True)).group(1)
    username, password, _ = next(login for login in build.DEMO_LOGINS if login[0] == "chengdu")
    assert client.post("/auth/login", data={"username": username, "password": password,
                                            "csrf_token": token}).status_code == 302
    page = client.get("/").get_data(as_text=True)
    with demo_app.app_context():
        from app.db import get_conn
        rows = get_conn().execute("SELECT code, prefecture_of(region_code) = '510100' AS own FROM hospital").fetchall()
    own = [r["code"] for r in rows if r["own"]]
    other = [r["code"] for r in rows if not r["own"]]
    assert own and all(c in page for c in own)
    assert not any(c in page for c in other)
    assert "成都市" in page
