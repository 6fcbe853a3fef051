"""Read a return workbook into plain data: forgiving about layout, exact about numbers.

The reader reads what the person sees. It streams each sheet once (python-calamine, any of
xlsx/xlsm/xls/et/ods by content), finds sheets as etl/returns/sheets.py ranks them (visible
before hidden, exact name before prefix), header rows by their labels and 表1–表3 rows by
their 编码, and converts amounts to yuan with the cover's unit. Cells showing an error value
and formulas never computed (etl/returns/marks.py) are never read as 0: an error cell is a
CELL_ERROR finding naming it; the template's simple sums are computed (etl/returns/formulas.py)
and any other uncomputed formula gives one FORMULA_NOT_COMPUTED finding, its cells left
unknown so no sum rule cascades from them. Amounts typed with a unit word other than the
cover's give one AMOUNT_WITH_UNIT finding for the whole workbook. What it cannot read becomes
a finding with the sheet and the cell; it never raises for a user's mistake.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook, PasswordError

from etl.common.amounts import (
    UNIT_FACTORS,
    AmountError,
    AmountUnitError,
    cell_text,
    parse_amount,
)
from etl.common.codes import parse_period
from etl.common.findings import Findings
from etl.returns import contract as rf
from etl.returns.formats import FileRejected, check_file, kind_of  # noqa: F401  (check_file: callers import it here)
from etl.returns.formulas import compute
from etl.returns.marks import Mark, marks
from etl.returns.sheets import match_sheets

HEADER_SEARCH_ROWS = 10
SHOWN_CELLS = 5


@dataclass
class Value:
    amount: Decimal | None
    cell: str
    text: str | None = None


@dataclass
class Debt:
    row: int
    values: dict


@dataclass
class Item:
    row: int
    price_code: str
    item_name: str
    setting: str
    quantity: Decimal | None
    amount: Decimal
    national_code: str | None


@dataclass
class ParsedReturn:
    sheet_names: dict = field(default_factory=dict)   # '表1' -> the workbook's sheet name
    cover: dict = field(default_factory=dict)         # label -> (raw value, cell)
    hospital_code: str = ""
    hospital_name: str = ""
    period: str | None = None
    unit: str | None = None
    template_version: str = ""
    filled_by: str = ""
    phone: str = ""
    filled_on: dt.date | None = None
    tables: dict = field(default_factory=dict)        # '表1' -> {code: {column: Value}}
    code_rows: dict = field(default_factory=dict)     # '表1' -> {code: excel row}
    debts: list = field(default_factory=list)
    items: list = field(default_factory=list)
    findings: Findings = field(default_factory=Findings)
    marks: dict = field(default_factory=dict)         # sheet name -> {(row, col): Mark}
    computed: list = field(default_factory=list)      # 'sheet!C2' of formulas computed here
    uncomputed: list = field(default_factory=list)    # 'sheet!C2' of formulas left unknown
    unit_typed: list = field(default_factory=list)    # ('sheet!C2', text) typed with another unit

    def value(self, sheet: str, code: str, column: str) -> Decimal | None:
        v = self.tables.get(sheet, {}).get(code, {}).get(column)
        return v.amount if v else None

    def cell(self, sheet: str, code: str, column: str) -> str | None:
        v = self.tables.get(sheet, {}).get(code, {}).get(column)
        return v.cell if v else None


def read_return(path: Path) -> ParsedReturn:
    """Read the workbook at `path` (already passed `check_file`)."""
    ret = ParsedReturn()
    try:
        with open(path, "rb") as fh:   # by content: uploads are stored under a temporary name
            wb = CalamineWorkbook.from_filelike(fh)
        ret.sheet_names = match_sheets(wb.sheets_metadata, ret.findings)
        ret.marks = marks(path, kind_of(path), ret.sheet_names.values())
    except PasswordError:
        ret.findings.error("FILE_ENCRYPTED", "", None, "文件已设置密码，无法读取；请取消密码后另存为 .xlsx 再上传")
        return ret
    except Exception as exc:  # calamine and xml parsing raise their own types for unreadable content
        ret.findings.error("FILE_CORRUPT", "", None,
                           f"工作簿内容无法解析（{exc.__class__.__name__}），文件可能已损坏或含有不安全的内容，请用 Excel 另存后重新上传")
        return ret
    if "封面" in ret.sheet_names:
        _read_cover(ret, _rows(ret, wb, ret.sheet_names["封面"]))
    factor = UNIT_FACTORS.get(ret.unit or "", Decimal(1))
    for key in ("表1", "表2", "表3"):
        if key in ret.sheet_names:
            _read_code_table(ret, key, _rows(ret, wb, ret.sheet_names[key]), factor)
    if "表4" in ret.sheet_names:
        _read_debts(ret, _rows(ret, wb, ret.sheet_names["表4"]), factor)
    if "表5" in ret.sheet_names:
        _read_items(ret, _rows(ret, wb, ret.sheet_names["表5"]), factor)
    _summaries(ret)
    return ret


def _summaries(ret: ParsedReturn) -> None:
    """One finding each for what would otherwise repeat in every cell."""
    def shown(cells):
        return "、".join(cells[:SHOWN_CELLS]) + ("等" if len(cells) > SHOWN_CELLS else "")
    if ret.uncomputed:
        ret.findings.error("FORMULA_NOT_COMPUTED", "", None,
                           f"合计公式未计算，请用 Excel/WPS 打开并保存后上传（{len(ret.uncomputed)} 个公式单元格没有计算结果："
                           f"{shown(ret.uncomputed)}；这些单元格未读取，相关校验未进行）")
    if ret.computed:
        ret.findings.notice("FORMULA_COMPUTED", "", None,
                            f"{len(ret.computed)} 个合计公式没有保存计算结果（文件未经 Excel/WPS 保存），"
                            f"已按公式计算：{shown(ret.computed)}")
    if ret.unit_typed:
        cells = [f"{c}“{t}”" for c, t in ret.unit_typed]
        ret.findings.error("AMOUNT_WITH_UNIT", "", None,
                           f"{len(cells)} 个金额单元格带有与封面金额单位“{ret.unit or '（未填）'}”不同的单位（{shown(cells)}）；"
                           "金额单元格请只填数字，单位统一以封面“金额单位”为准，修改后重新上传")


def _rows(ret: ParsedReturn, wb, name):
    """Yield (excel row number, first column number, row values), streaming.

    Cells the sheet marks (error values, uncomputed formulas) carry their Mark, or the value
    computed for a simple formula, instead of calamine's ''.
    """
    sheet = wb.get_sheet_by_name(name)
    start = sheet.start
    if start is None:
        return
    row0, col0 = start
    rows = ((row0 + offset + 1, values) for offset, values in enumerate(sheet.iter_rows()))
    found = ret.marks.get(name, {})
    if any(m.kind == "formula" for m in found.values()):
        rows = list(rows)   # formulas need the whole sheet; only files never saved by Excel come here
        grid = {(r, col0 + 1 + i): v for r, values in rows for i, v in enumerate(values) if v != ""}
        found = compute(grid, found)
        for (r, c), v in sorted(found.items()):
            if isinstance(v, Mark) and v.kind == "formula":
                ret.uncomputed.append(f"{name}!{_ref(c, r)}")
            elif not isinstance(v, Mark) and ret.marks[name].get((r, c)) is not None:
                ret.computed.append(f"{name}!{_ref(c, r)}")
    by_row: dict = {}
    for (r, c), v in found.items():
        by_row.setdefault(r, []).append((c, v))
    for row, values in rows:
        if row in by_row:
            values = list(values)
            for c, v in by_row[row]:
                i = c - col0 - 1
                if i >= 0:
                    values.extend([""] * (i + 1 - len(values)))
                    values[i] = v
        yield row, col0 + 1, values


def _amount(ret: ParsedReturn, sheet: str, ref, raw, what: str, blank_is_zero: bool):
    """(amount, readable): a Decimal in the cover's unit, or (None, False) with the finding made.
    `ref` is the cell's reference, or its (column, row) numbers."""
    if isinstance(raw, Mark):
        if raw.kind == "error":
            ret.findings.error("CELL_ERROR", sheet, _cell(ref), f"{what}：单元格显示错误值 {raw.text}，请修正公式")
        return None, False          # uncomputed formulas are reported once, by _summaries
    try:
        return parse_amount(raw, blank_is_zero=blank_is_zero, unit=ret.unit), True
    except AmountUnitError:
        ret.unit_typed.append((f"{sheet}!{_cell(ref)}", cell_text(raw)))
    except AmountError as exc:
        ret.findings.error("AMOUNT_NOT_NUMBER", sheet, _cell(ref), f"{what}：{exc}")
    return None, False


def _cell(ref) -> str:
    return ref if isinstance(ref, str) else _ref(*ref)


def _text(ret: ParsedReturn, sheet: str, ref, raw, what: str) -> str:
    """A text cell; an error value is a CELL_ERROR finding and reads as ''. `ref` is the cell's
    reference, or its (column, row) numbers."""
    if isinstance(raw, Mark):
        if raw.kind == "error":
            ret.findings.error("CELL_ERROR", sheet, _cell(ref), f"{what}：单元格显示错误值 {raw.text}，请修正公式")
        return ""
    return cell_text(raw)


def _ref(col: int, row: int) -> str:
    return f"{get_column_letter(col)}{row}"


def _label(value) -> str:
    return cell_text(value).replace(" ", "").replace("\u3000", "")


def _read_cover(ret: ParsedReturn, rows) -> None:
    sheet = ret.sheet_names["封面"]
    for row, col0, values in rows:
        for i, v in enumerate(values[:-1]):
            label = _label(v)
            if label in rf.COVER_LABELS and label not in ret.cover:
                ret.cover[label] = (values[i + 1], _ref(col0 + i + 1, row))
    for label in rf.COVER_LABELS:
        if label not in ret.cover:
            ret.findings.error("COVER_FIELD_MISSING", sheet, None, f"封面缺少“{label}”一栏")
        elif isinstance(ret.cover[label][0], Mark):
            value, ref = ret.cover[label]
            ret.cover[label] = (_text(ret, sheet, ref, value, label), ref)
    raw = {k: v for k, (v, _) in ret.cover.items()}
    ret.hospital_code = cell_text(raw.get("机构代码")).upper()
    ret.hospital_name = cell_text(raw.get("机构名称"))
    ret.period = parse_period(raw.get("报告期"))
    ret.unit = cell_text(raw.get("金额单位")) or None
    ret.template_version = cell_text(raw.get("模板版本"))
    ret.filled_by = cell_text(raw.get("填报人"))
    ret.phone = cell_text(raw.get("联系电话"))
    filled = raw.get("填报日期")
    if isinstance(filled, dt.datetime):
        ret.filled_on = filled.date()
    elif isinstance(filled, dt.date):
        ret.filled_on = filled
    else:
        try:
            ret.filled_on = dt.date.fromisoformat(cell_text(filled).replace("/", "-"))
        except ValueError:
            ret.filled_on = None


def _find_header(rows, labels: tuple[str, ...], required: set[str]):
    """Consume rows until one holds the required labels; return ({label: col}, rows iterator)."""
    rows = iter(rows)
    for _ in range(HEADER_SEARCH_ROWS):
        try:
            row, col0, values = next(rows)
        except StopIteration:
            break
        found = {}
        for i, v in enumerate(values):
            text = _label(v)
            for label in labels:
                if label not in found and text.startswith(label):
                    found[label] = col0 + i
        if required <= found.keys():
            return found, rows, row
    return None, rows, None


def _read_code_table(ret: ParsedReturn, key: str, rows, factor: Decimal) -> None:
    sheet = ret.sheet_names[key]
    columns = rf.TABLE_COLUMNS[key]
    labels = ("编码",) + tuple(label for _, label in columns)
    header, rows, _ = _find_header(rows, labels, set(labels))
    if header is None:
        ret.findings.error("HEADER_MISSING", sheet, None,
                           f"前{HEADER_SEARCH_ROWS}行中未找到表头（需含：{'、'.join(labels)}）")
        return
    known = dict(rf.TABLE_ITEMS[key])
    table, code_rows = {}, {}
    code_col = header["编码"]
    for row, col0, values in rows:
        code = _label(_at(values, col0, code_col)).upper()
        if not code or code not in known:
            continue  # blank, note and title rows are allowed
        if code in table:
            ret.findings.error("CODE_DUPLICATE", sheet, _ref(code_col, row), f"编码 {code} 重复出现")
            continue
        code_rows[code] = row
        table[code] = {}
        for column, label in columns:
            col = header[label]
            raw = _at(values, col0, col)
            ref = _ref(col, row)
            if key == "表3" and code == "W407":
                text = _text(ret, sheet, ref, raw, known[code])
                period = parse_period(raw) if text else None
                if text and period is None:
                    ret.findings.error("MONTH_FORMAT", sheet, ref, f"{known[code]}应为“YYYY-MM”格式，实际为“{text}”")
                table[code][column] = Value(None, ref, period)
                continue
            amount, _ = _amount(ret, sheet, ref, raw, f"{known[code]}（{code}）{label}", True)
            if amount is not None and not (key == "表3" and code in rf.T3_NOT_MONEY):
                amount = amount * factor
            table[code][column] = Value(amount, ref)
    for code, name in rf.TABLE_ITEMS[key]:
        if code not in table:
            ret.findings.error("CODE_MISSING", sheet, None, f"缺少编码为 {code} 的行（{name}）")
    ret.tables[key] = table
    ret.code_rows[key] = code_rows


def _at(values, col0: int, col: int):
    i = col - col0
    return values[i] if 0 <= i < len(values) else None


def _read_debts(ret: ParsedReturn, rows, factor: Decimal) -> None:
    sheet = ret.sheet_names["表4"]
    labels = tuple(label for _, label in rf.DEBT_COLUMNS)
    header, rows, _ = _find_header(rows, labels, set(labels))
    if header is None:
        ret.findings.error("HEADER_MISSING", sheet, None, f"前{HEADER_SEARCH_ROWS}行中未找到表头（需含：{'、'.join(labels)}）")
        return
    for row, col0, values in rows:
        raw = {key: _at(values, col0, header[label]) for key, label in rf.DEBT_COLUMNS}
        if all(cell_text(v) == "" for v in raw.values() if not isinstance(v, Mark)) and not any(
                isinstance(v, Mark) for v in raw.values()):
            continue
        parsed = {"cells": {key: _ref(header[label], row) for key, label in rf.DEBT_COLUMNS}}
        for key, label in rf.DEBT_COLUMNS:
            v = raw[key]
            ref = parsed["cells"][key]
            if key in rf.DEBT_MONEY:
                amount, _ = _amount(ret, sheet, ref, v, label, False)
                parsed[key] = amount * factor if amount is not None else None
            elif isinstance(v, Mark):
                parsed[key] = _text(ret, sheet, ref, v, label) or None
            elif key in ("borrowed_on", "due_on"):
                parsed[key] = _date(v)
                if cell_text(v) and parsed[key] is None:
                    ret.findings.error("DATE_FORMAT", sheet, ref, f"{label}应为日期，实际为“{cell_text(v)}”")
            else:
                parsed[key] = cell_text(v)
        ret.debts.append(Debt(row, parsed))


def _date(v) -> dt.date | None:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(cell_text(v).replace("/", "-"))
    except ValueError:
        return None


def _read_items(ret: ParsedReturn, rows, factor: Decimal) -> None:
    sheet = ret.sheet_names["表5"]
    labels = tuple(label for _, label in rf.ITEM_COLUMNS)
    required = {label for key, label in rf.ITEM_COLUMNS if key not in rf.ITEM_OPTIONAL}
    header, rows, _ = _find_header(rows, labels, required)
    if header is None:
        ret.findings.error("HEADER_MISSING", sheet, None, f"前{HEADER_SEARCH_ROWS}行中未找到表头（需含：{'、'.join(sorted(required))}）")
        return
    c_code, c_name, c_setting, c_qty, c_amount = (header[label] for label in labels[:5])
    c_national = header.get("国家项目编码")
    items, findings = ret.items, ret.findings
    # 100,000 rows pass here: cell references are made only for a finding, not for every cell.
    for row, col0, values in rows:
        code = _text(ret, sheet, (c_code, row), _at(values, col0, c_code), "价格项目编码").upper()
        setting_text = _text(ret, sheet, (c_setting, row), _at(values, col0, c_setting), "门诊/住院")
        raw_amount = _at(values, col0, c_amount)
        if not code and not setting_text and not isinstance(raw_amount, Mark) and cell_text(raw_amount) == "":
            continue
        if not code:
            findings.error("ITEM_CODE_MISSING", sheet, _ref(c_code, row), "价格项目编码为空")
            continue
        setting = rf.SETTINGS.get(setting_text)
        if setting is None:
            findings.error("ITEM_SETTING_INVALID", sheet, _ref(c_setting, row),
                           f"门诊/住院应填“门诊”“门急诊”或“住院”，实际为“{setting_text}”")
            continue
        amount, ok = _amount(ret, sheet, (c_amount, row), raw_amount, "金额", False)
        if not ok:
            continue
        quantity, ok = _amount(ret, sheet, (c_qty, row), _at(values, col0, c_qty), "数量", False)
        if not ok:
            continue
        if amount is None:
            findings.error("ITEM_AMOUNT_MISSING", sheet, _ref(c_amount, row), f"项目 {code} 的金额为空")
            continue
        national = cell_text(_at(values, col0, c_national)) or None if c_national else None
        items.append(Item(row, code, cell_text(_at(values, col0, c_name)), setting, quantity,
                          amount * factor, national))
