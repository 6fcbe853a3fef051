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
    assert data["debt_ratio.red"] == "0.7" and data["debt_ratio.red_op"] == ">="
    data.update({"debt_ratio.yellow": "0.30", "debt_ratio.red": "0.40", "version": "测试收紧", "note": "压力测试",
                 "csrf_token": auth.csrf("/admin/thresholds")})
    response = client.post("/admin/thresholds", data=data)
    assert response.status_code == 302
    after = debt_rating(conn)
    assert after["debt"] == "red" and after["threshold_version_id"] != before["threshold_version_id"]
    log = conn.execute("SELECT actor_name, action, before, after FROM audit_log WHERE action LIKE 'thresholds.%'").fetchall()
    assert len(log) == 1 and log[0]["actor_name"] == "admin" and log[0]["action"] == "thresholds.save"
    assert log[0]["after"]["indicators"]["debt_ratio"]["red"] == [">=", "0.40"]
    assert log[0]["before"]["indicators"]["debt_ratio"]["red"] == [">=", "0.7"]
    assert "测试收紧" in client.get("/admin/thresholds").get_data(as_text=True)


def test_invalid_thresholds_change_nothing(client, auth, conn, province):
    before = debt_rating(conn)
    auth.login("admin")
    data = form_of(client.get("/admin/thresholds").get_data(as_text=True))
    data.update({"debt_ratio.red": "0.30", "version": "坏的", "csrf_token": auth.csrf("/admin/thresholds")})
    response = client.post("/admin/thresholds", data=data)        # red below yellow: refused
    assert response.status_code == 400 and "更严重" in response.get_data(as_text=True)
    assert debt_rating(conn) == before
    assert conn.execute("SELECT count(*) AS n FROM audit_log WHERE action LIKE 'thresholds.%'").fetchone()["n"] == 0


def test_only_admins(client, auth, province):
    auth.login("reviewer")
    assert client.get("/admin/thresholds").status_code == 403
    assert client.get("/admin/audit").status_code == 403
