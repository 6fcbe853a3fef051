"""Every finding code of the contract, each from a workbook edited in code."""
import datetime as dt

import pytest
from openpyxl import load_workbook

from tests.factories import draft, hospital_code, write_draft
from tests.helpers import codes, count, ingest

COVER, T1, T2, T3, T4, T5 = ("封面", "表1 收入费用", "表2 资产负债", "表3 薪酬发放", "表4 债务明细",
                             "表5 医疗服务项目收入")
ARREARS = {"arrears": 100_000, "arrears_since": "2026-09"}

# (code, severity, draft options, {sheet: {cell: value}})
CASES = [
    ("ARREARS_MONTH_AFTER_PERIOD", "error", ARREARS, {T3: {"C8": "2026-11"}}),
    ("ARREARS_MONTH_REQUIRED", "error", ARREARS, {T3: {"C8": None}}),
    ("ARREARS_MONTH_UNEXPECTED", "error", {}, {T3: {"C8": "2026-09"}}),
    ("ARREARS_PEOPLE_EXCEED_STAFF", "error", ARREARS, {T3: {"C7": 500}}),
    ("ARREARS_PEOPLE_INCONSISTENT", "error", {}, {T3: {"C7": 5}}),
    ("MONTH_FORMAT", "error", ARREARS, {T3: {"C8": "去年十月"}}),
    ("PAYROLL_NOT_POSITIVE", "error", {}, {T3: {"C3": 0}}),
    ("PAID_EXCEEDS_DUE", "warning", {}, {T3: {"C4": 5_000_000}}),
    ("CODE_DUPLICATE", "error", {}, {T1: {"A22": "总收入", "B22": "R100", "C22": 1, "D22": 1}}),
    ("CODE_MISSING", "error", {}, {T1: {"B8": "X120"}}),
    ("HEADER_MISSING", "error", {}, {T2: {"B1": "代码"}}),
    ("COVER_FIELD_MISSING", "error", {}, {COVER: {"A5": None, "B5": None}}),
    ("COVER_FIELD_REQUIRED", "error", {}, {COVER: {"B5": None}}),
    ("COVER_DATE_INVALID", "error", {}, {COVER: {"B7": "下周"}}),
    ("COVER_PERIOD_INVALID", "error", {}, {COVER: {"B3": "2026-13"}}),
    ("COVER_NAME_MISMATCH", "notice", {}, {COVER: {"B2": "另一个名字医院"}}),
    ("DATE_FORMAT", "error", {}, {T4: {"E2": "很久以前"}}),
    ("DEBT_BALANCE_EXCEEDS_CONTRACT", "error", {}, {T4: {"G2": 1}}),
    ("DEBT_DUE_BEFORE_BORROWED", "error", {}, {T4: {"F2": dt.datetime(2019, 1, 1)}}),
    ("DEBT_LONG_TERM_MISMATCH", "warning", {}, {T4: {"H2": 20_000_000}}),
    ("DEBT_NO_MISSING", "error", {}, {T4: {"A2": None}}),
    ("DEBT_NO_DUPLICATE", "error", {}, {T4: {"A3": "L-1", "B3": "某银行", "C3": "银行贷款", "D3": "其他",
                                            "G3": 10, "H3": 0, "K3": "否", "L3": 0}}),
    ("DEBT_OVERDUE_FLAG", "error", {}, {T4: {"K2": "可能"}}),
    ("DEBT_PURPOSE_INVALID", "error", {}, {T4: {"D2": "买车"}}),
    ("DEBT_TYPE_INVALID", "error", {}, {T4: {"C2": "借条"}}),
    ("ITEMS_TOTAL_MISMATCH", "error", {}, {T5: {"E2": 401_000}}),
    ("ITEM_AMOUNT_MISSING", "error", {}, {T5: {"E2": None}}),
    ("ITEM_CODE_MISSING", "error", {}, {T5: {"A2": None}}),
    ("ITEM_DUPLICATE", "error", {}, {T5: {"A3": "110100001"}}),
]


@pytest.mark.parametrize("code,severity,options,edits", CASES, ids=[c[0] for c in CASES])
def test_finding(conn, province, tmp_path, code, severity, options, edits):
    path = write_draft(tmp_path, draft(hospital_code(1), **options))
    wb = load_workbook(path)
    for sheet, cells in edits.items():
        for ref, value in cells.items():
            wb[sheet][ref] = value
    wb.save(path)
    result = ingest(conn, province, path)
    hits = [f for f in result.findings if f.code == code]
    assert hits, codes(result)
    assert {f.severity for f in hits} == {severity} and all(f.message for f in hits)
    assert result.status == ("rejected" if severity == "error" else "accepted")
    if severity == "error":
        assert count(conn, "return") == 0


def test_identical_upload_is_a_notice_not_a_version(conn, province, tmp_path):
    path = write_draft(tmp_path, draft(hospital_code(1)))
    ingest(conn, province, path)
    again = ingest(conn, province, path)
    assert [(f.code, f.severity) for f in again.findings] == [("FILE_DUPLICATE", "notice")]
    assert count(conn, "return") == 1
