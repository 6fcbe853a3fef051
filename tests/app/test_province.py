"""The first page: the province's hospitals with their colours, behind login, scoped by role."""
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
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    settings = intake.IntakeSettings.from_config(app.config)
    for n, surplus in ((1, 150_000), (2, -900_000)):
        result = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(n), name=f"测试康宁医院{n}",
                                                                      surplus=surplus)), settings)
        assert result.status == "accepted", result.findings
    create_user(conn, "reviewer", "password-123", "reviewer")
    create_user(conn, "h1", "password-123", "hospital", hospital_code(1))


def test_login_required(client, province):
    response = client.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_login_without_csrf_is_refused(client, province):
    response = client.post("/auth/login", data={"username": "reviewer", "password": "password-123"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_wrong_password(client, auth, province):
    page = auth.login("reviewer", "wrong-password").get_data(as_text=True)
    assert "用户名或密码错误" in page


def test_reviewer_sees_every_hospital_with_colours(client, auth, province):
    assert auth.login("reviewer").status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert hospital_code(1) in page and hospital_code(2) in page
    assert 'data-rating="red"' in page or 'data-rating="yellow"' in page
    assert "2026-10" in page
    assert "累计收支结余率" in page          # the explanation of a deficit colour


def test_hospital_user_sees_only_its_own(client, auth, province):
    auth.login("h1")
    page = client.get("/").get_data(as_text=True)
    assert hospital_code(1) in page and hospital_code(2) not in page


def test_bad_period_is_400_not_500(client, auth, province):
    auth.login("reviewer")
    assert client.get("/?period=2026-13").status_code == 400
    assert client.get("/no-such-page").status_code == 404


def test_security_headers(client, province):
    response = client.get("/auth/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]


def test_hospital_page_traces_indicators_to_cells(client, auth, province):
    auth.login("reviewer")
    page = client.get(f"/hospitals/{hospital_code(2)}?period=2026-10").get_data(as_text=True)
    assert "<svg" in page and ('data-colour="red"' in page or 'data-colour="yellow"' in page)
    row = page[page.index('data-indicator="debt_ratio"'):]
    row = row[:row.index("</tr>")]
    assert "表2!C18" in row and "表2!C9" in row and "负债合计 ÷ 资产总计" in row
    assert "累计收支结余率" in page


def test_hospital_page_scope(client, auth, province):
    auth.login("h1")
    assert client.get(f"/hospitals/{hospital_code(1)}").status_code == 200
    assert client.get(f"/hospitals/{hospital_code(2)}").status_code == 404
    assert client.get("/hospitals/NOSUCHCODE").status_code == 404
    auth.logout()
    from app.db import get_conn
    with client.application.app_context():
        create_user(get_conn(), "boss", "password-123", "leader")
    auth.login("boss")
    assert client.get(f"/hospitals/{hospital_code(1)}").status_code == 403


def test_overview_lists_the_months_movements(client, auth, province):
    auth.login("reviewer")
    page = client.get("/?period=2026-10").get_data(as_text=True)
    assert 'data-list="newly_red"' in page and "连续3个月及以上红色" in page
    auth.logout()
    auth.login("h1")
    assert 'data-list="newly_red"' not in client.get("/").get_data(as_text=True)


def test_every_colour_is_explained(client, auth, province):
    auth.login("reviewer")
    page = client.get("/?period=2026-10").get_data(as_text=True)
    assert "各项指标均未触及预警阈值" in page          # green says why it is green
    import re
    cells = re.findall(r'<td data-domain="\w+"><span class="badge (?:red|yellow|green)">.*?</td>', page, re.S)
    assert len(cells) == 6                           # two hospitals, three domains
    for cell in cells:
        assert re.search(r'<div class="why">[^<]+</div>', cell), cell


def test_raw_return_download_is_scoped(client, auth, conn, province):
    rid = conn.execute("SELECT id FROM return WHERE hospital_code = %s", (hospital_code(2),)).fetchone()["id"]
    auth.login("reviewer")
    assert f"/returns/{rid}/file" in client.get(f"/hospitals/{hospital_code(2)}?period=2026-10").get_data(as_text=True)
    response = client.get(f"/returns/{rid}/file")
    assert response.status_code == 200 and response.data[:2] == b"PK"
    auth.logout()
    auth.login("h1")
    assert client.get(f"/returns/{rid}/file").status_code == 404
