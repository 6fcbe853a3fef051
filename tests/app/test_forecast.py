"""The early warning through the app: the commands' JSON, the scoped list, the admin's
backtest page and bulletin setting (validated in Chinese, audited)."""
import json
import re
from decimal import Decimal

import pytest

from etl.reference import registry
from etl.reference.accounts import create_user
from tests.factories import hospital_code, rated_history

A, B, C = hospital_code(1), hospital_code(2), hospital_code(3)
D = hospital_code(4, "510104")          # in 成都, another prefecture
SERIES = {A: [100, 80, 60, 40, 20], B: [100] * 5, C: [100, 100, 100, 100, 20]}


@pytest.fixture()
def province(conn):
    from etl.demo.province import load_regions
    registry.load_regions(conn, load_regions())
    rated_history(conn, SERIES)
    rated_history(conn, {D: [100, 80, 60, 40, 20]}, county="510104")
    for role in ("reviewer", "admin", "hospital"):
        create_user(conn, role, "password-123", role, A if role == "hospital" else None)
    create_user(conn, "leshan", "password-123", "prefecture", region_code="511100")
    return conn


def test_forecast_command_json(runner, province):
    out = runner.invoke(args=["forecast", "--period", "2026-03", "--json"])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line, parse_float=Decimal) for line in out.output.splitlines()]
    assert [(x["hospital"], x["domain"], x["colour"], x["months_ahead"]) for x in lines] == \
        [(D, "debt", "red", 2), (A, "debt", "red", 2)]          # red first, the soonest, then by code
    first = lines[1]
    assert first["hospital_name"] == "测试预警医院1" and first["indicator"] == "cash_days"
    assert first["value"] == Decimal("60") and first["now"] == "green" and first["target_period"] == "2026-05"
    assert first["reason"] == "现金可支付天数现为60.0天，近6个月平均每月下降20.0天，预计2个月后降至30.0天以下（红色）"
    assert '"value": 60' in out.output.splitlines()[1]            # an exact number, not a string


def test_forecast_command_answers_every_period(runner, province):
    for period in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05"):
        out = runner.invoke(args=["forecast", "--period", period])
        assert out.exit_code == 0 and f"{period}：预警" in out.output
    assert "预计1个月后降至30.0天以下（红色）" in runner.invoke(args=["forecast", "--period", "2026-04"]).output
    bad = runner.invoke(args=["forecast", "--period", "2026-13"])
    assert bad.exit_code == 1 and "YYYY-MM" in bad.output
    none = runner.invoke(args=["forecast", "--period", "2027-01"])
    assert none.exit_code == 1 and "没有评级结果" in none.output


def test_backtest_command(runner, province):
    out = runner.invoke(args=["forecast-backtest", "--json"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    row = next(r for r in result["rows"] if (r["horizon"], r["target"], r["method"]) == (1, "red", "seasonal"))
    assert (row["predicted"], row["actual"], row["hits"]) == (2, 3, 2)     # A and D named; C missed
    text = runner.invoke(args=["forecast-backtest"]).output
    assert "朴素预测（沿用本月颜色）" in text and "精确率" in text


def test_reviewer_sees_the_list_and_a_prefecture_its_own(client, auth, province):
    auth.login("reviewer")
    page = client.get("/forecast/?period=2026-03").get_data(as_text=True)
    assert re.findall(r'data-hospital="(\w+)"', page) == [D, A]
    assert "预计2个月后降至30.0天以下（红色）" in page and "历史回测" in page
    auth.logout()
    auth.login("leshan")
    page = client.get("/forecast/?period=2026-03").get_data(as_text=True)
    assert re.findall(r'data-hospital="(\w+)"', page) == [A]
    auth.logout()
    auth.login("hospital")
    assert client.get("/forecast/?period=2026-03").status_code == 403


def test_admin_sets_the_bulletin_gate(client, auth, province):
    auth.login("admin")
    page = client.get("/forecast/backtest").get_data(as_text=True)
    assert 'data-target="list"' in page and "未启用" in page
    token = auth.csrf("/forecast/backtest")
    bad = client.post("/forecast/settings", data={"csrf_token": token, "bulletin": "on", "min_precision": "120",
                                                  "horizon": "1"}, follow_redirects=True)
    assert "最低精确率应为 0 到 100 之间的数字" in bad.get_data(as_text=True)
    assert province.execute("SELECT 1 FROM deployment_setting WHERE name = 'forecast'").fetchone() is None
    ok = client.post("/forecast/settings", data={"csrf_token": token, "bulletin": "on", "min_precision": "50",
                                                 "horizon": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "已保存" in ok and "月报将列出预警名单" in ok
    entry = province.execute("SELECT actor_name, after FROM audit_log WHERE action = 'forecast.settings'").fetchone()
    assert entry["actor_name"] == "admin" and entry["after"] == {"bulletin": True, "min_precision": "0.5", "horizon": 1}


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_list_reads_on_desktop_and_phone(live_server, page, province, screenshot, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=username]", "reviewer")
    page.fill("input[name=password]", "password-123")
    page.click("button[type=submit]")
    page.click("nav >> text=事前预警")
    page.select_option("select[name=period]", "2026-03")
    page.wait_for_url("**period=2026-03**")
    rows = page.locator("table.forecast tbody tr")
    assert rows.count() == 2
    reason = rows.first.locator("td").last
    assert "预计2个月后降至30.0天以下（红色）" in reason.inner_text()
    box = reason.bounding_box()
    assert box["width"] >= 200                                   # the sentence is not squeezed to a column of characters
    assert page.evaluate("document.documentElement.scrollWidth") <= width   # only the table box scrolls
    screenshot(page, f"list-{width}")


def test_pages_keep_a_stale_backtest_until_refreshed(client, auth, province):
    auth.login("admin")
    assert 'data-role="stale"' not in client.get("/forecast/backtest").get_data(as_text=True)
    province.execute("UPDATE rating SET debt = 'red', computed_at = now() + interval '1 second' "
                     "WHERE hospital_code = %s AND period = '2026-05'", (B,))
    page = client.get("/forecast/backtest").get_data(as_text=True)
    assert 'data-role="stale"' in page
    token = auth.csrf("/forecast/backtest")
    done = client.post("/forecast/backtest/refresh", data={"csrf_token": token}, follow_redirects=True)
    assert "已按当前评级重新回测" in done.get_data(as_text=True) and 'data-role="stale"' not in done.get_data(as_text=True)


def test_pages_and_commands_before_anything_is_rated(client, auth, runner, conn):
    create_user(conn, "admin", "password-123", "admin")
    auth.login("admin")
    assert "尚无评级结果" in client.get("/forecast/").get_data(as_text=True)
    assert "未启用" in client.get("/forecast/backtest").get_data(as_text=True)
    assert client.get("/forecast/?period=2026-1").status_code == 400
    out = runner.invoke(args=["forecast"])
    assert out.exit_code == 1 and "没有评级结果" in out.output
    assert runner.invoke(args=["forecast-backtest"]).exit_code == 0


def test_a_hospitals_page_shows_its_own_outlook_to_reviewers_only(client, auth, province):
    """Hospital A's cash days fall 20 a month: its page says when debt is expected to turn red."""
    auth.login("reviewer")
    page = client.get(f"/hospitals/{A}?period=2026-03").get_data(as_text=True)
    outlook = page[page.index('id="outlook"'):page.index("近24个月评级")]
    assert "长期债务：预计2个月后（2026-05）转为红色" in outlook and "现金可支付天数现为60.0天" in outlook
    assert D not in outlook and "测试预警医院" not in outlook               # this hospital's only
    steady = client.get(f"/hospitals/{B}?period=2026-03").get_data(as_text=True)
    assert "预计不会转为红色或黄色" in steady
    auth.logout()
    auth.login("hospital")                                                # the hospital itself: no outlook
    own = client.get(f"/hospitals/{A}?period=2026-03")
    assert own.status_code == 200 and 'id="outlook"' not in own.get_data(as_text=True)
