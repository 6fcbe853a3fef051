"""A case's life through etl.cases.lifecycle: plan, review, progress, 销号 or escalation;
refused steps change nothing; overdue plans and missing notes are flagged; every step audited."""
import datetime as dt
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict

from etl.cases import lifecycle, listing, plans
from etl.common.errors import HemonError
from etl.reference.accounts import create_user, get_user
from etl.reference.scope import Scope
from tests.factories import hospital_code

PROVINCE = Scope.province()
PLAN = {"cause": "医疗收入下降，人员经费刚性增长，应收款回收慢。", "measure_body_1": "压减非必要支出",
        "measure_amount_1": "¥1,200,000.50", "measure_due_1": "2026-12-31",
        "milestone_period_1": "2027-01", "milestone_indicator_1": "surplus_rate_ytd", "milestone_target_1": "-3"}


@pytest.fixture()
def deficit_case(conn, upload_return):
    upload_return(1, "2026-06", "deficit")
    users = {role: get_user(conn, create_user(conn, role, "password-123", role,
                                              hospital_code(1) if role == "hospital" else None))
             for role in ("hospital", "reviewer")}
    case_id = conn.execute("SELECT id FROM risk_case").fetchone()["id"]
    return case_id, users


def _state(conn, case_id, **kw):
    return listing.case(conn, case_id, PROVINCE, **kw)


def test_plan_review_progress_and_close(conn, deficit_case, upload_return):
    case_id, users = deficit_case
    mine = Scope.hospital(hospital_code(1))
    plan = plans.parse(MultiDict(PLAN), "deficit")
    assert plan.measures[0][1] == Decimal("1200000.50") and plan.milestones[0][2] == Decimal("-0.03")
    lifecycle.submit_plan(conn, case_id, users["hospital"], mine, plan)
    assert _state(conn, case_id)["state"] == "plan_review"
    with pytest.raises(HemonError, match="退回补充须写明"):
        lifecycle.review_plan(conn, case_id, users["reviewer"], PROVINCE, False, "")
    lifecycle.review_plan(conn, case_id, users["reviewer"], PROVINCE, False, "请补充应收款回收措施")
    assert _state(conn, case_id)["state"] == "returned"
    lifecycle.submit_plan(conn, case_id, users["hospital"], mine, plan)
    lifecycle.review_plan(conn, case_id, users["reviewer"], PROVINCE, True)
    assert _state(conn, case_id)["state"] == "in_progress"
    with pytest.raises(HemonError, match="连续 3 个月"):
        lifecycle.close(conn, case_id, users["reviewer"], PROVINCE)
    for period in ("2026-07", "2026-08"):
        upload_return(1, period)
    # Accepted in July: the returns for July on (filed from August) each need a note.
    conn.execute("UPDATE risk_case SET accepted_at = '2026-07-20' WHERE id = %s", (case_id,))
    row = _state(conn, case_id)
    assert list(row["notes_missing"]) == ["2026-07", "2026-08"] and row["overdue"]
    lifecycle.add_note(conn, case_id, users["hospital"], mine, "2026-07", "已压减办公经费 30 万元")
    assert list(_state(conn, case_id)["notes_missing"]) == ["2026-08"]
    upload_return(1, "2026-09")
    assert _state(conn, case_id)["state"] == "closable"
    lifecycle.close(conn, case_id, users["reviewer"], PROVINCE, "连续三个月结余为正")
    row = _state(conn, case_id)
    assert row["state"] == "closed" and row["closed_period"] == "2026-09"
    actions = [r["action"] for r in conn.execute(
        "SELECT action FROM audit_log WHERE target = %s ORDER BY id", (f"risk_case:{case_id}",))]
    assert actions == ["case.open", "case.plan", "case.return", "case.plan", "case.accept", "case.note", "case.close"]


def test_a_red_month_makes_a_closable_case_wait_again(conn, deficit_case, upload_return):
    case_id, users = deficit_case
    conn.execute("UPDATE risk_case SET status = 'in_progress', accepted_at = now() WHERE id = %s", (case_id,))
    for period in ("2026-07", "2026-08", "2026-09"):
        upload_return(1, period)
    assert _state(conn, case_id)["state"] == "closable"
    upload_return(1, "2026-10", "deficit")
    row = _state(conn, case_id)
    assert row["state"] == "in_progress" and row["quiet_months"] == 0
    assert conn.execute("SELECT count(*) AS n FROM risk_case").fetchone()["n"] == 1


def test_refused_steps_change_nothing(conn, deficit_case):
    case_id, users = deficit_case
    mine = Scope.hospital(hospital_code(1))
    before = dict(conn.execute("SELECT * FROM risk_case WHERE id = %s", (case_id,)).fetchone())
    for form, message in ((PLAN | {"cause": "太短"}, "成因分析"), (PLAN | {"measure_due_1": ""}, "完成日期"),
                          (PLAN | {"measure_amount_1": "-5"}, "不小于 0"), (PLAN | {"measure_amount_1": "1.234"}, "两位小数"),
                          (PLAN | {"milestone_indicator_1": "debt_ratio"}, "本领域"),
                          (PLAN | {"milestone_period_1": "2027-13"}, "YYYY-MM")):
        with pytest.raises(HemonError, match=message):
            plans.parse(MultiDict(form), "deficit")
    with pytest.raises(HemonError, match="欠薪化解计划"):
        plans.parse(MultiDict(PLAN | {"milestone_indicator_1": "wage_arrears", "milestone_target_1": "0"}), "wages")
    with pytest.raises(HemonError, match="没有待审核"):
        lifecycle.review_plan(conn, case_id, users["reviewer"], PROVINCE, True)
    with pytest.raises(HemonError, match="审核通过后才能填写"):
        lifecycle.add_note(conn, case_id, users["hospital"], mine, "2026-06", "进展说明进展说明")
    with pytest.raises(HemonError, match="未找到"):      # another hospital's scope
        lifecycle.submit_plan(conn, case_id, users["hospital"], Scope.hospital(hospital_code(2)),
                              plans.parse(MultiDict(PLAN), "deficit"))
    with pytest.raises(HemonError, match="升级原因"):
        lifecycle.escalate(conn, case_id, users["reviewer"], PROVINCE, "")
    assert dict(conn.execute("SELECT * FROM risk_case WHERE id = %s", (case_id,)).fetchone()) == before
    assert not conn.execute("SELECT 1 FROM risk_case_measure").fetchall()


def test_overdue_plan_is_flagged_and_escalation(conn, deficit_case):
    case_id, users = deficit_case
    row = _state(conn, case_id)
    due = row["plan_due"]                 # the opening day on the province's clock, plus 15 days
    assert due == row["opened_at"].date() + dt.timedelta(days=15)
    assert not _state(conn, case_id, today=due)["overdue"]
    late = _state(conn, case_id, today=due + dt.timedelta(days=1))
    assert late["overdue"] and late["plan_overdue"]
    assert [r["id"] for r in listing.cases(conn, PROVINCE, overdue=True, today=due + dt.timedelta(days=1))] == [case_id]
    assert listing.cases(conn, PROVINCE, overdue=True, today=due) == []
    lifecycle.escalate(conn, case_id, users["reviewer"], PROVINCE, "逾期未提交整改方案")
    assert _state(conn, case_id)["state"] == "escalated"
    assert listing.cases(conn, PROVINCE, state="escalated", domain="deficit")[0]["id"] == case_id
    assert listing.cases(conn, PROVINCE, domain="wages") == []
    assert listing.cases(conn, Scope.hospital(hospital_code(2))) == []
