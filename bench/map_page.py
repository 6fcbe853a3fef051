"""Map page: /map/ for the bench province's hospitals (1,500 by default) with county
boundaries, rendered in process; its time and size.

The province's counties are synthetic (Voronoi cells inside each packaged prefecture, made
as crooked as real county lines), loaded as the commission's official file, so the map
draws both layers as a province with official boundaries would.
"""
from __future__ import annotations

import random
import re
import statistics
import time


def synthetic_counties(regions: list[dict], rng: random.Random):
    """County polygons: Voronoi cells of random seeds inside each packaged prefecture."""
    import geopandas as gpd
    import shapely
    from shapely.geometry import MultiPoint, Point

    from etl.reference import geography
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


def login(client, username: str, password: str) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/auth/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.status_code


def run(province, runs: int = 5) -> dict:
    """Render /map/ for the newest month `runs` times in process (first render apart: it
    simplifies the boundaries once per process) and measure the page."""
    from bench.users import reviewer

    period = province.last
    username, password = reviewer(province)
    client = province.app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"      # production cookies are Secure
    login(client, username, password)
    results = {"hospitals": len(province.hospitals), "period": period}
    with province.connect() as conn:
        from etl.reference import geography
        active = geography.active_boundaries(conn)
        for level, name in ((2, "prefecture"), (3, "county")):
            features = active.web_features(level)
            results[f"{name}_polygons"] = len(features)
    timings = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        response = client.get(f"/map/?period={period}")
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    body = response.data
    results["first_render_s"] = timings[0]
    results["render_median_s"] = statistics.median(timings[1:])
    results["render_max_s"] = max(timings[1:])
    results["page_bytes"] = len(body)
    results["markers"] = int(re.search(rb'data-markers="(\d+)"', body).group(1))
    start = time.perf_counter()
    share = client.get(f"/map/?period={period}&mode=share&domain=debt&show=red_yellow")
    results["share_red_yellow_render_s"] = time.perf_counter() - start
    results["share_red_yellow_page_bytes"] = len(share.data)
    return results
