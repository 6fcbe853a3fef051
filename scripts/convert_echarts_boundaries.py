"""Convert Apache ECharts 4.9.0's province maps into the packaged boundaries (etl/reference/data/boundaries/).

ECharts ships `map/json/province/<pinyin>.json`: one feature per prefecture (for the four
municipalities, per district) whose `id` is the 6-digit region code, with coordinates
zigzag- and delta-encoded as characters (per-ring `encodeOffsets`, scale 1024). This script
decodes them, repairs the rings with shapely's `make_valid`, simplifies lightly, and writes
one gzipped GeoJSON per province, named by the province code (e.g. 510000.geojson.gz).

Usage (the tarball is fetched into a temporary folder and never committed):
    cd "$(mktemp -d)" && npm pack echarts@4.9.0 && tar xzf echarts-4.9.0.tgz
    python scripts/convert_echarts_boundaries.py "$PWD/package" [--out etl/reference/data/boundaries]
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping

ROOT = Path(__file__).resolve().parent.parent
# Tolerance in degrees (~200 m) for the packaged copy; the web page simplifies further.
TOLERANCE = 0.002
DIGITS = 4


def decode_ring(encoded: str, offsets: list[int], scale: float) -> list[tuple[float, float]]:
    """Decode one zigzag/delta-encoded ring into (lon, lat) pairs."""
    x_prev, y_prev = offsets
    points = []
    for i in range(0, len(encoded) - 1, 2):
        x = ord(encoded[i]) - 64
        y = ord(encoded[i + 1]) - 64
        x = (x >> 1) ^ (-(x & 1))
        y = (y >> 1) ^ (-(y & 1))
        x_prev += x
        y_prev += y
        points.append((x_prev / scale, y_prev / scale))
    return points


def decode_geometry(geometry: dict, scale: float):
    """A shapely (Multi)Polygon from an encoded ECharts geometry, made valid."""
    offsets = geometry["encodeOffsets"]
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]]
    polygon_offsets = offsets if geometry["type"] == "MultiPolygon" else [offsets]
    parts = []
    for rings, ring_offsets in zip(polygons, polygon_offsets):
        decoded = [decode_ring(r, o, scale) for r, o in zip(rings, ring_offsets)]
        decoded = [r for r in decoded if len(r) >= 3]
        if decoded:
            parts.append(Polygon(decoded[0], decoded[1:]))
    geom = shapely.make_valid(MultiPolygon(parts) if len(parts) > 1 else parts[0])
    return polygonal(geom)


def polygonal(geom):
    """Keep only the polygonal parts of a geometry (make_valid may add lines or points)."""
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    flat = [p for g in polys for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    return MultiPolygon(flat) if len(flat) > 1 else (flat[0] if flat else None)


def convert_file(path: Path) -> tuple[str, dict]:
    """(province code, GeoJSON FeatureCollection) for one ECharts province file."""
    body = json.loads(path.read_text(encoding="utf-8"))
    scale = body.get("UTF8Scale") or 1024
    features = []
    for f in body["features"]:
        code = str(f.get("id") or f["properties"].get("adcode") or "")
        if len(code) != 6 or not code.isdigit():
            continue
        geom = decode_geometry(f["geometry"], scale) if body.get("UTF8Encoding") else \
            shapely.make_valid(shapely.geometry.shape(f["geometry"]))
        geom = polygonal(geom)
        if geom is None or geom.is_empty:
            continue
        geom = polygonal(shapely.make_valid(shapely.set_precision(
            geom.simplify(TOLERANCE, preserve_topology=True), 10 ** -DIGITS)))
        if geom is None or geom.is_empty:
            continue
        features.append({"type": "Feature", "properties": {"code": code, "name": f["properties"].get("name", "")},
                         "geometry": mapping(geom)})
    if not features:
        raise ValueError(f"{path.name}: no feature with a 6-digit region code")
    province = features[0]["properties"]["code"][:2] + "0000"
    features.sort(key=lambda f: f["properties"]["code"])
    return province, {"type": "FeatureCollection", "features": features}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", type=Path, help="the unpacked npm package folder (…/package)")
    parser.add_argument("--out", type=Path, default=ROOT / "etl" / "reference" / "data" / "boundaries")
    args = parser.parse_args(argv)
    folder = args.package / "map" / "json" / "province"
    if not folder.is_dir():
        print(f"not found: {folder}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for path in sorted(folder.glob("*.json")):
        try:
            province, collection = convert_file(path)
        except ValueError as exc:   # taiwan.json carries names only, no region codes
            print(f"skipped {exc}")
            continue
        text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
        target = args.out / f"{province}.geojson.gz"
        # mtime=0: the same input gives byte-identical output.
        with gzip.GzipFile(target, "wb", mtime=0) as fh:
            fh.write(text.encode("utf-8"))
        total += target.stat().st_size
        print(f"{path.name:18} -> {target.name}  {len(collection['features'])} regions, {target.stat().st_size:,} bytes")
    print(f"total {total:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
