"""The red/yellow/green map: who sees it, what it holds, boundaries replaced and back."""
from __future__ import annotations

import io
import json
import re

import pytest

from etl.demo.province import load_regions
from etl.reference import registry
from etl.reference.accounts import create_user
from etl.returns import intake
from tests.boundaries import LESHAN_CITY, geojson_bytes, official_frame
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)

PASSWORD = "password-123"


def _payload(html: str) -> dict:
    """The hospital layer's data as embedded in the page."""
    return json.loads(re.search(r', (\{"rows":.+?\})\);\s*$', html, re.M).group(1))


def _regions(html: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(r'_d = (\{"features":.+?\});\s*$', html, re.M)]


@pytest.fixture()
def province(app, conn, tmp_path):
    """Sichuan's regions; three hospitals in 乐山市中区: yellow (cash days), red (deficit), no return."""
    registry.load_regions(conn, load_regions())
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [
        hospital_row(1, 编制床位=100), hospital_row(2, 编制床位=2000), hospital_row(3)]))
    settings = intake.IntakeSettings.from_config(app.config)
    for n, surplus in ((1, 150_000), (2, -3_000_000)):
        result = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(n), surplus=surplus)), settings)
        assert result.status == "accepted", result.findings
    for role in ("reviewer", "admin", "leader"):
        create_user(conn, role, PASSWORD, role)
    create_user(conn, "hosp", PASSWORD, "hospital", hospital_code(1))
    return conn


@pytest.mark.parametrize("role, status", [("reviewer", 200), ("admin", 200), ("leader", 200), ("hosp", 403)])
def test_only_province_roles_see_the_map(client, auth, province, role, status):
    auth.login(role)
    assert client.get("/map/").status_code == status
    assert client.get("/map/regions/511100").status_code == status
    assert client.get("/map/boundaries").status_code == (200 if role == "admin" else 403)


def test_anonymous_users_are_sent_to_login(client, province):
    response = client.get("/map/")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_map_holds_coloured_markers_regions_and_works_offline(client, auth, province):
    auth.login("reviewer")
    html = client.get("/map/?period=2026-10").get_data(as_text=True)
    data = _payload(html)
    by_code = {r[5]: r for r in data["rows"]}
    assert set(by_code) == {hospital_code(1), hospital_code(2), hospital_code(3)}
    assert by_code[hospital_code(2)][2] == "red" and by_code[hospital_code(2)][8] == "red"
    assert by_code[hospital_code(1)][2] == "yellow" and by_code[hospital_code(3)][2] == "missing"
    assert by_code[hospital_code(2)][3] > by_code[hospital_code(1)][3]          # sized by beds
    assert any("阈值" in text for text in by_code[hospital_code(2)][11])        # the drivers behind red
    assert data["hospitalUrl"].endswith("/__CODE__?period=2026-10")      # the popup keeps the month
    prefectures = _regions(html)[0]["features"]
    assert len(prefectures) == 21
    leshan = next(f for f in prefectures if f["properties"]["code"] == "511100")
    assert leshan["properties"]["counts"] == [1, 1, 0, 1] and leshan["properties"]["fill"] == "#d64545"
    assert "/map/regions/__CODE__" in _regions(html)[0]["regionUrl"]
    # Everything the page loads comes from this server: no CDN, no tile server.
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in html and "tile" not in html.lower().replace("title", "")
    assert "内置示意边界" in html and "区县" not in html.split("L.control.layers")[1][:300]
    # A metric-only scale (folium's own has miles) and no "Leaflet" prefix with its flag.
    assert "L.control.scale({imperial: false})" in html and "L.control.scale()" not in html
    assert ".attributionControl.setPrefix(false)" in html


def test_filter_domain_and_share_switches(client, auth, province):
    auth.login("reviewer")
    red = _payload(client.get("/map/?show=red").get_data(as_text=True))["rows"]
    assert [r[5] for r in red] == [hospital_code(2)]
    wages = _payload(client.get("/map/?domain=wages").get_data(as_text=True))["rows"]
    assert {r[5]: r[2] for r in wages}[hospital_code(2)] == "green"
    html = client.get("/map/?mode=share").get_data(as_text=True)
    leshan = next(f for f in _regions(html)[0]["features"] if f["properties"]["code"] == "511100")
    assert leshan["properties"]["share"] == "100%" and leshan["properties"]["fill"] == "#a63603"
    assert "风险医院占比" in html
    # Unknown choices fall back to the defaults; a malformed period is a 400 in Chinese, never a traceback.
    assert client.get("/map/?domain=nonsense&show=x&mode=y").status_code == 200
    assert client.get("/map/?period=2026-13x").status_code == 400


def test_region_page_lists_its_hospitals(client, auth, province):
    auth.login("leader")
    page = client.get("/map/regions/511100?period=2026-10").get_data(as_text=True)
    assert page.count("data-hospital=") == 3 and "乐山市" in page
    county = client.get(f"/map/regions/{LESHAN_CITY}").get_data(as_text=True)
    assert county.count("data-hospital=") == 3
    assert client.get("/map/regions/510100").get_data(as_text=True).count("data-hospital=") == 0
    assert client.get("/map/regions/999999").status_code == 404


def _upload(client, auth, data: bytes, name: str):
    return client.post("/map/boundaries", data={"csrf_token": auth.csrf("/map/boundaries"),
                                                "file": (io.BytesIO(data), name)}, follow_redirects=True)


def test_admin_replaces_boundaries_and_goes_back(client, auth, province):
    auth.login("admin")
    bad = _upload(client, auth, b'{"type": "FeatureCollection", "features": []}', "empty.geojson")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "边界文件未采用" in text and 'data-source="packaged"' in text
    assert province.execute("SELECT count(*) AS n FROM boundary_version").fetchone()["n"] == 0

    good = _upload(client, auth, geojson_bytes(official_frame()), "official.geojson")
    assert "已采用官方边界文件 official.geojson" in good.get_data(as_text=True)
    html = client.get("/map/").get_data(as_text=True)
    layers = _regions(html)
    assert len(layers) == 2 and [f["properties"]["code"] for f in layers[1]["features"]] == [LESHAN_CITY]
    assert "官方边界：official.geojson" in html and "内置示意边界" not in html

    wrong = _upload(client, auth, geojson_bytes(official_frame(False).query("区划代码 != '510100'")), "part.geojson")
    assert "缺少 1 个地市的边界：成都市（510100）" in wrong.get_data(as_text=True)
    assert "官方边界：official.geojson" in client.get("/map/").get_data(as_text=True)

    reset = client.post("/map/boundaries/reset", data={"csrf_token": auth.csrf("/map/boundaries")},
                        follow_redirects=True)
    assert "已恢复内置边界" in reset.get_data(as_text=True)
    assert len(_regions(client.get("/map/").get_data(as_text=True))) == 1


def test_reviewers_cannot_replace_boundaries(client, auth, province):
    auth.login("reviewer")
    response = client.post("/map/boundaries", data={"csrf_token": auth.csrf("/map/"),
                                                    "file": (io.BytesIO(b"{}"), "x.geojson")})
    assert response.status_code == 403


def test_boundary_commands(runner, province, tmp_path):
    good, bad = tmp_path / "official.geojson", tmp_path / "bad.geojson"
    good.write_bytes(geojson_bytes(official_frame()))
    bad.write_text("not json", encoding="utf-8")
    result = runner.invoke(args=["load-boundaries", str(bad)])
    assert result.exit_code == 1 and "无法读取" in result.output and "Traceback" not in result.output
    result = runner.invoke(args=["load-boundaries", str(good)])
    assert result.exit_code == 0 and "已采用官方边界文件" in result.output
    assert runner.invoke(args=["reset-boundaries"]).output.strip() == "已恢复内置边界"
    assert province.execute("SELECT count(*) AS n FROM boundary_version WHERE is_active").fetchone()["n"] == 0


def test_admin_sees_hospitals_outside_their_region(client, auth, province, tmp_path):
    registry.load_hospitals(province, write_registry(tmp_path / "more.xlsx", [hospital_row(4, 经度=104.06, 纬度=30.67)]))
    auth.login("admin")
    assert "有 1 家医院的坐标不在其登记的行政区划内" in client.get("/map/").get_data(as_text=True)
    page = client.get("/map/boundaries").get_data(as_text=True)
    assert f'data-hospital="{hospital_code(4)}"' in page and "成都市" in page


# --- the demo province --------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo_client(demo_app):
    client = demo_app.test_client()
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"username": "reviewer", "password": "demo-review-2026", "csrf_token": token})
    return client


def test_demo_map_shows_all_three_colours_and_stays_small(demo_client):
    response = demo_client.get("/map/")
    html = response.get_data(as_text=True)
    colours = {r[2] for r in _payload(html)["rows"]}
    assert {"red", "yellow", "green"} <= colours
    assert len(_payload(html)["rows"]) == 136
    assert len(response.data) < 1_500_000
    fills = {f["properties"]["fill"] for f in _regions(html)[0]["features"]}
    assert {"#d64545", "#2f9e44"} <= fills


def test_browser_opens_a_popup_and_follows_its_link(demo_app, demo_live_server, browser):
    base = demo_live_server
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    outside = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(base) else None)
    try:
        page.goto(base + "/auth/login?next=/map/")
        page.fill("input[name=username]", "reviewer")
        page.fill("input[name=password]", "demo-review-2026")
        page.click("button[type=submit]")
        page.wait_for_selector("path.hospital-marker")
        assert page.locator("path.hospital-marker").count() == 136
        assert page.locator("path.hospital-marker.rating-red").count() > 0
        assert page.locator(".leaflet-control-layers-overlays label").count() == 2
        scales = page.locator(".leaflet-control-scale-line")
        assert scales.count() == 1 and re.search(r"^\d+ (m|km)$", scales.inner_text())
        assert "Leaflet" not in page.locator(".leaflet-control-attribution").inner_text()
        assert page.locator(".leaflet-control-attribution a, .leaflet-attribution-flag").count() == 0
        page.locator("path.hospital-marker.rating-red").first.click(force=True)
        popup = page.wait_for_selector(".hospital-popup")
        assert "红色" in popup.inner_text() and "阈值" in popup.inner_text()
        link = page.locator(".hospital-popup a.detail-link")
        href = link.get_attribute("href")
        assert re.fullmatch(r"/hospitals/[0-9A-Z]{18}\?period=\d{4}-\d\d", href)    # the month goes along
        with page.expect_navigation() as nav:
            link.click()
        assert page.url == f"{base}{href}"
        if "hospitals.detail" in demo_app.view_functions:
            assert nav.value.status == 200
        assert not outside
    finally:
        context.close()
