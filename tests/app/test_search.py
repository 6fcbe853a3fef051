"""The header's hospital search and 医院报表's search (issue 17): name, code or pinyin
initials, scoped, hits opening the hospital in the page's month."""
import re

import pytest

from etl.reference import registry
from etl.reference.accounts import create_user
from tests.factories import hospital_code, hospital_row, write_registry

NAMES = {1: ("四川省人民医院", "510104"), 2: ("乐山市人民医院", "511102"), 3: ("乐山市中医医院", "511102")}


@pytest.fixture()
def hospitals(conn, tmp_path):
    from etl.demo.province import load_regions
    registry.load_regions(conn, load_regions())
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [
        hospital_row(n, county, 机构名称=name) for n, (name, county) in NAMES.items()]))
    for role in ("reviewer", "admin", "leader"):
        create_user(conn, role, "password-123", role)
    create_user(conn, "hospital", "password-123", "hospital", hospital_code(2, "511102"))
    return {n: hospital_code(n, county) for n, (_, county) in NAMES.items()}


def test_the_header_search_is_there_for_those_who_see_many_hospitals(client, auth, hospitals):
    auth.login("reviewer")
    header = re.search(r'<header class="top">(.*?)</header>', client.get("/").get_data(as_text=True), re.S).group(1)
    assert 'class="find"' in header and 'action="/hospitals/search"' in header
    auth.logout()
    auth.login("hospital")
    assert 'class="find"' not in client.get("/").get_data(as_text=True)
    assert client.get("/hospitals/search?q=srmyy").status_code == 403
    auth.logout()
    auth.login("leader")
    assert 'class="find"' not in client.get("/bulletins/").get_data(as_text=True)


def test_hits_link_to_the_hospital_in_the_month_being_looked_at(client, auth, hospitals):
    auth.login("reviewer")
    page = client.get("/hospitals/search?q=srmyy&period=2026-09").get_data(as_text=True)
    links = re.findall(r'<li data-hospital="([^"]+)"><a href="([^"]+)"', page)
    assert {code for code, _ in links} == {hospitals[1], hospitals[2]}        # sc-srmyy and ls-srmyy
    assert all(href.endswith("?period=2026-09") for _, href in links)
    one = client.get("/hospitals/search?q=scsrmyy&period=2026-09")
    assert one.status_code == 302 and one.headers["Location"] == f"/hospitals/{hospitals[1]}?period=2026-09"
    hits = client.get("/hospitals/search?q=乐山&format=json&period=2026-09").get_json()
    assert {h["name"] for h in hits} == {"乐山市人民医院", "乐山市中医医院"}
    assert all(h["prefecture"] == "乐山市" and h["url"].endswith("?period=2026-09") for h in hits)
    none = client.get("/hospitals/search?q=不存在的医院").get_data(as_text=True)
    assert 'id="no-hits"' in none
    assert client.get("/hospitals/search?q=x&period=2026-9").status_code == 400


def test_hospital_returns_are_found_by_search_not_a_long_drop_down(client, auth, hospitals):
    auth.login("admin")
    page = client.get("/returns/").get_data(as_text=True)
    assert '<select name="hospital"' not in page and 'name="q"' in page
    page = client.get("/returns/?q=lssrmyy")
    assert page.status_code == 302 and page.headers["Location"] == f"/returns/?hospital={hospitals[2]}"
    listed = client.get("/returns/?q=乐山").get_data(as_text=True)
    assert set(re.findall(r'<li data-hospital="([^"]+)"><a href="/returns/\?hospital=\1"', listed)) == \
        {hospitals[2], hospitals[3]}
    assert 'id="no-hits"' in client.get("/returns/?q=zzzz").get_data(as_text=True)
