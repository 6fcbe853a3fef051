"""The indicator registry: every indicator defined once, and the drill-through to its cells.

Each `Indicator` says what it is called (label), how its value reads (unit), how it is
computed (`sql`, an expression over the return cells it `reads` and the FACTS scoring derives),
what it is made of in words, its risk domain, whether it is rated (may colour its domain) or
monitored (shown only), and whether it ranks its domain's hospitals in the bulletin (`key`).
Scoring, the pages, the bulletin, the exports, the thresholds check and the bench all read
this list; adding an indicator means adding it here (and to config/risk.yaml).

A cell alias is `<item code>_<column>`, lower case: _m 本月数, _y 本年累计数, _e 期末数, _b 年初数
(e.g. `a100_e` is 表2 A100 期末数). `sql` must also be a Python expression (NULLIF(x, 0) is
given to it) unless `pandas` gives the form the bench evaluates instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import psycopg

DOMAINS = ("deficit", "debt", "wages")
# How a value of each unit reads in Chinese (value: an exact Decimal).
UNITS = {
    "percent": lambda v: f"{v * 100:.1f}%",                  # a ratio
    "pp": lambda v: f"{v * 100:+.1f}个百分点",                # a change of a ratio
    "days": lambda v: f"{v:.1f}天",
    "months": lambda v: f"{v:.0f}个月",
    "money": lambda v: "0元" if v == 0 else f"{v / 10000:,.2f}万元",   # yuan shown in 万元
    "yuan": lambda v: f"{v:.2f}元",
    "plain": lambda v: f"{v:.2f}",
}
COLUMN_NAMES = {"month": "本月数", "ytd": "本年累计数", "end": "期末数", "begin": "年初数"}
SUFFIXES = {"m": "month", "y": "ytd", "e": "end", "b": "begin"}
# Items whose cell holds text (a 'YYYY-MM' month), pivoted from text_value instead of amount.
TEXT_ITEMS = {"W407"}
# Names scoring derives beside the cells (etl.ratings.scoring's facts; bench/scoring.py's frame).
FACTS = {
    "period": "the return's period, 'YYYY-MM' (period_index() turns it into a month number)",
    "month_no": "the period's month, 1–12",
    "year_day": "day of the year of the period's last day",
    "deficit_months": "consecutive months to the period with S300 本月数 < 0",
    "overdue_debt": "sum of 表4 逾期金额",
    "non_service": "表5 revenue attributed to drug, material, examination and laboratory subjects",
    "unattributed": "表5 revenue of codes missing from the mapping",
}


@dataclass(frozen=True)
class Indicator:
    id: str
    label: str
    unit: str
    domain: str | None
    rated: bool
    sql: str
    reads: tuple[str, ...]
    words: str
    extra: tuple[str, str] | None = None
    key: str | None = None          # 'asc' / 'desc': ranks its domain in the bulletin, worst first
    pandas: str | None = None       # the bench's form where `sql` is not a Python expression


def _i(id, label, unit, domain, rated, sql, reads, words, **more) -> Indicator:
    return Indicator(id, label, unit, domain, rated, sql, tuple(reads), words, **more)


REGISTRY = (
    # ---- 收不抵支 (deficit)
    _i("surplus_rate_month", "本月收支结余率", "percent", "deficit", True,
       "s300_m / NULLIF(r100_m, 0)", ("s300_m", "r100_m"), "本期盈余（本月）÷ 总收入（本月）"),
    _i("surplus_rate_ytd", "累计收支结余率", "percent", "deficit", True,
       "s300_y / NULLIF(r100_y, 0)", ("s300_y", "r100_y"), "本期盈余（累计）÷ 总收入（累计）", key="asc"),
    _i("deficit_months", "连续亏损月数", "months", "deficit", True,
       "deficit_months", ("s300_m",), "截至本期连续本期盈余为负的月数（缺报月份中断）",
       extra=("表1", "此前各月 S300 本月数")),
    # ---- 长期债务 (debt)
    _i("debt_ratio", "资产负债率", "percent", "debt", True,
       "l200_e / NULLIF(a100_e, 0)", ("l200_e", "a100_e"), "负债合计 ÷ 资产总计", key="desc"),
    _i("current_ratio", "流动比率", "plain", "debt", True,
       "a110_e / NULLIF(l210_e, 0)", ("a110_e", "l210_e"), "流动资产合计 ÷ 流动负债合计"),
    _i("long_debt_to_revenue", "长期负债占年化收入比", "percent", "debt", True,
       "(l221_e + l222_e) / NULLIF(r100_y * 12 / month_no, 0)", ("l221_e", "l222_e", "r100_y"),
       "（长期借款 + 长期应付款）÷（累计总收入 × 12 ÷ 月份数）"),
    _i("cash_days", "现金可支付天数", "days", "debt", True,
       "a101_e / NULLIF(e200_y / year_day, 0)", ("a101_e", "e200_y"), "货币资金 ÷（累计总费用 ÷ 年内天数）"),
    _i("overdue_debt", "逾期债务金额", "money", "debt", True,
       "overdue_debt", (), "表4 逾期金额合计", extra=("表4", "逾期金额")),
    # ---- 拖欠薪酬 (wages)
    _i("wage_arrears", "累计拖欠薪酬", "money", "wages", True,
       "w404_m", ("w404_m",), "期末累计拖欠薪酬", key="desc"),
    _i("wage_arrears_months", "拖欠薪酬月数", "months", "wages", True,
       "CASE WHEN w404_m > 0 THEN period_index(period) - period_index(w407_m) + 1 WHEN w404_m = 0 THEN 0 END",
       ("w404_m", "w407_m"), "最早拖欠月份至本期的月数（含两端）", extra=("表3", "W407 最早拖欠月份"),
       pandas="CASE([(w404_m > 0, period_index(period) - period_index(w407_m) + 1), (w404_m == 0, 0)])"),
    _i("wage_arrears_to_payroll", "拖欠薪酬占月应发比", "percent", "wages", True,
       "w404_m / NULLIF(w402_m, 0)", ("w404_m", "w402_m"), "期末累计拖欠薪酬 ÷ 本月应发薪酬"),
    _i("basic_wage_arrears", "拖欠基本工资", "money", "wages", True,
       "w405_m", ("w405_m",), "其中：拖欠基本工资"),
    # ---- monitored: shown, not rated
    _i("personnel_cost_ratio", "人员支出占业务支出比重", "percent", None, False,
       "e240_m / NULLIF(e210_m + e220_m, 0)", ("e240_m", "e210_m", "e220_m"),
       "人员经费 ÷（业务活动费用 + 单位管理费用）"),
    _i("drug_revenue_share", "药占比", "percent", None, False,
       "r113_m / NULLIF(r110_m, 0)", ("r113_m", "r110_m"), "药品收入 ÷ 医疗收入"),
    _i("material_per_100", "百元医疗收入消耗卫生材料", "yuan", None, False,
       "e242_m / NULLIF(r110_m - r113_m, 0) * 100", ("e242_m", "r110_m", "r113_m"),
       "卫生材料费 ÷（医疗收入 − 药品收入）× 100"),
    _i("service_revenue_share", "医疗服务收入占比", "percent", None, False,
       "(r110_m - non_service) / NULLIF(r110_m, 0)", ("r110_m",),
       "（医疗收入 − 表5中药品、卫生材料、检查、化验收入）÷ 医疗收入", extra=("表5", "按归集口径汇总的项目金额")),
    _i("receivable_days", "应收医疗款周转天数", "days", None, False,
       "a102_e / NULLIF(r110_y / year_day, 0)", ("a102_e", "r110_y"), "应收医疗款 ÷（累计医疗收入 ÷ 年内天数）"),
    _i("unattributed_share", "未归集收入占比", "percent", None, False,
       "unattributed / NULLIF(r110_m, 0)", ("r110_m",), "表5中未归集项目收入 ÷ 医疗收入",
       extra=("表5", "未归集价格项目金额")),
    _i("debt_ratio_change", "资产负债率较年初变动", "pp", "debt", False,
       "l200_e / NULLIF(a100_e, 0) - l200_b / NULLIF(a100_b, 0)", ("l200_e", "a100_e", "l200_b", "a100_b"),
       "负债合计 ÷ 资产总计（期末数）− 负债合计 ÷ 资产总计（年初数）"),
)
BY_ID = {i.id: i for i in REGISTRY}
IDS = tuple(BY_ID)
# The indicator each domain's hospitals of concern are ranked by in the bulletin, with direction.
KEY_INDICATOR = {i.domain: (i.id, i.key) for i in REGISTRY if i.key}
_ALIAS = re.compile(r"^([a-z]\d{3})_([myeb])$")


def cell(alias: str) -> tuple[str, str]:
    """(item code, column) of a cell alias: 'a100_e' -> ('A100', 'end')."""
    m = _ALIAS.match(alias)
    if not m:
        raise ValueError(f"not a cell alias: {alias}")
    return m.group(1).upper(), SUFFIXES[m.group(2)]


def inputs() -> tuple[tuple[str, str, str], ...]:
    """(alias, item code, column) of every cell some indicator reads, in registry order."""
    seen: dict[str, tuple[str, str]] = {}
    for ind in REGISTRY:
        for alias in ind.reads:
            seen.setdefault(alias, cell(alias))
    return tuple((alias, code, column) for alias, (code, column) in seen.items())


def label(indicator: str) -> str:
    return BY_ID[indicator].label if indicator in BY_ID else indicator


def format_value(indicator: str, value) -> str:
    """The value as the pages show it, by the indicator's unit ('无法计算' for None)."""
    if value is None:
        return "无法计算"
    unit = BY_ID[indicator].unit if indicator in BY_ID else "plain"
    return UNITS[unit](Decimal(value))


def sources(conn: psycopg.Connection, return_id: int) -> dict[str, list[dict]]:
    """For each indicator, the cells of this return it was computed from, with their values."""
    cells = {(r["item_code"], r["column_name"]): r for r in conn.execute(
        "SELECT sheet, item_code, column_name, amount, text_value, cell FROM return_value WHERE return_id = %s",
        (return_id,))}
    out = {}
    for ind in REGISTRY:
        found = []
        for alias in ind.reads:
            row = cells.get(cell(alias))
            if not row:
                continue
            entry = {"sheet": row["sheet"], "cell": row["cell"], "code": row["item_code"],
                     "column": COLUMN_NAMES[row["column_name"]], "amount": row["amount"]}
            if row["item_code"] in TEXT_ITEMS:
                entry.update(amount=None, text=row["text_value"])
            found.append(entry)
        out[ind.id] = found
    return out
