"""The prefecture tier (issue 18): a 成都市 user sees exactly 成都's hospitals on every page,
another prefecture's ids answer 404, and the monthly run makes a bulletin per prefecture."""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from app import scheduler
from etl.attribution import mapping
from etl.filing import periods
from etl.reference import registry
from etl.reference.accounts import create_user
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_mapping,
    write_registry,
)

PERIOD = "2026-10"
# 成都市: 1 and 2 in 锦江区, 5 in 青羊区; 乐山市: 3 and 4 in 市中区. Hospital 2 has not filed.
COUNTIES = {1: "510104", 2: "510104", 5: "510105", 3: "511102", 4: "511102"}
OWN, OTHER = (1, 2, 5), (3, 4)
FILED = (1, 5, 3, 4)
CHENGDU_PLACE = {"经度": 104.07, "纬度": 30.66}       # hospital_row's own place is in 乐山


def code(n: int) -> str:
    return hospital_code(n, COUNTIES[n])


def name(n: int) -> str:
    return f"测试康宁医院{n}"


@pytest.fixture()
def two_prefectures(app, conn, tmp_path):
    """Hospitals in 成都 and 乐山, their October returns and users of both tiers."""
    from etl.demo.province import load_regions
    registry.load_regions(conn, load_regions())
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [
        hospital_row(n, COUNTIES[n], **(CHENGDU_PLACE if n in OWN else {})) for n in COUNTIES]))
    settings = intake.IntakeSettings.from_config(app.config)
    ids = {}
    for n in FILED:
        result = intake.ingest_file(conn, write_draft(tmp_path, draft(code(n), PERIOD, name(n))), settings)
        assert result.status == "accepted", result.findings
        ids[n] = result.return_id
    # Filed on time: the deadline is after the uploads.
    periods.set_deadline(conn, PERIOD, dt.date(2099, 1, 1), None)
    create_user(conn, "chengdu", "password-123", "prefecture", region_code="510100")
    create_user(conn, "chengdu-leader", "password-123", "prefecture-leader", region_code="510100")
    create_user(conn, "reviewer", "password-123", "reviewer")
    # A case for one hospital of each prefecture (etl/cases), and a mapping version (province-wide).
    cases = {n: conn.execute("""INSERT INTO risk_case (hospital_code, domain, opened_period, plan_due)
                                VALUES (%s, 'debt', %s, current_date) RETURNING id""", (code(n), PERIOD)).fetchone()["id"]
             for n in (1, 3)}
    version = mapping.load_mapping(conn, write_mapping(tmp_path / "map.xlsx"), "全省口径", "2026-01")
    return {"returns": ids, "cases": cases, "mapping": version}


@pytest.fixture()
def with_bulletins(app, conn, two_prefectures):
    """two_prefectures and the bulletins the monthly run makes (the province's, 成都's, 乐山's)."""
    assert scheduler.scheduled_bulletin(app, dt.datetime(2026, 11, 15, 8, tzinfo=ZoneInfo("Asia/Shanghai")))
    bulletins = {r["region_code"]: r["id"] for r in conn.execute("SELECT id, region_code FROM bulletin")}
    return two_prefectures | {"bulletins": bulletins}


def test_the_monthly_run_writes_the_province_bulletin_and_one_per_prefecture(app, conn, client, auth, with_bulletins):
    rows = conn.execute("SELECT region_code, version, trigger, snapshot FROM bulletin ORDER BY region_code NULLS FIRST")
    made = {r["region_code"]: r for r in rows}
    # The province's and those of the two prefectures with hospitals; none for the other 19.
    assert list(made) == [None, "510100", "511100"]
    assert all(r["version"] == 1 and r["trigger"] == "schedule" for r in made.values())
    chengdu = made["510100"]["snapshot"]
    assert chengdu["title"] == "成都市公立医院经济运行监测月报" and chengdu["area"] == "全市"
    assert sorted(r["code"] for r in chengdu["appendix"]) == sorted(code(n) for n in OWN)
    assert chengdu["counts"]["total"] == 3
    assert {k: chengdu["filing"][k] for k in ("hospitals", "filed", "on_time", "late", "missing")} == {
        "hospitals": 3, "filed": 2, "on_time": 2, "late": 0, "missing": 1}
    assert {g["name"] for g in chengdu["by_prefecture"]} == {"锦江区", "青羊区"}      # by county
    assert [h["name"] for h in chengdu["quality"]["missing"]] == [name(2)]
    assert "全市纳入监测的公立医院3家" in chengdu["summary"][0]
    assert not {code(n) for n in OTHER} & set(str(chengdu).split("'"))
    province = made[None]["snapshot"]
    assert province["counts"]["total"] == 5 and province["area"] == "全省"
    assert {g["name"] for g in province["by_prefecture"]} == {"成都市", "乐山市"}
    # Each has its files; a later run makes nothing more.
    files = conn.execute("SELECT count(*) AS n FROM bulletin_file f JOIN bulletin b ON b.id = f.bulletin_id "
                         "WHERE b.region_code = '510100' AND f.name IN ('bulletin.docx', 'bulletin.pdf')").fetchone()
    assert files["n"] == 2
    assert scheduler.scheduled_bulletin(app, dt.datetime(2026, 11, 15, 9, tzinfo=ZoneInfo("Asia/Shanghai"))) is None
    assert conn.execute("SELECT count(*) AS n FROM bulletin").fetchone()["n"] == 3
    # The province's users see all three.
    auth.login("reviewer")
    listing = client.get("/bulletins/").get_data(as_text=True)
    assert all(f'data-bulletin="{b}"' in listing for b in with_bulletins["bulletins"].values())
    assert client.get(f"/bulletins/{with_bulletins['bulletins']['511100']}").status_code == 200


def _text(response) -> str:
    """What a response shows: the page, or the XML inside a workbook or document."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))
    return data.decode("utf-8", "replace")


def _url(rule, values) -> str:
    url = rule.rule
    for arg in rule.arguments:
        url = re.sub(rf"<(?:\w+:)?{arg}>", str(values[arg]), url)
    return url


def test_a_chengdu_reviewer_crawling_every_page_sees_nothing_of_leshan(app, client, auth, with_bulletins):
    """The Done-when of issue 18: every GET route, filled with 乐山's hospital codes, return
    ids, file names and bulletin ids (and the province's bulletin), is a 404 or shows
    nothing of 乐山; 成都's own hospitals are there."""
    assert auth.login("chengdu").status_code == 302
    ids = with_bulletins
    foreign = [code(n) for n in OTHER] + [name(n) for n in OTHER] + ["乐山"]
    objects = {"code": [code(3), "511100", "511102"], "return_id": [ids["returns"][3], ids["returns"][4]],
               "bulletin_id": [ids["bulletins"]["511100"], ids["bulletins"][None]],
               "case_id": [ids["cases"][3]]}
    plain = {"period": PERIOD, "name": "bulletin.pdf", "token": "x" * 32, "user_id": 1, "seq": 1,
             "version_id": ids["mapping"]}
    pages, refused = 0, 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "auth.logout"):
            continue
        held = [a for a in rule.arguments if a in objects]
        variants = ([plain | {held[0]: v} for v in objects[held[0]]] if held else [plain])
        for values in variants:
            url = _url(rule, values)
            response = client.get(url, follow_redirects=True)
            assert response.status_code < 500, url
            if held and response.status_code != 403:       # 403: the role may not open it at all
                assert response.status_code == 404, url
            text = _text(response)
            seen = [f for f in foreign if f in text]
            assert seen == [], f"{url} shows {seen}"
            pages += response.status_code == 200
            refused += response.status_code == 404
    assert pages >= 10 and refused >= 8
    # Choosing a hospital by ?hospital= goes through the same scope.
    for url in (f"/returns/?hospital={code(3)}", f"/returns/template?period={PERIOD}&hospital={code(3)}"):
        assert client.get(url).status_code == 404, url
    # 成都's own hospitals are there, on the overview, the map, the hospital search and their pages.
    for url in ("/", "/map/", f"/hospitals/search?q={quote('测试康宁医院')}&period={PERIOD}"):
        text = client.get(url, follow_redirects=True).get_data(as_text=True)
        assert all(code(n) in text or name(n) in text for n in OWN), url
        assert not any(code(n) in text or name(n) in text for n in OTHER), url
    for url in (f"/hospitals/{code(1)}", f"/returns/{ids['returns'][1]}", f"/returns/{ids['returns'][1]}/file",
                f"/bulletins/{ids['bulletins']['510100']}", f"/bulletins/{ids['bulletins']['510100']}/files/bulletin.pdf",
                f"/cases/{ids['cases'][1]}"):
        assert client.get(url).status_code == 200, url


def test_a_prefecture_follows_filing_by_county(client, auth, two_prefectures):
    auth.login("chengdu")
    page = client.get(f"/periods/{PERIOD}/submissions").get_data(as_text=True)
    assert "成都市 2026-10 报送情况" in page
    rows = dict(re.findall(r'<tr data-county="(\d+)"><td>([^<]+)</td>', page))
    assert rows == {"510104": "锦江区", "510105": "青羊区"}
    jinjiang = re.search(r'data-county="510104">(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r"<td>([^<]+)</td>", jinjiang) == ["锦江区", "2", "1", "0", "1", "50.0%", "50.0%"]
    assert "应报 3 家：按时 <b>2</b>，逾期 <b>0</b>，未报 <b>1</b>" in page


def test_the_map_is_framed_to_the_prefecture(client, auth, two_prefectures):
    auth.login("chengdu")
    page = client.get(f"/map/?period={PERIOD}").get_data(as_text=True)
    assert "成都市 医院经济运行风险地图" in page
    assert '"code":"510100"' in page and '"code":"511100"' not in page      # its boundary only
    assert code(1) in page and code(3) not in page                         # its hospitals only
    assert client.get("/map/regions/510104").status_code == 200
    assert client.get("/map/regions/511102").status_code == 404


def test_a_prefecture_leader_sees_its_bulletin_and_map(client, auth, with_bulletins):
    assert auth.login("chengdu-leader").status_code == 302
    own, others = with_bulletins["bulletins"]["510100"], (with_bulletins["bulletins"]["511100"],
                                                           with_bulletins["bulletins"][None])
    listing = client.get("/bulletins/").get_data(as_text=True)
    assert f'data-bulletin="{own}"' in listing and "成都市" in listing
    assert all(f'data-bulletin="{b}"' not in listing for b in others)
    page = client.get(f"/bulletins/{own}").get_data(as_text=True)
    assert "成都市公立医院经济运行监测月报" in page and name(1) in page and name(3) not in page
    pdf = client.get(f"/bulletins/{own}/files/bulletin.pdf")
    assert pdf.status_code == 200 and pdf.data[:4] == b"%PDF"
    assert quote("成都市经济运行监测月报-2026-10-v1.pdf") in pdf.headers["Content-Disposition"]
    assert all(client.get(f"/bulletins/{b}").status_code == 404 for b in others)
    map_page = client.get(f"/map/?period={PERIOD}").get_data(as_text=True)
    assert map_page.count(code(1)) and code(3) not in map_page
    assert '"hospitalUrl":null' in map_page                       # leaders get no hospital pages
    # A leader reads bulletins and the map: the overview sends it to the bulletins.
    assert client.get("/").headers["Location"].endswith("/bulletins/")
    assert client.get(f"/hospitals/{code(1)}").status_code == 403



def test_on_a_phone_a_prefecture_leaders_map_is_its_prefecture(two_prefectures, live_server, phone, screenshot):
    """Chromium at phone size: one region drawn (成都市), framed to fill the map, and 成都's
    three hospitals as markers — 乐山's are not in the page at all."""
    phone.goto(live_server + "/auth/login?next=/map/%3Fperiod%3D" + PERIOD)
    phone.fill("input[name=username]", "chengdu-leader")
    phone.fill("input[name=password]", "password-123")
    phone.click("button[type=submit]")
    phone.wait_for_selector("path.hospital-marker")
    assert phone.locator("path.hospital-marker").count() == 3
    regions = phone.locator("path.leaflet-interactive:not(.hospital-marker)")
    assert regions.count() == 1
    box, frame = regions.first.bounding_box(), phone.locator(".folium-map").bounding_box()
    # Zoomed to it: framed on the whole province, 成都 spans about a fifth of the map.
    assert max(box["width"] / frame["width"], box["height"] / frame["height"]) > 0.35
    assert code(3) not in phone.content()
    screenshot(phone, "prefecture-map")


def test_an_admin_publishes_a_prefectures_bulletin_and_bad_choices_change_nothing(conn, client, auth,
                                                                                  two_prefectures):
    create_user(conn, "admin", "password-123", "admin")
    auth.login("admin")
    token = auth.csrf("/bulletins/")
    form = {"csrf_token": token, "period": PERIOD, "confirm": "1"}
    done = client.post("/bulletins/", data=form | {"region": "510100"}, follow_redirects=True)
    assert "已生成 2026-10 成都市月报第 1 版" in done.get_data(as_text=True)
    made = conn.execute("SELECT region_code, version, snapshot->>'title' AS title FROM bulletin").fetchall()
    assert made == [{"region_code": "510100", "version": 1, "title": "成都市公立医院经济运行监测月报"}]
    # 自贡市 has no hospitals; 999999 is no prefecture: a Chinese message, nothing stored.
    for region, message in (("510300", "自贡市尚未登记医疗机构，无法生成月报"), ("999999", "区划代码 999999 不是本省的市州")):
        page = client.post("/bulletins/", data=form | {"region": region}, follow_redirects=True)
        assert page.status_code == 200 and message in page.get_data(as_text=True), region
    assert conn.execute("SELECT count(*) AS n FROM bulletin").fetchone()["n"] == 1
