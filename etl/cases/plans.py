"""A remediation plan (整改方案) as the hospital writes it: cause, measures, milestones and,
for a wages case, the arrears repayment schedule (欠薪化解).

`parse` turns form fields into a Plan, refusing bad input with one Chinese message that
names the row; `store` replaces a case's plan rows. Amounts are exact Decimals in yuan
(a leading ¥, thousands commas and a trailing 元 are accepted); milestone targets are read
in the indicator's unit as the pages show it (percent indicators in %, money in 元).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import psycopg

from etl.common.codes import PERIOD_PATTERN
from etl.common.errors import HemonError
from etl.ratings import indicators as registry

MIN_CAUSE = 10          # characters of cause analysis at least
MAX_TEXT = 4000
ROWS = {"measure": 6, "milestone": 6, "repayment": 12}   # rows the form offers
# How a target typed in the form maps to the stored value, by the indicator's unit.
TARGET_SCALE = {"percent": Decimal("0.01"), "pp": Decimal("0.01")}


@dataclass
class Plan:
    cause: str
    measures: list[tuple[str, Decimal | None, dt.date]] = field(default_factory=list)
    milestones: list[tuple[str, str, Decimal]] = field(default_factory=list)     # period, indicator, target
    repayments: list[tuple[str, Decimal]] = field(default_factory=list)          # period, yuan

    def as_dict(self) -> dict:
        return {"cause": self.cause,
                "measures": [{"body": b, "amount": a, "due_on": d.isoformat()} for b, a, d in self.measures],
                "milestones": [{"period": p, "indicator": i, "target": t} for p, i, t in self.milestones],
                "repayments": [{"period": p, "amount": a} for p, a in self.repayments]}


def amount(text: str, where: str) -> Decimal:
    """An amount in yuan from the form: exact, not negative, at most 2 decimals."""
    clean = re.sub(r"[,，\s]", "", text or "").removeprefix("¥").removeprefix("￥").removesuffix("元")
    try:
        value = Decimal(clean)
    except InvalidOperation:
        raise HemonError(f"{where}：金额“{text}”不是数字（单位：元）") from None
    if not value.is_finite() or value < 0:
        raise HemonError(f"{where}：金额“{text}”应为不小于 0 的数字（单位：元）")
    if value != value.quantize(Decimal("0.01")):
        raise HemonError(f"{where}：金额“{text}”最多保留两位小数（单位：元）")
    return value


def domain_indicators(domain: str) -> list[registry.Indicator]:
    """The rated indicators of a domain, in registry order (a milestone names one of them)."""
    return [i for i in registry.REGISTRY if i.domain == domain and i.rated]


def target_text(indicator: str, target: Decimal) -> str:
    """A stored milestone target as the form takes it back (percent indicators in %)."""
    scale = TARGET_SCALE.get(registry.BY_ID[indicator].unit, Decimal(1)) if indicator in registry.BY_ID else 1
    return format((Decimal(target) / scale).normalize(), "f")


def parse(form, domain: str) -> Plan:
    """Read a plan from form fields: cause; measure_body_N, measure_amount_N, measure_due_N;
    milestone_period_N, milestone_indicator_N, milestone_target_N; repayment_period_N,
    repayment_amount_N (N from 1). Blank rows are skipped; a half-filled row is an error."""
    cause = (form.get("cause") or "").strip()
    if len(cause) < MIN_CAUSE:
        raise HemonError(f"请填写成因分析（至少 {MIN_CAUSE} 个字）")
    if len(cause) > MAX_TEXT:
        raise HemonError(f"成因分析过长（最多 {MAX_TEXT} 个字）")
    plan = Plan(cause)
    for n in range(1, ROWS["measure"] + 1):
        body, money, due = (form.get(f"measure_{k}_{n}", "").strip() for k in ("body", "amount", "due"))
        if not (body or money or due):
            continue
        where = f"整改措施第 {n} 行"
        if not body or not due:
            raise HemonError(f"{where}：请填写措施内容和完成日期")
        try:
            day = dt.date.fromisoformat(due)
        except ValueError:
            raise HemonError(f"{where}：完成日期“{due}”应为 YYYY-MM-DD") from None
        plan.measures.append((body[:MAX_TEXT], amount(money, where) if money else None, day))
    if not plan.measures:
        raise HemonError("请至少填写一项整改措施（内容和完成日期）")
    allowed = {i.id: i for i in domain_indicators(domain)}
    for n in range(1, ROWS["milestone"] + 1):
        period, indicator, target = (form.get(f"milestone_{k}_{n}", "").strip() for k in ("period", "indicator", "target"))
        if not (period or target):
            continue
        where = f"阶段目标第 {n} 行"
        if not PERIOD_PATTERN.match(period):
            raise HemonError(f"{where}：月份“{period}”应为 YYYY-MM")
        if indicator not in allowed:
            raise HemonError(f"{where}：请选择本领域的评级指标")
        scale = TARGET_SCALE.get(allowed[indicator].unit, Decimal(1))
        try:
            value = Decimal(target.removesuffix("%").removesuffix("元").replace(",", "")) * scale
        except InvalidOperation:
            raise HemonError(f"{where}：目标值“{target}”不是数字") from None
        if not value.is_finite():
            raise HemonError(f"{where}：目标值“{target}”不是数字")
        if any(p == period and i == indicator for p, i, _ in plan.milestones):
            raise HemonError(f"{where}：同一月份同一指标只能有一个目标")
        plan.milestones.append((period, indicator, value))
    if domain == "wages":
        for n in range(1, ROWS["repayment"] + 1):
            period, money = (form.get(f"repayment_{k}_{n}", "").strip() for k in ("period", "amount"))
            if not (period or money):
                continue
            where = f"欠薪化解计划第 {n} 行"
            if not PERIOD_PATTERN.match(period) or not money:
                raise HemonError(f"{where}：请填写月份（YYYY-MM）和计划偿还金额")
            value = amount(money, where)
            if value == 0:
                raise HemonError(f"{where}：计划偿还金额应大于 0")
            if any(p == period for p, _ in plan.repayments):
                raise HemonError(f"{where}：月份 {period} 重复")
            plan.repayments.append((period, value))
        if not plan.repayments:
            raise HemonError("拖欠薪酬的整改方案须附欠薪化解计划：至少填写一个月的计划偿还金额")
        plan.repayments.sort()
    return plan


def store(conn: psycopg.Connection, case_id: int, plan: Plan) -> None:
    """Replace the case's plan rows with `plan` (inside the caller's transaction)."""
    for table in ("risk_case_measure", "risk_case_milestone", "risk_case_repayment"):
        conn.execute(f"DELETE FROM {table} WHERE case_id = %s", (case_id,))
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO risk_case_measure (case_id, seq, body, amount, due_on) VALUES (%s, %s, %s, %s, %s)",
                        [(case_id, n, b, a, d) for n, (b, a, d) in enumerate(plan.measures, 1)])
        cur.executemany("INSERT INTO risk_case_milestone (case_id, period, indicator, target) VALUES (%s, %s, %s, %s)",
                        [(case_id, p, i, t) for p, i, t in plan.milestones])
        cur.executemany("INSERT INTO risk_case_repayment (case_id, period, amount) VALUES (%s, %s, %s)",
                        [(case_id, p, a) for p, a in plan.repayments])
    conn.execute("UPDATE risk_case SET cause = %s WHERE id = %s", (plan.cause, case_id))


def load(conn: psycopg.Connection, case_id: int) -> dict:
    """The stored plan: measures, milestones, repayments (exact Decimals)."""
    return {
        "measures": conn.execute("SELECT seq, body, amount, due_on FROM risk_case_measure WHERE case_id = %s "
                                 "ORDER BY seq", (case_id,)).fetchall(),
        "milestones": conn.execute("SELECT period, indicator, target FROM risk_case_milestone WHERE case_id = %s "
                                   "ORDER BY period, indicator", (case_id,)).fetchall(),
        "repayments": conn.execute("SELECT period, amount FROM risk_case_repayment WHERE case_id = %s "
                                   "ORDER BY period", (case_id,)).fetchall(),
    }
