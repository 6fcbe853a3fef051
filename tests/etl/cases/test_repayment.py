"""Wage arrears plans (欠薪化解): each month's W404 against the repayment schedule."""
from decimal import Decimal

from werkzeug.datastructures import MultiDict

from etl.cases import lifecycle, plans, repayment
from etl.reference.scope import Scope
from tests.factories import hospital_code

PROVINCE = Scope.province()


def test_w404_is_checked_against_the_schedule(conn, upload_return):
    upload_return(3, "2026-08", "wages")                       # W404 1,000,000 owed since 2026-06
    case = conn.execute("SELECT * FROM risk_case WHERE domain = 'wages'").fetchone()
    plan = plans.parse(MultiDict({
        "cause": "财政补助延迟拨付，医保结算回款慢。", "measure_body_1": "争取财政专项", "measure_due_1": "2027-01-31",
        "repayment_period_1": "2026-10", "repayment_amount_1": "600000",
        "repayment_period_2": "2026-09", "repayment_amount_2": "400,000.00元",
        "repayment_period_3": "2026-11", "repayment_amount_3": "1"}), "wages")
    assert plan.repayments == [("2026-09", Decimal("400000.00")), ("2026-10", Decimal("600000")),
                               ("2026-11", Decimal("1"))]
    lifecycle.submit_plan(conn, case["id"], None, PROVINCE, plan)
    # September repays only 300,000 of the 400,000 promised; October clears the rest.
    upload_return(3, "2026-09", arrears=700_000, arrears_since="2026-06")
    upload_return(3, "2026-10", arrears=0)
    rows = repayment.check(conn, case, plans.load(conn, case["id"])["repayments"])
    assert [(r["period"], r["expected"], r["actual"], r["shortfall"]) for r in rows] == [
        ("2026-09", Decimal("600000.00"), Decimal("700000"), Decimal("100000.00")),
        ("2026-10", Decimal(0), Decimal(0), Decimal(0)),
        ("2026-11", Decimal(0), None, None)]
    assert rows[0]["cell"].startswith("表3") and "!" in rows[0]["cell"]
    assert repayment.latest_shortfall(rows) == 0
    assert repayment.shortfalls(conn, [dict(case)]) == {case["id"]: Decimal(0)}
    assert repayment.latest_shortfall(rows[:1]) == Decimal("100000.00")
    assert hospital_code(3) == case["hospital_code"]

