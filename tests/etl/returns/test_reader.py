"""What the reader makes of workbooks as office software leaves them: sheets, units, codes, kinds."""
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from etl.returns import contract as rf
from etl.returns.formats import FileRejected, check_file
from tests.factories import draft, hospital_code, write_draft
from tests.helpers import codes, count, ingest

T1, T2, COVER = rf.SHEETS["表1"], rf.SHEETS["表2"], rf.SHEETS["封面"]


def edited(tmp_path, edit, **options):
    path = write_draft(tmp_path, draft(hospital_code(1), **options))
    wb = load_workbook(path)
    edit(wb)
    wb.save(path)
    return path


def stored(conn, sheet, code, column):
    return conn.execute("SELECT amount FROM return_value WHERE sheet = %s AND item_code = %s AND column_name = %s",
                        (sheet, code, column)).fetchone()["amount"]


def _hidden_copy_first(wb):
    copy = wb.copy_worksheet(wb[T1])
    copy.title = f"{T1} (2)"
    copy["C4"] = 1                                  # a draft's 门急诊收入, never meant to be read
    copy.sheet_state = "hidden"
    wb.move_sheet(copy, offset=-(len(wb.sheetnames) - 1))


def test_a_hidden_copy_placed_first_does_not_change_what_is_stored(conn, province, tmp_path):
    d = draft(hospital_code(1))
    path = edited(tmp_path, _hidden_copy_first)
    assert load_workbook(path).sheetnames[0] == f"{T1} (2)"
    result = ingest(conn, province, path)
    assert result.status == "accepted", codes(result)
    assert stored(conn, "表1", "R111", "month") == Decimal(d.t1["R111"][0])


def test_a_visible_copy_beside_the_exact_name_is_passed_over_with_a_notice(conn, province, tmp_path):
    def copy(wb):
        wb.copy_worksheet(wb[T1]).title = f"{T1} (2)"
    result = ingest(conn, province, edited(tmp_path, copy))
    assert result.status == "accepted"
    assert [f.severity for f in result.findings if f.code == "SHEET_COPY_IGNORED"] == ["notice"]


def test_two_visible_candidates_for_one_table_are_an_error_naming_both(conn, province, tmp_path):
    def two(wb):
        wb[T1].title = "表1 收入费用（修改）"
        wb.copy_worksheet(wb["表1 收入费用（修改）"]).title = "表1 收入费用 (2)"
    result = ingest(conn, province, edited(tmp_path, two))
    assert result.status == "rejected"
    [hit] = [f for f in result.findings if f.code == "SHEET_AMBIGUOUS"]
    assert "表1 收入费用（修改）" in hit.message and "表1 收入费用 (2)" in hit.message


def test_a_hidden_sheet_is_read_only_when_it_is_the_only_one_with_a_notice(conn, province, tmp_path):
    result = ingest(conn, province, edited(tmp_path, lambda wb: setattr(wb[T2], "sheet_state", "hidden")))
    assert result.status == "accepted"
    [hit] = [f for f in result.findings if f.code == "SHEET_HIDDEN"]
    assert hit.severity == "notice" and hit.sheet == T2


# 表1 rows: R100 2, R120 8, R121 9, R122 10, E200 13, E210 14. The draft's 财政拨款收入 is 150 + 50 万元;
# a hospital whose true figures are 1,500,049 and 500,049 yuan shows 150.00 + 50.00 = 200.01 万元.
@pytest.mark.parametrize("unit,step,ok", [("万元", Decimal("0.01"), True), ("万元", Decimal("0.03"), False),
                                          ("千元", Decimal(1), True), ("千元", Decimal(2), False)])
def test_rounding_to_the_units_precision_is_not_an_error(conn, province, tmp_path, unit, step, ok):
    def shown_rounded(wb):
        ws = wb[T1]
        for ref in ("C2", "C8", "C13", "C14"):     # R120 and everything summing it move by one step
            ws[ref] = Decimal(str(ws[ref].value)) + step
    result = ingest(conn, province, edited(tmp_path, shown_rounded, unit=unit))
    if ok:
        assert result.status == "accepted", [(f.code, f.message) for f in result.findings]
        factor = {"万元": 10_000, "千元": 1_000}[unit]
        assert stored(conn, "表1", "R120", "month") == (Decimal(200) * 10_000 / factor + step) * factor
    else:
        assert [f.cell for f in result.findings if f.code == "SUM_MISMATCH"] == ["C8"]


def test_a_credit_code_excel_turned_into_a_number_gets_its_own_finding(conn, province, tmp_path):
    result = ingest(conn, province, edited(tmp_path, lambda wb: wb[COVER].__setitem__("B1", 1.25101e17)))
    [hit] = [f for f in result.findings if f.code == "COVER_CODE_NUMBER"]
    assert hit.cell == "B1" and "1.25101E+17" in hit.message and "文本" in hit.message
    assert "COVER_CODE_INVALID" not in codes(result)


def test_amounts_typed_with_the_covers_unit_or_a_yuan_sign_are_read(conn, province, tmp_path):
    d = draft(hospital_code(1), unit="万元")

    def typed(wb):
        ws = wb[T1]
        ws["C9"] = f"{ws['C9'].value}万元"            # R121
        ws["C10"] = f"¥{ws['C10'].value:,}"           # R122
    result = ingest(conn, province, edited(tmp_path, typed, unit="万元"))
    assert result.status == "accepted", [(f.code, f.message) for f in result.findings]
    assert stored(conn, "表1", "R121", "month") == Decimal(d.t1["R121"][0]) * 10_000


def test_amounts_typed_with_another_unit_give_one_hint_not_one_error_each(conn, province, tmp_path):
    def typed(wb):
        for row in wb[T2].iter_rows(min_row=2, min_col=3, max_col=4):
            for cell in row:
                cell.value = f"{cell.value:,.2f}万元"
    result = ingest(conn, province, edited(tmp_path, typed))
    assert result.status == "rejected"
    errors = [f for f in result.findings if f.severity == "error"]
    assert [f.code for f in errors] == ["AMOUNT_WITH_UNIT"], codes(result)
    assert "36 个金额单元格" in errors[0].message and "只填数字" in errors[0].message
    assert count(conn, "return") == 0


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("name,content", [
    ("return.csv", "机构代码,报告期\n".encode()),
    ("return.xlsb", {"[Content_Types].xml": "<x/>", "xl/workbook.bin": b"\0" * 10}),
    ("return.docx", {"[Content_Types].xml": "<x/>", "word/document.xml": "<x/>"}),
])
def test_anything_but_a_workbook_is_refused_asking_for_xlsx(tmp_path, name, content):
    path = tmp_path / name
    _zip(path, content) if isinstance(content, dict) else path.write_bytes(content)
    with pytest.raises(FileRejected) as err:
        check_file(path, 30 << 20, 400 << 20)
    assert err.value.code == "FILE_NOT_XLSX" and "另存为” .xlsx" in err.value.message


def test_an_ods_with_content_past_the_row_limit_is_refused_before_reading(tmp_path):
    row = ('<table:table-row table:number-rows-repeated="300000"><table:table-cell office:value-type="float" '
           'office:value="1"/></table:table-row>')
    content = ('<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
               'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:spreadsheet>'
               f'<table:table table:name="表5 医疗服务项目收入">{row}</table:table>'
               '</office:spreadsheet></office:body></office:document-content>')
    path = _zip(tmp_path / "bomb.ods", {"mimetype": "application/vnd.oasis.opendocument.spreadsheet",
                                        "content.xml": content})
    with pytest.raises(FileRejected) as err:
        check_file(path, 30 << 20, 400 << 20)
    assert err.value.code == "SHEET_TOO_LONG"
