"""The case rules a province may set: how many consecutive months without red before a case
may be closed (销号), and how many days a hospital has for its plan after a case opens.
Kept in deployment_setting; the page 处置设置 and the command `cases-settings` both save here."""
from __future__ import annotations

from dataclasses import asdict, dataclass

import psycopg

from etl.cases import listing, opening
from etl.common import audit
from etl.common.errors import HemonError
from etl.reference import deployment

CLOSE_MONTHS_RANGE = (1, 24)
PLAN_DAYS_RANGE = (1, 180)


@dataclass(frozen=True)
class CaseSettings:
    close_months: int
    plan_days: int


def current(conn: psycopg.Connection) -> CaseSettings:
    return CaseSettings(listing.close_months(conn), opening.plan_days(conn))


def save(conn: psycopg.Connection, close_months, plan_days, user: dict | None) -> CaseSettings:
    """Change the rules (None keeps a value), audited when anything changes; refused with a
    Chinese message when a value is not a whole number in its range."""
    def number(value, label: str, bounds: tuple[int, int]) -> int | None:
        if value is None or str(value).strip() == "":
            return None
        try:
            n = int(str(value).strip())
        except ValueError:
            raise HemonError(f"{label}须为整数") from None
        if not bounds[0] <= n <= bounds[1]:
            raise HemonError(f"{label}应为 {bounds[0]}–{bounds[1]}")
        return n

    months = number(close_months, "销号所需连续不为红色的月数", CLOSE_MONTHS_RANGE)
    days = number(plan_days, "整改方案提交期限（天）", PLAN_DAYS_RANGE)
    with conn.transaction():
        before = current(conn)
        if months is not None:
            deployment.set_setting(conn, "case_close_months", months)
        if days is not None:
            deployment.set_setting(conn, "case_plan_days", days)
        after = current(conn)
        if after != before:
            audit.record(conn, user, "cases.settings", "deployment_setting", asdict(before), asdict(after))
    return after
