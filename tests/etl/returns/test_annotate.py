"""The hospital's own workbook back, with every finding on its cell and a 校验结果 sheet."""
import datetime as dt
import re
from io import BytesIO

import pytest
from openpyxl import load_workbook

from etl.common.findings import Finding, rule_name
from etl.reference import registry
from etl.returns import intake
from etl.returns.annotate import FILLS, RESULT_SHEET, annotate
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)


@pytest.fixture()
def settings(conn, app, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1)]))
    s = intake.IntakeSettings.from_config(app.config)
    s.today = dt.date(2026, 11, 24)
    return s


def broken_return(tmp_path):
    path = write_draft(tmp_path, draft(hospital_code(1)))
    wb = load_workbook(path)
    wb["表1 收入费用"]["C3"] = "abc"          # R110 本月数 not a number
    wb["表2 资产负债"]["C6"] = 1               # A110 below its parts
    wb["封面"]["B6"] = "电话 028"              # phone
    wb.save(path)
    return path


def test_offending_cells_are_filled_and_commented(conn, settings, tmp_path):
    path = broken_return(tmp_path)
    result = intake.ingest_file(conn, path, settings)
    assert result.status == "rejected"
    wb = load_workbook(BytesIO(annotate(path, result.findings)))
    assert wb.sheetnames[0] == RESULT_SHEET and wb.active.title == RESULT_SHEET
    for f in result.findings:
        if f.cell:
            cell = wb[f.sheet][f.cell]
            assert cell.fill.fgColor.rgb.endswith(FILLS[f.severity].fgColor.rgb[-6:]), (f.sheet, f.cell)
            assert rule_name(f.code) in cell.comment.text and f.message in cell.comment.text
            assert f.code not in cell.comment.text
    assert wb["表1 收入费用"]["C3"].value == "abc"            # their content is untouched
    untouched = wb["表1 收入费用"]["C21"]
    assert untouched.comment is None and untouched.fill.fgColor.rgb in (None, "00000000")


def test_result_sheet_lists_every_finding_with_links(conn, settings, tmp_path):
    path = broken_return(tmp_path)
    findings = intake.ingest_file(conn, path, settings).findings
    ws = load_workbook(BytesIO(annotate(path, findings)))[RESULT_SHEET]
    rows = [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0]]
    assert len(rows) == len(findings)
    assert {r[2] for r in rows} == {rule_name(f.code) for f in findings}
    assert ws["C3"].value == "规则"
    # No finding code reaches the hospital's workbook: the Chinese rule name stands for it.
    assert not any(re.search(r"[A-Z]{2,}_[A-Z_]+", str(v)) for r in ws.iter_rows(values_only=True) for v in r if v)
    assert rows[0][1].startswith("错误")
    assert f"错误 {sum(f.severity == 'error' for f in findings)} 条" in ws["A2"].value
    linked = [c for c in ws["E"][3:] if c.hyperlink]
    assert linked and linked[0].hyperlink.location.startswith("'")


def test_annotated_copy_reads_back_to_the_same_findings(conn, settings, tmp_path):
    """The 校验结果 sheet is ignored by the reader: fix the copy and upload it again."""
    path = broken_return(tmp_path)
    first = intake.ingest_file(conn, path, settings).findings
    copy = tmp_path / "annotated.xlsx"
    copy.write_bytes(annotate(path, first))
    again = intake.ingest_file(conn, copy, settings).findings
    assert sorted((f.code, f.sheet, f.cell) for f in again) == sorted((f.code, f.sheet, f.cell) for f in first)
    twice = load_workbook(BytesIO(annotate(copy, again)))
    assert twice.sheetnames.count(RESULT_SHEET) == 1
    assert twice["表1 收入费用"]["C3"].comment.text.count(rule_name("AMOUNT_NOT_NUMBER")) == 1


def test_several_findings_on_one_cell_share_one_comment(tmp_path):
    path = write_draft(tmp_path, draft(hospital_code(1)))
    findings = [Finding("A_NOTICE", "notice", "表1 收入费用", "C2", "提示一"),
                Finding("AN_ERROR", "error", "表1 收入费用", "C2", "错误一"),
                Finding("NO_CELL", "warning", "表4 债务明细", None, "整表问题"),
                Finding("SHEET_MISSING", "error", "表9", None, "缺少工作表"),
                Finding("BAD_REF", "error", "表1 收入费用", "not-a-cell", "坏引用")]
    wb = load_workbook(BytesIO(annotate(path, findings)))
    cell = wb["表1 收入费用"]["C2"]
    assert cell.comment.text.index("错误一") < cell.comment.text.index("提示一")
    assert cell.fill.fgColor.rgb.endswith(FILLS["error"].fgColor.rgb[-6:])
    assert len([r for r in wb[RESULT_SHEET].iter_rows(min_row=4, values_only=True) if r[0]]) == 5


def test_unreadable_source_still_gives_the_list(tmp_path):
    findings = [Finding("FILE_NOT_XLSX", "error", "", None, "文件不是 Excel .xlsx 工作簿")]
    wb = load_workbook(BytesIO(annotate(b"this is not a workbook", findings)))
    assert wb.sheetnames == [RESULT_SHEET]
    ws = wb[RESULT_SHEET]
    assert ws["C4"].value == "文件类型不支持" and ws["D4"].value == "（整个文件）"
    assert "未能在原表上标注" in ws["A2"].value


def test_stored_findings_carry_their_explanations(tmp_path):
    path = write_draft(tmp_path, draft(hospital_code(1)))
    rows = [{"code": "YTD_MISMATCH", "severity": "warning", "sheet": "表1 收入费用", "cell": "D2",
             "message": "本年累计数不符", "explanation": "上月数据已更正，本月重述"}]
    ws = load_workbook(BytesIO(annotate(path.read_bytes(), rows)))[RESULT_SHEET]
    assert ws["G4"].value == "上月数据已更正，本月重述"


def test_result_sheet_prints_one_page_wide_with_wrapped_rows(conn, settings, tmp_path):
    path = broken_return(tmp_path)
    findings = list(intake.ingest_file(conn, path, settings).findings)
    findings.append(Finding("LONG", "warning", "表1 收入费用", "C5", "很长的说明" * 40))
    ws = load_workbook(BytesIO(annotate(path, findings)))[RESULT_SHEET]
    setup = ws.page_setup
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert (setup.fitToWidth, setup.fitToHeight, setup.orientation, setup.paperSize) == (1, 0, "landscape", 9)
    assert ws.print_title_rows == "$3:$3"
    widths = sum(ws.column_dimensions[c].width for c in "ABCDEFG")
    assert widths <= 140                    # about a landscape A4 line at 100%, so little shrinking
    rows = list(ws.iter_rows(min_row=4))
    assert all(c.alignment.wrap_text and c.alignment.vertical == "top" for r in rows for c in r)
    long_row = next(r for r in rows if r[5].value.startswith("很长的说明"))
    assert ws.row_dimensions[long_row[0].row].height >= 15 * 6       # 200 CJK characters in a 60-wide column
    short_row = next(r for r in rows if not r[5].value.startswith("很长的说明"))
    assert ws.row_dimensions[short_row[0].row].height < ws.row_dimensions[long_row[0].row].height


def test_a_large_workbook_gets_the_list_without_marks(tmp_path):
    """Past the size bound openpyxl never opens the user's file: the list alone, saying why."""
    from etl.returns.annotate import annotate_safely
    path = write_draft(tmp_path, draft(hospital_code(1)))
    data = annotate_safely(path, [Finding("X", "error", "表1", "C5", "错")], max_uncompressed=1000)
    wb = load_workbook(BytesIO(data))
    assert wb.sheetnames == ["校验结果"]
    assert "原文件较大" in wb["校验结果"]["A2"].value
    marked = load_workbook(BytesIO(annotate_safely(path, [Finding("X", "error", "表1", "C5", "错")])))
    assert len(marked.sheetnames) > 1
