"""Cells whose shown value the cell reader hides: error values and formulas never computed.

python-calamine returns '' both for a blank cell and for a cell showing #VALUE!, and '' for a
formula whose result was never stored (a workbook written by a program, never opened in Excel).
Reading either as blank would store 0 where the person sees an error, so this module reads
those cells from the file itself, per kind:

- xlsx/xlsm: the worksheet XML (`<c t="e">`, or `<f>` without a cached `<v>`), streamed;
  a sheet without either in its bytes is not parsed at all;
- ods: content.xml (`calcext:value-type="error"`, or `table:formula` without a value type),
  streamed; the same pass measures where content reaches and raises ExtentError past the
  return's limits, because calamine expands repeated rows and columns;
- xls/et: xlrd's cell types (error cells; BIFF always stores a formula's last result).

`marks(...)` gives {sheet name: {(row, column): Mark}}, rows and columns counted from 1.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from defusedxml import ElementTree

from etl.returns.limits import (
    MAX_COLUMNS,
    ExtentError,
    _chunks,
    _row_limit,
    sheet_parts,
)

ERROR_VALUES = ("#VALUE!", "#N/A", "#DIV/0!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#GETTING_DATA", "#SPILL!", "#CALC!")
_M = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_O = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_C = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"


@dataclass(frozen=True)
class Mark:
    """What the person sees instead of a value: an error ('#VALUE!') or an uncomputed formula."""
    kind: str            # 'error' | 'formula'
    text: str            # the error value, or the formula without '='

    def __str__(self) -> str:
        return self.text if self.kind == "error" else f"={self.text}"


def marks(path: Path, kind: str, names) -> dict[str, dict[tuple[int, int], Mark]]:
    """Error and uncomputed-formula cells of the sheets `names` in the workbook at `path`."""
    if kind == "xlsx":
        with zipfile.ZipFile(path) as zf:
            parts = sheet_parts(zf)
            return {n: _xlsx_sheet(zf, parts[n]) for n in names if parts.get(n) in zf.NameToInfo}
    if kind == "ods":
        with zipfile.ZipFile(path) as zf:
            found = ods_marks(zf)
        return {n: found.get(n, {}) for n in names}
    return _ole_marks(path, names)


def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _split_ref(ref: str) -> tuple[int, int]:
    i = next(i for i, ch in enumerate(ref) if ch.isdigit())
    return int(ref[i:]), column_number(ref[:i])


def _xlsx_sheet(zf: zipfile.ZipFile, member: str) -> dict:
    if not any(b' t="e"' in buf or b"<f" in buf for buf, _ in _chunks(zf, member)):
        return {}
    out = {}
    with zf.open(member) as fh:
        for _, el in ElementTree.iterparse(fh, events=("end",)):
            if el.tag == _M + "c":
                f, v = el.find(_M + "f"), el.find(_M + "v")
                ref = el.get("r")
                if ref and el.get("t") == "e":
                    out[_split_ref(ref)] = Mark("error", (v.text or "#VALUE!").strip() if v is not None else "#VALUE!")
                elif ref and f is not None and (v is None or (not v.text and el.get("t") not in ("str", "inlineStr"))):
                    out[_split_ref(ref)] = Mark("formula", (f.text or "").strip())
                el.clear()
            elif el.tag == _M + "row":
                el.clear()
    return out


def ods_marks(zf: zipfile.ZipFile) -> dict[str, dict[tuple[int, int], Mark]]:
    """Marks of every sheet in an ods; raise ExtentError where content passes the limits."""
    out: dict = {}
    name, row, col, sheet, filled = "", 0, 0, {}, False
    with zf.open("content.xml") as fh:
        for event, el in ElementTree.iterparse(fh, events=("start", "end")):
            tag = el.tag
            if event == "start":
                if tag == _T + "table":
                    name, row, sheet = el.get(_T + "name", ""), 0, {}
                    out[name] = sheet
                elif tag == _T + "table-row":
                    col, filled = 0, False
                continue
            if tag in (_T + "table-cell", _T + "covered-table-cell"):
                repeat = int(el.get(_T + "number-columns-repeated", "1"))
                if el.get(_O + "value-type") is not None or el.get(_T + "formula") is not None or len(el):
                    if col + repeat > MAX_COLUMNS:
                        raise ExtentError("SHEET_TOO_WIDE", f"工作表“{name}”的数据超出第 {MAX_COLUMNS} 列（AZ 列），"
                                          "超出报表格式范围；请删除多余的列或单元格内容后重新保存上传")
                    filled = True
                    _ods_cell(el, sheet, row + 1, col + 1)
                col += repeat
                el.clear()
            elif tag == _T + "table-row":
                repeat = int(el.get(_T + "number-rows-repeated", "1"))
                limit = _row_limit(name)
                if filled and row + repeat > limit:
                    raise ExtentError("SHEET_TOO_LONG", f"工作表“{name}”的数据超出第 {limit:,} 行，超出报表格式范围；"
                                      "请删除多余的行或单元格内容后重新保存上传")
                row += repeat
                el.clear()
    return out


def _ods_cell(el, sheet: dict, row: int, col: int) -> None:
    if el.get(_C + "value-type") == "error":
        text = "".join(el.itertext()).strip()
        sheet[(row, col)] = Mark("error", text if text.startswith("#") else "#VALUE!")
    elif el.get(_T + "formula") is not None and el.get(_O + "value-type") is None:
        formula = el.get(_T + "formula", "")
        sheet[(row, col)] = Mark("formula", formula.split("=", 1)[-1])


def _ole_marks(path: Path, names) -> dict:
    import xlrd  # only .xls/.et need it

    try:
        book = xlrd.open_workbook(file_contents=path.read_bytes(), on_demand=True, logfile=io.StringIO())
    except Exception:  # an .et or .xls xlrd cannot read: calamine still reads its values
        return {}
    out = {}
    try:
        available = set(book.sheet_names())
        for name in names:
            if name not in available:
                continue
            sheet, found = book.sheet_by_name(name), {}
            for r in range(sheet.nrows):
                for c, ctype in enumerate(sheet.row_types(r)):
                    if ctype == xlrd.XL_CELL_ERROR:
                        code = sheet.cell_value(r, c)
                        found[(r + 1, c + 1)] = Mark("error", xlrd.error_text_from_code.get(code, "#VALUE!"))
            out[name] = found
    finally:
        book.release_resources()
    return out
