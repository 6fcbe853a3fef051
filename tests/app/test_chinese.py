"""Chinese wherever a user looks: error pages, flash messages, unrated indicators, headcounts."""
import html as htmllib
import re

import pytest

from etl.attribution import mapping
from etl.reference import registry
from etl.reference.accounts import create_user
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_mapping,
    write_registry,
)


@pytest.fixture()
def filed(app, conn, tmp_path):
    """Hospital 1 filed 2026-10 with wage arrears (W401 400 staff, W406 50 people)."""
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1)]))
    mapping.load_mapping(conn, write_mapping(tmp_path / "map.xlsx"), "v1", "2024-01")
    create_user(conn, "reviewer", "password-123", "reviewer")
    create_user(conn, "h1", "password-123", "hospital", hospital_code(1))
    d = draft(hospital_code(1), arrears=100_000, arrears_since="2026-09")
    result = intake.ingest_file(conn, write_draft(tmp_path, d), intake.IntakeSettings.from_config(app.config))
    assert result.status == "accepted", result.findings
    return result.return_id


def visible_text(page: str) -> str:
    """What a reader sees: no scripts, styles, tags, nor the signed-in user's own name."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r'<span class="who">.*?</span>', " ", page, flags=re.S)
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page))


@pytest.mark.parametrize("path,status", [("/hospitals/NO-SUCH-CODE", 404), ("/no/such/page", 404),
                                         ("/admin/users", 403)])
def test_error_pages_have_no_english(client, auth, filed, path, status):
    auth.login("reviewer")
    response = client.get(path)
    assert response.status_code == status
    text = visible_text(response.get_data(as_text=True))
    assert str(status) in text
    assert not re.findall(r"[A-Za-z]+", text), re.findall(r"[A-Za-z]+", text)
    assert "页面" in text or "权限" in text


def test_a_views_own_chinese_description_is_kept(client, auth, filed):
    auth.login("reviewer")
    response = client.get("/map/?period=2026-13x")
    assert response.status_code == 400
    text = visible_text(response.get_data(as_text=True))
    assert "报告期应为 YYYY-MM 格式" in text and "browser" not in text.lower()


def test_success_and_error_messages_are_styled_apart(client, auth, filed):
    auth.login("reviewer")
    token = auth.csrf("/auth/password")
    wrong = client.post("/auth/password", data={"csrf_token": token, "old_password": "not-it",
                                                "new_password": "password-456", "confirm": "password-456"},
                        follow_redirects=True).get_data(as_text=True)
    assert '<p class="flash error" role="alert">原密码不正确</p>' in wrong
    right = client.post("/auth/password", data={"csrf_token": token, "old_password": "password-123",
                                                "new_password": "password-456", "confirm": "password-456"},
                        follow_redirects=True).get_data(as_text=True)
    assert '<p class="flash success" role="status">密码已修改</p>' in right
    assert "flash error" not in right


def test_unrated_indicator_reads_dash_not_green(client, auth, filed):
    auth.login("reviewer")
    page = client.get(f"/hospitals/{hospital_code(1)}?period=2026-10").get_data(as_text=True)
    # 本月收支结余率 has no thresholds in config/risk.yaml: monitored, never 绿色.
    row = re.search(r'<tr data-indicator="surplus_rate_month">(.*?)</tr>', page, re.S).group(1)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    assert cells[3].strip() == "—" and "绿色" not in row
    rated = re.search(r'<tr data-indicator="debt_ratio">(.*?)</tr>', page, re.S).group(1)
    assert 'class="badge' in rated                      # a rated indicator keeps its colour


def test_headcounts_are_whole_numbers(client, auth, filed):
    auth.login("h1")
    page = client.get(f"/returns/{filed}").get_data(as_text=True)
    t3 = re.search(r'<table class="list" data-sheet="表3">(.*?)</table>', page, re.S).group(1)
    def figure(code):
        row = re.search(rf"<code>{code}</code>.*?</tr>", t3, re.S).group(0)
        return re.findall(r"<td title=[^>]*>(.*?)</td>", row, re.S)[0].strip()
    assert figure("W401") == "400" and figure("W406") == "50"
    assert figure("W402") == "4,000,000.00" and figure("W407") == "2026-09"
