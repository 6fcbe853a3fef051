"""The province reviews a return: warnings need the hospital's explanation; acceptance ends
'provisional'; every decision is audited."""
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
def return_id(conn, app, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    mapping.load_mapping(conn, write_mapping(tmp_path / "map.xlsx"), "v1", "2024-01")
    d = draft(hospital_code(1))
    d.items[1] = ("999999999", "未知项目", *d.items[1][2:])            # one warning: ITEM_UNMAPPED
    result = intake.ingest_file(conn, write_draft(tmp_path, d), intake.IntakeSettings.from_config(app.config))
    assert [f.code for f in result.findings] == ["ITEM_UNMAPPED"]
    create_user(conn, "reviewer", "password-123", "reviewer")
    create_user(conn, "h1", "password-123", "hospital", hospital_code(1))
    create_user(conn, "h2", "password-123", "hospital", hospital_code(2))
    return result.return_id


def provisional(conn):
    return conn.execute("SELECT provisional FROM rating WHERE hospital_code = %s", (hospital_code(1),)).fetchone()["provisional"]


def test_accept_needs_explanations_then_ends_provisional(client, auth, conn, return_id):
    page = f"/hospitals/{hospital_code(1)}?period=2026-10"
    auth.login("reviewer")
    client.post(f"/review/{return_id}/accept", data={"csrf_token": auth.csrf(page)})
    assert "未填写说明" in client.get(page).get_data(as_text=True)
    assert provisional(conn) is True
    auth.logout()

    auth.login("h1")
    assert client.post(f"/review/{return_id}/accept", data={"csrf_token": auth.csrf(page)}).status_code == 403
    client.post(f"/returns/{return_id}/explain", data={"explanation-1": "短", "csrf_token": auth.csrf(page)})
    assert "至少6个字" in client.get(f"/returns/{return_id}").get_data(as_text=True)
    client.post(f"/returns/{return_id}/explain",
                data={"explanation-1": "新开展项目，省里尚未纳入映射", "csrf_token": auth.csrf(page)})
    auth.logout()

    auth.login("reviewer")
    client.post(f"/review/{return_id}/accept", data={"csrf_token": auth.csrf(page)})
    assert 'data-status="accepted"' in client.get(page).get_data(as_text=True)
    assert provisional(conn) is False
    actions = [r["action"] for r in conn.execute(
        "SELECT action FROM audit_log WHERE action LIKE 'return.%' OR action LIKE 'finding.%' ORDER BY id")]
    assert actions == ["return.upload", "finding.explain", "return.accept"]


def test_return_for_revision_comment_reaches_the_hospital(client, auth, conn, return_id):
    page = f"/hospitals/{hospital_code(1)}?period=2026-10"
    auth.login("reviewer")
    client.post(f"/review/{return_id}/return", data={"comment": "请核对住院收入", "csrf_token": auth.csrf(page)})
    auth.logout()
    auth.login("h1")
    html = client.get(page).get_data(as_text=True)
    assert "请核对住院收入" in html and 'data-status="returned"' in html
    assert provisional(conn) is True


def test_other_hospital_cannot_touch_the_return(client, auth, return_id):
    auth.login("h2")
    token = auth.csrf(f"/hospitals/{hospital_code(2)}")
    response = client.post(f"/returns/{return_id}/explain",
                           data={"explanation-1": "别人家的报表说明", "csrf_token": token})
    assert response.status_code == 404
