"""The export contract of risk.md written out: JSON with exact numbers (for systems), and
CSV and .xlsx that a spreadsheet user can open (names, prefecture, codes that stay text)."""
from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill

from etl.common.tabular import neutralise
from etl.ratings import indicators as registry
from etl.ratings.indicators import IDS as INDICATORS

DOMAINS = ("deficit", "debt", "wages")
COLOUR_NAMES = {"red": "红色", "yellow": "黄色", "green": "绿色", "missing": "未上报", "n/a": "无法计算"}
DOMAIN_NAMES = {"deficit": "收不抵支风险", "debt": "长期债务风险", "wages": "拖欠薪酬风险"}
FILLS = {"red": "F4C7C3", "yellow": "FCE8B2", "green": "D9EAD3", "missing": "E6E6E6"}
# Per indicator unit: (header suffix, number format, factor the exact value is multiplied by).
XLSX_UNITS = {
    "percent": ("%", "0.00%", 1), "pp": ("个百分点", "0.00", 100), "days": ("天", "0.0", 1),
    "months": ("个月", "0", 1), "money": ("元", "#,##0.00", 1), "yuan": ("元", "#,##0.00", 1),
    "plain": ("", "0.00", 1),
}
# A leading tab keeps an all-digit credit code text in Excel and LibreOffice (which otherwise
# turn 18 digits into 1.25101E+17); strip() gives the code back to a program.
CODE_AS_TEXT = "\t"


def dumps(obj, indent: int | None = None) -> str:
    """JSON with Decimals written as exact numbers (not floats, not strings)."""
    def mark(o):
        if isinstance(o, Decimal):
            return f"\x00{format(o, 'f')}\x00"
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    text = json.dumps(obj, default=mark, ensure_ascii=False, indent=indent)
    return re.sub(r'"\\u0000(-?[0-9.]+)\\u0000"', r"\1", text)


CSV_COLUMNS = ("hospital", "hospital_name", "prefecture", "period", "rating", "provisional") + DOMAINS + INDICATORS


def csv_rows(rows: list[dict]):
    """The header, then one row per hospital; `rows` from export_rows(..., names=True)."""
    yield CSV_COLUMNS
    for r in rows:
        yield ((CODE_AS_TEXT + r["hospital"], neutralise(r.get("name", "")), neutralise(r.get("prefecture", "")),
                r["period"], r["rating"], str(r["provisional"]).lower())
               + tuple(r["domains"][d] for d in DOMAINS)
               + tuple("" if r["indicators"][k] is None else format(r["indicators"][k], "f") for k in INDICATORS))


def csv_text(rows: list[dict]) -> str:
    """The CSV as text, starting with a UTF-8 byte order mark so Excel reads the Chinese."""
    out = io.StringIO()
    out.write("\ufeff")
    csv.writer(out, lineterminator="\r\n").writerows(csv_rows(rows))
    return out.getvalue()


def xlsx_headers() -> list[str]:
    """The workbook's Chinese column headers, indicators with their unit."""
    def head(indicator: str) -> str:
        suffix = XLSX_UNITS[registry.BY_ID[indicator].unit][0]
        return f"{registry.label(indicator)}（{suffix}）" if suffix else registry.label(indicator)
    return (["机构代码", "机构名称", "市（州）", "报告期", "综合评级", "是否暂定"]
            + [DOMAIN_NAMES[d] for d in DOMAINS] + [head(k) for k in INDICATORS])


def xlsx_bytes(rows: list[dict], period: str) -> bytes:
    """One sheet per period: codes stored as text, colours in words (and shaded), exact
    indicator values shown in their unit. `rows` from export_rows(..., names=True)."""
    wb = Workbook()
    ws = wb.active
    ws.title = f"{period} 评级"
    ws.append(xlsx_headers())
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.fill = PatternFill("solid", fgColor="DCE6F0")
    fixed = 6 + len(DOMAINS)
    for r in rows:
        values = [r["hospital"], neutralise(r.get("name", "")), neutralise(r.get("prefecture", "")), r["period"],
                  COLOUR_NAMES.get(r["rating"], r["rating"]), "是" if r["provisional"] else "否"]
        values += [COLOUR_NAMES.get(r["domains"][d], r["domains"][d]) for d in DOMAINS]
        for k in INDICATORS:
            value = r["indicators"][k]
            values.append(None if value is None else value * XLSX_UNITS[registry.BY_ID[k].unit][2])
        ws.append(values)
        row = ws.max_row
        ws.cell(row, 1).number_format = "@"          # text: 18 digits never become 1.25101E+17
        for column, colour in zip(range(5, 10), [r["rating"]] + [r["domains"][d] for d in DOMAINS]):
            if colour in FILLS:
                ws.cell(row, column).fill = PatternFill("solid", fgColor=FILLS[colour])
        for i, k in enumerate(INDICATORS, start=fixed + 1):
            ws.cell(row, i).number_format = XLSX_UNITS[registry.BY_ID[k].unit][1]
    widths = [22, 28, 12, 9, 9, 9, 12, 12, 12] + [16] * len(INDICATORS)
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = width
    ws.row_dimensions[1].height = 45
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = ws.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
