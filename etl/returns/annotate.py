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
import zipfile
from collections import defaultdict
from io import BytesIO
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.hyperlink import Hyperlink

from etl.common import sandbox
from etl.common.findings import SEVERITY_LABELS, rule_name
from etl.common.tabular import neutralise

logger = logging.getLogger(__name__)

RESULT_SHEET = "校验结果"
FILLS = {"error": PatternFill("solid", fgColor="FFC7CE"), "warning": PatternFill("solid", fgColor="FFEB9C"),
         "notice": PatternFill("solid", fgColor="DDEBF7")}
ORDER = {"error": 0, "warning": 1, "notice": 2}
AUTHOR = "省级校验"
CELL = re.compile(r"^[A-Z]{1,3}[1-9][0-9]{0,6}$")
# openpyxl needs about 0.3 ms and 3 KB per 表5 row to load and save a workbook: past this
# uncompressed size (about 18,000 rows) only the 校验结果 list is made, never the marked copy.
MAX_SOURCE_UNCOMPRESSED = 5 * 1024 * 1024
# The 校验结果 sheet lists at most this many findings (a page says how many more there were).
MAX_LISTED = 5000


def annotate_safely(source, findings, *, title: str | None = None,
                    limits: sandbox.Limits = sandbox.Limits(),
                    max_uncompressed: int = MAX_SOURCE_UNCOMPRESSED) -> bytes:
    """`annotate` in a limited child process, for a user's file (path or bytes).

    A source that expands past `max_uncompressed`, or that the child cannot annotate within
    `limits`, is not marked: the answer is the 校验结果 list alone, saying why.
    """
    data = source.read_bytes() if isinstance(source, Path) else (source or b"")
    findings = [_as_dict(f) for f in findings]
    size = _expanded_size(data)
    note = None
    if size > max_uncompressed:
        data, note = b"", (f"原文件较大（解压后约 {size / 1048576:.0f} MB），未在原表上逐格标注，"
                           "请按下表的工作表和单元格查找。")
    try:
        return sandbox.run(_annotate_child, data, findings, title, note, limits=limits, preload=(__name__,))
    except sandbox.SandboxFailed as exc:
        logger.warning("annotate: child failed (%s); listing findings only", exc.detail)
        return annotate(b"", findings, title=title,
                        note=f"原文件无法安全打开（{exc.reason}），未在原表上标注。")


def _annotate_child(data: bytes, findings: list, title, note) -> bytes:
    return annotate(data, findings, title=title, note=note)


def _expanded_size(data: bytes) -> int:
    """The zip's declared uncompressed size (0 for what is not a zip: annotate lists only)."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            return sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        return 0


def _field(f, name):
    return f[name] if isinstance(f, dict) else getattr(f, name)


def _as_dict(f) -> dict:
    keys = ("code", "severity", "sheet", "cell", "message")
    out = {k: _field(f, k) for k in keys}
    out["explanation"] = f.get("explanation") if isinstance(f, dict) else None
    return out


def annotate(source, findings, *, title: str | None = None, note: str | None = None) -> bytes:
    """Return `source` (a path or xlsx bytes) as xlsx bytes with `findings` marked on it.

    A source openpyxl cannot open (not an xlsx, encrypted, corrupt, or b"") gives a workbook
    holding only the 校验结果 sheet, so the hospital still gets the list; `note` then says why.
    Runs in the calling process: for a user's file use `annotate_safely`.
    """
    every = sorted((_as_dict(f) for f in findings), key=lambda f: ORDER.get(f["severity"], 3))
    counts = {s: sum(f["severity"] == s for f in every) for s in ORDER}
    rows = every[:MAX_LISTED]
    wb = _open(source) if source else None
    opened = wb is not None
    if opened:
        marked = _mark_cells(wb, rows)
    else:
        wb, marked = Workbook(), set()
        wb.remove(wb.active)
    _result_sheet(wb, rows, marked, title, note or ("" if opened else "原文件无法打开，未能在原表上标注。"), counts)
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
        text = "\n".join(f"【{SEVERITY_LABELS.get(f['severity'], f['severity'])}】{rule_name(f['code'])}：{f['message']}"
                         for f in found)
        if cell.comment is not None and cell.comment.author != AUTHOR:
            text = cell.comment.text + "\n" + text
        comment = Comment(text, AUTHOR)
        comment.width, comment.height = 320, 40 + 40 * len(found)
        cell.comment = comment
    return set(by_cell)


# Column widths (characters) of 序号…医院说明, without and with hospital explanations; each set
# adds up to well under a landscape A4 page so the printout needs little scaling.
WIDTHS = {False: (5, 9, 24, 14, 8, 60, 10), True: (5, 9, 22, 13, 8, 48, 30)}
LINE_HEIGHT = 15          # points per wrapped line at the default 11-point font


def _row_height(message: str, explanation: str | None) -> float:
    """Rows high enough for their wrapped text: openpyxl cannot measure, Excel won't on open."""
    def lines(text: str, width: float) -> int:
        # A CJK character is about two character widths of the column unit.
        units = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text or "")
        return max(1, -(-units // int(width)))
    widths = WIDTHS[bool(explanation)]
    return LINE_HEIGHT * max(lines(message, widths[5] - 1), lines(explanation or "", widths[6] - 1))


def _print_setup(ws) -> None:
    """One page wide, landscape A4, header rows repeated on every page, gridlines printed."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0          # as many pages tall as the list needs
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "3:3"
    ws.print_options.gridLines = True
    ws.page_margins.left = ws.page_margins.right = 0.4


def _result_sheet(wb, rows, marked: set, title: str | None, note: str, counts: dict) -> None:
    ws = wb.create_sheet(RESULT_SHEET, 0)
    total = sum(counts.values())
    ws.append([title or "校验结果"])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([f"错误 {counts['error']} 条，核实 {counts['warning']} 条，提示 {counts['notice']} 条。"
               + ("有错误的报表不予接收，请修改后重新上报。" if counts["error"] else "")
               + (f"共 {total} 条，仅列出前 {len(rows)} 条。" if total > len(rows) else "") + note])
    ws.append(["序号", "严重程度", "规则", "工作表", "单元格", "说明", "医院说明"])
    for c in ws[3]:
        c.font = Font(bold=True)
    has_explanations = any(f["explanation"] for f in rows)
    for i, f in enumerate(sorted(rows, key=lambda f: ORDER.get(f["severity"], 3)), start=1):
        # Sheet names, messages quoting cells and explanations are user text: keep them inert.
        ws.append([i, SEVERITY_LABELS.get(f["severity"], f["severity"]), rule_name(f["code"]),
                   neutralise(f["sheet"]) or "（整个文件）", f["cell"] or "", neutralise(f["message"]),
                   neutralise(f["explanation"] or "")])
        row = ws.max_row
        ws.cell(row=row, column=2).fill = FILLS.get(f["severity"], FILLS["notice"])
        for column in range(1, 8):
            # Every column wraps and sits at the top, so a long 说明 grows its row, never clipped.
            ws.cell(row=row, column=column).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row].height = _row_height(f["message"], f["explanation"])
        if (f["sheet"], f["cell"]) in marked:
            link = ws.cell(row=row, column=5)
            link.hyperlink = Hyperlink(ref=link.coordinate, location=f"'{f['sheet']}'!{f['cell']}")
            link.font = Font(color="0563C1", underline="single")
    for letter, width in zip("ABCDEFG", WIDTHS[has_explanations]):
        ws.column_dimensions[letter].width = width
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("A2:G2")
    ws.row_dimensions[2].height = 2 * LINE_HEIGHT
    ws.freeze_panes = "A4"
    _print_setup(ws)
    wb.active = 0
    for sheet in wb.worksheets[1:]:
        sheet.sheet_view.tabSelected = False
