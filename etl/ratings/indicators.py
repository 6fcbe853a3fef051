"""What each indicator is made of: its formula in words and the return cells it reads."""
from __future__ import annotations

import psycopg

from etl.ratings.scoring import INPUTS

# Input aliases of etl.ratings.scoring.INPUTS that each formula reads.
INDICATOR_INPUTS = {
    "surplus_rate_month": ("s300_m", "r100_m"),
    "surplus_rate_ytd": ("s300_y", "r100_y"),
    "deficit_months": ("s300_m",),
    "debt_ratio": ("l200", "a100"),
    "current_ratio": ("a110", "l210"),
    "long_debt_to_revenue": ("l221", "l222", "r100_y"),
    "cash_days": ("a101", "e200_y"),
    "overdue_debt": (),
    "wage_arrears": ("w404",),
    "wage_arrears_months": ("w404",),
    "wage_arrears_to_payroll": ("w404", "w402"),
    "basic_wage_arrears": ("w405",),
    "personnel_cost_ratio": ("e240_m", "e210_m", "e220_m"),
    "drug_revenue_share": ("r113_m", "r110_m"),
    "material_per_100": ("e242_m", "r110_m", "r113_m"),
    "service_revenue_share": ("r110_m",),
    "receivable_days": ("a102", "r110_y"),
    "unattributed_share": ("r110_m",),
}
FORMULA_TEXT = {
    "surplus_rate_month": "本期盈余（本月）÷ 总收入（本月）",
    "surplus_rate_ytd": "本期盈余（累计）÷ 总收入（累计）",
    "deficit_months": "截至本期连续本期盈余为负的月数（缺报月份中断）",
    "debt_ratio": "负债合计 ÷ 资产总计",
    "current_ratio": "流动资产合计 ÷ 流动负债合计",
    "long_debt_to_revenue": "（长期借款 + 长期应付款）÷（累计总收入 × 12 ÷ 月份数）",
    "cash_days": "货币资金 ÷（累计总费用 ÷ 年内天数）",
    "overdue_debt": "表4 逾期金额合计",
    "wage_arrears": "期末累计拖欠薪酬",
    "wage_arrears_months": "最早拖欠月份至本期的月数（含两端）",
    "wage_arrears_to_payroll": "期末累计拖欠薪酬 ÷ 本月应发薪酬",
    "basic_wage_arrears": "其中：拖欠基本工资",
    "personnel_cost_ratio": "人员经费 ÷（业务活动费用 + 单位管理费用）",
    "drug_revenue_share": "药品收入 ÷ 医疗收入",
    "material_per_100": "卫生材料费 ÷（医疗收入 − 药品收入）× 100",
    "service_revenue_share": "（医疗收入 − 表5中药品、卫生材料、检查、化验收入）÷ 医疗收入",
    "receivable_days": "应收医疗款 ÷（累计医疗收入 ÷ 年内天数）",
    "unattributed_share": "表5中未归集项目收入 ÷ 医疗收入",
}
EXTRA_SOURCES = {
    "overdue_debt": ("表4", "逾期金额"),
    "wage_arrears_months": ("表3", "W407 最早拖欠月份"),
    "service_revenue_share": ("表5", "按归集口径汇总的项目金额"),
    "unattributed_share": ("表5", "未归集价格项目金额"),
    "deficit_months": ("表1", "此前各月 S300 本月数"),
}
_BY_ALIAS = {alias: (code, column) for alias, code, column in INPUTS}
COLUMN_NAMES = {"month": "本月数", "ytd": "本年累计数", "end": "期末数", "begin": "年初数"}


def sources(conn: psycopg.Connection, return_id: int) -> dict[str, list[dict]]:
    """For each indicator, the cells of this return it was computed from, with their values."""
    cells = {(r["item_code"], r["column_name"]): r for r in conn.execute(
        "SELECT sheet, item_code, column_name, amount, text_value, cell FROM return_value WHERE return_id = %s",
        (return_id,))}
    out = {}
    for indicator, aliases in INDICATOR_INPUTS.items():
        found = []
        for alias in aliases:
            row = cells.get(_BY_ALIAS[alias])
            if row:
                found.append({"sheet": row["sheet"], "cell": row["cell"], "code": row["item_code"],
                              "column": COLUMN_NAMES[row["column_name"]], "amount": row["amount"]})
        if indicator == "wage_arrears_months" and cells.get(("W407", "month")):
            row = cells[("W407", "month")]
            found.append({"sheet": row["sheet"], "cell": row["cell"], "code": "W407", "column": "本月数",
                          "amount": None, "text": row["text_value"]})
        out[indicator] = found
    return out
