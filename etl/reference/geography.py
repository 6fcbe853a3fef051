"""Boundaries: packaged or official, validated, simplified; hospitals joined to regions.

The packaged boundaries (etl/reference/data/boundaries/<province>.geojson.gz, prefectures, from Apache
ECharts 4.9.0) are used until an administrator loads the commission's official file
(GeoJSON, zipped Shapefile or GeoPackage), which is validated whole before it is stored in
`boundary_version`; `reset_official` goes back to the packaged ones. Every boundary set is
a GeoDataFrame in WGS 84 with columns code, name, level (2 prefecture, 3 county), geometry.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import tempfile
import threading
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import psycopg
import shapely

from etl.common import audit
from etl.common.errors import HemonError
from etl.reference.province import require as require_province
from etl.reference.regions import REGIONS_DIR, packaged_regions

GEODATA_DIR = Path(__file__).resolve().parent / "data" / "boundaries"
SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".zip": "Shapefile", ".gpkg": "GeoPackage"}
# Column names an official file may use for the 6-digit region code (compared in lower case).
CODE_COLUMNS = ("code", "adcode", "region_code", "区划代码", "行政区划代码", "代码", "pac", "xzqdm", "gb", "id")
MAX_UNZIPPED = 300 * 1024 * 1024
# Degrees: ~100 m for the stored official copy; the web map simplifies further per level.
STORE_TOLERANCE = 0.001
WEB_TOLERANCE = {2: 0.01, 3: 0.006}
CHINA = (73.0, 3.0, 136.0, 54.0)


class BoundaryRejected(HemonError):
    """An official boundary file failed validation; nothing was stored."""


@dataclasses.dataclass
class Boundaries:
    """One province's boundary set and where it came from."""

    province: str
    frame: gpd.GeoDataFrame
    source: str                      # "packaged" or "official"
    version_id: int | None = None
    file_name: str | None = None
    loaded_at: object = None
    _web: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def has_counties(self) -> bool:
        return bool((self.frame["level"] == 3).any())

    def level(self, level: int) -> gpd.GeoDataFrame:
        return self.frame[self.frame["level"] == level]

    def web_features(self, level: int) -> list[dict]:
        """Simplified GeoJSON features of one level for the web page (computed once)."""
        if level not in self._web:
            self._web[level] = web_features(self.level(level), WEB_TOLERANCE[level])
        return self._web[level]


_cache: dict[tuple, Boundaries] = {}
_lock = threading.Lock()


def province_code(conn: psycopg.Connection) -> str:
    """The deployment's province (init-province); raises ProvinceNotSet before set-up."""
    return require_province(conn)["code"]


def level_of(code: str, levels: dict[str, int] | None = None) -> int:
    """A region's level: as the packaged divisions say (a municipality's districts and the
    county-level cities under a province are prefecture-equivalents), else by its code."""
    if levels and code in levels:
        return levels[code]
    return 2 if code.endswith("00") else 3


def packaged_boundaries(province: str) -> gpd.GeoDataFrame:
    """The packaged boundaries of a province (prefectures; districts for municipalities)."""
    path = GEODATA_DIR / f"{province}.geojson.gz"
    if not path.exists():
        raise HemonError(f"没有省份 {province} 的内置边界数据")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    known = (REGIONS_DIR / f"{province}.csv").exists()
    levels = {r["code"]: r["level"] for r in packaged_regions(province)} if known else {}
    frame["level"] = frame["code"].map(lambda c: level_of(c, levels))
    return frame[["code", "name", "level", "geometry"]]


def active_boundaries(conn: psycopg.Connection, province: str | None = None) -> Boundaries:
    """The boundaries in force: the active official file, else the packaged ones (cached)."""
    province = province or province_code(conn)
    row = conn.execute("""SELECT id, file_name, loaded_at FROM boundary_version
                          WHERE province_code = %s AND is_active""", (province,)).fetchone()
    # Ids alone could be reused after a restore or a test's truncate; the load time is not.
    key = (province, row["id"], row["loaded_at"]) if row else (province, None, None)
    with _lock:
        if key in _cache:
            return _cache[key]
    if row is None:
        result = Boundaries(province, packaged_boundaries(province), "packaged")
    else:
        text = conn.execute("SELECT geojson FROM boundary_version WHERE id = %s", (row["id"],)).fetchone()["geojson"]
        frame = gpd.GeoDataFrame.from_features(json.loads(text)["features"], crs="EPSG:4326")
        result = Boundaries(province, frame[["code", "name", "level", "geometry"]], "official",
                            row["id"], row["file_name"], row["loaded_at"])
    with _lock:
        for old in [k for k in _cache if k[0] == province]:   # one set per province in memory
            del _cache[old]
        _cache[key] = result
    return result


# --- official files ---------------------------------------------------------------------

def read_boundary_file(data: bytes, file_name: str) -> gpd.GeoDataFrame:
    """Read an uploaded GeoJSON, zipped Shapefile or GeoPackage; reject what cannot be read."""
    suffix = Path(file_name).suffix.lower()
    if suffix not in SUFFIXES:
        raise BoundaryRejected("仅支持 GeoJSON（.geojson/.json）、Shapefile 压缩包（.zip）或 GeoPackage（.gpkg）文件")
    if not data:
        raise BoundaryRejected("文件为空")
    with tempfile.TemporaryDirectory(prefix="hemon-boundary-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        target, options = str(path), {}
        if suffix == ".zip":
            target, has_cpg = _shapefile_in_zip(data, path)
            # Without a .cpg the attribute encoding is unknown; Chinese GIS tools write GBK.
            options = {} if has_cpg else {"encoding": "gbk"}
        try:
            frame = gpd.read_file(target, **options)
        except Exception as exc:  # pyogrio raises many kinds; the user needs one message
            raise BoundaryRejected(f"无法读取{SUFFIXES[suffix]}文件：{type(exc).__name__}") from exc
    if frame.empty:
        raise BoundaryRejected("文件中没有任何要素")
    return frame


def _shapefile_in_zip(data: bytes, path: Path) -> tuple[str, bool]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile as exc:
        raise BoundaryRejected("不是有效的 zip 压缩包") from exc
    if sum(i.file_size for i in infos) > MAX_UNZIPPED:
        raise BoundaryRejected("压缩包解压后过大")
    shps = [i.filename for i in infos if i.filename.lower().endswith(".shp")]
    if len(shps) != 1:
        raise BoundaryRejected(f"压缩包中应恰有一个 .shp 文件，实际 {len(shps)} 个")
    stem = shps[0][:-4]
    names = {i.filename.lower() for i in infos}
    missing = [ext for ext in (".shx", ".dbf") if f"{stem}{ext}".lower() not in names]
    if missing:
        raise BoundaryRejected(f"Shapefile 缺少配套文件：{'、'.join(missing)}")
    return f"/vsizip/{path}/{shps[0]}", f"{stem}.cpg".lower() in names


def _code_column(frame: gpd.GeoDataFrame) -> str:
    """The region-code column: a known name, preferring one whose values all look like codes."""
    columns = {str(c).lower(): c for c in frame.columns if c != "geometry"}
    found = [columns[name] for name in CODE_COLUMNS if name in columns]
    if not found:
        raise BoundaryRejected("找不到区划代码字段；请使用以下字段名之一：" + "、".join(CODE_COLUMNS[:6]))
    for column in found:
        bad = sorted({c for c in frame[column].map(_normalise_code) if not (len(c) == 6 and c.isdigit())})
        if not bad:
            return column
    raise BoundaryRejected(f"找不到区划代码字段：字段“{found[0]}”的取值应为 6 位数字，以下不符："
                           + "、".join(bad[:10]))


def _normalise_code(value) -> str:
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") else text


def validate_boundaries(conn: psycopg.Connection, frame: gpd.GeoDataFrame, province: str) -> gpd.GeoDataFrame:
    """Check CRS, geometry and codes; return code/name/level/geometry in WGS 84, or reject."""
    if frame.crs is None:
        raise BoundaryRejected("文件未声明坐标参考系（CRS）；Shapefile 须包含 .prj 文件")
    try:
        frame = frame.to_crs("EPSG:4326")
    except Exception as exc:
        raise BoundaryRejected(f"无法将坐标参考系 {frame.crs.name} 转换为 WGS 84") from exc
    column = _code_column(frame)
    frame = gpd.GeoDataFrame({"code": frame[column].map(_normalise_code)}, geometry=frame.geometry.values,
                             crs="EPSG:4326")
    geoms = frame.geometry
    empty = frame.loc[geoms.isna() | geoms.is_empty, "code"].tolist()
    if empty:
        raise BoundaryRejected("以下区划没有几何图形：" + "、".join(empty[:10]))
    wrong_type = frame.loc[~geoms.geom_type.isin(["Polygon", "MultiPolygon"]), "code"].tolist()
    if wrong_type:
        raise BoundaryRejected("区划边界须为面（Polygon/MultiPolygon），以下不是：" + "、".join(wrong_type[:10]))
    invalid = frame.loc[~geoms.is_valid]
    if len(invalid):
        reasons = [f"{c}（{shapely.is_valid_reason(g)}）" for c, g in zip(invalid["code"][:5], invalid.geometry[:5])]
        raise BoundaryRejected(f"{len(invalid)} 个区划的几何图形无效（如自相交），请修复后重新上传：" + "；".join(reasons))
    west, south, east, north = frame.total_bounds
    if west < CHINA[0] or south < CHINA[1] or east > CHINA[2] or north > CHINA[3]:
        raise BoundaryRejected("坐标超出中国范围，文件声明的坐标参考系可能有误")
    return _match_regions(conn, frame, province)


def _match_regions(conn, frame: gpd.GeoDataFrame, province: str) -> gpd.GeoDataFrame:
    regions = {r["code"]: r for r in conn.execute(
        "SELECT code, name, parent_code, level FROM region WHERE code LIKE %s", (province[:2] + "%",))}
    if not regions:
        raise BoundaryRejected("尚未导入本省行政区划，无法核对边界文件中的区划代码")
    frame = frame[frame["code"] != province]          # a province outline is not needed
    unknown = sorted(set(frame["code"]) - set(regions))
    if unknown:
        raise BoundaryRejected(f"{len(unknown)} 个区划代码不在本省行政区划中：" + "、".join(unknown[:10]))
    # Several rows of one code (e.g. islands stored apart) become one region.
    frame = frame.dissolve(by="code", as_index=False)
    frame["level"] = frame["code"].map(lambda c: regions[c]["level"])
    frame["name"] = frame["code"].map(lambda c: regions[c]["name"])
    present = set(frame["code"])
    derived, missing = [], []
    for code, r in sorted(regions.items()):
        if r["level"] != 2 or code in present:
            continue
        counties = [c for c, x in regions.items() if x["parent_code"] == code]
        if counties and all(c in present for c in counties):
            geom = shapely.union_all(frame.loc[frame["code"].isin(counties)].geometry.values)
            derived.append({"code": code, "name": r["name"], "level": 2, "geometry": geom})
        else:
            missing.append(f"{r['name']}（{code}）")
    if missing:
        raise BoundaryRejected(f"缺少 {len(missing)} 个地市的边界：" + "、".join(missing[:10]))
    if derived:
        frame = pd.concat([frame, gpd.GeoDataFrame(derived, crs="EPSG:4326")], ignore_index=True)
    frame = frame[["code", "name", "level", "geometry"]].sort_values("code").reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def load_official(conn: psycopg.Connection, data: bytes, file_name: str, user: dict | None = None) -> int:
    """Validate an official boundary file and put it in force; a bad file changes nothing."""
    province = province_code(conn)
    frame = validate_boundaries(conn, read_boundary_file(data, file_name), province)
    stored = frame.copy()
    stored["geometry"] = shapely.make_valid(
        shapely.simplify(stored.geometry.values, STORE_TOLERANCE, preserve_topology=True))
    text = json.dumps(_feature_collection(stored, 5), ensure_ascii=False, separators=(",", ":"))
    with conn.transaction():
        conn.execute("UPDATE boundary_version SET is_active = false WHERE province_code = %s AND is_active",
                     (province,))
        row = conn.execute(
            """INSERT INTO boundary_version (province_code, file_name, file_sha256, file_content, geojson,
                                             prefectures, counties, loaded_by)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (province, file_name, hashlib.sha256(data).hexdigest(), data, text,
             int((frame["level"] == 2).sum()), int((frame["level"] == 3).sum()),
             user["id"] if user else None)).fetchone()
        audit.record(conn, user, "boundaries.load", f"boundary_version:{row['id']}", None,
                     {"file": file_name, "prefectures": int((frame["level"] == 2).sum()),
                      "counties": int((frame["level"] == 3).sum())})
    return row["id"]


def reset_official(conn: psycopg.Connection, user: dict | None = None) -> int:
    """Take the official file out of force (back to the packaged boundaries); rows changed."""
    with conn.transaction():
        n = conn.execute("UPDATE boundary_version SET is_active = false WHERE province_code = %s AND is_active",
                         (province_code(conn),)).rowcount
        if n:
            audit.record(conn, user, "boundaries.reset", "boundary_version", None, {"packaged": True})
        return n


def versions(conn: psycopg.Connection) -> list[dict]:
    """Every official file loaded for the province, newest first."""
    return conn.execute(
        """SELECT b.id, b.file_name, b.file_sha256, b.prefectures, b.counties, b.is_active, b.loaded_at,
                  u.username AS loaded_by
           FROM boundary_version b LEFT JOIN app_user u ON u.id = b.loaded_by
           WHERE b.province_code = %s ORDER BY b.id DESC""", (province_code(conn),)).fetchall()


# --- web geometry -----------------------------------------------------------------------

def web_features(frame: gpd.GeoDataFrame, tolerance: float) -> list[dict]:
    """Features simplified as one coverage (neighbours keep shared edges), 3 decimals."""
    if frame.empty:
        return []
    geoms = frame.geometry.values
    try:
        simple = shapely.coverage_simplify(geoms, tolerance)
    except Exception:   # not a clean coverage (or an old GEOS): simplify each on its own
        simple = shapely.simplify(geoms, tolerance, preserve_topology=True)
    simple = shapely.set_precision(simple, 0.001)
    out = frame.drop(columns="geometry").copy()
    out = gpd.GeoDataFrame(out, geometry=simple, crs=frame.crs)
    return _feature_collection(out[~out.geometry.is_empty], 3)["features"]


def _feature_collection(frame: gpd.GeoDataFrame, digits: int) -> dict:
    features = []
    for record, geom in zip(frame.drop(columns="geometry").to_dict("records"), frame.geometry.values):
        geom = shapely.set_precision(geom, 10 ** -digits) if digits < 5 else geom
        geo = json.loads(shapely.to_geojson(geom, indent=None))
        features.append({"type": "Feature", "properties": {k: (int(v) if k == "level" else v) for k, v in record.items()},
                         "geometry": _round(geo, digits)})
    return {"type": "FeatureCollection", "features": features}


def _round(geo: dict, digits: int) -> dict:
    def walk(c):
        return [round(c[0], digits), round(c[1], digits)] if isinstance(c[0], (int, float)) else [walk(x) for x in c]
    return {"type": geo["type"], "coordinates": walk(geo["coordinates"])}


# --- hospitals and regions --------------------------------------------------------------

def hospital_points(conn: psycopg.Connection) -> gpd.GeoDataFrame:
    """Registered hospitals with coordinates, with their registered prefecture and county."""
    rows = conn.execute(
        """SELECT h.code, h.name, h.region_code, h.longitude::float AS lon, h.latitude::float AS lat,
                  CASE WHEN r.level = 3 THEN r.code END AS county_code,
                  coalesce(CASE WHEN r.level = 3 THEN r.parent_code WHEN r.level = 2 THEN r.code END,
                           substr(h.region_code, 1, 4) || '00') AS prefecture_code
           FROM hospital h LEFT JOIN region r ON r.code = h.region_code
           WHERE h.longitude IS NOT NULL AND h.latitude IS NOT NULL ORDER BY h.code""").fetchall()
    frame = pd.DataFrame(rows, columns=["code", "name", "region_code", "lon", "lat", "county_code", "prefecture_code"])
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")


def join_regions(points: gpd.GeoDataFrame, boundaries: Boundaries) -> gpd.GeoDataFrame:
    """Add point_prefecture and point_county: the regions each point falls in (spatial join)."""
    out = points.copy()
    for level, column in ((2, "point_prefecture"), (3, "point_county")):
        regions = boundaries.level(level)[["code", "geometry"]].rename(columns={"code": column})
        if regions.empty:
            out[column] = None
            continue
        joined = gpd.sjoin(points[["geometry"]], regions, how="left", predicate="within")
        joined = joined[~joined.index.duplicated(keep="first")]
        out[column] = joined[column].where(joined[column].notna(), None)
    return out


def location_mismatches(conn: psycopg.Connection, boundaries: Boundaries | None = None) -> list[dict]:
    """Hospitals whose coordinates fall outside their registered prefecture (or county)."""
    boundaries = boundaries or active_boundaries(conn)
    names = {r["code"]: r["name"] for r in conn.execute("SELECT code, name FROM region")}
    joined = join_regions(hospital_points(conn), boundaries)
    counties = set(boundaries.level(3)["code"])
    out = []
    for h in joined.itertuples():
        if h.point_prefecture != h.prefecture_code:
            registered, found = h.prefecture_code, h.point_prefecture
        elif h.county_code in counties and h.point_county != h.county_code:
            registered, found = h.county_code, h.point_county
        else:
            continue
        out.append({"code": h.code, "name": h.name, "longitude": h.lon, "latitude": h.lat,
                    "registered": registered, "registered_name": names.get(registered, registered),
                    "found": found, "found_name": names.get(found, found) if found else "不在本省任何区划内"})
    return out
