"""The registry pages in Chromium: search, export, edit (a bad value gets a Chinese message and
changes nothing; a click on the map fixes the coordinates), close (then not counted missing),
import with a preview before it applies. Non-admins get 403."""
import io

import pytest
from openpyxl import load_workbook

from etl.ratings.rescoring import rescore
from etl.reference import registry_changes as changes
from etl.reference.accounts import create_user
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)

H3 = hospital_code(3, "510104")      # in 成都市; hospitals 1 and 2 are in 乐山市


@pytest.fixture()
def world(app, conn, tmp_path, load_period):
    """Hospitals 1 and 2 filed 2026-09; only 1 filed 2026-10 (2 is missing); an admin and a reviewer."""
    load_period("2026-09")
    settings = intake.IntakeSettings.from_config(app.config)
    assert intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(1), "2026-10")), settings).status == "accepted"
    rescore(conn, app.config["RISK_THRESHOLDS_FILE"])
    changes.add(conn, hospital_row(3, "510104", 机构名称="成都锦江妇幼保健院", 等级="三级甲等", 类别="妇幼保健院",
                                   经度=104.08, 纬度=30.65), None)
    create_user(conn, "admin", "password-123", "admin")
    create_user(conn, "reviewer", "password-123", "reviewer")
    create_user(conn, "h1", "password-123", "hospital", hospital_code(1))


def _login(page, base, user="admin"):
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", "password-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _codes(page):
    return page.locator("table.registry tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")


def test_search_filter_and_export_what_is_shown(world, live_server, page, client, auth):
    _login(page, live_server)
    page.click("nav.nav >> text=医疗机构")
    assert _codes(page) == [H3, hospital_code(1), hospital_code(2)]   # by prefecture: 成都 before 乐山
    page.fill(".registry-filters input[name=q]", "锦江")
    page.click(".registry-filters button[type=submit]")
    assert _codes(page) == [H3]
    page.fill(".registry-filters input[name=q]", "")
    page.select_option("select[name=prefecture]", label="乐山市")
    page.click(".registry-filters button[type=submit]")
    assert _codes(page) == [hospital_code(1), hospital_code(2)]
    page.select_option("select[name=level]", "三级甲等")
    page.click(".registry-filters button[type=submit]")
    assert _codes(page) == [] and "没有符合条件" in page.inner_text("main")
    page.select_option("select[name=level]", "")
    page.click(".registry-filters button[type=submit]")
    with page.expect_download() as download:
        page.click("[data-export]")
    assert download.value.suggested_filename == "医疗机构名录.xlsx"
    ws = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    assert [c.value for c in ws[1]] == ["机构代码", "机构名称", "等级", "类别", "隶属", "行政区划代码", "经度", "纬度", "编制床位"]
    assert [r[0].value for r in ws.iter_rows(min_row=2)] == [hospital_code(1), hospital_code(2)]
    assert ws["G2"].value == pytest.approx(103.76) and ws["I2"].value == 300


def test_edit_with_a_bad_value_says_so_in_chinese_and_changes_nothing(world, conn, live_server, page):
    code = hospital_code(1)
    _login(page, live_server)
    page.goto(f"{live_server}/admin/hospitals/{code}")
    page.fill("input[name=beds]", "三百")
    page.fill("input[name=name]", "改名医院")
    page.click("[data-registry-form] button[type=submit]")
    assert "编制床位“三百”应为非负整数" in page.inner_text(".field-error")
    assert page.input_value("input[name=name]") == "改名医院"          # what was typed is kept
    assert changes.get(conn, code)["name"] == "测试康宁医院1" and changes.get(conn, code)["beds"] == 300
    assert conn.execute("SELECT count(*) AS n FROM hospital_event").fetchone()["n"] == 1   # hospital 3's creation

    # A click on the map writes the point into the form; saving stores it.
    page.fill("input[name=beds]", "320")
    page.wait_for_selector("#coord-map[data-ready]")
    page.locator("#coord-map").scroll_into_view_if_needed()
    box = page.locator("#coord-map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2 - 30)
    lon, lat = page.input_value("input[name=longitude]"), page.input_value("input[name=latitude]")
    assert lon != "103.760000" and 73 < float(lon) < 136 and 3 < float(lat) < 54
    page.click("[data-registry-form] button[type=submit]")
    assert "已保存" in page.inner_text(".flash.success")
    saved = changes.get(conn, code)
    assert (saved["name"], saved["beds"], str(saved["longitude"]), str(saved["latitude"])) == ("改名医院", 320, lon, lat)
    history = page.locator(".registry-history tbody tr").first.inner_text()
    assert "修改" in history and "编制床位：300 → 320" in history and "admin" in history


def test_close_then_not_counted_missing(world, conn, live_server, page, screenshot):
    _login(page, live_server)
    page.goto(f"{live_server}/periods/2026-10/submissions")
    assert "应报 3 家" in page.inner_text("#totals") and "未报 2" in page.inner_text("#totals")
    page.goto(f"{live_server}/admin/hospitals/{hospital_code(2)}")
    page.click("text=关闭（停办、撤销）")
    form = page.locator("[data-close-form]")
    form.locator("input[name=period]").fill("2026-09")
    form.locator("input[name=reason]").fill("机构撤销")
    form.locator("button[type=submit]").click()
    assert "已报送 2026-09" in page.inner_text(".flash.error")         # it filed September: refused
    assert changes.get(conn, hospital_code(2))["closed_from"] is None
    page.click("text=关闭（停办、撤销）")
    form.locator("input[name=closed_on]").fill("2026-10-20")
    form.locator("input[name=period]").fill("2026-10")
    form.locator("input[name=reason]").fill("机构撤销")
    form.locator("button[type=submit]").click()
    assert "自 2026-10 起不再要求报送" in page.inner_text(".flash.success")
    assert page.get_attribute(".registry-status", "data-status") == "closed"
    assert changes.get(conn, hospital_code(2))["closed_on"].isoformat() == "2026-10-20"
    screenshot(page, "closed")
    page.goto(f"{live_server}/periods/2026-10/submissions")
    assert "应报 2 家" in page.inner_text("#totals") and "未报 1" in page.inner_text("#totals")
    assert "测试康宁医院2" not in page.inner_text("main")
    page.goto(f"{live_server}/?period=2026-10")
    assert "测试康宁医院2" not in page.inner_text("main")
    page.goto(f"{live_server}/?period=2026-09")
    assert "测试康宁医院2" in page.inner_text("main")                 # its history stays
    page.goto(f"{live_server}/hospitals/{hospital_code(2)}")
    assert "自 2026-10 起在名录中关闭" in page.inner_text("[data-closed]")
    assert "关闭" in page.inner_text("[data-registry-history]")


def test_import_preview_then_apply(world, conn, live_server, page, tmp_path, screenshot):
    path = write_registry(tmp_path / "名录.xlsx", [hospital_row(1, 编制床位=480), hospital_row(2),
                                                   hospital_row(4, 机构名称="新建分院")])
    _login(page, live_server)
    page.goto(f"{live_server}/admin/hospitals/import")
    page.set_input_files("input[name=file]", str(path))
    page.click("[data-import-form] button[type=submit]")
    counts = {k: page.inner_text(f"[data-count={k}]") for k in ("added", "changed", "unchanged", "missing")}
    assert counts == {"added": "1", "changed": "1", "unchanged": "1", "missing": "1"}
    assert "编制床位：300 → 480" in page.inner_text("[data-section=changed]")
    assert changes.get(conn, hospital_code(4)) is None                  # nothing applied yet
    screenshot(page, "preview")
    page.check(f"[data-section=missing] input[value='{H3}']")
    page.fill("input[name=period]", "2026-11")
    page.fill("input[name=reason]", "划转他省")
    page.click("[data-apply-form] button[type=submit]")
    assert "新增 1 家，修改 1 家，关闭 1 家，未变 1 家" in page.inner_text(".flash.success")
    assert changes.get(conn, hospital_code(4))["name"] == "新建分院"
    assert changes.get(conn, hospital_code(1))["beds"] == 480
    assert changes.get(conn, H3)["closed_from"] == "2026-11"


def test_import_of_a_bad_file_lists_every_bad_line(world, conn, live_server, page, tmp_path):
    path = write_registry(tmp_path / "bad.xlsx", [hospital_row(1, 等级="特级"), hospital_row(5, 纬度=99)])
    _login(page, live_server)
    page.goto(f"{live_server}/admin/hospitals/import")
    page.set_input_files("input[name=file]", str(path))
    page.click("[data-import-form] button[type=submit]")
    text = page.inner_text("[data-problems]")
    assert "未导入任何记录" in text and "第2行：等级“特级”无效" in text and "第3行：纬度“99”应为3～54之间的数字" in text
    assert changes.get(conn, hospital_code(5)) is None


def test_list_fits_a_phone(world, live_server, phone):
    _login(phone, live_server)
    phone.goto(live_server + "/admin/hospitals/")
    assert len(_codes(phone)) == 3
    # Only the table scrolls sideways (in its .table-wrap); filters, buttons and pager fit the screen.
    wide = phone.evaluate("""() => [...document.querySelectorAll('main *')]
        .filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > 391)
        .map(e => e.tagName + '.' + e.className)""")
    assert wide == []
    assert phone.locator(".table-wrap").bounding_box()["width"] <= 390


@pytest.mark.parametrize("user", ["reviewer", "h1"])
def test_non_admins_get_403_and_change_nothing(world, conn, client, auth, user):
    auth.login(user)
    token = auth.csrf("/auth/login")
    assert client.get("/admin/hospitals/").status_code == 403
    assert client.get("/admin/hospitals/export.xlsx").status_code == 403
    response = client.post(f"/admin/hospitals/{hospital_code(2)}/close",
                           data={"csrf_token": token, "period": "2026-10", "reason": "撤销"})
    assert response.status_code == 403 and changes.get(conn, hospital_code(2))["closed_from"] is None


def test_a_bad_closing_date_is_refused_in_chinese(world, conn, client, auth):
    auth.login("admin")
    response = client.post(f"/admin/hospitals/{hospital_code(2)}/close", follow_redirects=True,
                           data={"csrf_token": auth.csrf("/admin/hospitals/"), "period": "2026-10", "reason": "撤销",
                                 "closed_on": "2026-13-40"})
    assert "关闭日期“2026-13-40”应为日期" in response.get_data(as_text=True)
    assert changes.get(conn, hospital_code(2))["closed_from"] is None


def test_export_through_the_client_reads_back(world, client, auth):
    auth.login("admin")
    response = client.get("/admin/hospitals/export.xlsx?status=all&q=锦江")
    ws = load_workbook(io.BytesIO(response.data)).active
    assert ws.max_row == 2 and ws["A2"].value == H3 and ws["A2"].number_format == "@"


def test_a_point_outside_its_prefecture_is_flagged_on_its_page(world, conn, client, auth):
    auth.login("admin")
    code = hospital_code(1)
    assert "data-misplaced" not in client.get(f"/admin/hospitals/{code}").get_data(as_text=True)
    form = {k: str(v) for k, v in changes.get(conn, code).items() if k in changes.FIELDS.values()}
    response = client.post(f"/admin/hospitals/{code}", data=form | {"longitude": "104.08", "latitude": "30.65",
                                                                    "csrf_token": auth.csrf("/admin/hospitals/")})
    assert response.status_code == 302
    page = client.get(f"/admin/hospitals/{code}").get_data(as_text=True)
    assert "位于成都市，不在登记的乐山市内" in page
