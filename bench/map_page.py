"""Map benchmark: the map page for 1,500 synthetic hospitals and a province's counties.

Builds a temporary embedded database with Sichuan's regions, synthetic county boundaries
(Voronoi cells inside each packaged prefecture, loaded as an official file), 1,500
hospitals with ratings and drivers, then times the server-side render of /map/ and
measures the page. Usage: python -m bench.map_page [--hospitals N] [--runs N]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

PERIOD = "2026-10"


def synthetic_counties(regions: list[dict], rng: random.Random):
    """County polygons: Voronoi cells of random seeds inside each packaged prefecture."""
    import geopandas as gpd
    import shapely
    from shapely.geometry import MultiPoint, Point

    from etl import geography
    prefectures = geography.packaged_boundaries("510000").set_index("code").geometry
    codes, cells = [], []
    for pref, geom in prefectures.items():
        counties = [r["code"] for r in regions if r["parent_code"] == pref]
        west, south, east, north = geom.bounds
        seeds = []
        while len(seeds) < len(counties):
            p = Point(rng.uniform(west, east), rng.uniform(south, north))
            if geom.contains(p):
                seeds.append(p)
        parts = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=geom.envelope).geoms
        for seed, code in zip(seeds, counties):
            cell = next(c for c in parts if c.contains(seed))
            codes.append(code)
            cells.append(shapely.make_valid(_wiggle(cell).intersection(geom)))
    return gpd.GeoDataFrame({"code": codes}, geometry=cells, crs="EPSG:4326")


def _wiggle(cell):
    """Straight Voronoi edges made as crooked as real county lines (a function of position,
    so neighbours still share their edges)."""
    import numpy as np
    import shapely

    def shift(xy):
        x, y = xy[:, 0], xy[:, 1]
        return np.column_stack([x + 0.012 * np.sin(y * 37) + 0.004 * np.sin(y * 211 + x * 97),
                                y + 0.012 * np.cos(x * 41) + 0.004 * np.cos(x * 223 + y * 89)])
    return shapely.make_valid(shapely.transform(shapely.segmentize(cell, 0.004), shift))


def populate(conn, hospitals: int, counties, rng: random.Random) -> None:
    """Hospitals in random counties with ratings (10 % red, 15 % yellow) and their drivers."""
    from shapely.geometry import Point

    from config import Base
    from etl.codes import with_check_char
    from etl.scoring import active_thresholds
    tv = active_thresholds(conn, Path(Base.RISK_THRESHOLDS_FILE))["id"]
    cells = list(zip(counties["code"], counties.geometry))
    drivers = {"deficit": [("deficit_months", 8), ("surplus_rate_ytd", "-0.09")],
               "debt": [("debt_ratio", "0.74"), ("cash_days", 21)],
               "wages": [("wage_arrears_months", 3), ("wage_arrears", 2_500_000)]}
    with conn.transaction():
        conn.execute("INSERT INTO period (period, deadline) VALUES (%s, '2026-11-10')", (PERIOD,))
        for n in range(hospitals):
            county, geom = cells[n % len(cells)]
            west, south, east, north = geom.bounds
            while not geom.contains(p := Point(rng.uniform(west, east), rng.uniform(south, north))):
                pass
            code = with_check_char(f"12{county}{n:08d}"[:16] + "B")
            conn.execute("""INSERT INTO hospital (code, name, level, category, affiliation, region_code,
                                                  longitude, latitude, beds)
                            VALUES (%s, %s, '二级甲等', '综合医院', '县属', %s, %s, %s, %s)""",
                         (code, f"基准测试第{n}人民医院", county, round(p.x, 6), round(p.y, 6), rng.randint(50, 3000)))
            x = rng.random()
            if x < 0.02:
                conn.execute("""INSERT INTO rating (hospital_code, period, rating, deficit, debt, wages, provisional,
                                threshold_version_id) VALUES (%s, %s, 'missing', 'missing', 'missing', 'missing', false, %s)""",
                             (code, PERIOD, tv))
                continue
            rid = conn.execute(
                """INSERT INTO return (hospital_code, period, version, file_name, file_sha256, file_size, file_content,
                                       amount_unit, template_version, filled_by, phone)
                   VALUES (%s, %s, 1, 'x.xlsx', %s, 0, '', '元', '2026.1', '王会计', '028-86001234') RETURNING id""",
                (code, PERIOD, hashlib.sha256(code.encode()).hexdigest())).fetchone()["id"]
            colour = "red" if x < 0.12 else "yellow" if x < 0.27 else "green"
            domains = {d: "green" for d in drivers}
            if colour != "green":
                bad = rng.sample(sorted(drivers), rng.randint(1, 2))
                for d in bad:
                    domains[d] = colour
                    for indicator, value in drivers[d]:
                        conn.execute("""INSERT INTO indicator_value (hospital_code, period, indicator, return_id, value, rating)
                                        VALUES (%s, %s, %s, %s, %s, %s)""", (code, PERIOD, indicator, rid, value, colour))
            conn.execute("""INSERT INTO rating (hospital_code, period, return_id, rating, deficit, debt, wages,
                            provisional, threshold_version_id) VALUES (%s, %s, %s, %s, %s, %s, %s, false, %s)""",
                         (code, PERIOD, rid, colour, domains["deficit"], domains["debt"], domains["wages"], tv))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hospitals", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from app import create_app
    from app.db import get_conn, upgrade
    from app.users import create_user
    from etl import geography, registry
    from etl.demo_province import load_regions

    rng = random.Random(6)
    tmp = Path(tempfile.mkdtemp(prefix="hemon-bench-map-"))
    app = create_app({"INSTANCE_DIR": str(tmp / "instance"), "SECRET_KEY": "bench"}, env="testing")
    results = {"hospitals": args.hospitals}
    with app.app_context():
        conn = get_conn()
        upgrade(conn)
        regions = load_regions()
        registry.load_regions(conn, regions)
        counties = synthetic_counties(regions, rng)
        official = tmp / "counties.geojson"
        official.write_text(counties.to_json(), encoding="utf-8")
        results["official_file_bytes"] = official.stat().st_size
        start = time.perf_counter()
        geography.load_official(conn, official.read_bytes(), official.name)
        results["load_official_s"] = time.perf_counter() - start
        results["counties"] = len(counties)
        active = geography.active_boundaries(conn)
        for level, name in ((2, "prefecture"), (3, "county")):
            features = active.web_features(level)
            results[f"{name}_polygons"] = len(features)
            results[f"{name}_web_bytes"] = sum(len(json.dumps(f["geometry"], separators=(",", ":"))) for f in features)
        populate(conn, args.hospitals, counties, rng)
        create_user(conn, "bench", "bench-password-1", "reviewer")
    client = app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"username": "bench", "password": "bench-password-1", "csrf_token": token})
    timings = []
    for i in range(args.runs + 1):
        start = time.perf_counter()
        response = client.get(f"/map/?period={PERIOD}")
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    body = response.data
    results["first_render_s"] = timings[0]                 # includes simplifying the boundaries once
    results["render_median_s"] = statistics.median(timings[1:])
    results["render_max_s"] = max(timings[1:])
    results["page_bytes"] = len(body)
    results["page_mb"] = round(len(body) / 1_000_000, 3)
    results["markers"] = int(re.search(rb'data-markers="(\d+)"', body).group(1))
    start = time.perf_counter()
    share = client.get(f"/map/?period={PERIOD}&mode=share&domain=debt&show=red_yellow")
    results["share_red_yellow_render_s"] = time.perf_counter() - start
    results["share_red_yellow_page_bytes"] = len(share.data)
    app.extensions["hemon_db"].close()
    for k, v in list(results.items()):
        if k.endswith("_s"):
            results[k] = round(v, 3)
    results["under_1_5_mb"] = results["page_bytes"] < 1_500_000
    results["under_1_s"] = results["render_max_s"] < 1.0
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
