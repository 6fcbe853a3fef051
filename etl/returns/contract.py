"""The monthly return's layout (shared/design/return-format.md), shared by reader and template."""

TEMPLATE_VERSION = "2026.1"

# Sheets are found by these name prefixes; the template writes the full names.
SHEETS = {
    "封面": "封面",
    "表1": "表1 收入费用",
    "表2": "表2 资产负债",
    "表3": "表3 薪酬发放",
    "表4": "表4 债务明细",
    "表5": "表5 医疗服务项目收入",
}

COVER_LABELS = ("机构代码", "机构名称", "报告期", "金额单位", "填报人", "联系电话", "填报日期", "模板版本")

T1_ITEMS = (
    ("R100", "总收入"), ("R110", "医疗收入"), ("R111", "门急诊收入"), ("R112", "住院收入"),
    ("R113", "其中：药品收入"), ("R114", "其中：卫生材料收入"), ("R120", "财政拨款收入"),
    ("R121", "财政基本拨款收入"), ("R122", "财政项目拨款收入"), ("R130", "科教收入"),
    ("R140", "其他收入"), ("E200", "总费用"), ("E210", "业务活动费用"), ("E220", "单位管理费用"),
    ("E230", "其他费用"), ("E240", "其中：人员经费"), ("E241", "其中：药品费"),
    ("E242", "其中：卫生材料费"), ("E243", "其中：利息支出"), ("S300", "本期盈余"),
)
T2_ITEMS = (
    ("A101", "货币资金"), ("A102", "应收医疗款"), ("A103", "其他应收款"), ("A104", "存货"),
    ("A110", "流动资产合计"), ("A120", "固定资产净值"), ("A130", "在建工程"), ("A100", "资产总计"),
    ("L201", "短期借款"), ("L202", "应付账款"), ("L203", "应付职工薪酬"), ("L204", "其他应付款"),
    ("L210", "流动负债合计"), ("L221", "长期借款"), ("L222", "长期应付款"),
    ("L220", "非流动负债合计"), ("L200", "负债合计"), ("N300", "净资产合计"),
)
T3_ITEMS = (
    ("W401", "在职职工人数"), ("W402", "本月应发薪酬"), ("W403", "本月实发薪酬"),
    ("W404", "期末累计拖欠薪酬"), ("W405", "其中：拖欠基本工资"), ("W406", "拖欠涉及人数"),
    ("W407", "最早拖欠月份"),
)
# Items of 表3 that are counts or months, not money: never converted by the amount unit.
T3_NOT_MONEY = {"W401", "W406", "W407"}
# Of those, the headcounts: shown as whole numbers, never as money with two decimals.
COUNTS = {"W401", "W406"}


def format_figure(value, code: str) -> str:
    """A return figure as a page shows it: headcounts whole (3,539), money with 2 decimals.

    Text (a month such as W407) is returned as it is; None is "—".
    """
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if code in COUNTS:
        return f"{value:,.0f}"
    return f"{value:,.2f}"

# (column key, header label) per code table.
TABLE_COLUMNS = {
    "表1": (("month", "本月数"), ("ytd", "本年累计数")),
    "表2": (("end", "期末数"), ("begin", "年初数")),
    "表3": (("month", "本月数"),),
}
TABLE_ITEMS = {"表1": T1_ITEMS, "表2": T2_ITEMS, "表3": T3_ITEMS}

DEBT_COLUMNS = (
    ("debt_no", "债务编号"), ("creditor", "债权人"), ("debt_type", "债务类型"), ("purpose", "用途"),
    ("borrowed_on", "借款日期"), ("due_on", "到期日期"), ("contract_amount", "合同金额"),
    ("balance", "期末余额"), ("principal_repaid", "本月偿还本金"), ("interest_paid", "本月支付利息"),
    ("overdue", "是否逾期"), ("overdue_amount", "逾期金额"),
)
DEBT_MONEY = ("contract_amount", "balance", "principal_repaid", "interest_paid", "overdue_amount")
DEBT_TYPES = ("银行贷款", "融资租赁", "债券", "其他")
DEBT_PURPOSES = ("基本建设", "设备购置", "运营周转", "其他")

ITEM_COLUMNS = (
    ("price_code", "价格项目编码"), ("item_name", "项目名称"), ("setting", "门诊/住院"),
    ("quantity", "数量"), ("amount", "金额"), ("national_code", "国家项目编码"),
)
ITEM_OPTIONAL = {"national_code"}
SETTINGS = {"门诊": "outpatient", "门急诊": "outpatient", "住院": "inpatient"}
SETTING_LABELS = {"outpatient": "门诊", "inpatient": "住院"}
RESERVED_CODES = {"YP01": "西药", "YP02": "中成药", "YP03": "中药饮片", "HC01": "卫生材料"}
