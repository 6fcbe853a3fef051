"""Finding hospitals by name, code or pinyin initials (etl/reference/finder.py), scoped."""
import pytest

from etl.reference import finder, registry
from etl.reference.scope import Scope
from tests.factories import hospital_code, hospital_row, write_registry

NAMES = {1: ("四川省人民医院", "510104"), 2: ("乐山市人民医院", "511102"), 3: ("长宁县人民医院", "511524"),
         4: ("乐山市中医医院", "511102")}


@pytest.fixture()
def hospitals(conn, tmp_path):
    from etl.demo.province import load_regions
    registry.load_regions(conn, load_regions())
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [
        hospital_row(n, county, 机构名称=name) for n, (name, county) in NAMES.items()]))
    return {n: hospital_code(n, county) for n, (_, county) in NAMES.items()}


def _names(rows):
    return [r["name"] for r in rows]


def test_initials_read_phrases_and_offer_other_readings():
    assert finder.initials("四川省人民医院").split()[0] == "scsrmyy"
    assert finder.initials("重庆医科大学附属第一医院").split()[0] == "cqykdxfsdyyy"   # 重庆: chóng
    assert "cnxrmyy" in finder.initials("长宁县人民医院").split()                  # 长 read either way
    assert finder.initials("成都市第一人民医院（东院）").split()[0] == "cdsdyrmyydy"  # brackets dropped
    assert finder.initials("第3人民医院").split()[0] == "d3rmyy"                  # digits kept


def test_loading_the_registry_stores_the_initials(conn, hospitals):
    stored = conn.execute("SELECT initials FROM hospital WHERE code = %s", (hospitals[1],)).fetchone()["initials"]
    assert stored.split()[0] == "scsrmyy"


def test_search_by_initials_name_and_code(conn, hospitals):
    province = Scope.province()
    assert _names(finder.search(conn, "scsrmyy", province)) == ["四川省人民医院"]
    assert _names(finder.search(conn, "SCSRMYY", province)) == ["四川省人民医院"]
    # "srmyy" is inside 四川省人民医院 (sc-srmyy) and 乐山市人民医院 (ls-srmyy) alike.
    assert set(_names(finder.search(conn, "srmyy", province))) == {"四川省人民医院", "乐山市人民医院"}
    assert set(_names(finder.search(conn, "人民医院", province))) == {"四川省人民医院", "乐山市人民医院", "长宁县人民医院"}
    assert _names(finder.search(conn, "cnxrmyy", province)) == ["长宁县人民医院"]
    assert _names(finder.search(conn, hospitals[4], province)) == ["乐山市中医医院"]
    assert _names(finder.search(conn, hospitals[4][-6:].lower(), province)) == ["乐山市中医医院"]
    for nothing in ("", "   ", "%", "_", "zzzz"):
        assert finder.search(conn, nothing, province) == []


def test_search_is_scoped(conn, hospitals):
    assert _names(finder.search(conn, "srmyy", Scope.prefecture("511100"))) == ["乐山市人民医院"]
    assert _names(finder.search(conn, "医院", Scope.hospital(hospitals[3]))) == ["长宁县人民医院"]
    assert finder.search(conn, "scsrmyy", Scope.hospital(hospitals[2])) == []


def test_a_rename_outside_the_registry_load_is_found_by_its_new_initials(conn, hospitals):
    conn.execute("UPDATE hospital SET name = '成都市第一人民医院' WHERE code = %s", (hospitals[1],))
    assert conn.execute("SELECT initials FROM hospital WHERE code = %s", (hospitals[1],)).fetchone()["initials"] is None
    assert _names(finder.search(conn, "cdsdyrmyy", Scope.province())) == ["成都市第一人民医院"]
    assert finder.search(conn, "scsrmyy", Scope.province()) == []
