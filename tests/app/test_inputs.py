"""Bad request input gets a clear 400 in Chinese, never HTTP 500 (issue 20 item 9)."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from etl.attribution import mapping
from etl.filing import periods
from etl.reference import registry
from etl.reference.accounts import create_user
from tests.factories import hospital_code, hospital_row, write_mapping, write_registry


@pytest.fixture()
def people(conn, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    # As a registry file from a spreadsheet program may name it (the loader keeps names as text).
    conn.execute("UPDATE hospital SET name = %s WHERE code = %s",
                 ('=HYPERLINK("http://evil.example","点我")', hospital_code(1)))
    mapping.load_mapping(conn, write_mapping(tmp_path / "map.xlsx"), "v1", "2024-01")
    admin = create_user(conn, "admin", "password-123", "admin")
    create_user(conn, "h1", "password-123", "hospital", hospital_code(1))
    periods.open_period(conn, "2026-10", None, {"id": admin, "username": "admin"}, 10)


def _refused(response, words="报告期应为 YYYY-MM"):
    assert response.status_code == 400, response.status_code
    assert words in response.get_data(as_text=True)


@pytest.mark.parametrize("period", ["abc", "2026-10%0A", "2026-13", "%E5%B9%B4"])
def test_deadline_and_lock_refuse_a_bad_period(client, auth, people, period):
    auth.login("admin")
    token = auth.csrf("/periods/")
    _refused(client.post(f"/periods/{period}/deadline", data={"deadline": "2026-11-20", "csrf_token": token}))
    _refused(client.post(f"/periods/{period}/lock", data={"locked": "1", "csrf_token": token}))
    _refused(client.get(f"/periods/{period}/submissions"), "")


@pytest.mark.parametrize("url", ["/?period=2026-10%0A", "/map/?period=2026-10%0A",
                                 "/returns/template?period=2026-10%0A"])
def test_a_trailing_newline_is_not_a_period(client, auth, people, url):
    auth.login("admin" if "template" not in url else "h1")
    assert client.get(url).status_code == 400


@pytest.mark.parametrize("url", ["/?period=2026-10%00", "/map/?period=%00", "/returns/?hospital=%00",
                                 f"/hospitals/{hospital_code(2)}?period=2026%00-10", "/returns/1?compare=%00"])
def test_nul_in_a_query_string_is_refused(client, auth, people, url):
    auth.login("admin")
    _refused(client.get(url), "NUL")


def test_nul_in_a_form_field_is_refused(client, auth, people, conn):
    auth.login("admin")
    token = auth.csrf("/periods/")
    _refused(client.post("/periods/", data={"period": "2026-11\x00", "deadline": "", "csrf_token": token}), "NUL")
    assert conn.execute("SELECT count(*) AS n FROM period WHERE period LIKE '2026-11%'").fetchone()["n"] == 0


def test_a_name_starting_with_equals_is_text_in_the_blank_template(client, auth, people):
    """A registry name that looks like a formula is written as text on the cover, never live."""
    auth.login("h1")
    response = client.get("/returns/template?period=2026-10")
    assert response.status_code == 200
    cover = load_workbook(io.BytesIO(response.data)).worksheets[0]
    cell = next(c for row in cover.iter_rows() for c in row if isinstance(c.value, str) and "HYPERLINK" in c.value)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
