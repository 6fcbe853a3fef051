"""Cases for spreadsheets and programs: the xlsx of the case list, and one JSON object per
case (the `cases` command), from etl.cases.listing rows."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from etl.cases.repayment import shortfalls
from etl.common.tabular import neutralise
from etl.ratings.overview import DOMAIN_NAMES

HEADERS = ["编号", "医院代码", "医院名称", "市（州）", "风险领域", "状态", "立案月份", "方案提交截止", "是否逾期",
           "逾期情况", "连续非红月数", "欠薪化解缺口（元）", "销号月份"]
WIDTHS = [7, 22, 28, 12, 10, 14, 10, 13, 9, 30, 12, 16, 10]


def overdue_words(row: dict) -> str:
    """Why a case is overdue, in words ('' when it is not)."""
    parts = []
    if row["plan_overdue"]:
        parts.append(f"整改方案逾期未提交（截止 {row['plan_due']}）")
    if row["notes_missing"]:
        parts.append("缺少月度进展：" + "、".join(row["notes_missing"]))
    return "；".join(parts)


def records(conn, rows: list[dict]) -> list[dict]:
    """One dict per case for JSON: hospital, hospital_name, domain, status, opened, due,
    overdue, closed, …; amounts are Decimals (write with reports.exports.ratings.dumps)."""
    gaps = shortfalls(conn, rows)
    return [{"id": r["id"], "hospital": r["hospital_code"], "hospital_name": r["hospital_name"],
             "prefecture": r["prefecture_name"] or "", "domain": r["domain"], "status": r["state"],
             "status_name": r["state_name"], "opened": r["opened_period"],
             "opened_at": r["opened_at"].isoformat(timespec="seconds"), "due": r["plan_due"].isoformat(),
             "overdue": r["overdue"], "plan_overdue": r["plan_overdue"], "notes_missing": list(r["notes_missing"]),
             "quiet_months": r["quiet_months"], "escalated": r["escalated_at"] is not None,
             "closed": r["closed_period"], "shortfall": gaps.get(r["id"])} for r in rows]


def xlsx_bytes(conn, rows: list[dict]) -> bytes:
    """The case list as a workbook: codes as text, states and domains in words, overdue shaded."""
    gaps = shortfalls(conn, rows)
    wb = Workbook()
    ws = wb.active
    ws.title = "风险处置事项"
    ws.append(HEADERS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.fill = PatternFill("solid", fgColor="DCE6F0")
    for r in rows:
        ws.append([r["id"], r["hospital_code"], neutralise(r["hospital_name"]), neutralise(r["prefecture_name"] or ""),
                   DOMAIN_NAMES[r["domain"]], r["state_name"], r["opened_period"], r["plan_due"],
                   "是" if r["overdue"] else "否", overdue_words(r), r["quiet_months"], gaps.get(r["id"]),
                   r["closed_period"] or ""])
        row = ws.max_row
        ws.cell(row, 2).number_format = "@"
        ws.cell(row, 8).number_format = "yyyy-mm-dd"
        ws.cell(row, 12).number_format = "#,##0.00"
        if r["overdue"]:
            ws.cell(row, 9).fill = PatternFill("solid", fgColor="F4C7C3")
    for i, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = width
    ws.freeze_panes = "D2"
    ws.auto_filter.ref = ws.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
