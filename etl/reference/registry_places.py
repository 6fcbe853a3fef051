"""Where a hospital is: the small map an admin fixes coordinates on (its province's prefectures,
its own one marked) and whether its point falls in its registered prefecture."""
from __future__ import annotations

import psycopg
import shapely

from etl.reference.geography import active_boundaries


def _prefecture_of(conn, region_code: str) -> str | None:
    row = conn.execute("SELECT prefecture_of(%s) AS code", (region_code,)).fetchone()
    return row["code"] if row else None


def map_data(conn: psycopg.Connection, hospital: dict | None) -> dict:
    """What the coordinate map draws: the prefectures (simplified GeoJSON features), the
    hospital's registered prefecture code, and its point (lon, lat or None)."""
    boundaries = active_boundaries(conn)
    point = None
    if hospital and hospital.get("longitude") is not None and hospital.get("latitude") is not None:
        point = [float(hospital["longitude"]), float(hospital["latitude"])]
    prefecture = _prefecture_of(conn, hospital["region_code"]) if hospital and hospital.get("region_code") else None
    return {"features": boundaries.web_features(2), "prefecture": prefecture, "point": point}


def misplaced(conn: psycopg.Connection, hospital: dict) -> str | None:
    """A Chinese sentence when the hospital's point lies outside its registered prefecture
    (naming where it lies), else None; None too when it has no point or the boundaries lack
    its prefecture."""
    if hospital.get("longitude") is None or hospital.get("latitude") is None:
        return None
    frame = active_boundaries(conn).level(2)
    prefecture = _prefecture_of(conn, hospital["region_code"])
    own = frame[frame["code"] == prefecture]
    if own.empty:
        return None
    point = shapely.Point(float(hospital["longitude"]), float(hospital["latitude"]))
    if own.geometry.iloc[0].covers(point):
        return None
    inside = frame[frame.geometry.covers(point)]
    where = inside["name"].iloc[0] if not inside.empty else "本省任何地市之外"
    return f"坐标（经度 {hospital['longitude']}，纬度 {hospital['latitude']}）位于{where}，" \
           f"不在登记的{own['name'].iloc[0]}内，请在地图上点选正确位置"
