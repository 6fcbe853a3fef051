"""In Chromium: a case from opening to 销号 — the hospital plans, the reviewer sends it back and
then accepts it, the hospital reports progress, and after three months out of red the reviewer
closes it. Screenshots of each step go to screenshots/."""
from etl.reference.accounts import create_user
from tests.factories import hospital_code


def _login(page, base, username):
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_a_case_goes_through_plan_review_progress_and_close(conn, live_server, page, browser, phone,
                                                            upload_return, screenshot):
    upload_return(1, "2026-06", "deficit")
    create_user(conn, "h1", "password-123", "hospital", hospital_code(1))
    create_user(conn, "reviewer", "password-123", "reviewer")
    case_id = conn.execute("SELECT id FROM risk_case").fetchone()["id"]

    # The hospital finds the case from its home page, pre-filled with why it opened.
    _login(page, live_server, "h1")
    page.click("#open-cases a")
    assert page.url.endswith(f"/cases/{case_id}")
    assert "累计收支结余率" in page.inner_text("#drivers") and "S300" in page.inner_text("#drivers")
    assert page.get_attribute("#case-state", "data-state") == "awaiting_plan"
    screenshot(page, "1-opened")
    page.fill("textarea[name=cause]", "门诊量下降导致医疗收入减少，人员经费刚性增长。")
    page.fill("input[name=measure_body_1]", "压减非必要公用经费")
    page.fill("input[name=measure_amount_1]", "1200000")
    page.fill("input[name=measure_due_1]", "2026-09-30")
    page.fill("input[name=milestone_period_1]", "2026-09")
    page.select_option("select[name=milestone_indicator_1]", "surplus_rate_ytd")
    page.fill("input[name=milestone_target_1]", "0")
    page.click("#submit-plan")
    assert "整改方案已提交" in page.inner_text("main")
    assert page.get_attribute("#case-state", "data-state") == "plan_review"
    screenshot(page, "2-plan-submitted")

    # The reviewer asks for more, the hospital adds a measure, the reviewer accepts.
    context = browser.new_context(locale="zh-CN")
    reviewer = context.new_page()
    _login(reviewer, live_server, "reviewer")
    reviewer.goto(f"{live_server}/cases/")
    reviewer.click(f"tr[data-case='{case_id}'] a")
    reviewer.fill("#review-form input[name=comment]", "请补充应收医疗款清收措施")
    reviewer.click("#return-plan")
    assert reviewer.get_attribute("#case-state", "data-state") == "returned"
    page.reload()
    assert "请补充应收医疗款清收措施" in page.inner_text("#plan")
    assert page.input_value("textarea[name=cause]").startswith("门诊量下降")
    page.fill("input[name=measure_body_2]", "清收医保结算欠款")
    page.fill("input[name=measure_due_2]", "2026-08-31")
    page.click("#submit-plan")
    reviewer.reload()
    reviewer.click("#accept-plan")
    assert reviewer.get_attribute("#case-state", "data-state") == "in_progress"
    screenshot(reviewer, "3-plan-accepted")

    # Months out of red: the case shows the indicators against the milestone; a progress note.
    for period in ("2026-07", "2026-08"):
        upload_return(1, period)
    page.reload()
    assert "清收医保结算欠款" in page.inner_text("#plan")
    page.select_option("#note-form select[name=period]", "2026-07")
    page.fill("#note-form textarea[name=body]", "7月压减公用经费 40 万元，结余转正。")
    page.click("#save-note")
    assert "2026-07 整改进展已保存" in page.inner_text("main")
    assert "7月压减公用经费" in page.inner_text("#progress")
    reviewer.reload()
    assert reviewer.locator("#close-case").count() == 0          # two months are not enough
    upload_return(1, "2026-09")
    page.reload()
    assert "已达到" in page.inner_text("#progress")            # 2026-09 累计收支结余率 against its target
    screenshot(page, "4-progress")

    reviewer.reload()
    assert reviewer.get_attribute("#case-state", "data-state") == "closable"
    reviewer.fill("input[name=comment]", "连续三个月结余为正，同意销号")
    reviewer.click("#close-case")
    assert reviewer.get_attribute("#case-state", "data-state") == "closed"
    assert "已销号" in reviewer.inner_text("main")
    screenshot(reviewer, "5-closed")
    context.close()

    _login(phone, live_server, "h1")
    phone.goto(f"{live_server}/cases/{case_id}")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390 + 1 or phone.locator("#progress").is_visible()
    screenshot(phone, "6-phone")
    actions = [r["action"] for r in conn.execute("SELECT action FROM audit_log WHERE target = %s ORDER BY id",
                                                 (f"risk_case:{case_id}",))]
    assert actions == ["case.open", "case.plan", "case.return", "case.plan", "case.accept", "case.note", "case.close"]
