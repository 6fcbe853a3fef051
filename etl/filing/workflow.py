"""The review state machine: which level may move a return from which status to which.

A return's `status` goes 已上报 (submitted) → 市级审核通过 (prefecture_accepted) → 已通过
(accepted) with two levels, or submitted → accepted with one (the default, and the behaviour
before the prefecture tier). Either level may return it to the hospital (returned); the
province may send a prefecture-accepted return back to the prefecture (rechecking, 退回市州复核).
An accepted return is locked: only a granted reopen request (reopened) lets a new version in.
Ratings stay provisional until `accepted` (scoring: `status <> 'accepted'`).

`decide` is pure: the callers (etl.filing.review, etl.filing.reopening) lock the row, read
its status, ask here, then write. The settings (levels, the prefecture's and the province's
review day) live in deployment_setting and are changed by admins (audited).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import psycopg

from etl.common import audit
from etl.common.codes import default_deadline
from etl.common.errors import HemonError
from etl.reference import deployment

STATUS_NAMES = {"submitted": "已上报", "prefecture_accepted": "市级审核通过", "rechecking": "退回市州复核",
                "returned": "退回修改", "accepted": "已通过", "reopened": "已准许重报"}
ACTION_NAMES = {"accept": "审核通过", "return": "退回医院", "recheck": "退回市州复核",
                "reopen_request": "申请重新打开", "reopen_grant": "同意重新打开", "reopen_refuse": "不同意重新打开",
                "upload": "上报"}
LEVEL_NAMES = {"hospital": "医院", "prefecture": "市州", "province": "省级"}
# Waiting for the prefecture (two levels): new returns and those the province sent back.
AT_PREFECTURE = ("submitted", "rechecking")
# Not yet decided by anyone at the last level.
OPEN = ("submitted", "prefecture_accepted", "rechecking")


@dataclass(frozen=True)
class ReviewSettings:
    """levels: 1 (the province reviews) or 2 (the prefecture, then the province); the review
    days: day N of the month after the period is that level's deadline."""
    levels: int = 1
    prefecture_day: int = 15
    province_day: int = 25

    def prefecture_deadline(self, period: str) -> dt.date:
        return default_deadline(period, self.prefecture_day)

    def province_deadline(self, period: str) -> dt.date:
        return default_deadline(period, self.province_day)


def settings(conn: psycopg.Connection) -> ReviewSettings:
    """The review settings in force (defaults: one level, days 15 and 25)."""
    value = deployment.setting(conn, "review", None) or {}
    return ReviewSettings(levels=int(value.get("levels", 1)), prefecture_day=int(value.get("prefecture_day", 15)),
                          province_day=int(value.get("province_day", 25)))


def save_settings(conn: psycopg.Connection, levels, prefecture_day, province_day, user: dict) -> ReviewSettings:
    """Change the review settings (audited); refused with a Chinese message when out of range."""
    try:
        levels, prefecture_day, province_day = int(levels), int(prefecture_day), int(province_day)
    except (TypeError, ValueError):
        raise HemonError("审核级数和审核截止日须为整数") from None
    if levels not in (1, 2):
        raise HemonError("审核级数只能是 1（省级审核）或 2（市州审核后省级审核）")
    if not (1 <= prefecture_day <= 28 and 1 <= province_day <= 28):
        raise HemonError("审核截止日应为每月 1–28 日（不是每个月都有 29–31 日）")
    if levels == 2 and prefecture_day >= province_day:
        raise HemonError("市州审核截止日应早于省级审核截止日")
    new = ReviewSettings(levels, prefecture_day, province_day)
    with conn.transaction():
        old = settings(conn)
        deployment.set_setting(conn, "review", {"levels": levels, "prefecture_day": prefecture_day,
                                                "province_day": province_day})
        audit.record(conn, user, "setting.review", "deployment_setting:review", old.__dict__, new.__dict__)
    return new


def level_of(user: dict) -> str | None:
    """The review level a user acts at: 'prefecture' (市州审核员), 'province' (reviewers,
    admins), 'hospital' (hospital users: reopen requests), None (leaders: read only)."""
    return {"prefecture": "prefecture", "reviewer": "province", "admin": "province",
            "hospital": "hospital"}.get(user["role"])


def prefecture_overdue(cfg: ReviewSettings, status: str, period: str, today: dt.date,
                       has_prefecture: bool = True) -> bool:
    """True when a two-level return waits for a prefecture past its deadline (市州逾期未审),
    or has no prefecture to wait for: the province may then decide it itself."""
    if cfg.levels != 2 or status not in AT_PREFECTURE:
        return False
    return not has_prefecture or today > cfg.prefecture_deadline(period)


def decide(cfg: ReviewSettings, level: str | None, action: str, status: str, *, period: str,
           today: dt.date, has_prefecture: bool = True) -> str:
    """Return the status `action` by `level` leads to from `status`, or raise HemonError with
    the Chinese reason it is refused."""
    name = STATUS_NAMES.get(status, status)
    if level not in ("prefecture", "province"):
        raise HemonError("您没有审核权限")
    if level == "prefecture" and cfg.levels != 2:
        raise HemonError("本省实行省级一级审核，市州不参与审核")
    if status == "accepted":
        raise HemonError("该报表已审核通过并锁定；如需修改，须由医院申请重新打开")
    if status in ("returned", "reopened"):
        raise HemonError(f"该报表状态为“{name}”，正等待医院重新上报，不能审核")
    if level == "prefecture":
        if status not in AT_PREFECTURE:
            raise HemonError(f"该报表状态为“{name}”，已不在市州审核环节")
        if action == "accept":
            return "prefecture_accepted"
        if action == "return":
            return "returned"
        raise HemonError("市州不能退回市州复核")
    # The province: with two levels, only what the prefecture passed, or what it left too long.
    if cfg.levels == 2 and status in AT_PREFECTURE and not prefecture_overdue(
            cfg, status, period, today, has_prefecture):
        raise HemonError(f"该报表尚待市州审核（市州审核截止 {cfg.prefecture_deadline(period)}），省级暂不能审核")
    if action == "accept":
        return "accepted"
    if action == "return":
        return "returned"
    if action == "recheck":
        if cfg.levels != 2 or status != "prefecture_accepted":
            raise HemonError("只有市州审核通过的报表可以退回市州复核")
        return "rechecking"
    raise HemonError("未知的审核操作")


def awaiting(cfg: ReviewSettings, level: str, status: str, period: str, today: dt.date,
             has_prefecture: bool = True) -> bool:
    """True when a return in `status` waits for a decision at `level`."""
    try:
        decide(cfg, level, "accept", status, period=period, today=today, has_prefecture=has_prefecture)
    except HemonError:
        return False
    return True
