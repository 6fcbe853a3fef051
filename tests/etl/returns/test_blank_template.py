"""The blank template: prefilled, guarded, and read back by the same intake as any return."""
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from etl.reference import registry
from etl.returns import contract as rf
from etl.returns import intake
from etl.returns.blank_template import FORMULAS, write_blank_template
from tests.factories import (
    draft,
    fill_template,
    hospital_code,
    hospital_row,
    write_registry,
)

TODAY = dt.date(2026, 11, 24)


@pytest.fixture()
def province(conn, app, tmp_path):
    """Its own province, without the mapping of tests/etl/returns/conftest.py's."""
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    settings = intake.IntakeSettings.from_config(app.config)
    settings.today = TODAY
    return settings


def blank(tmp_path, n=1, period="2026-10", **kw) -> Path:
    return write_blank_template(tmp_path / f"blank-{n}.xlsx", hospital_code(n), f"测试康宁医院{n}", period, **kw)


@pytest.mark.parametrize("unit", ["元", "万元"])
def test_filled_template_round_trips_through_intake(conn, province, tmp_path, unit):
    d = draft(hospital_code(1), unit=unit)
    path = fill_template(blank(tmp_path), d)
    result = intake.ingest_file(conn, path, province, uploader={"id": None, "hospital_code": hospital_code(1)})
    assert result.status == "accepted", result.findings
    assert [f.code for f in result.findings] == []
    values = {(r["item_code"], r["column_name"]): r["amount"] for r in conn.execute(
        "SELECT item_code, column_name, amount FROM return_value")}
    assert values[("R100", "month")] == Decimal(18_300_000)
    assert values[("S300", "month")] == Decimal(150_000)
    assert values[("W401", "month")] == 400          # counts are never scaled by the unit
    assert conn.execute("SELECT count(*) AS n FROM return_item").fetchone()["n"] == len(d.items)
    assert conn.execute("SELECT debt_type, overdue FROM return_debt").fetchone() == {"debt_type": "银行贷款", "overdue": False}


def test_cover_is_prefilled_and_sheets_are_named_for_the_reader(tmp_path):
    wb = load_workbook(blank(tmp_path, deadline=dt.date(2026, 11, 15)))
    assert wb.sheetnames[:6] == list(rf.SHEETS.values()) and "填报说明" in wb.sheetnames
    cover = {r[0].value: r[1].value for r in wb["封面"].iter_rows(max_col=2)}
    assert cover["机构代码"] == hospital_code(1) and cover["机构名称"] == "测试康宁医院1"
    assert cover["报告期"] == "2026-10" and cover["模板版本"] == rf.TEMPLATE_VERSION
    assert cover["金额单位"] == "元" and cover["填报人"] is None
    text = "\n".join(str(c.value) for c in wb["填报说明"]["A"] if c.value)
    assert "2026年11月15日" in text and "YP01" in text


def test_drop_downs_cover_units_settings_debt_types_and_yes_no(tmp_path):
    wb = load_workbook(blank(tmp_path))
    lists = {}
    for ws in wb.worksheets:
        for dv in ws.data_validations.dataValidation:
            lists[(ws.title, str(dv.sqref).split(":")[0])] = dv.formula1.strip('"').split(",")
    assert lists[("封面", "B4")] == ["元", "千元", "万元"]
    assert lists[(rf.SHEETS["表4"], "C2")] == list(rf.DEBT_TYPES)
    assert lists[(rf.SHEETS["表4"], "D2")] == list(rf.DEBT_PURPOSES)
    assert lists[(rf.SHEETS["表4"], "K2")] == ["是", "否"]
    assert set(lists[(rf.SHEETS["表5"], "C2")]) == set(rf.SETTINGS)


def _evaluate(formula: str, ws) -> Decimal:
    """Evaluate '=C3+C8-C11' against `ws`, following cells that are formulas themselves."""
    total = Decimal(0)
    for sign, ref in re.findall(r"([+-]?)([A-Z]+[0-9]+)", formula[1:]):
        value = ws[ref].value
        v = _evaluate(value, ws) if isinstance(value, str) and value.startswith("=") else Decimal(str(value or 0))
        total += -v if sign == "-" else v
    return total


def test_subtotal_formulas_compute_the_contract_equalities(tmp_path):
    d = draft(hospital_code(1))
    path = fill_template(blank(tmp_path), d, keep_formulas=True)
    wb = load_workbook(path)
    checked = 0
    for key, formulas in FORMULAS.items():
        ws = wb[rf.SHEETS[key]]
        values = d.t1 if key == "表1" else d.t2
        for row in ws.iter_rows(min_row=2):
            if row[1].value in formulas:
                for col, cell in enumerate(row[2:4]):
                    assert cell.value.startswith("="), (key, row[1].value)
                    assert _evaluate(cell.value, ws) == Decimal(values[row[1].value][col]), cell.coordinate
                    checked += 1
    assert checked == 2 * 6


def test_untouched_formulas_are_computed_as_excel_would(conn, province, tmp_path):
    """openpyxl writes no cached value: the template's own sums are computed, not read as 0."""
    d = draft(hospital_code(1))
    path = fill_template(blank(tmp_path), d, keep_formulas=True)
    result = intake.ingest_file(conn, path, province)
    assert result.status == "accepted", [(f.code, f.message) for f in result.findings]
    notices = [f for f in result.findings if f.code == "FORMULA_COMPUTED"]
    assert len(notices) == 1 and notices[0].severity == "notice" and "表1 收入费用!C2" in notices[0].message
    stored = {(r["item_code"], r["column_name"]): r["amount"] for r in conn.execute(
        "SELECT item_code, column_name, amount FROM return_value WHERE sheet = '表1'").fetchall()}
    assert stored[("R100", "month")] == Decimal(d.t1["R100"][0]) and stored[("S300", "ytd")] == Decimal(d.t1["S300"][1])


def test_a_formula_that_cannot_be_computed_is_one_finding_not_a_cascade(conn, province, tmp_path):
    path = fill_template(blank(tmp_path), draft(hospital_code(1)), keep_formulas=True)
    wb = load_workbook(path)
    wb[rf.SHEETS["表1"]]["C3"] = "=ROUND(C4+C5,2)"      # 医疗收入: not the template's simple sum
    wb.save(path)
    result = intake.ingest_file(conn, path, province)
    assert result.status == "rejected"
    errors = [f for f in result.findings if f.severity == "error"]
    assert [f.code for f in errors] == ["FORMULA_NOT_COMPUTED"], [(f.code, f.message) for f in errors]
    assert "合计公式未计算，请用 Excel/WPS 打开并保存后上传" in errors[0].message
    assert "表1 收入费用!C3" in errors[0].message


def test_labels_and_headers_are_locked_and_value_cells_are_not(tmp_path):
    wb = load_workbook(blank(tmp_path))
    t1 = wb[rf.SHEETS["表1"]]
    assert t1.protection.sheet
    assert t1["A1"].protection.locked and t1["B2"].protection.locked and t1["C1"].protection.locked
    assert not t1["C3"].protection.locked and not t1["C2"].protection.locked   # formulas may be overwritten
    t5 = wb[rf.SHEETS["表5"]]
    assert t5.protection.sheet and t5["A1"].protection.locked
    assert t5.protection.insertRows is False              # pasting many rows stays possible
    assert t5.column_dimensions["A"].protection.locked is False
    cover = wb["封面"]
    assert cover["A1"].protection.locked and not cover["B5"].protection.locked


def test_blank_uploaded_unfilled_is_rejected_with_findings(conn, province, tmp_path):
    result = intake.ingest_file(conn, blank(tmp_path), province)
    assert result.status == "rejected"
    codes = {f.code for f in result.findings}
    assert {"COVER_FIELD_REQUIRED", "COVER_DATE_INVALID", "STAFF_INVALID"} <= codes
    assert conn.execute("SELECT count(*) AS n FROM return").fetchone()["n"] == 0


def test_template_command_uses_the_registry(runner, conn, province, tmp_path):
    out = tmp_path / "cli" / "blank.xlsx"
    result = runner.invoke(args=["template", "--hospital", hospital_code(2), "--period", "2026-09", "--out", str(out)])
    assert result.exit_code == 0, result.output
    cover = {r[0].value: r[1].value for r in load_workbook(out)["封面"].iter_rows(max_col=2)}
    assert cover["机构名称"] == "测试康宁医院2" and cover["报告期"] == "2026-09"
    unknown = runner.invoke(args=["template", "--hospital", hospital_code(99), "--period", "2026-09",
                                  "--out", str(tmp_path / "x.xlsx")])
    assert unknown.exit_code == 1 and "不在医疗机构名录中" in unknown.output
    bad = runner.invoke(args=["template", "--hospital", hospital_code(2), "--period", "2026-9", "--out", str(out)])
    assert bad.exit_code != 0


def test_debt_amount_columns_show_ten_digit_amounts_in_libreoffice(tmp_path, libreoffice):
    """表4 合同金额 at 1,234,567,890.12 is printed in full, not as ###."""
    import subprocess
    path = write_blank_template(tmp_path / "t.xlsx", hospital_code(1), "测试康宁医院1", "2026-10")
    wb = load_workbook(path)
    ws = wb[rf.SHEETS["表4"]]
    keys = [key for key, _ in rf.DEBT_COLUMNS]
    for key in rf.DEBT_MONEY:
        ws.cell(2, keys.index(key) + 1, Decimal("1234567890.12"))
    for name in wb.sheetnames:
        if name != rf.SHEETS["表4"]:
            wb[name].sheet_state = "hidden"     # print only 表4
    wb.active = wb.sheetnames.index(rf.SHEETS["表4"])
    wb.save(path)
    pdf = libreoffice(path, "pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "###" not in text
    assert text.count("1,234,567,890.12") == len(rf.DEBT_MONEY), text
