"""The deployment's province: packaged divisions for all 31, init-province refusing what it must,
nothing province-wide before it, and the first-run checklist."""
from __future__ import annotations

import csv
import gzip
import json

import pytest

from etl.common.errors import InputRejected
from etl.reference import geography, province, registry
from etl.reference.accounts import create_user
from etl.reference.regions import REGIONS_DIR, packaged_regions
from tests.factories import hospital_row, write_registry

# Prefecture-level divisions created after the packaged (ECharts) boundaries were drawn.
NO_SHAPE = {"310151", "540500", "659010", "659011", "659012", "659013"}


def test_all_31_provinces_are_packaged_in_the_same_format():
    provinces = province.available()
    assert len(provinces) == 31
    assert provinces["370000"] == "山东省" and provinces["110000"] == "北京市" and provinces["650000"] == "新疆维吾尔自治区"
    for code in provinces:
        with open(REGIONS_DIR / f"{code}.csv", encoding="utf-8", newline="") as fh:
            assert next(csv.reader(fh)) == ["code", "name", "parent_code", "level"]
        rows = packaged_regions(code)
        codes = [r["code"] for r in rows]
        assert rows[0] == {"code": code, "name": provinces[code], "parent_code": None, "level": 1}
        assert len(codes) == len(set(codes)) and all(c[:2] == code[:2] for c in codes)
        parents = {r["code"]: r["level"] for r in rows}
        assert all(parents[r["parent_code"]] == r["level"] - 1 for r in rows[1:])


def test_shandong_has_its_16_prefectures_and_sichuan_is_unchanged():
    shandong = {r["code"]: r for r in packaged_regions("370000")}
    prefectures = {c: r["name"] for c, r in shandong.items() if r["level"] == 2}
    assert len(prefectures) == 16
    assert prefectures["370100"] == "济南市" and prefectures["370200"] == "青岛市" and "371200" not in prefectures
    assert shandong["370102"] == {"code": "370102", "name": "历下区", "parent_code": "370100", "level": 3}
    sichuan = packaged_regions("510000")
    assert [sum(r["level"] == n for r in sichuan) for n in (1, 2, 3)] == [1, 21, 183]
    assert {"code": "510104", "name": "锦江区", "parent_code": "510100", "level": 3} in sichuan


@pytest.mark.parametrize("code", ["110000", "120000", "310000", "500000"])
def test_a_municipalitys_districts_are_its_prefecture_level(code):
    rows = packaged_regions(code)
    assert len(rows) > 15 and all(r["level"] == 2 and r["parent_code"] == code for r in rows[1:])


def test_county_level_cities_under_a_province_are_prefecture_equivalents():
    henan = {r["code"]: r for r in packaged_regions("410000")}
    assert henan["419001"] == {"code": "419001", "name": "济源市", "parent_code": "410000", "level": 2}
    hubei = {r["code"]: r for r in packaged_regions("420000")}
    assert hubei["429021"]["level"] == 2 and hubei["429021"]["parent_code"] == "420000"


@pytest.mark.parametrize("code", sorted(province.available()))
def test_packaged_boundaries_match_the_prefectures(code):
    with gzip.open(geography.GEODATA_DIR / f"{code}.geojson.gz", "rt", encoding="utf-8") as fh:
        shapes = {f["properties"]["code"]: f["properties"]["name"] for f in json.load(fh)["features"]}
    prefectures = {r["code"]: r["name"] for r in packaged_regions(code) if r["level"] == 2}
    assert set(shapes) <= set(prefectures)                          # no abolished code (莱芜市 371200)
    assert set(prefectures) - set(shapes) <= NO_SHAPE
    assert all(shapes[c] == prefectures[c] for c in shapes)        # current names
    frame = geography.packaged_boundaries(code)
    assert set(frame.loc[frame["level"] == 2, "code"]) == set(shapes)   # every shape on the prefecture layer


def test_initialise_loads_the_province_and_records_it(empty_db):
    assert province.current(empty_db) is None
    done = province.initialise(empty_db, "370000")
    assert done == {"code": "370000", "name": "山东省", "regions": 153, "first": True}
    assert province.current(empty_db) == {"code": "370000", "name": "山东省"}
    assert geography.province_code(empty_db) == "370000"
    assert empty_db.execute("SELECT count(*) AS n FROM region WHERE code LIKE '37%'").fetchone()["n"] == 153
    again = province.initialise(empty_db, "370000")
    assert again["first"] is False and province.current(empty_db)["code"] == "370000"
    log = [r["action"] for r in empty_db.execute("SELECT action FROM audit_log ORDER BY id")]
    assert log == ["province.init"]


def _state(conn) -> tuple:
    return (province.current(conn), conn.execute("SELECT count(*) AS n, min(code) AS lo, max(code) AS hi FROM region").fetchone())


def test_another_province_is_refused_and_nothing_changes(empty_db):
    province.initialise(empty_db, "370000")
    before = _state(empty_db)
    with pytest.raises(InputRejected, match=r"本数据库已初始化为山东省（370000），不能再初始化为四川省（510000）"):
        province.initialise(empty_db, "510000")
    assert _state(empty_db) == before


def test_regions_of_another_province_without_the_setting_are_refused(empty_db):
    registry.load_regions(empty_db, packaged_regions("510000"))       # a database filled by hand
    with pytest.raises(InputRejected, match="本数据库已初始化为四川省（510000）"):
        province.initialise(empty_db, "370000")
    assert province.current(empty_db) is None


@pytest.mark.parametrize("code", ["999999", "370100", "37000", "abc", "", "710000", "810000"])
def test_an_unknown_code_is_refused_and_nothing_changes(empty_db, code):
    with pytest.raises(InputRejected, match="未知的省份代码"):
        province.initialise(empty_db, code)
    assert _state(empty_db)[0] is None and _state(empty_db)[1]["n"] == 0


def test_nothing_province_wide_before_init(empty_db, tmp_path):
    with pytest.raises(province.ProvinceNotSet, match="尚未初始化省份，请运行 init-province"):
        geography.province_code(empty_db)
    with pytest.raises(province.ProvinceNotSet, match="尚未初始化省份"):
        registry.load_hospitals(empty_db, write_registry(tmp_path / "r.xlsx", [hospital_row(1)]))
    assert empty_db.execute("SELECT count(*) AS n FROM hospital").fetchone()["n"] == 0


def test_a_row_outside_the_province_is_refused_naming_its_row_and_code(empty_db, tmp_path):
    province.initialise(empty_db, "370000")
    rows = [hospital_row(1, county="370102"), hospital_row(2, county="510104")]
    with pytest.raises(InputRejected) as info:
        registry.load_hospitals(empty_db, write_registry(tmp_path / "r.xlsx", rows))
    assert info.value.problems == [("第3行", "行政区划代码 510104 不属于山东省（不在山东省行政区划表中）")]
    assert empty_db.execute("SELECT count(*) AS n FROM hospital").fetchone()["n"] == 0


def test_the_checklist_ticks_each_step_as_it_is_done(empty_db, tmp_path):
    def done():
        return {s["key"]: s["done"] for s in province.checklist(empty_db)}
    assert [s["key"] for s in province.checklist(empty_db)] == [
        "province", "hospitals", "mapping", "admin", "accounts", "periods"]
    assert not any(done().values())
    province.initialise(empty_db, "370000")
    assert done()["province"] and province.checklist(empty_db)[0]["detail"] == "山东省：16 个地市级、136 个县级区划"
    registry.load_hospitals(empty_db, write_registry(tmp_path / "r.xlsx", [
        hospital_row(1, county="370102"), hospital_row(2, county="370202")]))
    create_user(empty_db, "admin", "password-123", "admin")
    create_user(empty_db, "h1", "password-123", "hospital", hospital_row(1, county="370102")["机构代码"])
    state = done()
    assert state == {"province": True, "hospitals": True, "mapping": False, "admin": True, "accounts": False,
                     "periods": False}
    assert province.checklist(empty_db)[4]["detail"] == "1/2 家医院已有账号"

