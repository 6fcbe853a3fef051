"""Accounts in bulk and the users page: one hospital account per hospital with a generated
password in a workbook, forced first-login change, disable / enable, role change, reset,
filters and paging."""
import io
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook

from etl.demo.province import load_regions
from etl.reference import registry
from etl.reference.accounts import create_user, password_problem
from tests.factories import hospital_code, hospital_row, write_registry

HOSPITALS = 4


@pytest.fixture()
def people(conn, tmp_path):
    registry.load_regions(conn, load_regions())
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx",
                                                 [hospital_row(n) for n in range(1, HOSPITALS + 1)]))
    create_user(conn, "admin", "password-123", "admin")
    create_user(conn, "reviewer", "password-123", "reviewer")
    create_user(conn, "h1", "password-123", "hospital", hospital_code(1))       # hospital 1 has one


def accounts_of(data: bytes) -> list[dict]:
    ws = load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("机构代码", "机构名称", "用户名", "初始密码")
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def user_id(conn, username):
    return conn.execute("SELECT id FROM app_user WHERE username = %s", (username,)).fetchone()["id"]


def change_password(client, auth, old, new):
    return client.post("/auth/password", data={"old_password": old, "new_password": new, "confirm": new,
                                               "csrf_token": auth.csrf("/auth/password")})


def test_command_writes_one_account_per_hospital_and_each_must_change_its_password(
        runner, client, auth, conn, people, tmp_path):
    out = tmp_path / "accounts.xlsx"
    result = runner.invoke(args=["create-hospital-users", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"已创建 {HOSPITALS - 1} 个医院账号" in result.output
    rows = accounts_of(out.read_bytes())
    assert sorted(r["机构代码"] for r in rows) == sorted(hospital_code(n) for n in range(2, HOSPITALS + 1))
    assert all(r["机构名称"].startswith("测试康宁医院") and r["用户名"] == r["机构代码"] for r in rows)
    assert len({r["初始密码"] for r in rows}) == len(rows)
    assert all(password_problem(r["初始密码"], r["用户名"]) is None for r in rows)
    # The passwords are in the workbook only: not in the audit log.
    log = conn.execute("SELECT action, target, after::text AS after FROM audit_log").fetchall()
    assert sum(e["action"] == "user.create" for e in log) == HOSPITALS - 1 + 3
    assert any(e["action"] == "user.bulk_create" for e in log)
    assert not any(r["初始密码"] in (e["after"] or "") + (e["target"] or "") for r in rows for e in log)
    for r in rows:
        assert auth.login(r["用户名"], r["初始密码"]).status_code == 302
        response = client.get("/")                                   # every page leads to the change
        assert response.status_code == 302 and response.headers["Location"].endswith("/auth/password")
        assert client.get("/returns/").headers["Location"].endswith("/auth/password")
        assert "初始密码" in client.get("/auth/password").get_data(as_text=True)
        same = change_password(client, auth, r["初始密码"], r["初始密码"]).get_data(as_text=True)
        assert "不能与原密码相同" in same
        assert change_password(client, auth, r["初始密码"], "my-own-password-9").status_code == 302
        assert client.get("/").status_code == 200                     # free to go
        page = client.get("/returns/").get_data(as_text=True)
        assert r["机构名称"] in page
        auth.logout()
    again = runner.invoke(args=["create-hospital-users", "--out", str(tmp_path / "again.xlsx")])
    assert again.exit_code == 0 and "每家医院都已有账号" in again.output
    assert not (tmp_path / "again.xlsx").exists()


def test_command_refuses_to_overwrite_and_an_unwritable_file_creates_nothing(runner, conn, people, tmp_path):
    taken = tmp_path / "taken.xlsx"
    taken.write_bytes(b"old")
    result = runner.invoke(args=["create-hospital-users", "--out", str(taken)])
    assert result.exit_code == 1 and "已存在" in result.output and taken.read_bytes() == b"old"
    nowhere = tmp_path / "no-such-folder" / "accounts.xlsx"
    result = runner.invoke(args=["create-hospital-users", "--out", str(nowhere)])
    assert result.exit_code == 1 and "未创建账号" in result.output
    assert conn.execute("SELECT count(*) AS n FROM app_user WHERE role = 'hospital'").fetchone()["n"] == 1


def test_the_users_page_button_downloads_the_workbook_once(client, auth, conn, people):
    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "唯一副本" in page and f"创建 {HOSPITALS - 1} 个医院账号并下载" in page
    response = client.post("/admin/users/hospital-accounts", data={"csrf_token": auth.csrf("/admin/users")})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = accounts_of(response.data)
    assert len(rows) == HOSPITALS - 1
    second = client.post("/admin/users/hospital-accounts", data={"csrf_token": auth.csrf("/admin/users")})
    assert second.status_code == 302
    assert "每家医院都已有账号" in client.get("/admin/users").get_data(as_text=True)
    auth.logout()
    assert auth.login(rows[0]["用户名"], rows[0]["初始密码"]).status_code == 302


def test_disabling_ends_the_users_sessions_at_once_and_enabling_restores_login(
        client, auth, auth_for, app, conn, people):
    other = app.test_client()                      # the reviewer, logged in on another browser
    assert auth_for(other).login("reviewer").status_code == 302
    assert other.get("/periods/submissions").status_code in (200, 302)
    assert "/auth/login" not in other.get("/periods/submissions").headers.get("Location", "")
    auth.login("admin")
    uid = user_id(conn, "reviewer")
    token = auth.csrf(f"/admin/users/{uid}")
    response = client.post(f"/admin/users/{uid}/disable", data={"csrf_token": token})
    assert "已停用" in client.get(response.headers["Location"]).get_data(as_text=True)
    gone = other.get("/periods/submissions")
    assert gone.status_code == 302 and "/auth/login" in gone.headers["Location"]
    assert auth_for(other).login("reviewer").status_code == 200          # refused while disabled
    assert "已停用" in client.get("/admin/users?status=disabled").get_data(as_text=True)
    me = user_id(conn, "admin")
    client.post(f"/admin/users/{me}/disable", data={"csrf_token": token})
    assert "不能停用自己的账号" in client.get(f"/admin/users/{me}").get_data(as_text=True)
    client.post(f"/admin/users/{uid}/enable", data={"csrf_token": token})
    client.post(f"/admin/users/{uid}/enable", data={"csrf_token": token})     # twice: recorded once
    assert auth_for(other).login("reviewer").status_code == 302
    assert ["user.disable", "user.enable"] == [r["action"] for r in conn.execute(
        "SELECT action FROM audit_log WHERE action IN ('user.disable', 'user.enable') ORDER BY id")]
    assert "已停用 → 正常" in client.get("/admin/audit?what=user.enable").get_data(as_text=True)
    page = client.get("/admin/users?q=reviewer").get_data(as_text=True)
    assert re.search(r'data-user="reviewer".*?data-last-login>\d{4}-\d\d-\d\d \d\d:\d\d<', page, re.S)


def test_admin_changes_a_role_with_what_it_needs(client, auth, conn, people):
    auth.login("admin")
    uid = user_id(conn, "reviewer")
    token = auth.csrf(f"/admin/users/{uid}")
    client.post(f"/admin/users/{uid}/role", data={"role": "prefecture", "region_code": "", "csrf_token": token})
    page = client.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert "必须指定所属市州" in page
    assert conn.execute("SELECT role FROM app_user WHERE id = %s", (uid,)).fetchone()["role"] == "reviewer"
    client.post(f"/admin/users/{uid}/role", data={"role": "prefecture", "region_code": "511100",
                                                  "hospital_code": hospital_code(2), "csrf_token": token})
    row = conn.execute("SELECT role, region_code, hospital_code FROM app_user WHERE id = %s", (uid,)).fetchone()
    assert (row["role"], row["region_code"], row["hospital_code"]) == ("prefecture", "511100", None)
    entry = conn.execute("SELECT before, after FROM audit_log WHERE action = 'user.role_change'").fetchone()
    assert entry["before"]["role"] == "reviewer" and entry["after"]["region_code"] == "511100"
    in_leshan = client.get("/admin/users?region=511100").get_data(as_text=True)      # 乐山市: its users, its hospitals'
    assert 'data-user="reviewer"' in in_leshan and 'data-user="h1"' in in_leshan and 'data-user="admin"' not in in_leshan
    client.post("/admin/users", data={"username": "乐山审核", "password": "leshan-pw-2026", "role": "prefecture",
                                      "region_code": "511100", "hospital_code": hospital_code(1), "csrf_token": token})
    made = conn.execute("SELECT role, region_code, hospital_code FROM app_user WHERE username = '乐山审核'").fetchone()
    assert (made["role"], made["region_code"], made["hospital_code"]) == ("prefecture", "511100", None)
    assert "乐山市" in client.get("/admin/users?q=乐山审核").get_data(as_text=True)
    client.post(f"/admin/users/{uid}/role", data={"role": "hospital", "hospital_code": "NOPE", "csrf_token": token})
    assert "不在医疗机构名录中" in client.get(f"/admin/users/{uid}").get_data(as_text=True)
    me = user_id(conn, "admin")
    client.post(f"/admin/users/{me}/role", data={"role": "leader", "csrf_token": token})
    assert "不能修改角色于自己的账号" in client.get(f"/admin/users/{me}").get_data(as_text=True)
    assert conn.execute("SELECT role FROM app_user WHERE id = %s", (me,)).fetchone()["role"] == "admin"


def test_reset_shows_a_generated_password_once_and_forces_a_change(client, auth, conn, people):
    auth.login("admin")
    uid = user_id(conn, "reviewer")
    response = client.post(f"/admin/users/{uid}/password", data={"csrf_token": auth.csrf(f"/admin/users/{uid}")})
    assert response.headers["Cache-Control"] == "no-store"
    password = re.search(r"data-password>([a-z0-9]+)<", response.get_data(as_text=True)).group(1)
    assert "只显示这一次" in response.get_data(as_text=True)
    assert password not in client.get(f"/admin/users/{uid}").get_data(as_text=True)
    assert password not in str(conn.execute("SELECT array_agg(after::text) AS a FROM audit_log").fetchone()["a"])
    auth.logout()
    assert auth.login("reviewer", "password-123").status_code == 200
    assert auth.login("reviewer", password).status_code == 302
    assert client.get("/periods/submissions").headers["Location"].endswith("/auth/password")


def test_filters_and_paging_over_1500_accounts(client, auth, conn, people):
    conn.execute("""INSERT INTO app_user (username, password_hash, role, display_name)
                    SELECT 'leader' || lpad(n::text, 4, '0'), 'x', 'leader', '领导' || n
                    FROM generate_series(1, 1500) AS n""")
    auth.login("admin")
    page = client.get("/admin/users?role=leader").get_data(as_text=True)
    assert "共 1500 条，第 1 / 30 页" in page and page.count('data-user="leader') == 50
    assert 'rel="next"' in page and "role=leader" in re.search(r'href="([^"]+)" rel="next"', page).group(1)
    last = client.get("/admin/users?role=leader&page=30").get_data(as_text=True)
    assert 'data-user="leader1500"' in last and 'rel="next"' not in last
    found = client.get("/admin/users?q=康宁医院1").get_data(as_text=True)
    assert 'data-user="h1"' in found and "共 1 条" in found
    assert "共 0 条" in client.get("/admin/users?q=100%25_").get_data(as_text=True)     # % and _ are literal
    assert "从未登录" in client.get("/admin/users?status=never&q=reviewer").get_data(as_text=True)
    assert client.get("/admin/users?page=abc").status_code == 200


def log_in(page, base, username, password):
    page.goto(f"{base}/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")


def test_users_page_in_chromium_bulk_download_reset_and_forced_change(live_server, browser, page, phone, people,
                                                                       screenshot):
    page.set_viewport_size({"width": 1366, "height": 800})
    log_in(page, live_server, "admin", "password-123")
    page.goto(f"{live_server}/admin/users")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    page.click("#create summary")
    form = page.locator("#create form")
    page.select_option("#create select[name=role]", "prefecture")      # the form shows what the role needs
    assert form.locator("select[name=region_code]").is_visible() and not form.locator("[name=hospital_code]").is_visible()
    page.select_option("#create select[name=role]", "hospital")
    assert form.locator("[name=hospital_code]").is_visible() and not form.locator("select[name=region_code]").is_visible()
    with page.expect_download() as download:
        page.click(f"text=创建 {HOSPITALS - 1} 个医院账号并下载")
    rows = accounts_of(Path(download.value.path()).read_bytes())
    assert len(rows) == HOSPITALS - 1
    page.goto(f"{live_server}/admin/users")
    assert page.locator("[data-missing]").inner_text() == "名录中每家医院都已有账号。"
    page.fill("#user-filters input[name=q]", "测试康宁医院3")
    page.click("#user-filters button")
    assert page.locator("tr[data-user]").count() == 1
    assert page.locator("tr[data-user] [data-status]").inner_text() == "待修改初始密码"
    screenshot(page, "search")
    page.click("tr[data-user] >> text=管理")
    page.click("text=生成新密码")
    password = page.locator("[data-password]").inner_text()
    assert password != rows[1]["初始密码"]
    screenshot(page, "reset")
    # The hospital, on a phone, is held on the change-password page until it has its own.
    log_in(phone, live_server, hospital_code(3), password)
    assert phone.url.endswith("/auth/password")
    assert phone.locator("[data-forced]").is_visible()
    phone.goto(f"{live_server}/returns/")
    assert phone.url.endswith("/auth/password")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(phone, "forced")
    phone.fill("input[name=old_password]", password)
    phone.fill("input[name=new_password]", "hospital-3-own-pw")
    phone.fill("input[name=confirm]", "hospital-3-own-pw")
    phone.click("section.login button[type=submit]")
    assert not phone.url.endswith("/auth/password")
    assert "密码已修改" in phone.content()
    phone.goto(f"{live_server}/returns/")
    assert phone.url.endswith("/returns/")


def test_accounts_workbook_reads_as_written_in_libreoffice(runner, conn, people, tmp_path, libreoffice):
    """An all-digit 机构代码 stays 18 digits (not 1.25E+17) and passwords stay as typed."""
    import csv

    from etl.common.codes import with_check_char
    digits = next(c for n in range(1, 200) if (c := with_check_char(f"12511102{n:09d}")).isdigit())
    registry.load_hospitals(conn, write_registry(tmp_path / "more.xlsx", [
        hospital_row(n) for n in range(1, HOSPITALS + 1)] + [hospital_row(99, 机构代码=digits, 机构名称="全数字医院")]))
    out = tmp_path / "accounts.xlsx"
    assert runner.invoke(args=["create-hospital-users", "--out", str(out)]).exit_code == 0
    as_shown = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true"
    shown = list(csv.reader(libreoffice(out, as_shown).read_text(encoding="utf-8").splitlines()))
    assert shown[0] == ["机构代码", "机构名称", "用户名", "初始密码"]
    assert [r[:4] for r in shown[1:]] == [[r["机构代码"], r["机构名称"], r["用户名"], r["初始密码"]]
                                          for r in accounts_of(out.read_bytes())]
    assert [digits, "全数字医院", digits] in [r[:3] for r in shown]
