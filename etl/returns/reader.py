"""Read a return workbook into plain data: forgiving about layout, exact about numbers.

The reader streams each sheet once (python-calamine), finds sheets by name prefix, header
rows by their labels and 表1–表3 rows by their 编码, and converts amounts to yuan with the
cover's unit. What it cannot read becomes a finding with the sheet and the cell; it never
raises for a user's mistake.
"""
from __future__ import annotations

import datetime as dt
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from defusedxml import DefusedXmlException, ElementTree
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from etl.common.amounts import UNIT_FACTORS, AmountError, cell_text, parse_amount
from etl.common.codes import parse_period
from etl.common.findings import Findings
from etl.returns import contract as rf
from etl.returns.limits import ExtentError, check_workbook_extent

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # encrypted xlsx and old .xls
HEADER_SEARCH_ROWS = 10


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

    def value(self, sheet: str, code: str, column: str) -> Decimal | None:
        v = self.tables.get(sheet, {}).get(code, {}).get(column)
        return v.amount if v else None

    def cell(self, sheet: str, code: str, column: str) -> str | None:
        v = self.tables.get(sheet, {}).get(code, {}).get(column)
        return v.cell if v else None


class FileRejected(Exception):
    """The file is not a readable xlsx at all; carries the finding to show."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def check_file(path: Path, max_bytes: int, max_uncompressed: int) -> None:
    """Reject before parsing what is not a safe, real xlsx (raises FileRejected)."""
    size = path.stat().st_size
    if size > max_bytes:
        raise FileRejected("FILE_TOO_LARGE", f"文件大小 {size/1048576:.1f} MB 超过上限 {max_bytes/1048576:.0f} MB")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == OLE_MAGIC:
        raise FileRejected("FILE_ENCRYPTED", "文件已加密或为旧版 .xls 格式，请取消密码并另存为 .xlsx 后上传")
    if not head.startswith(b"PK"):
        raise FileRejected("FILE_NOT_XLSX", "文件不是 Excel .xlsx 工作簿，请使用下载的模板填报")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            expanded = sum(i.file_size for i in zf.infolist())
            if "xl/workbook.xml" not in names:
                raise FileRejected("FILE_NOT_XLSX", "文件不是 Excel .xlsx 工作簿（缺少 xl/workbook.xml）")
            if expanded > max_uncompressed:
                raise FileRejected("FILE_TOO_LARGE_UNCOMPRESSED",
                                   f"文件解压后大小 {expanded/1048576:.0f} MB 超过上限，疑似异常文件")
            check_workbook_extent(zf)
            bad = zf.testzip()
            if bad:
                raise FileRejected("FILE_CORRUPT", f"文件已损坏（{bad}），请重新保存后上传")
    except ExtentError as exc:
        raise FileRejected(exc.code, exc.message) from None
    except (zipfile.BadZipFile, ElementTree.ParseError, DefusedXmlException, EOFError, ValueError):
        raise FileRejected("FILE_CORRUPT", "文件已损坏，无法打开，请重新保存后上传") from None


def read_return(path: Path) -> ParsedReturn:
    """Read the workbook at `path` (already passed `check_file`)."""
    ret = ParsedReturn()
    try:
        wb = CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises its own types for unreadable content
        ret.findings.error("FILE_CORRUPT", "", None,
                           f"工作簿内容无法解析（{exc.__class__.__name__}），文件可能已损坏或含有不安全的内容，请用 Excel 另存后重新上传")
        return ret
    for key in rf.SHEETS:
        name = next((n for n in wb.sheet_names if n.strip().startswith(key)), None)
        if name is None:
            ret.findings.error("SHEET_MISSING", key, None, f"缺少工作表“{rf.SHEETS[key]}”")
        else:
            ret.sheet_names[key] = name
    if "封面" in ret.sheet_names:
        _read_cover(ret, _rows(wb, ret.sheet_names["封面"]))
    factor = UNIT_FACTORS.get(ret.unit or "", Decimal(1))
    for key in ("表1", "表2", "表3"):
        if key in ret.sheet_names:
            _read_code_table(ret, key, _rows(wb, ret.sheet_names[key]), factor)
    if "表4" in ret.sheet_names:
        _read_debts(ret, _rows(wb, ret.sheet_names["表4"]), factor)
    if "表5" in ret.sheet_names:
        _read_items(ret, _rows(wb, ret.sheet_names["表5"]), factor)
    return ret


def _rows(wb, name):
    """Yield (excel row number, first column number, row values), streaming."""
    sheet = wb.get_sheet_by_name(name)
    start = sheet.start
    if start is None:
        return
    row0, col0 = start
    for offset, values in enumerate(sheet.iter_rows()):
        yield row0 + offset + 1, col0 + 1, values


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
                text = cell_text(raw)
                period = parse_period(raw) if text else None
                if text and period is None:
                    ret.findings.error("MONTH_FORMAT", sheet, ref, f"{known[code]}应为“YYYY-MM”格式，实际为“{text}”")
                table[code][column] = Value(None, ref, period)
                continue
            try:
                amount = parse_amount(raw, blank_is_zero=True)
            except AmountError as exc:
                ret.findings.error("AMOUNT_NOT_NUMBER", sheet, ref, f"{known[code]}（{code}）{label}：{exc}")
                amount = None
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
        if all(cell_text(v) == "" for v in raw.values()):
            continue
        parsed = {"cells": {key: _ref(header[label], row) for key, label in rf.DEBT_COLUMNS}}
        for key, label in rf.DEBT_COLUMNS:
            v = raw[key]
            ref = parsed["cells"][key]
            if key in rf.DEBT_MONEY:
                try:
                    amount = parse_amount(v, blank_is_zero=False)
                except AmountError as exc:
                    ret.findings.error("AMOUNT_NOT_NUMBER", sheet, ref, f"{label}：{exc}")
                    amount = None
                parsed[key] = amount * factor if amount is not None else None
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
    for row, col0, values in rows:
        code = cell_text(_at(values, col0, c_code)).upper()
        setting_text = cell_text(_at(values, col0, c_setting))
        raw_amount = _at(values, col0, c_amount)
        if not code and not setting_text and cell_text(raw_amount) == "":
            continue
        if not code:
            findings.error("ITEM_CODE_MISSING", sheet, _ref(c_code, row), "价格项目编码为空")
            continue
        setting = rf.SETTINGS.get(setting_text)
        if setting is None:
            findings.error("ITEM_SETTING_INVALID", sheet, _ref(c_setting, row),
                           f"门诊/住院应填“门诊”“门急诊”或“住院”，实际为“{setting_text}”")
            continue
        try:
            amount = parse_amount(raw_amount, blank_is_zero=False)
        except AmountError as exc:
            findings.error("AMOUNT_NOT_NUMBER", sheet, _ref(c_amount, row), f"金额：{exc}")
            continue
        try:
            quantity = parse_amount(_at(values, col0, c_qty), blank_is_zero=False)
        except AmountError as exc:
            findings.error("AMOUNT_NOT_NUMBER", sheet, _ref(c_qty, row), f"数量：{exc}")
            continue
        if amount is None:
            findings.error("ITEM_AMOUNT_MISSING", sheet, _ref(c_amount, row), f"项目 {code} 的金额为空")
            continue
        national = cell_text(_at(values, col0, c_national)) or None if c_national else None
        items.append(Item(row, code, cell_text(_at(values, col0, c_name)), setting, quantity,
                          amount * factor, national))
