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


def version_id(conn, name):
    return conn.execute("SELECT id FROM mapping_version WHERE name = %s", (name,)).fetchone()["id"]


def test_a_version_is_viewable_and_downloads_in_the_load_format(client, auth, conn, people, tmp_path):
    from etl.attribution import mapping
    auth.login("reviewer")
    a = version_id(conn, "A")
    assert f'href="/mappings/{a}"' in client.get("/mappings/").get_data(as_text=True)
    page = client.get(f"/mappings/{a}").get_data(as_text=True)
    assert all(f'data-code="{r[0]}"' in page for r in MAPPING_ROWS) and "已生效" in page
    assert "撤回此版本" not in page                                         # a reviewer cannot withdraw
    found = client.get(f"/mappings/{a}?q=麻醉").get_data(as_text=True)
    assert 'data-code="330100001"' in found and 'data-code="YP01"' not in found and "共 1 条" in found
    response = client.get(f"/mappings/{a}.xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0] == mapping.COLUMNS and rows[1:] == sorted(MAPPING_ROWS, key=lambda r: r[0])
    path = tmp_path / "again.xlsx"
    path.write_bytes(response.data)
    assert mapping.read_mapping(path) == [dict(zip(("price_code", "price_name", "national_code", "receipt_category",
                                                    "subject_category", "record_leaf"), r))
                                          for r in sorted(MAPPING_ROWS, key=lambda r: r[0])]
    assert client.get("/mappings/99999").status_code == 404
    assert client.post(f"/mappings/{a}/withdraw", data={"csrf_token": auth.csrf("/mappings/")}).status_code == 403


def test_only_a_version_not_yet_in_effect_can_be_withdrawn(client, auth, conn, people):
    auth.login("admin")
    a, b = version_id(conn, "A"), version_id(conn, "B")
    token = auth.csrf("/mappings/")
    assert "撤回此版本" not in client.get(f"/mappings/{a}").get_data(as_text=True)
    response = client.post(f"/mappings/{a}/withdraw", data={"csrf_token": token})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已用于 3 份报表的归集，已生效，不能撤回" in page
    assert conn.execute("SELECT count(*) AS n FROM mapping_row WHERE version_id = %s", (a,)).fetchone()["n"] == 6
    assert "尚未生效" in client.get(f"/mappings/{b}").get_data(as_text=True)
    response = client.post(f"/mappings/{b}/withdraw", data={"csrf_token": token})
    assert "已撤回映射版本“B”" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert conn.execute("SELECT count(*) AS n FROM mapping_version WHERE name = 'B'").fetchone()["n"] == 0
    entry = conn.execute("SELECT actor_name, before FROM audit_log WHERE action = 'mapping.withdraw'").fetchone()
    assert entry["actor_name"] == "admin" and entry["before"] == {"name": "B", "effective_from": "2099-01", "rows": 5}


def test_a_version_whose_month_has_begun_is_refused_with_the_reason(client, auth, conn, people, tmp_path):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from etl.attribution import mapping
    this_month = dt.datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    mapping.load_mapping(conn, write_mapping(tmp_path / "c.xlsx"), "本月起", this_month)  # no return this late
    auth.login("admin")
    c = version_id(conn, "本月起")
    assert "撤回此版本" not in client.get(f"/mappings/{c}").get_data(as_text=True)
    response = client.post(f"/mappings/{c}/withdraw", data={"csrf_token": auth.csrf("/mappings/")})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"本月（{this_month}）已在生效期内，不能撤回" in page
    assert conn.execute("SELECT count(*) AS n FROM mapping_version WHERE id = %s", (c,)).fetchone()["n"] == 1
