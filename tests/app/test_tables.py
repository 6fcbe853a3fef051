"""Long tables exported as .xlsx (issue 17): the page's own scoped rows, filtered as its
filter box filters them (each row's data-text), Chinese headers, codes as text."""
import html
import io
import re

import pytest
from openpyxl import load_workbook

from etl.reference import registry
from etl.reference.accounts import create_user
from etl.returns import intake
from reports.exports import tables as xlsx_tables
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)


@pytest.fixture()
def province(app, conn, tmp_path):
    """Two hospitals of 乐山市 that filed 2026-10, and one of 成都市 that did not."""
    from etl.demo.province import load_regions
    registry.load_regions(conn, load_regions())
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [
        hospital_row(1), hospital_row(2), hospital_row(3, "510104", 机构名称="成都测试医院")]))
    settings = intake.IntakeSettings.from_config(app.config)
    for n, surplus in ((1, 150_000), (2, -900_000)):
        intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(n), surplus=surplus)), settings)
    create_user(conn, "reviewer", "password-123", "reviewer")
    create_user(conn, "leader", "password-123", "leader")
    create_user(conn, "leshan", "password-123", "prefecture", region_code="511100")


def _sheet(response):
    assert response.status_code == 200, response.status_code
    assert response.mimetype.endswith("spreadsheetml.sheet")
    return load_workbook(io.BytesIO(response.data)).active


def _rows(sheet):
    return [list(r) for r in sheet.iter_rows(values_only=True)]


def test_the_workbook_keeps_codes_text_and_formulas_inert():
    data = xlsx_tables.xlsx_bytes("表", ["医疗机构", "机构代码", "家数"],
                                  [["=HYPERLINK(1)", "125111020000000123", 3], ["乙", "12511102000000012X", None]])
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet["A2"].value == "'=HYPERLINK(1)" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == "125111020000000123" and sheet["B2"].data_type == "s"
    assert sheet["C2"].value == 3 and sheet["C2"].data_type == "n"
    assert xlsx_tables.filtered([["四川", "A1"], ["乐山", "b2"]], " B2 ") == [["乐山", "b2"]]
    assert xlsx_tables.filtered([["四川"], ["乐山"]], "") == [["四川"], ["乐山"]]


def test_the_workbook_sorts_as_the_page_sorts():
    rows = [["成都", "绿色", "12.5%", 3], ["阿坝", None, "3%", "医院10"], ["北京", "红色", "—", "医院2"],
            ["巴中", "未上报", "40%", None], ["北京", "红色", "1%", 7]]
    by = xlsx_tables.sorted_rows
    assert [r[0] for r in by(rows, 0)] == ["阿坝", "巴中", "北京", "北京", "成都"]          # pinyin
    assert [r[1] for r in by(rows, 1)] == ["红色", "红色", "绿色", "未上报", None]          # severity, blank last
    assert [r[1] for r in by(rows, 1, descending=True)] == ["未上报", "绿色", "红色", "红色", None]
    assert [r[2] for r in by(rows, 1, descending=True)][2:4] == ["—", "1%"]               # ties keep their order
    assert [r[2] for r in by(rows, 2)] == ["1%", "3%", "12.5%", "40%", "—"]               # numbers, "—" last
    assert [r[3] for r in by(rows, 3)][:2] == [3, 7] and [r[3] for r in by(rows, 3)][2:4] == ["医院2", "医院10"]
    headers = ["医疗机构", "机构代码", "总体评级", "收不抵支", "收不抵支说明"]
    assert xlsx_tables.column_for(headers, "总体") == 2 and xlsx_tables.column_for(headers, " 收不抵支 ") == 3
    assert xlsx_tables.column_for(headers, "报表") is None and xlsx_tables.column_for(headers, None) is None


def test_overview_export_follows_the_pages_sort(client, auth, province):
    auth.login("reviewer")
    rows = _rows(_sheet(client.get("/?period=2026-10&export=overview&sort=总体")))
    assert [r[4] for r in rows[1:]][-1] == "未上报"                                      # not filed last
    flipped = _rows(_sheet(client.get("/?period=2026-10&export=overview&sort=总体&desc=1")))
    assert [r[4] for r in flipped[1:]][0] == "未上报"
    assert sorted(map(tuple, rows[1:])) == sorted(map(tuple, flipped[1:]))              # the same rows


def test_overview_export_is_the_pages_rows_filtered_like_the_page(client, auth, province):
    auth.login("reviewer")
    page = client.get("/?period=2026-10").get_data(as_text=True)
    texts = [html.unescape(t) for t in re.findall(r'data-hospital="[^"]+" data-rating="[^"]+" data-text="([^"]*)"', page)]
    assert len(texts) == 3
    assert 'data-long-table="overview"' in page and "/?period=2026-10&amp;export=overview" in page
    rows = _rows(_sheet(client.get("/?period=2026-10&export=overview")))
    assert rows[0][:6] == ["医疗机构", "机构代码", "地区", "等级", "总体评级", "暂定"]
    assert sorted(xlsx_tables.row_text(r) for r in rows[1:]) == sorted(texts)   # what the filter box reads
    assert {r[1] for r in rows[1:]} == {hospital_code(1), hospital_code(2), hospital_code(3, "510104")}
    assert next(r for r in rows[1:] if r[1] == hospital_code(3, "510104"))[:3] == [
        "成都测试医院", hospital_code(3, "510104"), "成都市 锦江区"]
    only = _rows(_sheet(client.get("/?period=2026-10&export=overview&q=成都")))
    assert [r[1] for r in only[1:]] == [hospital_code(3, "510104")]
    assert _rows(_sheet(client.get("/?period=2026-10&export=overview&q=没有这家")))[1:] == []


def test_exports_keep_the_users_scope(client, auth, province):
    auth.login("leshan")
    rows = _rows(_sheet(client.get("/?period=2026-10&export=overview")))
    assert {r[1] for r in rows[1:]} == {hospital_code(1), hospital_code(2)}


def test_region_and_submissions_tables_export(client, auth, province):
    auth.login("reviewer")
    region = _rows(_sheet(client.get("/map/regions/511100?period=2026-10&export=region")))
    assert {r[1] for r in region[1:]} == {hospital_code(1), hospital_code(2)}
    assert region[0][:2] == ["医疗机构", "机构代码"]
    page = client.get("/periods/2026-10/submissions").get_data(as_text=True)
    assert 'data-long-table="late"' in page and 'data-long-table="prefectures"' in page
    late = _rows(_sheet(client.get("/periods/2026-10/submissions?export=late")))
    assert late[0] == ["医疗机构", "机构代码", "市（州）", "情况", "首次报送", "版本数"]
    # Filed today, after 2026-10's deadline: the two of 乐山市 are late, 成都市's missing.
    assert sorted((r[1], r[3]) for r in late[1:]) == sorted([
        (hospital_code(1), "逾期"), (hospital_code(2), "逾期"), (hospital_code(3, "510104"), "未报")])
    missing = _rows(_sheet(client.get("/periods/2026-10/submissions?export=late&q=未报")))
    assert [r[1] for r in missing[1:]] == [hospital_code(3, "510104")]
    prefectures = _rows(_sheet(client.get("/periods/2026-10/submissions?export=prefectures&q=乐山")))
    assert [r[0] for r in prefectures[1:]] == ["乐山市"] and prefectures[1][1] == 2


def test_the_bulletin_appendix_is_grouped_by_prefecture_and_exports(client, auth, conn, province):
    from reports.bulletin import archive
    bulletin = archive.publish(conn, "2026-10")
    auth.login("leader")
    page = client.get(f"/bulletins/{bulletin['id']}").get_data(as_text=True)
    groups = re.findall(r'<details class="prefecture" data-prefecture="([^"]+)">', page)
    assert sorted(groups) == ["乐山市", "成都市"]
    response = client.get(f"/bulletins/{bulletin['id']}?export=appendix&q=乐山")
    assert "%E9%99%84%E8%A1%A8.xlsx" in response.headers["Content-Disposition"]       # …-v1-附表.xlsx
    rows = _rows(_sheet(response))
    assert rows[0][:4] == ["序号", "医疗机构", "机构代码", "市（州）"]
    assert sorted(r[2] for r in rows[1:]) == sorted([hospital_code(1), hospital_code(2)])
    archive.withdraw(conn, bulletin["id"], "测试撤回", None)
    assert client.get(f"/bulletins/{bulletin['id']}?export=appendix").status_code == 404
