"""A return through read → validate → attribute → load → score, on real PostgreSQL."""
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from tests.factories import draft, hospital_code, write_draft, write_mapping
from tests.helpers import codes, count, ingest


def test_valid_return_is_loaded_attributed_and_rated(conn, province, tmp_path):
    result = ingest(conn, province, write_draft(tmp_path, draft(hospital_code(1))))
    assert result.status == "accepted", result.findings
    assert (result.version, result.findings) == (1, [])
    assert count(conn, "return_item") == 7
    s300 = conn.execute("SELECT amount, cell FROM return_value WHERE item_code='S300' AND column_name='month'").fetchone()
    assert s300 == {"amount": Decimal(150_000), "cell": "C21"}
    subj = {(r["setting"], r["category"]): r["amount"] for r in conn.execute(
        "SELECT setting, category, amount FROM attribution_total WHERE system='subject'")}
    assert subj[("outpatient", "化验")] == Decimal(1_600_000)
    assert subj[("inpatient", "床位")] == Decimal(1_000_000)
    ratings = {r["hospital_code"]: r["rating"] for r in conn.execute("SELECT hospital_code, rating FROM rating")}
    assert ratings[hospital_code(2)] == "missing"
    assert ratings[hospital_code(1)] in ("green", "yellow", "red")


@pytest.mark.parametrize("unit,factor", [("万元", 10000), ("千元", 1000)])
def test_amounts_are_converted_to_yuan(conn, province, tmp_path, unit, factor):
    result = ingest(conn, province, write_draft(tmp_path, draft(hospital_code(1), unit=unit)))
    assert result.status == "accepted", result.findings
    r100 = conn.execute("SELECT amount FROM return_value WHERE item_code='R100' AND column_name='month'").fetchone()
    assert r100["amount"] == Decimal(18_300_000)


def test_layout_is_forgiving(conn, province, tmp_path):
    """Header further down, blank and note rows, text numbers, reordered and hidden sheets."""
    path = write_draft(tmp_path, draft(hospital_code(1)))
    wb = load_workbook(path)
    t1 = wb["表1 收入费用"]
    t1.insert_rows(1, 3)
    t1["A1"] = "表1 收入费用（单位见封面）"
    t1["C5"] = "18,300,000.00"                 # R100 本月数 as text with separators
    t1["C24"] = "１５０，０００"                   # S300 本月数 in full-width digits
    t1.insert_rows(10)                          # a blank row inside the table
    wb.move_sheet("表5 医疗服务项目收入", offset=-5)
    wb["表4 债务明细"].sheet_state = "hidden"
    wb.create_sheet("说明").append(["额外的工作表会被忽略"])
    wb.save(path)
    result = ingest(conn, province, path)
    assert result.status == "accepted", result.findings
    row = conn.execute("SELECT amount, cell FROM return_value WHERE item_code='R100' AND column_name='month'").fetchone()
    assert row == {"amount": Decimal("18300000.00"), "cell": "C5"}


def test_negative_and_full_width_numbers(conn, province, tmp_path):
    path = write_draft(tmp_path, draft(hospital_code(1), surplus=-1_234))
    wb = load_workbook(path)
    ws = wb["表1 收入费用"]
    ws["C21"] = "(1,234)"
    ws["D21"] = "－１２３４０"
    wb.save(path)
    result = ingest(conn, province, path)
    assert result.status == "accepted", result.findings
    vals = {r["column_name"]: r["amount"] for r in conn.execute(
        "SELECT column_name, amount FROM return_value WHERE item_code='S300'")}
    assert vals == {"month": Decimal(-1234), "ytd": Decimal(-12340)}


@pytest.mark.parametrize("sheet,cell,value,code", [
    ("表1 收入费用", "C2", 999, "SUM_MISMATCH"),               # R100 ≠ sum of parts
    ("表1 收入费用", "C4", 1, "SUM_MISMATCH"),                 # R111 breaks R110 = R111 + R112
    ("表1 收入费用", "C6", 99_000_000, "PART_EXCEEDS_TOTAL"),  # R113 > R110
    ("表2 资产负债", "C19", 1, "SUM_MISMATCH"),                # N300: A100 ≠ L200 + N300
    ("表2 资产负债", "C6", 1, "SUM_TOO_SMALL"),                # A110 < its parts
    ("表1 收入费用", "C3", "12%", "AMOUNT_NOT_NUMBER"),
    ("表1 收入费用", "C3", "abc", "AMOUNT_NOT_NUMBER"),
    ("封面", "B1", "12511102450767890X", "COVER_CODE_INVALID"),
    ("封面", "B3", "2027-01", "COVER_PERIOD_FUTURE"),
    ("封面", "B4", "美元", "COVER_UNIT_INVALID"),
    ("封面", "B6", "电话 028", "COVER_PHONE_INVALID"),
    ("封面", "B8", "2019.1", "COVER_TEMPLATE_VERSION"),
    ("表3 薪酬发放", "C5", -1, "ARREARS_NEGATIVE"),
    ("表3 薪酬发放", "C2", 0, "STAFF_INVALID"),
    ("表5 医疗服务项目收入", "C2", "急诊室", "ITEM_SETTING_INVALID"),
    ("表4 债务明细", "K2", "是", "DEBT_OVERDUE_INCONSISTENT"),
])
def test_error_rejects_and_leaves_nothing(conn, province, tmp_path, sheet, cell, value, code):
    path = write_draft(tmp_path, draft(hospital_code(1)))
    wb = load_workbook(path)
    wb[sheet][cell] = value
    wb.save(path)
    result = ingest(conn, province, path)
    assert result.status == "rejected"
    assert code in codes(result)
    hit = next(f for f in result.findings if f.code == code)
    assert hit.severity == "error" and hit.sheet == sheet and hit.message
    for table in ("return", "return_value", "return_item", "return_debt", "attribution_total", "period"):
        assert count(conn, table) == 0, table


def test_unregistered_and_foreign_hospital(conn, province, tmp_path):
    stranger = write_draft(tmp_path, draft(hospital_code(99)))
    assert codes(ingest(conn, province, stranger)) == ["COVER_HOSPITAL_UNKNOWN"]
    mine = write_draft(tmp_path, draft(hospital_code(1)))
    result = ingest(conn, province, mine, uploader={"id": None, "hospital_code": hospital_code(2)})
    assert codes(result) == ["COVER_HOSPITAL_NOT_YOURS"] and result.status == "rejected"


def test_missing_sheet_and_bad_files(conn, province, tmp_path):
    path = write_draft(tmp_path, draft(hospital_code(1)))
    wb = load_workbook(path)
    del wb["表3 薪酬发放"]
    wb.save(path)
    assert "SHEET_MISSING" in codes(ingest(conn, province, path))
    text = tmp_path / "not.xlsx"
    text.write_text("机构代码,报告期\n")
    assert codes(ingest(conn, province, text)) == ["FILE_NOT_XLSX"]
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(path.read_bytes()[:2000])
    assert codes(ingest(conn, province, broken)) == ["FILE_CORRUPT"]
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<x/>")
        zf.writestr("xl/big.xml", b"0" * (province.max_uncompressed + 1))
    assert codes(ingest(conn, province, bomb)) == ["FILE_TOO_LARGE_UNCOMPRESSED"]
    assert count(conn, "return") == 0


def test_warnings_load_and_unmapped_codes_go_to_unattributed(conn, province, tmp_path):
    d = draft(hospital_code(1))
    code, name, setting, qty, amount = d.items[1]
    d.items[1] = ("999999999", "未知项目", setting, qty, amount)
    result = ingest(conn, province, write_draft(tmp_path, d))
    assert result.status == "accepted"
    assert codes(result) == ["ITEM_UNMAPPED"]
    assert result.findings[0].severity == "warning"
    row = conn.execute("SELECT amount FROM attribution_total WHERE system='subject' AND category='未归集'").fetchone()
    assert row["amount"] == Decimal(1_600_000)
    share = conn.execute("SELECT value FROM indicator_value WHERE indicator='unattributed_share'").fetchone()
    assert share["value"] == Decimal(1_600_000) / Decimal(16_000_000)


def test_versions_and_identical_resubmission(conn, province, tmp_path):
    first = write_draft(tmp_path, draft(hospital_code(1)), "a.xlsx")
    assert ingest(conn, province, first).version == 1
    again = ingest(conn, province, first)
    assert (again.status, again.version, again.duplicate) == ("accepted", 1, True)
    second = write_draft(tmp_path, draft(hospital_code(1), surplus=-50_000), "b.xlsx")
    assert ingest(conn, province, second).version == 2
    rows = conn.execute("SELECT version, is_current FROM return ORDER BY version").fetchall()
    assert rows == [{"version": 1, "is_current": False}, {"version": 2, "is_current": True}]
    s300 = conn.execute("SELECT value FROM indicator_value WHERE indicator='surplus_rate_month'").fetchone()
    assert s300["value"] < 0


def test_ytd_mismatch_is_a_warning(conn, province, tmp_path):
    assert ingest(conn, province, write_draft(tmp_path, draft(hospital_code(1), "2026-09"))).status == "accepted"
    d = draft(hospital_code(1), "2026-10", months_in_year=11)   # YTD one month too many
    result = ingest(conn, province, write_draft(tmp_path, d))
    assert result.status == "accepted"
    assert "YTD_MISMATCH" in codes(result)
    assert {f.severity for f in result.findings} == {"warning"}


def test_new_mapping_version_reattributes_and_rescores(conn, province, runner, tmp_path):
    from tests.factories import MAPPING_ROWS
    for p in ("2026-09", "2026-10"):
        d = draft(hospital_code(1), p)
        assert ingest(conn, province, write_draft(tmp_path, d)).status == "accepted"
    share = lambda p: conn.execute("SELECT value FROM indicator_value WHERE indicator='service_revenue_share' "
                                   "AND period=%s", (p,)).fetchone()["value"]
    before = {p: share(p) for p in ("2026-09", "2026-10")}
    # Version 2, from 2026-10: 血常规 moves from 化验 (not service revenue) to 治疗 (service revenue).
    rows = [r if r[0] != "250101001" else (r[0], r[1], r[2], "治疗费", "治疗", "一般治疗操作费") for r in MAPPING_ROWS]
    result = runner.invoke(args=["load-mapping", str(write_mapping(tmp_path / "v2.xlsx", rows)),
                                 "--version", "v2", "--effective", "2026-10"])
    assert result.exit_code == 0, result.output
    assert share("2026-09") == before["2026-09"]
    assert share("2026-10") == before["2026-10"] + Decimal(1_600_000) / Decimal(16_000_000)
    versions = {r["period"]: r["name"] for r in conn.execute(
        "SELECT DISTINCT a.period, v.name FROM attribution_total a JOIN mapping_version v ON v.id = a.mapping_version_id")}
    assert versions == {"2026-09": "v1", "2026-10": "v2"}
    again = runner.invoke(args=["load-mapping", str(tmp_path / "v2.xlsx"), "--version", "v2", "--effective", "2026-10"])
    assert again.exit_code == 1 and "已存在" in again.output


def test_state_changes_are_audited(conn, province, tmp_path):
    result = ingest(conn, province, write_draft(tmp_path, draft(hospital_code(1))),
                    uploader={"id": None, "username": "h1", "hospital_code": hospital_code(1)})
    rows = conn.execute("SELECT actor_name, action, target, after FROM audit_log ORDER BY id").fetchall()
    assert [r["action"] for r in rows] == ["registry.load", "mapping.load", "return.upload"]
    assert rows[-1]["actor_name"] == "h1" and rows[-1]["target"] == f"return:{result.return_id}"
    assert rows[-1]["after"]["version"] == 1 and len(rows[-1]["after"]["sha256"]) == 64
    d = draft(hospital_code(1))
    d.unit = "美元"
    bad = write_draft(tmp_path, d, "bad.xlsx")
    assert ingest(conn, province, bad).status == "rejected"
    assert conn.execute("SELECT count(*) AS n FROM audit_log").fetchone()["n"] == 3   # a rejection changes nothing


def test_entity_expansion_bomb_is_rejected_at_once(conn, province, tmp_path):
    path = write_draft(tmp_path, draft(hospital_code(1)), "ok.xlsx")
    entities = "".join(f'<!ENTITY e{i} "{(f"&e{i - 1};" if i else "lol") * 10}">' for i in range(10))
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(bomb, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "xl/workbook.xml":
                body = data.decode().split("?>", 1)[-1]
                data = (f'<?xml version="1.0"?><!DOCTYPE w [{entities}]>'
                        + body.replace('name="封面"', 'name="&e9;"')).encode()
            zout.writestr(item, data)
    result = ingest(conn, province, bomb)           # refused by the parser, never expanded
    assert result.status == "rejected" and codes(result) == ["FILE_CORRUPT"]
    assert count(conn, "return") == 0


def test_attribution_systems_and_the_setting_rule(conn, province, tmp_path):
    from etl.attribution.rollup import summary
    d = draft(hospital_code(1))
    d.items.append(("120100001", "普通病房床位费", "门诊", 10, 50_000))        # 床位 in 门诊 → 其他
    r = d.t1
    for code in ("R111", "R110", "R100", "E200", "E210"):
        r[code] = (r[code][0] + 50_000, r[code][1] + 50_000 * 10)
    result = ingest(conn, province, write_draft(tmp_path, d))
    assert result.status == "accepted", result.findings
    s = summary(conn, result.return_id)
    subject = {(x["setting"], x["category"]): x["amount"] for x in s["subject"]}
    assert subject[("outpatient", "其他")] == 50_000 and ("outpatient", "床位") not in subject
    assert subject[("inpatient", "床位")] == 1_000_000
    receipt = {(x["setting"], x["category"]): x["amount"] for x in s["receipt"]}
    assert receipt[("outpatient", "床位费")] == 50_000 and receipt[("inpatient", "手术费")] == 2_000_000
    assert set(s["record"]) == {"综合医疗服务类", "治疗类", "西药类", "耗材类"}
    assert s["record"]["治疗类"][0]["category"] == "麻醉费"
    assert [m["price_code"] for m in s["moved_to_other"]] == ["120100001"]
    assert all(abs(declared - rolled) <= 1 for _, declared, rolled in s["reconciliation"])


def test_drug_and_material_reconciliation_is_a_warning(conn, province, tmp_path):
    d = draft(hospital_code(1))
    d.t1["R114"] = (d.t1["R114"][0] - 1000, d.t1["R114"][1] - 10_000)   # 表1 says 1,000 less than 表5
    result = ingest(conn, province, write_draft(tmp_path, d))
    assert result.status == "accepted" and codes(result) == ["DRUG_MATERIAL_MISMATCH"]
    assert result.findings[0].severity == "warning" and "11,000,000.00" in result.findings[0].message


def test_versions_differ_cell_by_cell(conn, province, tmp_path):
    from etl.returns.versions import diff
    first = ingest(conn, province, write_draft(tmp_path, draft(hospital_code(1)), "v1.xlsx"))
    d = draft(hospital_code(1), surplus=-50_000)                     # E200/E210/S300 change
    d.items[0] = (*d.items[0][:4], d.items[0][4] + 1000)             # 挂号 +1,000 …
    d.items[1] = (*d.items[1][:4], d.items[1][4] - 1000)             # … 血常规 −1,000: R111 unchanged
    d.debts[0]["overdue"], d.debts[0]["overdue_amount"] = "是", 5000
    second = ingest(conn, province, write_draft(tmp_path, d, "v2.xlsx"))
    assert second.version == 2, second.findings
    changes = diff(conn, first.return_id, second.return_id)
    changed = {(c["code"], c["column_name"]): (c["old"], c["new"], c["new_cell"]) for c in changes["cells"]}
    assert set(changed) == {("E200", "month"), ("E200", "ytd"), ("E210", "month"), ("E210", "ytd"),
                            ("S300", "month"), ("S300", "ytd")}
    assert changed[("S300", "month")] == (Decimal(150_000), Decimal(-50_000), "C21")
    assert [(i["price_code"], i["old"], i["new"]) for i in changes["price_items"]] == [
        ("110100001", Decimal(400_000), Decimal(401_000)), ("250101001", Decimal(1_600_000), Decimal(1_599_000))]
    assert [(x["debt_no"], x["old_overdue"], x["new_overdue"]) for x in changes["debts"]] == [
        ("L-1", Decimal(0), Decimal(5000))]
