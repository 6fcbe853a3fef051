"""An administrator edits the thresholds: validated, versioned, audited, rescored."""
import html
import re

import pytest

from etl.reference import registry
from etl.reference.accounts import create_user
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)


@pytest.fixture()
def province(conn, app, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1)]))
    result = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(1))),
                                intake.IntakeSettings.from_config(app.config))
    assert result.status == "accepted"
    create_user(conn, "admin", "password-123", "admin")
    create_user(conn, "reviewer", "password-123", "reviewer")


def form_of(page: str) -> dict:
    """The form as the browser would post it: inputs with their values, selects' selected option."""
    data = dict(re.findall(r'<input name="([^"]+)" size="8" value="([^"]*)"', page))
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        selected = re.search(r'<option value="([^"]+)" selected', body)
        data[name] = html.unescape(selected.group(1)) if selected else "<"
    return data


def debt_rating(conn):
    return conn.execute("SELECT debt, threshold_version_id FROM rating WHERE hospital_code = %s",
                        (hospital_code(1),)).fetchone()


def test_admin_tightens_a_threshold_and_everything_is_rescored(client, auth, conn, province):
    before = debt_rating(conn)
    assert before["debt"] in ("green", "yellow")
    auth.login("admin")
    page = client.get("/admin/thresholds").get_data(as_text=True)
    data = form_of(page)
    assert data["debt_ratio.red"] == "70" and data["debt_ratio.red_op"] == ">="        # typed in %
    data.update({"debt_ratio.yellow": "30", "debt_ratio.red": "40", "version": "测试收紧", "note": "压力测试",
                 "csrf_token": auth.csrf("/admin/thresholds"), "action": "activate"})
    response = client.post("/admin/thresholds", data=data)
    assert response.status_code == 302
    after = debt_rating(conn)
    assert after["debt"] == "red" and after["threshold_version_id"] != before["threshold_version_id"]
    log = conn.execute("SELECT actor_name, action, before, after FROM audit_log WHERE action LIKE 'thresholds.%'").fetchall()
    assert len(log) == 1 and log[0]["actor_name"] == "admin" and log[0]["action"] == "thresholds.save"
    assert log[0]["after"]["indicators"]["debt_ratio"]["red"] == [">=", "0.4"]
    assert log[0]["before"]["indicators"]["debt_ratio"]["red"] == [">=", "0.7"]
    assert "测试收紧" in client.get("/admin/thresholds").get_data(as_text=True)


def test_invalid_thresholds_change_nothing(client, auth, conn, province):
    before = debt_rating(conn)
    auth.login("admin")
    data = form_of(client.get("/admin/thresholds").get_data(as_text=True))
    data.update({"debt_ratio.red": "30", "version": "坏的", "csrf_token": auth.csrf("/admin/thresholds"),
                 "action": "activate"})
    response = client.post("/admin/thresholds", data=data)        # red below yellow: refused
    assert response.status_code == 400 and "更严重" in response.get_data(as_text=True)
    assert debt_rating(conn) == before
    assert conn.execute("SELECT count(*) AS n FROM audit_log WHERE action LIKE 'thresholds.%'").fetchone()["n"] == 0


def test_only_admins(client, auth, province):
    auth.login("reviewer")
    assert client.get("/admin/thresholds").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_thresholds_are_grouped_by_domain_in_their_units_with_signs(client, auth, province):
    auth.login("admin")
    page = client.get("/admin/thresholds").get_data(as_text=True)
    domains = re.findall(r'<h2>(\S+)</h2>\s*<table class="ratings thresholds" data-domain="(\w+)"', page)
    assert domains == [("收不抵支", "deficit"), ("长期债务", "debt"), ("拖欠薪酬", "wages")]
    data = form_of(page)
    assert (data["surplus_rate_ytd.red"], data["cash_days.yellow"], data["current_ratio.red"]) == ("-5", "60", "0.7")
    row = re.search(r'<tr data-indicator="cash_days">.*?</tr>', page, re.S).group(0)
    assert "天" in row and ">≥</option>" in row and "&gt;=" not in row.split("value=")[0]
    assert '<span class="unit">%</span>' in re.search(r'<tr data-indicator="debt_ratio">.*?</tr>', page, re.S).group(0)
    assert '<span class="unit">元</span>' in re.search(r'<tr data-indicator="overdue_debt">.*?</tr>', page, re.S).group(0)
    data.update({"cash_days.yellow": "六十", "version": "x", "csrf_token": auth.csrf("/admin/thresholds")})
    response = client.post("/admin/thresholds", data=data)
    assert response.status_code == 400 and "现金可支付天数的黄色阈值“六十”不是数字" in response.get_data(as_text=True)


def test_preview_counts_hospitals_changing_colour_and_changes_nothing(client, auth, conn, province):
    counted = "SELECT (SELECT count(*) FROM threshold_version) AS versions, (SELECT count(*) FROM audit_log) AS log"
    before_rows = conn.execute("SELECT * FROM rating ORDER BY hospital_code, period").fetchall()
    old = conn.execute("SELECT rating FROM rating WHERE hospital_code = %s", (hospital_code(1),)).fetchone()["rating"]
    auth.login("admin")
    page = client.get("/admin/thresholds").get_data(as_text=True)
    assert "确认启用" not in page                                    # preview first
    counts = conn.execute(counted).fetchone()
    data = form_of(page)
    data.update({"debt_ratio.yellow": "30", "debt_ratio.red": "40", "csrf_token": auth.csrf("/admin/thresholds"),
                 "action": "preview"})
    shown = client.post("/admin/thresholds", data=data).get_data(as_text=True)
    short = {"green": "绿", "yellow": "黄"}[old]
    assert f"1 家医院将由{short}转红" in shown and "测试康宁医院1" in shown and "2026-10（当前默认月份）" in shown
    assert "确认启用" in shown and 'value="40"' in shown                # the typed values are kept
    assert conn.execute("SELECT * FROM rating ORDER BY hospital_code, period").fetchall() == before_rows
    assert conn.execute(counted).fetchone() == counts
    same = form_of(page) | {"csrf_token": auth.csrf("/admin/thresholds"), "action": "preview"}
    assert "颜色均不变" in client.post("/admin/thresholds", data=same).get_data(as_text=True)
    data.update({"action": "activate", "version": "收紧"})
    done = client.post("/admin/thresholds", data=data)
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已启用阈值版本“收紧”" in page and "2026-10：红色 1 家" in page
    message = re.search(r'<p class="flash success"[^>]*>(.*?)</p>', page).group(1)
    assert not re.search(r"[A-Za-z]", message)                      # no "green 2915, missing 138"


def test_thresholds_preview_in_chromium_fits_1366(live_server, page, province, screenshot):
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "password-123")
    page.click("form button[type=submit]")
    page.goto(f"{live_server}/admin/thresholds")
    assert page.locator("button[value=activate]").count() == 0
    page.fill("input[name='debt_ratio.red']", "40")
    page.fill("input[name='debt_ratio.yellow']", "30")
    page.click("button[value=preview]")
    assert "家医院将由" in page.locator("#preview").inner_text()
    assert page.input_value("input[name='debt_ratio.red']") == "40"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    screenshot(page, "preview")
    page.fill("input[name=version]", "浏览器收紧")
    page.click("button[value=activate]")
    assert "已启用阈值版本“浏览器收紧”" in page.locator(".flash.success").inner_text()
