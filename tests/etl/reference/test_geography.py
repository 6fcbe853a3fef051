"""Boundaries: the packaged conversion, official files validated whole, hospitals joined."""
from __future__ import annotations

import gzip
import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Polygon, box

from etl.demo.province import demo_hospitals, load_regions
from etl.reference import geography, registry
from etl.reference.province import ProvinceNotSet
from scripts.convert_echarts_boundaries import decode_ring
from tests.boundaries import LESHAN, LESHAN_CITY, geojson_bytes, official_frame
from tests.factories import hospital_code, hospital_row, write_registry


def test_decode_ring_undoes_zigzag_and_delta():
    # x: +5 -> zigzag 10 -> 'J'; y: -3 -> zigzag 5 -> 'E'; then x: -1 -> 1 -> 'A', y: +2 -> 4 -> 'D'
    points = decode_ring("JEAD", [1024 * 100, 1024 * 30], 1024)
    assert points == [(100 + 5 / 1024, 30 - 3 / 1024), (100 + 4 / 1024, 30 - 1 / 1024)]


def test_packaged_boundaries_cover_every_province_and_stay_small():
    files = sorted(geography.GEODATA_DIR.glob("*.geojson.gz"))
    assert len(files) == 33                    # 34 provincial units; Taiwan's file has no codes
    assert sum(f.stat().st_size for f in files) < 3_000_000
    assert (geography.GEODATA_DIR / "README.md").read_text(encoding="utf-8").count("Apache") >= 2
    for path in files:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            codes = [f["properties"]["code"] for f in json.load(fh)["features"]]
        assert codes and all(c[:2] == path.name[:2] for c in codes), path.name


def test_sichuan_prefectures_are_valid_and_hold_the_demo_hospitals():
    frame = geography.packaged_boundaries("510000")
    prefectures = {r["code"] for r in load_regions() if r["level"] == 2}
    assert set(frame["code"]) == prefectures and frame.is_valid.all()
    hospitals = demo_hospitals()
    points = gpd.GeoDataFrame({"pref": [h["行政区划代码"][:4] + "00" for h in hospitals]},
                              geometry=gpd.points_from_xy([h["经度"] for h in hospitals], [h["纬度"] for h in hospitals]),
                              crs="EPSG:4326")
    joined = geography.join_regions(points, geography.Boundaries("510000", frame, "packaged"))
    # ECharts 4.9 still draws 简阳市 inside 资阳市 (it moved to 成都市 in 2016): one demo
    # hospital is flagged for that, which is exactly why official boundaries can replace these.
    wrong = joined[joined["point_prefecture"] != joined["pref"]]
    assert len(wrong) <= 2 and set(wrong["pref"]) <= {"510100"}


def _sichuan(conn):
    registry.load_regions(conn, load_regions())


def _file_bytes(frame: gpd.GeoDataFrame, tmp_path: Path, driver: str, name: str) -> bytes:
    path = tmp_path / name
    frame.to_file(path, driver=driver)
    return path.read_bytes()


def _shapefile_zip(frame: gpd.GeoDataFrame, tmp_path: Path, drop: tuple = (), encoding: str = "gbk") -> bytes:
    """A zipped Shapefile; GBK by default, as Chinese GIS tools write (区划代码 fits in 10 bytes)."""
    folder = tmp_path / "shp"
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_file(folder / "bound.shp", encoding=encoding)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in folder.iterdir():
            if path.suffix not in drop:
                zf.write(path, f"data/{path.name}")
    return buffer.getvalue()


def _versions(conn) -> int:
    return conn.execute("SELECT count(*) AS n FROM boundary_version").fetchone()["n"]


def test_official_geojson_replaces_packaged_and_reset_restores(conn, tmp_path):
    _sichuan(conn)
    assert geography.active_boundaries(conn).source == "packaged"
    version = geography.load_official(conn, geojson_bytes(official_frame()), "四川省界.geojson")
    active = geography.active_boundaries(conn)
    assert (active.source, active.version_id, active.file_name) == ("official", version, "四川省界.geojson")
    assert active.has_counties and set(active.level(3)["code"]) == {LESHAN_CITY}
    assert len(active.level(2)) == 21 and active.frame.is_valid.all()
    assert active.frame.loc[active.frame["code"] == LESHAN_CITY, "name"].item() == "市中区"
    assert len(active.web_features(3)) == 1
    assert geography.reset_official(conn) == 1
    assert [r["action"] for r in conn.execute(
        "SELECT action FROM audit_log WHERE action LIKE 'boundaries.%' ORDER BY id")] == ["boundaries.load", "boundaries.reset"]
    assert geography.active_boundaries(conn).source == "packaged"
    assert geography.reset_official(conn) == 0
    assert _versions(conn) == 1


def test_shapefile_zip_and_geopackage_in_another_crs_are_accepted(conn, tmp_path):
    _sichuan(conn)
    frame = official_frame(crs="EPSG:4490")          # CGCS2000, as official files usually are
    geography.load_official(conn, _shapefile_zip(frame, tmp_path, drop=(".cpg",)), "bound.zip")
    assert geography.active_boundaries(conn).has_counties
    utf8 = _shapefile_zip(frame.rename(columns={"区划代码": "code"}), tmp_path / "u", encoding="utf-8")
    geography.load_official(conn, utf8, "utf8.zip")
    geography.load_official(conn, _file_bytes(official_frame(False, "EPSG:3857"), tmp_path, "GPKG", "b.gpkg"), "b.gpkg")
    active = geography.active_boundaries(conn)
    assert active.file_name == "b.gpkg" and not active.has_counties
    west, south, east, north = active.frame.total_bounds
    assert 97 < west < 98.5 and 34 < north < 34.5            # back in degrees
    rows = conn.execute("SELECT file_name, is_active FROM boundary_version ORDER BY id").fetchall()
    assert [(r["file_name"], r["is_active"]) for r in rows] == [("bound.zip", False), ("utf8.zip", False), ("b.gpkg", True)]


def test_prefectures_are_derived_from_a_complete_set_of_counties(conn):
    _sichuan(conn)
    counties = [r["code"] for r in load_regions() if r["parent_code"] == LESHAN]
    frame = geography.packaged_boundaries("510000")
    leshan = frame.loc[frame["code"] == LESHAN, "geometry"].item()
    west, south, east, north = leshan.bounds
    step = (east - west) / len(counties)
    strips = [box(west + i * step, south, west + (i + 1) * step, north).intersection(leshan) for i in range(len(counties))]
    parts = gpd.GeoDataFrame({"code": list(frame["code"][frame["code"] != LESHAN]) + counties},
                             geometry=list(frame.geometry[frame["code"] != LESHAN]) + strips, crs="EPSG:4326")
    geography.load_official(conn, geojson_bytes(parts), "counties.geojson")
    active = geography.active_boundaries(conn)
    derived = active.frame.loc[active.frame["code"] == LESHAN].iloc[0]
    assert derived["level"] == 2 and abs(derived.geometry.area - leshan.area) < 0.02 * leshan.area


def _bowtie_frame() -> gpd.GeoDataFrame:
    frame = official_frame(False)
    frame.loc[frame["区划代码"] == LESHAN, "geometry"] = Polygon([(103, 29), (104, 30), (104, 29), (103, 30)])
    return frame


@pytest.mark.parametrize("make, name, message", [
    (lambda tmp: b"not a map", "x.txt", "仅支持"),
    (lambda tmp: b"{ broken", "x.geojson", "无法读取"),
    (lambda tmp: b"PK\x03\x04 broken", "x.zip", "不是有效的 zip"),
    (lambda tmp: _shapefile_zip(official_frame(False), tmp, drop=(".prj",)), "noprj.zip", "坐标参考系"),
    (lambda tmp: _shapefile_zip(official_frame(False), tmp, drop=(".dbf",)), "nodbf.zip", "缺少配套文件"),
    (lambda tmp: geojson_bytes(_bowtie_frame()), "bowtie.geojson", "几何图形无效"),
    (lambda tmp: geojson_bytes(official_frame(False).assign(区划代码=lambda f: f["区划代码"].replace(LESHAN, "519900"))),
     "unknown.geojson", "不在本省行政区划中"),
    (lambda tmp: geojson_bytes(official_frame(False).query("区划代码 != @LESHAN")), "missing.geojson", "缺少 1 个地市"),
    (lambda tmp: geojson_bytes(official_frame(False).rename(columns={"区划代码": "名称"})), "nocode.geojson", "找不到区划代码字段"),
    (lambda tmp: geojson_bytes(official_frame(False).set_geometry(official_frame(False).geometry.representative_point())),
     "points.geojson", "须为面"),
])
def test_bad_files_are_rejected_and_change_nothing(conn, tmp_path, make, name, message):
    _sichuan(conn)
    first = geography.load_official(conn, geojson_bytes(official_frame()), "good.geojson")
    with pytest.raises(geography.BoundaryRejected) as info:
        geography.load_official(conn, make(tmp_path), name)
    assert message in str(info.value)
    assert _versions(conn) == 1 and geography.active_boundaries(conn).version_id == first


def test_files_need_the_province_set_up_first(empty_db):
    with pytest.raises(ProvinceNotSet, match="尚未初始化省份，请运行 init-province"):
        geography.load_official(empty_db, geojson_bytes(official_frame(False)), "x.geojson")
    assert _versions(empty_db) == 0


def test_hospitals_outside_their_registered_region_are_flagged(conn, tmp_path):
    _sichuan(conn)
    rows = [hospital_row(1),                                              # in 市中区's box: fine
            hospital_row(2, 经度=104.06, 纬度=30.67),                      # 成都 coordinates, registered 乐山
            hospital_row(3, 经度=103.90, 纬度=29.30)]                      # in 乐山 but outside 市中区
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", rows))
    packaged = {m["code"]: m for m in geography.location_mismatches(conn)}
    assert set(packaged) == {hospital_code(2)}
    assert (packaged[hospital_code(2)]["registered_name"], packaged[hospital_code(2)]["found_name"]) == ("乐山市", "成都市")
    geography.load_official(conn, geojson_bytes(official_frame()), "official.geojson")
    official = {m["code"]: m for m in geography.location_mismatches(conn)}
    assert set(official) == {hospital_code(2), hospital_code(3)}
    assert official[hospital_code(3)]["registered_name"] == "市中区"
