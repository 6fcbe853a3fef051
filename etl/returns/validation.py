"""Validate a parsed return against the contract: every rule yields a coded finding.

`validate(ret, ctx)` adds findings to `ret.findings` and returns them. Errors reject the
return; warnings load but need an explanation before acceptance; notices only inform.
Equalities of amounts hold within what rounding to the cover unit's ordinary precision allows
(etl.common.amounts.tolerance: 1 yuan in 元; half of 0.01 万元 or of 1 千元 per figure involved),
so a 万元 return at 2 decimals that rounds correctly is never refused for rounding.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from etl.common.amounts import UNIT_FACTORS, tolerance
from etl.common.codes import (
    credit_code_problem,
    number_code_problem,
    period_end,
    shift_period,
)
from etl.common.findings import Findings
from etl.returns import contract as rf
from etl.returns.reader import ParsedReturn

PHONE = re.compile(r"^[0-9][0-9-]{4,19}$")
NAMES = {code: name for items in rf.TABLE_ITEMS.values() for code, name in items}

# 表1 identities per column: target = sum(parts); parts: (sign, code).
T1_SUMS = (
    ("R100", (("+", "R110"), ("+", "R120"), ("+", "R130"), ("+", "R140"))),
    ("R110", (("+", "R111"), ("+", "R112"))),
    ("R120", (("+", "R121"), ("+", "R122"))),
    ("E200", (("+", "E210"), ("+", "E220"), ("+", "E230"))),
    ("S300", (("+", "R100"), ("-", "E200"))),
)
# "其中" rows: part ≤ whole.
T1_PARTS = (("R113", ("R110",)), ("R114", ("R110",)), ("E240", ("E210", "E220")))
T2_AT_LEAST = (
    ("A110", ("A101", "A102", "A103", "A104")),
    ("A100", ("A110", "A120", "A130")),
    ("L210", ("L201", "L202", "L203", "L204")),
    ("L220", ("L221", "L222")),
)
T2_SUMS = (
    ("L200", (("+", "L210"), ("+", "L220"))),
    ("A100", (("+", "L200"), ("+", "N300"))),
)
T1_COLUMN_NAMES = {"month": "本月数", "ytd": "本年累计数", "end": "期末数", "begin": "年初数"}


@dataclass
class ValidationContext:
    """What validation needs from outside the workbook, gathered by the caller."""
    hospital: dict | None = None               # registry row for the cover's code, if any
    uploader_hospital: str | None = None       # the uploading account's hospital; None: province
    today: dt.date = field(default_factory=dt.date.today)
    period_locked: bool = False
    template_versions: tuple = (rf.TEMPLATE_VERSION,)
    previous_ytd: dict | None = None           # previous month's 表1 本年累计数 by code
    previous_arrears: Decimal | None = None    # previous month's W404
    mapped_codes: set | None = None            # price codes of the mapping version in effect


def money(x: Decimal | None) -> str:
    return "—" if x is None else f"{x:,.2f}"


def _registered_for(ret, hospital: dict, sheet: str, cell: str, f) -> None:
    """A closed hospital files nothing from its closing month; a new code nothing before its first."""
    closed, opened = hospital.get("closed_from"), hospital.get("opened_from")
    if closed and ret.period >= closed:
        after = f"，请以机构代码 {hospital['successor_code']} 报送" if hospital.get("successor_code") else ""
        f.error("COVER_HOSPITAL_CLOSED", sheet, cell,
                f"{hospital['name']}已于 {closed} 起在名录中关闭，不再报送 {closed} 及以后的报表{after}")
    elif opened and ret.period < opened:
        f.error("COVER_HOSPITAL_NOT_OPEN", sheet, cell,
                f"机构代码 {hospital['code']} 自 {opened} 起报送，{ret.period} 的报表不能以此代码报送")


def validate(ret: ParsedReturn, ctx: ValidationContext) -> Findings:
    f = ret.findings
    if "封面" in ret.sheet_names:
        _cover(ret, ctx, f)
    if "表1" in ret.tables:
        _table1(ret, ctx, f)
    if "表2" in ret.tables:
        _table2(ret, f)
    if "表3" in ret.tables:
        _table3(ret, ctx, f)
    if "表4" in ret.sheet_names:
        _table4(ret, f)
    if "表5" in ret.sheet_names:
        _table5(ret, ctx, f)
    return f


def _cover(ret, ctx, f):
    sheet = ret.sheet_names["封面"]
    cell = {label: c for label, (_, c) in ret.cover.items()}
    if "机构代码" in ret.cover:
        problem = credit_code_problem(ret.hospital_code)
        as_number = number_code_problem(ret.cover["机构代码"][0])
        if as_number:
            f.error("COVER_CODE_NUMBER", sheet, cell["机构代码"], f"机构代码{as_number}")
        elif problem:
            f.error("COVER_CODE_INVALID", sheet, cell["机构代码"], f"机构代码“{ret.hospital_code}”{problem}")
        elif ctx.hospital is None:
            f.error("COVER_HOSPITAL_UNKNOWN", sheet, cell["机构代码"],
                    f"机构代码 {ret.hospital_code} 不是本省登记的医疗机构")
        elif ctx.uploader_hospital and ctx.uploader_hospital != ret.hospital_code:
            f.error("COVER_HOSPITAL_NOT_YOURS", sheet, cell["机构代码"],
                    f"机构代码 {ret.hospital_code} 与当前登录账号所属机构不一致")
        elif ret.hospital_name and ret.hospital_name != ctx.hospital["name"]:
            f.notice("COVER_NAME_MISMATCH", sheet, cell.get("机构名称"),
                     f"机构名称“{ret.hospital_name}”与登记名称“{ctx.hospital['name']}”不一致")
    if ctx.hospital and ret.period and "机构代码" in ret.cover:
        _registered_for(ret, ctx.hospital, sheet, cell["机构代码"], f)
    if "报告期" in ret.cover:
        current = f"{ctx.today.year:04d}-{ctx.today.month:02d}"
        if ret.period is None:
            f.error("COVER_PERIOD_INVALID", sheet, cell["报告期"], "报告期应为“YYYY-MM”（如 2026-10）或“2026年10月”")
        elif ret.period > current:
            f.error("COVER_PERIOD_FUTURE", sheet, cell["报告期"], f"报告期 {ret.period} 晚于当前月份 {current}")
        elif ctx.period_locked:
            f.error("COVER_PERIOD_LOCKED", sheet, cell["报告期"], f"报告期 {ret.period} 已由省卫健委锁定，不再接收报表")
    if "金额单位" in ret.cover and ret.unit not in UNIT_FACTORS:
        f.error("COVER_UNIT_INVALID", sheet, cell["金额单位"], f"金额单位应为“元”“千元”或“万元”，实际为“{ret.unit or ''}”")
    for label, value in (("填报人", ret.filled_by), ("联系电话", ret.phone)):
        if label in ret.cover and not value:
            f.error("COVER_FIELD_REQUIRED", sheet, cell[label], f"“{label}”为必填项")
    if "联系电话" in ret.cover and ret.phone and not PHONE.match(ret.phone):
        f.error("COVER_PHONE_INVALID", sheet, cell["联系电话"], f"联系电话只能包含数字和“-”，实际为“{ret.phone}”")
    if "填报日期" in ret.cover and ret.filled_on is None:
        f.error("COVER_DATE_INVALID", sheet, cell["填报日期"], "填报日期为必填项，应为日期（如 2026-11-08）")
    if "模板版本" in ret.cover and ret.template_version not in ctx.template_versions:
        f.error("COVER_TEMPLATE_VERSION", sheet, cell["模板版本"],
                f"模板版本“{ret.template_version}”无效，请下载最新模板（{'、'.join(ctx.template_versions)}）")


def _sum(ret, key, terms, column):
    total = Decimal(0)
    for sign, code in terms:
        v = ret.value(key, code, column)
        if v is None:
            return None
        total += v if sign == "+" else -v
    return total


def _describe(terms) -> str:
    out = ""
    for sign, code in terms:
        out += ("" if not out else ("＋" if sign == "+" else "－")) + f"{NAMES[code]}（{code}）"
    return out


def _check_sums(ret, key, sums, columns, f):
    sheet = ret.sheet_names[key]
    for target, terms in sums:
        for column in columns:
            lhs, rhs = ret.value(key, target, column), _sum(ret, key, terms, column)
            if lhs is None or rhs is None or abs(lhs - rhs) <= tolerance(ret.unit, len(terms) + 1):
                continue
            f.error("SUM_MISMATCH", sheet, ret.cell(key, target, column),
                    f"{NAMES[target]}（{target}）{T1_COLUMN_NAMES[column]} {money(lhs)} 应等于 "
                    f"{_describe(terms)} = {money(rhs)}，相差 {money(lhs - rhs)} 元")


def _check_at_least(ret, key, rules, columns, f, code="SUM_TOO_SMALL"):
    sheet = ret.sheet_names[key]
    for target, parts in rules:
        for column in columns:
            lhs = ret.value(key, target, column)
            rhs = _sum(ret, key, [("+", p) for p in parts], column)
            if lhs is None or rhs is None or lhs + tolerance(ret.unit, len(parts) + 1) >= rhs:
                continue
            f.error(code, sheet, ret.cell(key, target, column),
                    f"{NAMES[target]}（{target}）{T1_COLUMN_NAMES[column]} {money(lhs)} 不应小于 "
                    f"{_describe([('+', p) for p in parts])} = {money(rhs)}")


def _table1(ret, ctx, f):
    sheet = ret.sheet_names["表1"]
    _check_sums(ret, "表1", T1_SUMS, ("month", "ytd"), f)
    for part, wholes in T1_PARTS:
        for column in ("month", "ytd"):
            p = ret.value("表1", part, column)
            w = _sum(ret, "表1", [("+", c) for c in wholes], column)
            if p is not None and w is not None and p > w + tolerance(ret.unit, len(wholes) + 1):
                f.error("PART_EXCEEDS_TOTAL", sheet, ret.cell("表1", part, column),
                        f"{NAMES[part]}（{part}）{T1_COLUMN_NAMES[column]} {money(p)} 超过 "
                        f"{_describe([('+', c) for c in wholes])} = {money(w)}")
    if "表5" in ret.sheet_names and not any(x.code == "HEADER_MISSING" and x.sheet == ret.sheet_names["表5"] for x in f):
        for code, setting in (("R111", "outpatient"), ("R112", "inpatient")):
            declared = ret.value("表1", code, "month")
            chosen = [i.amount for i in ret.items if i.setting == setting]
            items = sum(chosen, Decimal(0))
            if declared is not None and abs(declared - items) > tolerance(ret.unit, len(chosen) + 1):
                f.error("ITEMS_TOTAL_MISMATCH", sheet, ret.cell("表1", code, "month"),
                        f"{NAMES[code]}（{code}）本月数 {money(declared)} 应等于表5中"
                        f"{rf.SETTING_LABELS[setting]}项目金额合计 {money(items)}，相差 {money(declared - items)} 元")
    if ret.period:
        january = ret.period.endswith("-01")
        prev = ctx.previous_ytd
        for code, _ in rf.T1_ITEMS:
            month, ytd = ret.value("表1", code, "month"), ret.value("表1", code, "ytd")
            if month is None or ytd is None:
                continue
            if january:
                expected = month
            elif prev is not None and prev.get(code) is not None:
                expected = prev[code] + month
            else:
                continue
            if abs(ytd - expected) > tolerance(ret.unit, 2 if january else 3):
                basis = "本月数" if january else f"上月（{shift_period(ret.period, -1)}）本年累计数加本月数"
                f.warning("YTD_MISMATCH", sheet, ret.cell("表1", code, "ytd"),
                          f"{NAMES[code]}（{code}）本年累计数 {money(ytd)} 与{basis} {money(expected)} 不符，请核实并说明")


def _table2(ret, f):
    _check_at_least(ret, "表2", T2_AT_LEAST, ("end", "begin"), f)
    _check_sums(ret, "表2", T2_SUMS, ("end", "begin"), f)


def _table3(ret, ctx, f):
    sheet = ret.sheet_names["表3"]
    v = lambda code: ret.value("表3", code, "month")
    c = lambda code: ret.cell("表3", code, "month")
    staff, due, paid, arrears, basic, people = (v(x) for x in ("W401", "W402", "W403", "W404", "W405", "W406"))
    earliest = ret.tables["表3"].get("W407", {}).get("month")
    earliest = earliest.text if earliest else None
    if staff is not None and (staff <= 0 or staff != staff.to_integral_value()):
        f.error("STAFF_INVALID", sheet, c("W401"), f"在职职工人数应为正整数，实际为 {staff}")
    if due is not None and due <= 0:
        f.error("PAYROLL_NOT_POSITIVE", sheet, c("W402"), f"本月应发薪酬应大于0，实际为 {money(due)}")
    if paid is not None and due is not None:
        allowed = due + (ctx.previous_arrears or Decimal(0))
        if paid > allowed + tolerance(ret.unit, 3):
            f.warning("PAID_EXCEEDS_DUE", sheet, c("W403"),
                      f"本月实发薪酬 {money(paid)} 超过本月应发薪酬加上月末累计拖欠 {money(allowed)}，请核实并说明")
    if arrears is not None and arrears < 0:
        f.error("ARREARS_NEGATIVE", sheet, c("W404"), f"期末累计拖欠薪酬不能为负数，实际为 {money(arrears)}")
    if basic is not None and arrears is not None and basic > arrears + tolerance(ret.unit, 2):
        f.error("PART_EXCEEDS_TOTAL", sheet, c("W405"),
                f"其中：拖欠基本工资 {money(basic)} 超过期末累计拖欠薪酬 {money(arrears)}")
    if people is not None:
        if staff is not None and people > staff:
            f.error("ARREARS_PEOPLE_EXCEED_STAFF", sheet, c("W406"), f"拖欠涉及人数 {people} 超过在职职工人数 {staff}")
        if arrears is not None and (people > 0) != (arrears > 0):
            f.error("ARREARS_PEOPLE_INCONSISTENT", sheet, c("W406"),
                    "有拖欠薪酬时拖欠涉及人数应大于0；无拖欠时应为0")
    if arrears is not None:
        if arrears > 0 and not earliest:
            f.error("ARREARS_MONTH_REQUIRED", sheet, c("W407"), "有拖欠薪酬时须填写最早拖欠月份（YYYY-MM）")
        elif arrears == 0 and earliest:
            f.error("ARREARS_MONTH_UNEXPECTED", sheet, c("W407"), "无拖欠薪酬时最早拖欠月份应为空")
        elif earliest and ret.period and earliest > ret.period:
            f.error("ARREARS_MONTH_AFTER_PERIOD", sheet, c("W407"), f"最早拖欠月份 {earliest} 晚于报告期 {ret.period}")


def _table4(ret, f):
    sheet = ret.sheet_names["表4"]
    seen = {}
    long_term = Decimal(0)
    horizon = None
    if ret.period:
        end = period_end(ret.period)
        horizon = end.replace(year=end.year + 1) if not (end.month == 2 and end.day == 29) else end.replace(year=end.year + 1, day=28)
    for debt in ret.debts:
        d, cells = debt.values, debt.values["cells"]
        if not d["debt_no"]:
            f.error("DEBT_NO_MISSING", sheet, cells["debt_no"], "债务编号为空")
        elif d["debt_no"] in seen:
            f.error("DEBT_NO_DUPLICATE", sheet, cells["debt_no"], f"债务编号 {d['debt_no']} 与第 {seen[d['debt_no']]} 行重复")
        else:
            seen[d["debt_no"]] = debt.row
        if d["debt_type"] not in rf.DEBT_TYPES:
            f.error("DEBT_TYPE_INVALID", sheet, cells["debt_type"], f"债务类型应为{'/'.join(rf.DEBT_TYPES)}，实际为“{d['debt_type']}”")
        if d["purpose"] not in rf.DEBT_PURPOSES:
            f.error("DEBT_PURPOSE_INVALID", sheet, cells["purpose"], f"用途应为{'/'.join(rf.DEBT_PURPOSES)}，实际为“{d['purpose']}”")
        if d["borrowed_on"] and d["due_on"] and d["due_on"] < d["borrowed_on"]:
            f.error("DEBT_DUE_BEFORE_BORROWED", sheet, cells["due_on"], "到期日期早于借款日期")
        if d["balance"] is not None and d["contract_amount"] is not None and d["balance"] > d["contract_amount"] + tolerance(ret.unit, 2):
            f.error("DEBT_BALANCE_EXCEEDS_CONTRACT", sheet, cells["balance"],
                    f"期末余额 {money(d['balance'])} 超过合同金额 {money(d['contract_amount'])}")
        if d["overdue"] not in ("是", "否"):
            f.error("DEBT_OVERDUE_FLAG", sheet, cells["overdue"], f"是否逾期应填“是”或“否”，实际为“{d['overdue']}”")
        elif (d["overdue"] == "是") != ((d["overdue_amount"] or 0) > 0):
            f.error("DEBT_OVERDUE_INCONSISTENT", sheet, cells["overdue_amount"], "是否逾期为“是”时逾期金额应大于0，为“否”时应为0")
        if horizon and d["due_on"] and d["due_on"] > horizon and d["balance"]:
            long_term += d["balance"]
    if "表2" in ret.tables and horizon:
        books = _sum(ret, "表2", (("+", "L221"), ("+", "L222")), "end")
        if books is not None and abs(long_term - books) > max(books * Decimal("0.05"), tolerance(ret.unit, len(ret.debts) + 2)):
            f.warning("DEBT_LONG_TERM_MISMATCH", sheet, None,
                      f"一年以后到期债务期末余额合计 {money(long_term)} 与表2长期借款＋长期应付款 {money(books)} 相差超过5%，请核实并说明")


def _table5(ret, ctx, f):
    sheet = ret.sheet_names["表5"]
    seen = {}
    for item in ret.items:
        key = (item.price_code, item.setting)
        if key in seen:
            f.error("ITEM_DUPLICATE", sheet, f"A{item.row}",
                    f"价格项目 {item.price_code}（{rf.SETTING_LABELS[item.setting]}）与第 {seen[key]} 行重复")
        else:
            seen[key] = item.row
    if ctx.mapped_codes is not None:
        unmapped = sorted({i.price_code for i in ret.items} - ctx.mapped_codes)
        if unmapped:
            shown = "、".join(unmapped[:10]) + ("等" if len(unmapped) > 10 else "")
            total = sum((i.amount for i in ret.items if i.price_code not in ctx.mapped_codes), Decimal(0))
            f.warning("ITEM_UNMAPPED", sheet, None,
                      f"{len(unmapped)} 个价格项目编码不在省级归集口径映射中（{shown}），金额 {money(total)} 元计入“未归集”，请核实并说明")
    if "表1" in ret.tables:
        chosen = [i.amount for i in ret.items if i.price_code in ("YP01", "YP02", "YP03", "HC01")]
        drugs = sum(chosen, Decimal(0))
        declared = _sum(ret, "表1", (("+", "R113"), ("+", "R114")), "month")
        if declared is not None and abs(drugs - declared) > tolerance(ret.unit, len(chosen) + 2):
            f.warning("DRUG_MATERIAL_MISMATCH", sheet, None,
                      f"表5药品及卫生材料金额合计 {money(drugs)} 与表1药品收入＋卫生材料收入 {money(declared)} 不符，请核实并说明")
