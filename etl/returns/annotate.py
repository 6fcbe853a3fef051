"""Give a hospital its own workbook back with every finding marked on it.

Each cell named by a finding is filled in its severity's colour and carries a comment with
the code and the message; a 校验结果 sheet, placed first, lists every finding with a link to
its cell. The reader ignores that sheet (it starts with no table's prefix), so a corrected
copy of the annotated workbook can be uploaded again as it is.
"""
from __future__ import annotations

import logging
import re
import warnings
from collections import defaultdict
from io import BytesIO
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink

from etl.common.findings import SEVERITY_LABELS
from etl.common.tabular import neutralise

logger = logging.getLogger(__name__)

RESULT_SHEET = "校验结果"
FILLS = {"error": PatternFill("solid", fgColor="FFC7CE"), "warning": PatternFill("solid", fgColor="FFEB9C"),
         "notice": PatternFill("solid", fgColor="DDEBF7")}
ORDER = {"error": 0, "warning": 1, "notice": 2}
AUTHOR = "省级校验"
CELL = re.compile(r"^[A-Z]{1,3}[1-9][0-9]{0,6}$")


def _field(f, name):
    return f[name] if isinstance(f, dict) else getattr(f, name)


def _as_dict(f) -> dict:
    keys = ("code", "severity", "sheet", "cell", "message")
    out = {k: _field(f, k) for k in keys}
    out["explanation"] = f.get("explanation") if isinstance(f, dict) else None
    return out


def annotate(source, findings, *, title: str | None = None) -> bytes:
    """Return `source` (a path or xlsx bytes) as xlsx bytes with `findings` marked on it.

    A source openpyxl cannot open (not an xlsx, encrypted, corrupt) gives a workbook holding
    only the 校验结果 sheet, so the hospital still gets the list.
    """
    rows = [_as_dict(f) for f in findings]
    wb = _open(source)
    opened = wb is not None
    if opened:
        marked = _mark_cells(wb, rows)
    else:
        wb, marked = Workbook(), set()
        wb.remove(wb.active)
    _result_sheet(wb, rows, marked, title, opened)
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _open(source):
    data = source.read_bytes() if isinstance(source, Path) else source
    try:
        with warnings.catch_warnings():
            # openpyxl warns about extensions it drops (e.g. x14 data validation); harmless here.
            warnings.simplefilter("ignore")
            return load_workbook(BytesIO(data), rich_text=False)
    except Exception as exc:  # openpyxl raises many types for what is not a readable xlsx
        logger.info("annotate: source not readable by openpyxl (%s)", exc.__class__.__name__)
        return None


def _mark_cells(wb, rows) -> set:
    """Fill and comment every cell named by a finding; return the (sheet, cell) marked."""
    by_cell = defaultdict(list)
    for f in rows:
        if f["cell"] and f["sheet"] in wb.sheetnames:
            if not CELL.match(f["cell"]):
                continue
            by_cell[(f["sheet"], f["cell"])].append(f)
    if RESULT_SHEET in wb.sheetnames:   # an annotated copy uploaded again
        del wb[RESULT_SHEET]
    for (sheet, ref), found in by_cell.items():
        found.sort(key=lambda f: ORDER.get(f["severity"], 3))
        cell = wb[sheet][ref]
        cell.fill = FILLS.get(found[0]["severity"], FILLS["notice"])
        text = "\n".join(f"【{SEVERITY_LABELS.get(f['severity'], f['severity'])}】{f['code']}：{f['message']}"
                         for f in found)
        if cell.comment is not None and cell.comment.author != AUTHOR:
            text = cell.comment.text + "\n" + text
        comment = Comment(text, AUTHOR)
        comment.width, comment.height = 320, 40 + 40 * len(found)
        cell.comment = comment
    return set(by_cell)


def _result_sheet(wb, rows, marked: set, title: str | None, opened: bool) -> None:
    ws = wb.create_sheet(RESULT_SHEET, 0)
    counts = {s: sum(f["severity"] == s for f in rows) for s in ORDER}
    ws.append([title or "校验结果"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([f"错误 {counts['error']} 条，核实 {counts['warning']} 条，提示 {counts['notice']} 条。"
               + ("有错误的报表不予接收，请修改后重新上报。" if counts["error"] else "")
               + ("" if opened else "原文件无法打开，未能在原表上标注。")])
    ws.append(["序号", "严重程度", "代码", "工作表", "单元格", "说明", "医院说明"])
    for c in ws[3]:
        c.font = Font(bold=True)
    has_explanations = any(f["explanation"] for f in rows)
    for i, f in enumerate(sorted(rows, key=lambda f: ORDER.get(f["severity"], 3)), start=1):
        # Sheet names, messages quoting cells and explanations are user text: keep them inert.
        ws.append([i, SEVERITY_LABELS.get(f["severity"], f["severity"]), f["code"],
                   neutralise(f["sheet"]) or "（整个文件）", f["cell"] or "", neutralise(f["message"]),
                   neutralise(f["explanation"] or "")])
        row = ws.max_row
        ws.cell(row=row, column=2).fill = FILLS.get(f["severity"], FILLS["notice"])
        ws.cell(row=row, column=6).alignment = Alignment(wrap_text=True, vertical="top")
        if (f["sheet"], f["cell"]) in marked:
            link = ws.cell(row=row, column=5)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{f['sheet']}'!{f['cell']}")
            link.font = Font(color="0563C1", underline="single")
    for letter, width in zip("ABCDEFG", (6, 14, 28, 22, 9, 80, 40 if has_explanations else 12)):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A4"
    wb.active = 0
    for sheet in wb.worksheets[1:]:
        sheet.sheet_view.tabSelected = False
