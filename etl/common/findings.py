"""Findings: one problem in a return, with its sheet, cell and a message in Chinese."""
from __future__ import annotations

from dataclasses import asdict, dataclass

SEVERITIES = ("error", "warning", "notice")
SEVERITY_LABELS = {"error": "错误（强制性）", "warning": "核实（核实性）", "notice": "提示"}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str
    sheet: str
    cell: str | None
    message: str

    def as_dict(self) -> dict:
        return asdict(self)


def has_errors(findings) -> bool:
    return any(f.severity == "error" for f in findings)


class Findings(list):
    """A list of findings with one-line adders per severity."""

    def error(self, code, sheet, cell, message):
        self.append(Finding(code, "error", sheet, cell, message))

    def warning(self, code, sheet, cell, message):
        self.append(Finding(code, "warning", sheet, cell, message))

    def notice(self, code, sheet, cell, message):
        self.append(Finding(code, "notice", sheet, cell, message))


# What a user reads for each finding code: the code stays the machine's name (JSON, logs,
# data-code attributes); pages and the annotated workbook show this. Every code raised in
# etl/returns (and the intake failures app/returns and batch add) has an entry; a test
# checks that against the sources.
RULE_NAMES = {
    # the file itself
    "FILE_NOT_XLSX": "文件类型不支持", "FILE_CORRUPT": "文件损坏", "FILE_ENCRYPTED": "文件已加密",
    "FILE_TOO_LARGE": "文件过大", "FILE_TOO_LARGE_UNCOMPRESSED": "文件解压后过大",
    "FILE_UNSAFE": "文件无法安全读取", "FILE_DUPLICATE": "重复上报",
    "RETURN_LOCKED": "报表已审核通过并锁定",
    "SHEET_TOO_LONG": "工作表行数过多", "SHEET_TOO_WIDE": "工作表列数过多",
    "TOO_MANY_STRINGS": "文本内容过多", "INTAKE_FAILED": "接收失败", "UPLOAD_FAILED": "上传处理失败",
    # sheets and cells
    "SHEET_MISSING": "缺少工作表", "SHEET_AMBIGUOUS": "工作表重复", "SHEET_HIDDEN": "使用了隐藏工作表",
    "SHEET_COPY_IGNORED": "忽略了工作表副本", "HEADER_MISSING": "缺少表头",
    "CELL_ERROR": "单元格错误值", "FORMULA_NOT_COMPUTED": "公式未计算", "FORMULA_COMPUTED": "公式已代为计算",
    "CODE_MISSING": "缺少项目代码行", "CODE_DUPLICATE": "项目代码重复",
    "AMOUNT_NOT_NUMBER": "金额不是数字", "AMOUNT_WITH_UNIT": "金额中带有单位",
    "DATE_FORMAT": "日期格式错误", "MONTH_FORMAT": "月份格式错误",
    # 封面
    "COVER_FIELD_MISSING": "封面缺少项目", "COVER_FIELD_REQUIRED": "封面必填项为空",
    "COVER_CODE_INVALID": "机构代码无效", "COVER_CODE_NUMBER": "机构代码被存为数字",
    "COVER_HOSPITAL_UNKNOWN": "医院未登记", "COVER_HOSPITAL_NOT_YOURS": "非本院报表",
    "COVER_HOSPITAL_CLOSED": "医院已关闭", "COVER_HOSPITAL_NOT_OPEN": "医院代码尚未启用",
    "COVER_NAME_MISMATCH": "医院名称与登记不符", "COVER_PERIOD_INVALID": "报告期无效",
    "COVER_PERIOD_FUTURE": "报告期未到", "COVER_PERIOD_LOCKED": "报告期已锁定",
    "COVER_DATE_INVALID": "填报日期无效", "COVER_PHONE_INVALID": "联系电话无效",
    "COVER_UNIT_INVALID": "金额单位无效", "COVER_TEMPLATE_VERSION": "模板版本不符",
    # 表1–表3
    "SUM_MISMATCH": "合计不等于分项之和", "SUM_TOO_SMALL": "合计小于分项之和",
    "PART_EXCEEDS_TOTAL": "分项大于合计", "YTD_MISMATCH": "本年累计数不符",
    "STAFF_INVALID": "在职职工人数无效", "PAYROLL_NOT_POSITIVE": "应发薪酬不大于0",
    "PAID_EXCEEDS_DUE": "实发薪酬超过应发",
    "ARREARS_NEGATIVE": "拖欠数为负", "ARREARS_PEOPLE_INCONSISTENT": "拖欠人数与金额不一致",
    "ARREARS_PEOPLE_EXCEED_STAFF": "拖欠人数超过在职人数",
    "ARREARS_MONTH_REQUIRED": "缺少最早拖欠月份", "ARREARS_MONTH_UNEXPECTED": "不应填最早拖欠月份",
    "ARREARS_MONTH_AFTER_PERIOD": "最早拖欠月份晚于报告期",
    # 表4 债务
    "DEBT_NO_MISSING": "缺少债务编号", "DEBT_NO_DUPLICATE": "债务编号重复",
    "DEBT_TYPE_INVALID": "债务类型无效", "DEBT_PURPOSE_INVALID": "债务用途无效",
    "DEBT_DUE_BEFORE_BORROWED": "到期日早于借入日", "DEBT_BALANCE_EXCEEDS_CONTRACT": "余额超过合同金额",
    "DEBT_OVERDUE_FLAG": "是否逾期填写错误", "DEBT_OVERDUE_INCONSISTENT": "逾期标志与逾期金额不一致",
    "DEBT_LONG_TERM_MISMATCH": "长期债务与表2不符",
    # 表5 明细
    "ITEM_CODE_MISSING": "明细缺少项目编码", "ITEM_AMOUNT_MISSING": "明细缺少金额",
    "ITEM_SETTING_INVALID": "门诊/住院填写错误", "ITEM_DUPLICATE": "明细重复",
    "ITEM_UNMAPPED": "明细项目未归集", "ITEMS_TOTAL_MISMATCH": "表1与表5明细合计不符",
    "DRUG_MATERIAL_MISMATCH": "药品耗材金额与表1不符",
    # data quality
    "DQ_OWN_HISTORY": "与本院历史差异异常", "DQ_PEER_LEVEL": "与同级医院差异异常",
}
UNKNOWN_RULE = "其他校验问题"


def rule_name(code: str) -> str:
    """The Chinese name of a finding code; a code without one reads as 其他校验问题."""
    return RULE_NAMES.get(code, UNKNOWN_RULE)
