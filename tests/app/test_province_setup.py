"""A province other than Sichuan from an empty database (issue 16): init-province 370000, a
Shandong registry, a mapping and returns give ratings, a map of Shandong's prefectures and a
bulletin titled for Shandong; what is refused on the way; the admin's first-run checklist."""
from __future__ import annotations

import json
import re

import pytest

from app.deployment import first_start
from etl.common.errors import InputRejected
from etl.reference import province
from etl.reference.accounts import create_user
from etl.returns import intake
from reports.bulletin import archive
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_mapping,
    write_registry,
)

PASSWORD = "password-123"
# 济南 历下区, 青岛 市南区, 烟台 芝罘区, 临沂 兰山区: (county, longitude, latitude, surplus)
SHANDONG = {1: ("370102", 117.03, 36.66, 150_000), 2: ("370202", 120.38, 36.07, -3_000_000),
            3: ("370602", 121.39, 37.54, 150_000), 4: ("371302", 118.35, 35.05, None)}


def _code(n: int) -> str:
    return hospital_code(n, SHANDONG[n][0])


def _rows() -> list[dict]:
    return [hospital_row(n, county=c, 经度=lon, 纬度=lat) for n, (c, lon, lat, _) in SHANDONG.items()]


def _regions(html: str) -> list[dict]:
    return [json.loads(m) for m in re.findall(r'_d = (\{"features":.+?\});\s*$', html, re.M)]


@pytest.fixture()
def shandong(app, runner, empty_db, tmp_path):
    """An empty database taken through the README's steps for Shandong, returns for 2026-10."""
    result = runner.invoke(args=["init-province", "370000"])
    assert result.exit_code == 0, result.output
    assert "已初始化为山东省（370000），导入行政区划 153 个" in result.output
    result = runner.invoke(args=["load-hospitals", str(write_registry(tmp_path / "shandong.xlsx", _rows()))])
    assert result.exit_code == 0 and "已导入 4 家医疗机构" in result.output, result.output
    result = runner.invoke(args=["load-mapping", str(write_mapping(tmp_path / "mapping.xlsx")),
                                 "--version", "山东口径2026", "--effective", "2026-01"])
    assert result.exit_code == 0, result.output
    settings = intake.IntakeSettings.from_config(app.config)
    for n, (_, _, _, surplus) in SHANDONG.items():
        if surplus is not None:
            d = draft(_code(n), name=f"测试康宁医院{n}", surplus=surplus)
            outcome = intake.ingest_file(empty_db, write_draft(tmp_path, d), settings)
            assert outcome.status == "accepted", outcome.findings
    for role in ("admin", "leader"):
        create_user(empty_db, role, PASSWORD, role)
    return empty_db


def test_shandong_from_an_empty_database_to_ratings_map_and_bulletin(client, auth, shandong):
    ratings = {r["hospital_code"]: r["rating"] for r in shandong.execute(
        "SELECT hospital_code, rating FROM rating WHERE period = '2026-10'")}
    assert ratings == {_code(1): "yellow", _code(2): "red", _code(3): "yellow", _code(4): "missing"}

    auth.login("admin")
    html = client.get("/map/?period=2026-10").get_data(as_text=True)
    names = {f["properties"]["code"]: f["properties"]["name"] for f in _regions(html)[0]["features"]}
    assert len(names) == 16 and names["370100"] == "济南市" and names["370200"] == "青岛市"
    assert "成都市" not in html and "四川" not in html and "莱芜市" not in html
    qingdao = next(f for f in _regions(html)[0]["features"] if f["properties"]["code"] == "370200")
    assert qingdao["properties"]["counts"][0] == 1                    # its red hospital
    assert "<title>" in html and "· 山东省公立医院经济运行监测平台</title>" in html
    assert '<a class="brand" href="/">山东省公立医院经济运行监测平台</a>' in html
    home = client.get("/?period=2026-10").get_data(as_text=True)
    assert "演示数据" not in home and "四川" not in home

    bulletin = archive.publish(shandong, "2026-10", trigger="manual")
    assert bulletin["snapshot"]["title"] == "山东省公立医院经济运行监测月报"
    text = json.dumps(bulletin["snapshot"], ensure_ascii=False)
    assert "济南市" in text and "青岛市" in text and "四川" not in text and "成都" not in text
    auth.logout()
    auth.login("leader")
    page = client.get(f"/bulletins/{bulletin['id']}").get_data(as_text=True)
    assert "山东省公立医院经济运行监测月报" in page and "四川" not in page


def test_a_registry_row_in_a_sichuan_county_is_refused_with_its_code(runner, shandong, tmp_path):
    rows = _rows() + [hospital_row(9, county="510104")]
    result = runner.invoke(args=["load-hospitals", str(write_registry(tmp_path / "bad.xlsx", rows))])
    assert result.exit_code == 1
    assert "第6行: 行政区划代码 510104 不属于山东省" in result.output
    assert shandong.execute("SELECT count(*) AS n FROM hospital").fetchone()["n"] == 4


def test_init_province_refuses_a_second_province_and_repeats_harmlessly(runner, shandong):
    before = shandong.execute("SELECT count(*) AS n FROM region").fetchone()["n"]
    result = runner.invoke(args=["init-province", "510000"])
    assert result.exit_code == 1
    assert "错误：本数据库已初始化为山东省（370000），不能再初始化为四川省（510000）" in result.output
    assert shandong.execute("SELECT count(*) AS n FROM region").fetchone()["n"] == before
    assert province.current(shandong) == {"code": "370000", "name": "山东省"}
    again = runner.invoke(args=["init-province", "370000"])
    assert again.exit_code == 0 and "本数据库已是山东省（370000）" in again.output
    unknown = runner.invoke(args=["init-province", "379999"])
    assert unknown.exit_code == 1 and "未知的省份代码“379999”" in unknown.output


def test_first_start_with_hemon_province(empty_db):
    assert first_start(empty_db, 370000) == "已初始化为山东省（370000），导入行政区划 153 个"   # as the env gives it
    assert first_start(empty_db, "370000") is None
    with pytest.raises(InputRejected, match="不能再初始化为四川省"):
        first_start(empty_db, "510000")


def test_before_init_province_the_pages_say_so(client, auth, empty_db, runner, tmp_path):
    create_user(empty_db, "admin", PASSWORD, "admin")
    auth.login("admin")
    page = client.get("/map/boundaries")
    text = page.get_data(as_text=True)
    assert page.status_code == 503 and "尚未初始化省份，请运行 init-province" in text and "四川" not in text
    result = runner.invoke(args=["load-hospitals", str(write_registry(tmp_path / "r.xlsx", _rows()))])
    assert result.exit_code == 1 and "尚未初始化省份" in result.output
    home = client.get("/").get_data(as_text=True)
    steps = dict(re.findall(r'data-step="(\w+)" data-done="(\w+)"', home))
    assert steps == {"province": "no", "hospitals": "no", "mapping": "no", "admin": "yes", "accounts": "no",
                     "periods": "no"}
    assert "flask --app wsgi init-province 省份代码" in home
    assert '<a class="brand" href="/">公立医院经济运行监测平台</a>' in home


def test_the_checklist_follows_the_setup_and_goes_once_done(client, auth, shandong):
    auth.login("admin")
    home = client.get("/").get_data(as_text=True)
    steps = dict(re.findall(r'data-step="(\w+)" data-done="(\w+)"', home))
    assert steps == {"province": "yes", "hospitals": "yes", "mapping": "yes", "admin": "yes", "accounts": "no",
                     "periods": "yes"}
    assert "山东省：16 个地市级、136 个县级区划" in home and "create-hospital-users" in home
    for n in SHANDONG:
        create_user(shandong, f"h{n}", PASSWORD, "hospital", _code(n))
    assert "data-step=" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_checklist_reads_on_a_desktop_and_a_phone(request, empty_db, live_server, size, screenshot):
    province.initialise(empty_db, "370000")
    create_user(empty_db, "admin", PASSWORD, "admin")
    page = request.getfixturevalue("page" if size == "desktop" else "phone")
    page.goto(live_server + "/auth/login")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("section.checklist")
    assert page.title().endswith("· 山东省公立医院经济运行监测平台")
    steps = page.locator("section.checklist li")
    assert steps.count() == 6
    assert steps.nth(0).get_attribute("data-done") == "yes" and "✓" in steps.nth(0).inner_text()
    assert steps.nth(1).get_attribute("data-done") == "no" and "load-hospitals" in steps.nth(1).inner_text()
    # Long commands wrap: the checklist stays within the screen.
    box = page.locator("section.checklist").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= page.viewport_size["width"]
    screenshot(page, size)


def test_init_province_is_a_first_command_on_a_database_with_no_schema(blank_database_url, tmp_path):
    """The README's first step works on a brand-new database: the schema comes first."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMON_") and k != "DATABASE_URL"}
    env.update({"HEMON_ENV": "testing", "DATABASE_URL": blank_database_url,
                "HEMON_INSTANCE_DIR": str(tmp_path / "instance"), "HEMON_SECRET_KEY": "test-blank"})
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "init-province", "370000"],
                          cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "已初始化为山东省（370000）" in done.stdout and "Traceback" not in done.stderr
