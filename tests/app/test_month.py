"""One rule for "the month": pages open on the month past its deadline until most hospitals
have filed the next; links between pages keep the month; a bulletin of a barely filed month
needs confirming."""
import datetime as dt
import re

import pytest

from etl.demo.province import load_regions
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

HOSPITALS = 5


def _opened_on(html: str) -> str:
    """The period the page's period selector has selected."""
    return re.search(r'<option value="(\d{4}-\d\d)" ?selected', html).group(1)


@pytest.fixture()
def province(app, conn, tmp_path):
    """Five hospitals in 乐山市中区, all filed 2026-10 (deadline past); hospital 1 alone has
    filed 2026-11, whose deadline is still three weeks away."""
    registry.load_regions(conn, load_regions())
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx",
                                                 [hospital_row(n) for n in range(1, HOSPITALS + 1)]))
    settings = intake.IntakeSettings.from_config(app.config)

    def file(n: int, period: str):
        path = write_draft(tmp_path, draft(hospital_code(n), period, name=f"测试康宁医院{n}"), f"{n}-{period}.xlsx")
        result = intake.ingest_file(conn, path, settings)
        assert result.status == "accepted", result.findings

    for n in range(1, HOSPITALS + 1):
        file(n, "2026-10")
    file(1, "2026-11")
    conn.execute("UPDATE period SET deadline = '2026-11-10' WHERE period = '2026-10'")
    conn.execute("UPDATE period SET deadline = %s WHERE period = '2026-11'", (dt.date.today() + dt.timedelta(days=21),))
    for role in ("reviewer", "admin"):
        create_user(conn, role, "password-123", role)
    return file


def test_pages_stay_on_the_filed_month_until_most_have_filed_the_next(client, auth, province):
    auth.login("admin")
    overview = client.get("/").get_data(as_text=True)
    assert _opened_on(overview) == "2026-10"
    assert ">2026-11（已报 20%）<" in overview and ">2026-10（已报 100%）<" in overview
    assert _opened_on(client.get("/map/").get_data(as_text=True)) == "2026-10"
    assert _opened_on(client.get("/bulletins/").get_data(as_text=True)) == "2026-10"
    assert _opened_on(client.get(f"/hospitals/{hospital_code(1)}").get_data(as_text=True)) == "2026-10"
    assert client.get("/periods/submissions").headers["Location"].endswith("/periods/2026-10/submissions")
    assert "2026-10" in client.get("/export.xlsx").headers["Content-Disposition"]

    for n in (2, 3, 4):                                    # 4 of 5: the 80 % share
        province(n, "2026-11")
    assert _opened_on(client.get("/").get_data(as_text=True)) == "2026-11"
    assert _opened_on(client.get("/map/").get_data(as_text=True)) == "2026-11"
    assert _opened_on(client.get("/bulletins/").get_data(as_text=True)) == "2026-11"
    # An explicit month always wins.
    page = client.get(f"/hospitals/{hospital_code(1)}?period=2026-10").get_data(as_text=True)
    assert _opened_on(page) == "2026-10"


def test_links_between_pages_carry_the_month(client, auth, province):
    auth.login("reviewer")
    code = hospital_code(2)
    html = client.get("/map/?period=2026-11").get_data(as_text=True)
    url = re.search(r'"hospitalUrl": ?"([^"]+)"', html).group(1)
    assert url == "/hospitals/__CODE__?period=2026-11"
    region = client.get("/map/regions/511100?period=2026-11").get_data(as_text=True)
    assert f'href="/hospitals/{code}?period=2026-11"' in region
    region = client.get("/map/regions/511100").get_data(as_text=True)           # default month
    assert f'href="/hospitals/{code}?period=2026-10"' in region
    overview = client.get("/?period=2026-11").get_data(as_text=True)
    assert f'href="/hospitals/{code}?period=2026-11"' in overview
    submissions = client.get("/periods/2026-11/submissions").get_data(as_text=True)
    assert f'href="/hospitals/{code}?period=2026-11"' in submissions            # 2 has not filed: listed
    hospital = client.get(f"/hospitals/{code}?period=2026-11").get_data(as_text=True)
    assert _opened_on(hospital) == "2026-11"


def test_publishing_a_barely_filed_month_needs_confirming(client, auth, conn, province):
    auth.login("admin")
    token = auth.csrf("/bulletins/")
    response = client.post("/bulletins/", data={"csrf_token": token, "period": "2026-11"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/bulletins/?period=2026-11")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "本期仅报送 1/5 家（20%）" in page and "确认仍要生成" in page
    assert _opened_on(page) == "2026-11"                  # the form keeps the month asked for
    assert conn.execute("SELECT count(*) AS n FROM bulletin").fetchone()["n"] == 0

    response = client.post("/bulletins/", data={"csrf_token": token, "period": "2026-11", "confirm": "1"})
    assert re.search(r"/bulletins/\d+$", response.headers["Location"])
    assert conn.execute("SELECT count(*) AS n FROM bulletin WHERE period = '2026-11'").fetchone()["n"] == 1
