"""Write the blank monthly return a hospital downloads, filled in, and uploads.

The layout is the one the reader reads (return-format.md, etl/return_format.py): the cover's
labels in column A and values in column B, 表1–表3 as 项目 | 编码 | value columns with one
row per code, 表4 and 表5 as a header row with the rows below free. On top of that layout the
blank carries what helps a person fill it by hand:

- the cover prefilled with the hospital's code and name, the period and the template version;
- drop-down lists (金额单位, 债务类型, 用途, 是否逾期, 门诊/住院);
- formulas on the subtotal rows whose rule is an equality (R100, R110, R120, E200, S300, L200).
  openpyxl stores no cached value, so Excel/WPS computes them on opening and stores the result
  on saving. The cells stay editable: a hospital pasting figures from its finance system may
  overwrite them, and validation checks the equality either way. A workbook filled by a program
  that leaves the formulas untouched (never opened in Excel) has them computed by the reader
  (etl/returns/formulas.py), with a notice;
- labels, codes and header rows locked (sheet protection without a password: it prevents
  accidents, not determined edits); every value cell and the free rows of 表4/表5 unlocked;
- a 填报说明 sheet, which the reader ignores like any extra sheet.
"""
from __future__ import annotations

import datetime as dt
import re
from io import BytesIO
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from etl.common.amounts import UNIT_FACTORS
from etl.common.codes import default_deadline
from etl.returns import contract as rf

# Equalities of return-format.md written as formulas: code -> signed terms.
FORMULAS = {
    "表1": {"R100": "+R110+R120+R130+R140", "R110": "+R111+R112", "R120": "+R121+R122",
            "E200": "+E210+E220+E230", "S300": "+R100-E200"},
    "表2": {"L200": "+L210+L220"},
}
# Rows of 表4/表5 covered by drop-downs and the unlocked column style (Excel's last row).
LAST_ROW = 1_048_576
UNITS = tuple(UNIT_FACTORS)
TERM = re.compile(r"([+-])([A-Z][0-9]{3})")

HEADER_FILL = PatternFill("solid", fgColor="DCE6F0")
LABEL_FILL = PatternFill("solid", fgColor="F2F2F2")
INPUT_FILL = PatternFill("solid", fgColor="FFFDE7")
FORMULA_FILL = PatternFill("solid", fgColor="E8F5E9")
BOLD = Font(bold=True)
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
LOCKED = Protection(locked=True)
UNLOCKED = Protection(locked=False)
TEXT = "@"
AMOUNT = "#,##0.00"
MONEY_WIDTH = 19          # characters: "9,999,999,999.99" is 16, plus Excel's cell padding


def template_file_name(hospital_code: str, period: str) -> str:
    """Name the downloaded blank for a hospital and period."""
    return f"月度经济运行监测报表_{period}_{hospital_code}.xlsx"


def write_blank_template(out, hospital_code: str, hospital_name: str, period: str, *,
                         deadline: dt.date | None = None, unit: str = "元"):
    """Write the blank for one hospital and period to `out` (a path or a binary stream)."""
    wb = Workbook()
    wb.remove(wb.active)
    _cover(wb.create_sheet(rf.SHEETS["封面"]), hospital_code, hospital_name, period, unit)
    for key in ("表1", "表2", "表3"):
        _code_table(wb.create_sheet(rf.SHEETS[key]), key)
    _debts(wb.create_sheet(rf.SHEETS["表4"]))
    _items(wb.create_sheet(rf.SHEETS["表5"]))
    _instructions(wb.create_sheet("填报说明"), period, deadline or default_deadline(period))
    wb.active = 0
    if isinstance(out, (str, Path)):
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    return out


def blank_template_bytes(hospital_code: str, hospital_name: str, period: str, **kw) -> bytes:
    """Return the blank for one hospital and period as xlsx bytes."""
    buf = BytesIO()
    write_blank_template(buf, hospital_code, hospital_name, period, **kw)
    return buf.getvalue()


def _protect(ws, *, free_rows: bool = False) -> None:
    ws.protection.sheet = True
    # Allow what filling a sheet by hand needs; only locked cells stay read-only.
    ws.protection.formatCells = ws.protection.formatColumns = ws.protection.formatRows = False
    if free_rows:
        ws.protection.insertRows = ws.protection.deleteRows = False
        ws.protection.autoFilter = ws.protection.sort = False


def _header(ws, row: int, labels, widths) -> None:
    for col, (label, width) in enumerate(zip(labels, widths), start=1):
        c = ws.cell(row=row, column=col, value=label)
        c.font, c.fill, c.border, c.protection = BOLD, HEADER_FILL, BOX, LOCKED
        c.alignment = Alignment(horizontal="center", vertical="center")
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=row + 1, column=1)


def _list(ws, values, ref: str, prompt: str) -> None:
    dv = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True,
                        showErrorMessage=True, errorTitle="输入值无效", error=f"请从下拉列表中选择：{'、'.join(values)}",
                        showInputMessage=True, promptTitle="请选择", prompt=prompt)
    dv.add(ref)
    ws.add_data_validation(dv)


def _cover(ws, code: str, name: str, period: str, unit: str) -> None:
    values = {"机构代码": code, "机构名称": name, "报告期": period, "金额单位": unit, "填报人": None,
              "联系电话": None, "填报日期": None, "模板版本": rf.TEMPLATE_VERSION}
    hints = {"机构代码": "18位统一社会信用代码，已预填，请勿修改", "报告期": "YYYY-MM，已预填",
             "金额单位": "元 / 千元 / 万元（表1–表5金额均按此单位填写）", "填报人": "必填",
             "联系电话": "必填，只含数字和“-”", "填报日期": "必填，日期，如 2026-11-08",
             "模板版本": "请勿修改"}
    ws.column_dimensions["A"].width, ws.column_dimensions["B"].width = 14, 34
    ws.column_dimensions["C"].width = 44
    prefilled = {"机构代码", "机构名称", "报告期", "模板版本"}
    for row, label in enumerate(rf.COVER_LABELS, start=1):
        a = ws.cell(row=row, column=1, value=label)
        a.font, a.fill, a.border, a.protection = BOLD, LABEL_FILL, BOX, LOCKED
        b = ws.cell(row=row, column=2, value=values[label])
        if isinstance(values[label], str):
            # Registry text is data: a name starting with "=" must not become a live formula.
            b.data_type = "s"
        b.border = BOX
        b.number_format = "yyyy-mm-dd" if label == "填报日期" else TEXT
        # Prefilled identity stays editable: a wrong code is caught by validation, and a
        # hospital that renamed itself must be able to say so (a notice, not an error).
        b.protection = UNLOCKED
        b.fill = LABEL_FILL if label in prefilled else INPUT_FILL
        c = ws.cell(row=row, column=3, value=hints[label] if label in hints else None)
        c.font, c.protection = Font(color="7F7F7F", size=9), LOCKED
    unit_row = rf.COVER_LABELS.index("金额单位") + 1
    _list(ws, UNITS, f"B{unit_row}", "选择金额单位")
    _protect(ws)


def _code_table(ws, key: str) -> None:
    columns = rf.TABLE_COLUMNS[key]
    _header(ws, 1, ["项目", "编码"] + [label for _, label in columns], [26, 9] + [18] * len(columns))
    formulas = FORMULAS.get(key, {})
    rows = {code: i for i, (code, _) in enumerate(rf.TABLE_ITEMS[key], start=2)}
    for code, name in rf.TABLE_ITEMS[key]:
        row = rows[code]
        for col, value in ((1, name), (2, code)):
            c = ws.cell(row=row, column=col, value=value)
            c.fill, c.border, c.protection = LABEL_FILL, BOX, LOCKED
        for i in range(len(columns)):
            col = 3 + i
            letter = get_column_letter(col)
            c = ws.cell(row=row, column=col)
            c.border, c.protection = BOX, UNLOCKED
            if key == "表3" and code == "W407":
                c.number_format, c.fill = TEXT, INPUT_FILL
                continue
            c.number_format = "0" if key == "表3" and code in rf.T3_NOT_MONEY else AMOUNT
            if code in formulas:
                c.value = "=" + _formula(formulas[code], rows, letter)
                c.fill = FORMULA_FILL
                if i == 0:
                    c.comment = Comment("自动计算（保存时由 Excel/WPS 计算）。如从财务系统粘贴数据，可直接覆盖。", "填报模板")
            else:
                c.fill = INPUT_FILL
    if key == "表3":
        ws.cell(row=rows["W407"], column=4, value="有拖欠时填写 YYYY-MM，无拖欠留空").font = Font(color="7F7F7F", size=9)
    _protect(ws)


def _formula(terms: str, rows: dict, letter: str) -> str:
    """Turn '+R110+R120' into 'C3+C8' for the column `letter`."""
    out = "".join(f"{sign}{letter}{rows[code]}" for sign, code in TERM.findall(terms))
    return out[1:] if out.startswith("+") else out


def _free_columns(ws, labels, widths, formats: dict) -> None:
    """Header in row 1; every cell below unlocked through the column style."""
    _header(ws, 1, labels, widths)
    for col in range(1, len(labels) + 1):
        dim = ws.column_dimensions[get_column_letter(col)]
        dim.protection = UNLOCKED
        if col in formats:
            dim.number_format = formats[col]


def _debts(ws) -> None:
    labels = [label for _, label in rf.DEBT_COLUMNS]
    keys = [key for key, _ in rf.DEBT_COLUMNS]
    col = {key: i for i, key in enumerate(keys, start=1)}
    formats = {col["debt_no"]: TEXT, col["borrowed_on"]: "yyyy-mm-dd", col["due_on"]: "yyyy-mm-dd"}
    formats.update({col[k]: AMOUNT for k in rf.DEBT_MONEY})
    # Money columns show 10-digit amounts with separators and decimals (1,234,567,890.00)
    # without Excel's ### at the default font.
    widths = [MONEY_WIDTH if key in rf.DEBT_MONEY else width
              for key, width in zip(keys, [12, 20, 12, 12, 12, 12, 0, 0, 0, 0, 10, 0])]
    _free_columns(ws, labels, widths, formats)
    letter = lambda key: get_column_letter(col[key])
    _list(ws, rf.DEBT_TYPES, f"{letter('debt_type')}2:{letter('debt_type')}{LAST_ROW}", "选择债务类型")
    _list(ws, rf.DEBT_PURPOSES, f"{letter('purpose')}2:{letter('purpose')}{LAST_ROW}", "选择用途")
    _list(ws, ("是", "否"), f"{letter('overdue')}2:{letter('overdue')}{LAST_ROW}", "是否逾期")
    _protect(ws, free_rows=True)


def _items(ws) -> None:
    labels = [label for _, label in rf.ITEM_COLUMNS]
    _free_columns(ws, labels, [16, 28, 11, 12, 16, 16], {1: TEXT, 4: "#,##0.####", 5: AMOUNT, 6: TEXT})
    _list(ws, tuple(rf.SETTINGS), f"C2:C{LAST_ROW}", "门诊（门急诊）或住院")
    _protect(ws, free_rows=True)


def _instructions(ws, period: str, deadline: dt.date) -> None:
    ws.column_dimensions["A"].width = 110
    lines = [
        ("月度经济运行监测报表 填报说明", True),
        (f"报告期：{period}；报送截止日期：{deadline:%Y年%m月%d日}（逾期报送仍可接收，但计为逾期）。", False),
        ("一、封面：机构代码、机构名称、报告期、模板版本已预填；请填写金额单位、填报人、联系电话（只含数字和“-”）、填报日期。", False),
        ("二、金额：表1–表5的金额均按封面的金额单位填写；可填数字或“1,234.50”“(1,234)”（负数）；表1–表3中空白或“—”按0处理；金额单元格不能含百分号。", False),
        ("三、表1–表3按“编码”列识别行：请勿修改编码，可插入空行或备注行。绿色底色为自动计算的合计行，也可直接覆盖。", False),
        ("    表1：总收入＝医疗收入＋财政拨款收入＋科教收入＋其他收入；医疗收入＝门急诊收入＋住院收入；本期盈余＝总收入－总费用；“其中”行不计入合计。", False),
        ("    表1：门急诊收入、住院收入应分别等于表5中门诊、住院项目金额合计；本年累计数应等于上月本年累计数加本月数（1月等于本月数）。", False),
        ("    表2：资产总计应等于负债合计＋净资产合计；负债合计＝流动负债合计＋非流动负债合计。", False),
        ("    允许的舍入误差按封面金额单位：元——1元；万元——按保留2位小数计，每个参与计算的数字允许0.005万元（50元）；"
         "千元——按整数计，每个参与计算的数字允许0.5千元（500元）。例如万元报表中“总收入＝4项之和”共5个数字，允许相差250元。", False),
        ("    单元格显示 #VALUE!、#N/A、#DIV/0!、#REF! 等错误值的报表不能接收，请修正公式；金额单元格只填数字，不要带“元”“万元”等单位。", False),
        ("    表3：在职职工人数、拖欠涉及人数填人数（不按金额单位换算）；有拖欠薪酬时须填写最早拖欠月份（YYYY-MM）。", False),
        (f"四、表4 债务明细：每笔债务一行，债务编号不得重复；债务类型：{'/'.join(rf.DEBT_TYPES)}；用途：{'/'.join(rf.DEBT_PURPOSES)}；"
         "是否逾期填“是”或“否”，为“是”时逾期金额应大于0。", False),
        ("五、表5 医疗服务项目收入：每个价格项目、每个门诊/住院一行，同一项目同一类别不得重复；“门诊/住院”填“门诊”“门急诊”或“住院”。", False),
        ("    药品和材料使用保留编码：" + "、".join(f"{c} {n}" for c, n in rf.RESERVED_CODES.items()) + "。国家项目编码列可不填。", False),
        ("六、校验：错误（强制性）须修改后重新上报；核实（核实性）问题可以接收，但须逐条填写说明（至少6个字）后才能审核通过；提示仅供参考。", False),
        ("七、上传后系统返回校验结果，并可下载标注了问题单元格的工作簿（含“校验结果”工作表）。重新上报会生成新版本，旧版本保留。", False),
        ("八、请勿修改工作表名称的开头（封面、表1…表5）；可增加其他工作表，系统不读取。同一张表只保留一个工作表："
         "复制出的“表1 收入费用 (2)”等副本请删除；隐藏的工作表仅在没有同名可见工作表时读取。", False),
        ("九、可上传 .xlsx、.xlsm（宏不会运行）、.xls、WPS .et 和 .ods 文件；其他格式请另存为 .xlsx。", False),
    ]
    for row, (text, bold) in enumerate(lines, start=1):
        c = ws.cell(row=row, column=1, value=text)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        if bold:
            c.font = Font(bold=True, size=14)
    _protect(ws)
