"""Bring the packaged boundaries' codes up to the current divisions (etl/reference/data/regions/).

ECharts 4.9.0 drew the divisions of about 2018. Where a division has since been recoded or
merged into another, its shape is given the current code (merged shapes are dissolved into
one) and every feature takes the current name from the packaged regions. Divisions created
since then by splitting (新疆's newest 兵团 cities, 山南市, 崇明区) have no shape here; an
official boundary file brings them. Run after scripts/convert_echarts_boundaries.py; running
it again changes nothing.

Usage:
    python scripts/update_boundary_codes.py [--boundaries etl/reference/data/boundaries]
"""
from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape

from convert_echarts_boundaries import DIGITS, polygonal

ROOT = Path(__file__).resolve().parent.parent
REGIONS = ROOT / "etl" / "reference" / "data" / "regions"
SLIVER = 1e-4
# Old code → current code, with the change that made it.
RECODE = {
    "371200": "370100",   # 莱芜市 merged into 济南市 (国函〔2019〕4号)
    "500228": "500155",   # 梁平县 → 梁平区 (2016)
    "500232": "500156",   # 武隆县 → 武隆区 (2016)
    "500105": "500157",   # 江北区 and 渝北区 → 两江新区 (渝府发〔2025〕15号; 渝北's five
    "500112": "500157",   #   northern towns went to 北碚区, which this shape cannot show)
    "542400": "540600",   # 那曲地区 → 那曲市 (2017)
    "652200": "650500",   # 哈密地区 → 哈密市 (2016)
}


def current_names(province: str) -> dict[str, str]:
    path = REGIONS / f"{province}.csv"
    if not path.exists():
        return {}
    with open(path, encoding="utf-8", newline="") as fh:
        return {r["code"]: r["name"] for r in csv.DictReader(fh)}


def dissolve(geoms: list):
    """One shape of several neighbours, without the slivers left between their old edges
    (each simplified on its own): holes under SLIVER square degrees (~1 km²) are filled."""
    union = polygonal(shapely.make_valid(shapely.set_precision(shapely.union_all(geoms), 10 ** -DIGITS)))
    polygons = [Polygon(p.exterior, [i for i in p.interiors if Polygon(i).area >= SLIVER])
                for p in getattr(union, "geoms", [union])]
    return polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)


def update(path: Path) -> list[str]:
    """Recode, dissolve and rename one province's file in place; what changed."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        collection = json.load(fh)
    names = current_names(path.name[:6])
    shapes: dict[str, list] = {}
    changes = []
    for f in collection["features"]:
        old = f["properties"]["code"]
        code = RECODE.get(old, old)
        if code != old:
            changes.append(f"{old} {f['properties']['name']} -> {code} {names.get(code, '?')}")
        shapes.setdefault(code, []).append((f["properties"]["name"], shape(f["geometry"])))
    features = []
    for code in sorted(shapes):
        parts = shapes[code]
        geom = parts[0][1] if len(parts) == 1 else dissolve([g for _, g in parts])
        name = names.get(code, parts[0][0])
        if name != parts[0][0] and len(parts) == 1 and code not in RECODE.values():
            changes.append(f"{code} renamed {parts[0][0]} -> {name}")
        features.append({"type": "Feature", "properties": {"code": code, "name": name}, "geometry": mapping(geom)})
    if changes:
        text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False,
                          separators=(",", ":"))
        with gzip.GzipFile(path, "wb", mtime=0) as fh:    # mtime=0: same input, same bytes
            fh.write(text.encode("utf-8"))
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boundaries", type=Path, default=ROOT / "etl" / "reference" / "data" / "boundaries")
    args = parser.parse_args(argv)
    for path in sorted(args.boundaries.glob("*.geojson.gz")):
        for change in update(path):
            print(f"{path.name[:6]}: {change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
