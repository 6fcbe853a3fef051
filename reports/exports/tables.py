"""A page's long table as a workbook: what the user sees on the page, filtered the same way.

Each page (overview, region, submissions, the bulletin's appendix) describes its table as
Chinese headers and rows of plain values; `filtered` keeps the rows the page's filter box
keeps (every cell's text, case-insensitive, contains the filter text — the same test
app/static/tables.js applies to the row's data-text), and `xlsx_bytes` writes them: text
cells stay text (a credit code of 18 digits never becomes 1.25E+17, a name starting with =
never runs), numbers stay numbers, the header row bold, frozen and filterable. When the user
sorted the page by a column, `sorted_rows` orders the workbook by the same column the same way.
"""
from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from pypinyin import lazy_pinyin

from etl.common.tabular import neutralise

MAX_WIDTH = 48


def row_text(cells) -> str:
    """The text a row is filtered on: its cells' texts, lower-cased, joined by spaces."""
    return " ".join("" if c is None else str(c) for c in cells).lower()


def filtered(rows: list[list], text: str | None) -> list[list]:
    """The rows whose text contains `text` (blank: all), as the page's filter box shows them."""
    needle = " ".join((text or "").split()).lower()
    return [r for r in rows if needle in row_text(r)] if needle else list(rows)


# Colour names sort by severity, as tables.js sorts a column of colour badges.
SEVERITY = {"红色": 1, "黄色": 2, "绿色": 3, "无法计算": 4, "未上报": 5}
_NUMBER = re.compile(r"^[-−+]?[\d,，]*\.?\d+\s*%?$")
_DIGITS = re.compile(r"(\d+)")


def column_for(headers: list[str], shown: str | None) -> int | None:
    """The workbook column of the page's column headed `shown`: the same header, else the first
    that begins with it (the page's 总体 is the workbook's 总体评级); None if there is none."""
    shown = " ".join((shown or "").split())
    if not shown:
        return None
    if shown in headers:
        return headers.index(shown)
    return next((i for i, h in enumerate(headers) if h.startswith(shown)), None)


def sort_key(value):
    """How tables.js orders a cell: blanks (and —) last, numbers as numbers before text, colour
    names by severity, Chinese text in pinyin order with runs of digits compared as numbers."""
    if value is None or (isinstance(value, str) and value.strip() in ("", "—", "-", "–")):
        return (2, 0, ())
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return (0, float(value), ())
    text = " ".join(str(value).split())
    if text in SEVERITY:
        return (0, float(SEVERITY[text]), ())
    if _NUMBER.match(text):
        return (0, float(text.replace(",", "").replace("，", "").replace("%", "").replace("−", "-")), ())
    spelled = "".join(lazy_pinyin(text)).lower()
    return (1, 0, tuple(int(p) if p.isdigit() else p for p in _DIGITS.split(spelled) if p))


def sorted_rows(rows: list[list], column: int | None, descending: bool = False) -> list[list]:
    """`rows` ordered by `column` as the page orders it (stable; blanks stay last either way)."""
    if column is None:
        return list(rows)
    keyed = [(sort_key(r[column] if column < len(r) else None), r) for r in rows]
    filled = [k for k in keyed if k[0][0] != 2]
    blank = [k for k in keyed if k[0][0] == 2]
    filled.sort(key=lambda k: k[0], reverse=descending)     # stable both ways: ties keep the page's order
    return [r for _, r in filled + blank]


def xlsx_bytes(title: str, headers: list[str], rows: list[list]) -> bytes:
    """One sheet named `title` (Excel allows 31 characters) with `headers` and `rows`."""
    wb = Workbook()
    ws = wb.active
    ws.title = "".join(ch for ch in title if ch not in '[]:*?/\\')[:31] or "Sheet1"
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        cell.fill = PatternFill("solid", fgColor="DCE6F0")
    widths = [_width(h) for h in headers]
    for values in rows:
        ws.append([_value(v) for v in values])
        for i, (cell, v) in enumerate(zip(ws[ws.max_row], values)):
            if isinstance(v, str):
                cell.number_format = "@"          # text, however many digits it holds
            widths[i] = max(widths[i], _width(v))
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(width + 2, MAX_WIDTH)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _value(v):
    if v is None or isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
        return v
    return neutralise(str(v))


def _width(v) -> int:
    """Columns as wide as their text: a CJK character takes two."""
    text = "" if v is None else str(v)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
