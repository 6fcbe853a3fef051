"""Official boundary files written in code, for the geography and map tests (a helper module)."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from etl.reference import geography

LESHAN, LESHAN_CITY = "511100", "511102"     # 乐山市, 市中区 (the factories' county)


def official_frame(with_county: bool = True, crs: str = "EPSG:4326") -> gpd.GeoDataFrame:
    """Sichuan's prefectures as an 'official' file, plus 市中区 as a county around the factories' point."""
    frame = geography.packaged_boundaries("510000")[["code", "geometry"]].rename(columns={"code": "区划代码"})
    if with_county:
        county = gpd.GeoDataFrame({"区划代码": [LESHAN_CITY]}, geometry=[box(103.70, 29.50, 103.82, 29.60)],
                                  crs="EPSG:4326")
        frame = gpd.GeoDataFrame(pd.concat([frame, county], ignore_index=True), crs="EPSG:4326")
    return frame.to_crs(crs)


def geojson_bytes(frame: gpd.GeoDataFrame) -> bytes:
    return frame.to_json().encode("utf-8")
