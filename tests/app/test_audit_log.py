"""The audit log page: Chinese action names, filters, paging, before/after in words, and no
horizontal overflow at 1366 px."""
import pytest

from etl.common import audit
from etl.reference import registry
from etl.reference.accounts import change_role, create_user
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)


@pytest.fixture()
def history(app, conn, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    settings = intake.IntakeSettings.from_config(app.config)
    for n in (1, 2):
        intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(n), name=f"测试康宁医院{n}")), settings)
    create_user(conn, "admin", "password-123", "admin")
    uid = create_user(conn, "张审核", "password-123", "reviewer")
    admin = conn.execute("SELECT id, username FROM app_user WHERE username = 'admin'").fetchone()
    change_role(conn, uid, "leader", None, None, admin)
    audit.record(conn, admin, "thresholds.save", "threshold_version:9",
                 {"version": "旧版", "indicators": {"debt_ratio": {"domain": "debt", "label": "资产负债率",
                                                                   "red": [">=", "0.7"]}}},
                 {"version": "新版", "indicators": {"debt_ratio": {"domain": "debt", "label": "资产负债率",
                                                                   "red": [">=", "0.65"]}}})
    with conn.transaction():
        for n in range(120):
            audit.record(conn, admin, "period.deadline", "period:2026-10", {"deadline": "2026-11-15"},
                         {"deadline": f"2026-11-{n % 28 + 1:02d}"})


def test_names_changes_and_filters(client, auth, conn, history):
    auth.login("admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "修改报送截止日" in page and "period.deadline</td>" not in page
    assert "\\u" not in page and "共 " in page and 'rel="next"' in page
    assert page.count('<tr data-action=') == 50                                       # a page of 50
    thresholds = client.get("/admin/audit?what=thresholds.save").get_data(as_text=True)
    assert "启用风险阈值" in thresholds and "资产负债率 红色阈值" in thresholds
    assert "≥ 0.7 → ≥ 0.65" in thresholds and "旧版 → 新版" in thresholds
    assert "domain" not in thresholds                               # unchanged fields are left out
    roles = client.get("/admin/audit?what=user.role_change").get_data(as_text=True)
    assert "修改角色" in roles and "省级审核员 → 领导" in roles and "用户 张审核" in roles
    mine = client.get(f"/admin/audit?hospital={hospital_code(1)}").get_data(as_text=True)
    assert "上传报表" in mine and "测试康宁医院1" in mine and "测试康宁医院2" not in mine and "共 1 条" in mine
    by_name = client.get("/admin/audit?hospital=康宁医院2").get_data(as_text=True)
    assert "测试康宁医院2" in by_name and "共 1 条" in by_name
    who = client.get("/admin/audit?who=ADM&what=user.role_change").get_data(as_text=True)
    assert "共 1 条" in who
    assert "共 0 条" in client.get("/admin/audit?since=2099-01-01").get_data(as_text=True)
    today = conn.execute("SELECT current_date::text AS d").fetchone()["d"]
    assert "共 0 条" not in client.get(f"/admin/audit?since={today}&until={today}").get_data(as_text=True)
    bad = client.get("/admin/audit?since=yesterday&what=no.such")
    assert bad.status_code == 200 and "应为 YYYY-MM-DD" in bad.get_data(as_text=True)


def test_audit_page_fits_1366(live_server, page, history, screenshot):
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "password-123")
    page.click("form button[type=submit]")
    for query in ("", "?what=thresholds.save", "?what=return.upload"):
        page.goto(f"{live_server}/admin/audit{query}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366, query
    page.goto(f"{live_server}/admin/audit?what=thresholds.save")
    assert "≥ 0.7 → ≥ 0.65" in page.inner_text("table.audit")
    page.goto(f"{live_server}/admin/audit")
    screenshot(page, "audit")
