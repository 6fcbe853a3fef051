"""Mapping versions on the web: an admin uploads one, everyone sees where each is in force,
and the simulation runs as a page and an Excel download."""
import io

import pytest
from openpyxl import load_workbook

from etl.reference.accounts import create_user
from tests.factories import MAPPING_ROWS, hospital_code, write_mapping


@pytest.fixture()
def people(conn, two_versions):
    create_user(conn, "admin", "password-123", "admin")
    create_user(conn, "reviewer", "password-123", "reviewer")


def test_admin_uploads_a_version_and_bad_rows_are_listed(client, auth, conn, people, tmp_path):
    auth.login("admin")
    token = auth.csrf("/mappings/")
    good = write_mapping(tmp_path / "c.xlsx").read_bytes()
    response = client.post("/mappings/", data={"name": "C", "effective": "2025-12", "csrf_token": token,
                                               "file": (io.BytesIO(good), "../../etc/passwd.xlsx")})
    assert response.status_code == 302
    page = client.get("/mappings/").get_data(as_text=True)
    assert 'data-version="C"' in page and "2025-12 至 2025-12" in page
    assert conn.execute("SELECT DISTINCT mapping_version_id FROM attribution_total WHERE period = '2025-12'"
                        ).fetchone()["mapping_version_id"] == conn.execute(
        "SELECT id FROM mapping_version WHERE name = 'C'").fetchone()["id"]
    bad_rows = MAPPING_ROWS[:2] + [("999", "坏", None, "火箭费", "治疗", "康复费")]
    bad = write_mapping(tmp_path / "bad.xlsx", bad_rows).read_bytes()
    response = client.post("/mappings/", data={"name": "D", "effective": "2026-01", "csrf_token": token,
                                                "file": (io.BytesIO(bad), "bad.xlsx")})
    assert response.status_code == 400
    assert "第4行" in response.get_data(as_text=True) and "火箭费" in response.get_data(as_text=True)
    assert conn.execute("SELECT count(*) AS n FROM mapping_version WHERE name = 'D'").fetchone()["n"] == 0


def test_reviewer_runs_the_simulation_and_downloads_it(client, auth, people):
    auth.login("reviewer")
    page = client.get("/mappings/compare?a=A&b=B&from=2025-11&to=2025-12").get_data(as_text=True)
    assert "+10.00" in page and f'data-hospital="{hospital_code(1)}"' in page
    response = client.get("/mappings/compare.xlsx?a=A&b=B&from=2025-11&to=2025-12")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert wb["变动项目"].max_row == 3                     # header + 血常规 + 全身麻醉
    assert client.post("/mappings/", data={"csrf_token": auth.csrf("/mappings/")}).status_code == 403
