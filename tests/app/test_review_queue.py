"""The review queue and the hospital's fix-and-resubmit loop through the web (issues 17 and 18):
scoped queues at each level, accept / return / accept-all-clean from the queue, the review
settings, the hospital's home task and return page with the 退回意见, an identical re-upload
that says nothing changed, the lock and the reopen request; and the same flows in Chromium at
1366 px and 390 px, with screenshots."""
import datetime as dt
import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from etl.common.codes import shift_period
from etl.filing import review, workflow
from etl.reference.accounts import create_user, get_user
from tests.factories import draft, write_draft

PERIOD = "2026-10"
LESHAN, CHENGDU = "511100", "510100"


def last_month() -> str:
    """The month a hospital's home page is about (the province's today, one month back)."""
    return shift_period(f"{dt.datetime.now(ZoneInfo('Asia/Shanghai')).date():%Y-%m}", -1)


@pytest.fixture()
def people(conn, sparse_province):
    """Two-level review over the sparse province (乐山: hospitals 1–2, 成都: hospital 3)."""
    workflow.save_settings(conn, 2, 15, 25, None)
    ids = {}
    for name, role, kw in (("leshan", "prefecture", {"region_code": LESHAN}),
                           ("chengdu", "prefecture", {"region_code": CHENGDU}),
                           ("province", "reviewer", {}), ("admin", "admin", {}),
                           ("h1", "hospital", {"hospital_code": sparse_province[0]["机构代码"]})):
        ids[name] = create_user(conn, name, "password-123", role, **kw)
    return {"ids": ids, "rows": sparse_province, "codes": [r["机构代码"] for r in sparse_province]}


def current(conn, code, period=PERIOD):
    return conn.execute("SELECT id, version, status, review_comment FROM return WHERE hospital_code = %s"
                        " AND period = %s AND is_current", (code, period)).fetchone()


def user(conn, people, name):
    return get_user(conn, people["ids"][name])


def post(client, auth, url, page="/review/", **data):
    return client.post(url, data=data | {"csrf_token": auth.csrf(page)})


def test_prefecture_queue_is_its_own_and_acts_at_its_level(client, auth, conn, people):
    auth.login("leshan")
    html = client.get(f"/review/?period={PERIOD}").get_data(as_text=True)
    mine = set(re.findall(r'data-hospital="([^"]+)"', html))
    assert mine == set(people["codes"][:2])
    assert people["rows"][2]["机构名称"] not in html and people["codes"][2] not in html
    assert "市州审核通过" in html and "一键通过全部无问题报表（2 份）" in html
    other = current(conn, people["codes"][2])["id"]
    assert post(client, auth, f"/review/{other}/accept", expected="submitted").status_code == 404
    first = current(conn, people["codes"][0])
    response = post(client, auth, f"/review/{first['id']}/accept", expected="submitted",
                    next=f"/review/?period={PERIOD}")
    assert response.status_code == 303 and response.headers["Location"] == f"/review/?period={PERIOD}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "市州审核通过，已报省级审核" in page and 'class="flash success"' in page
    # A second click on the stale form: nothing written, and told who decided.
    stale = post(client, auth, f"/review/{first['id']}/return", expected="submitted", comment="请核对收入数据")
    assert "leshan" in client.get(stale.headers["Location"]).get_data(as_text=True)
    assert current(conn, people["codes"][0])["status"] == "prefecture_accepted"
    # Accept all clean returns at once: the other 乐山 return; audited one by one.
    post(client, auth, "/review/accept-clean", period=PERIOD)
    assert current(conn, people["codes"][1])["status"] == "prefecture_accepted"
    assert current(conn, people["codes"][2])["status"] == "submitted"
    assert conn.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'return.prefecture_accept'"
                        ).fetchone()["n"] == 2


def test_province_queue_marks_prefecture_overdue_and_shows_progress(client, auth, conn, people):
    thresholds = Path(client.application.config["RISK_THRESHOLDS_FILE"])
    review.accept(conn, current(conn, people["codes"][0])["id"], user(conn, people, "leshan"), thresholds)
    auth.login("province")
    html = client.get(f"/review/?period={PERIOD}").get_data(as_text=True)
    # 2026-10's prefecture deadline (2026-11-15) has passed: the unreviewed two are marked.
    assert html.count("市州逾期未审</span>") >= 2 and 'id="progress"' in html
    progress = re.search(r'<tr data-prefecture="511100">(.*?)</tr>', html, re.S).group(1)
    assert re.findall(r"<td>([^<]*)</td>", progress)[:5] == ["乐山市", "2", "2", "1", "0"]
    filtered = client.get(f"/review/?period={PERIOD}&prefecture={CHENGDU}").get_data(as_text=True)
    assert set(re.findall(r'data-hospital="([^"]+)"', filtered)) == {people["codes"][2]}
    ret = current(conn, people["codes"][0])
    post(client, auth, f"/review/{ret['id']}/recheck", expected="prefecture_accepted", comment="请市州核对债务")
    assert current(conn, people["codes"][0])["status"] == "rechecking"


def test_admin_sets_the_levels_bad_input_changes_nothing(client, auth, conn, people):
    auth.login("admin")
    bad = post(client, auth, "/review/settings", page="/review/settings", levels="3", prefecture_day="15",
               province_day="25")
    assert "审核级数只能是" in bad.get_data(as_text=True) and workflow.settings(conn).levels == 2
    post(client, auth, "/review/settings", page="/review/settings", levels="1", prefecture_day="12",
         province_day="20")
    assert workflow.settings(conn) == workflow.ReviewSettings(1, 12, 20)
    assert conn.execute("SELECT after FROM audit_log WHERE action = 'setting.review' ORDER BY id DESC LIMIT 1"
                        ).fetchone()["after"]["levels"] == 1


def _upload(client, auth, path):
    with open(path, "rb") as fh:
        data = {"file": (io.BytesIO(fh.read()), path.name), "csrf_token": auth.csrf("/returns/")}
    response = client.post("/returns/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_hospital_sees_the_return_comment_and_an_identical_reupload_changes_nothing(
        client, auth, conn, people, tmp_path):
    workflow.save_settings(conn, 1, 15, 25, None)
    code, name, month = people["codes"][0], people["rows"][0]["机构名称"], last_month()
    auth.login("h1")
    path = write_draft(tmp_path, draft(code, month, name, surplus=-250_000), "mine.xlsx")
    assert 'data-status="accepted"' in _upload(client, auth, path)
    home = client.get("/").get_data(as_text=True)
    assert f'data-period="{month}"' in home and "正等待省级审核" in home
    comment = "表1 医疗收入与明细合计不符，请核对后重新上报；如确属新开展项目，请在说明中写明。"
    review.return_for_revision(conn, current(conn, code, month)["id"], user(conn, people, "province"), comment,
                               Path(client.application.config["RISK_THRESHOLDS_FILE"]))
    home = client.get("/").get_data(as_text=True)
    task = re.search(r'<section class="task returned" id="task".*?</section>', home, re.S).group(0)
    assert comment in task and "按下面的退回意见修改报表后重新上传" in task
    detail = client.get(f"/returns/{current(conn, code, month)['id']}").get_data(as_text=True)
    assert comment in detail and 'id="timeline"' in detail and "退回医院" in detail

    again = _upload(client, auth, path)
    verdict = re.search(r'<div class="verdict[^"]*" id="verdict".*?</div>', again, re.S).group(0)
    assert 'data-status="unchanged"' in verdict and "verdict accepted" not in verdict
    assert "没有任何变化" in verdict and "修改报表后重新上传" in verdict and "核实说明" in verdict
    assert "已接收" not in verdict and comment in verdict
    assert current(conn, code, month)["status"] == "returned"


def test_accepted_is_locked_until_a_reopen_is_granted(client, auth, conn, people, tmp_path):
    workflow.save_settings(conn, 1, 15, 25, None)
    code, name = people["codes"][0], people["rows"][0]["机构名称"]
    thresholds = Path(client.application.config["RISK_THRESHOLDS_FILE"])
    ret = current(conn, code)
    review.accept(conn, ret["id"], user(conn, people, "province"), thresholds)
    auth.login("h1")
    refused = _upload(client, auth, write_draft(tmp_path, draft(code, PERIOD, name, surplus=5), "new.xlsx"))
    assert 'data-status="rejected"' in refused and "申请重新打开" in refused and "报表已审核通过并锁定" in refused
    page = f"/returns/{ret['id']}"
    assert 'id="reopen-request"' in client.get(page).get_data(as_text=True)
    post(client, auth, f"/review/{ret['id']}/reopen", page=page, reason="表2 货币资金期末数录错，需要更正", next=page)
    assert "待处理" in client.get(page).get_data(as_text=True)
    auth.logout()
    auth.login("province")
    assert 'id="reopen-grant"' in client.get(page).get_data(as_text=True)
    queue_page = client.get(f"/review/?period={PERIOD}&state=reopen").get_data(as_text=True)
    assert "表2 货币资金期末数录错" in queue_page
    post(client, auth, f"/review/{ret['id']}/reopen-decision", page=page, decision="grant", comment="同意，请三日内上传")
    assert current(conn, code)["status"] == "reopened"
    auth.logout()
    auth.login("h1")
    assert 'data-status="accepted"' in _upload(client, auth, tmp_path / "new.xlsx")
    assert current(conn, code)["version"] == 2
    actions = [r["action"] for r in conn.execute("SELECT action FROM review_step ORDER BY id")]
    assert actions == ["accept", "reopen_request", "reopen_grant"]


# ---- Chromium --------------------------------------------------------------------------------

def _login(page, base, username, target):
    page.goto(base + target)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password-123")
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _fits(page):
    """No horizontal scrolling on the page (a phone user would have to pan)."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_browser_reviewer_queue(size, people, conn, live_server, page, phone, screenshot):
    tab = page if size == "desktop" else phone
    if size == "desktop":
        tab.set_viewport_size({"width": 1366, "height": 900})
    first = current(conn, people["codes"][0])
    conn.execute("INSERT INTO return_finding (return_id, seq, code, severity, sheet, cell, message, explanation)"
                 " VALUES (%s, 99, 'ITEM_UNMAPPED', 'warning', '表5', 'A9', '项目未归集', '新开展项目，尚未纳入映射')",
                 (first["id"],))
    _login(tab, live_server, "leshan", f"/review/?period={PERIOD}")
    assert tab.locator("article.queue-item").count() == 2 and _fits(tab)
    tab.click('a[data-state="explained"]')
    item = tab.locator(f'article[data-return="{first["id"]}"]')
    assert item.locator("details").get_attribute("open") is not None
    assert "新开展项目，尚未纳入映射" in item.inner_text() and "项目未归集" in item.inner_text()
    screenshot(tab, "prefecture-queue")
    item.locator("button.accept").click()
    tab.wait_for_selector(".flash.success")
    assert "市州审核通过" in tab.text_content(".flash.success")
    tab.click('a[data-state="awaiting"]')
    tab.click("#accept-clean")
    tab.wait_for_selector(".flash.success")
    assert "已审核通过 1 份" in tab.text_content(".flash.success")
    assert {current(conn, c)["status"] for c in people["codes"][:2]} == {"prefecture_accepted"}
    tab.click("form.inline button.link")           # 退出
    _login(tab, live_server, "province", f"/review/?period={PERIOD}")
    assert tab.locator("#progress").count() == 1
    assert tab.locator("article.queue-item").count() == 3 and _fits(tab)
    screenshot(tab, "province-queue")
    chengdu = tab.locator(f'article[data-hospital="{people["codes"][2]}"]')
    assert "市州逾期未审" in chengdu.inner_text()
    chengdu.locator("textarea[name=comment]").fill("床位数与登记不符，请更正后重报")
    chengdu.locator("button.return").click()
    tab.wait_for_selector(".flash.success")
    assert current(conn, people["codes"][2])["status"] == "returned"
    tab.locator(f'article[data-return="{first["id"]}"] button.accept').click()
    tab.wait_for_selector(".flash.success")
    assert current(conn, people["codes"][0])["status"] == "accepted"
    screenshot(tab, "province-after")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_browser_hospital_return_and_resubmit(size, app, people, conn, live_server, page, phone, screenshot, tmp_path):
    tab = page if size == "desktop" else phone
    if size == "desktop":
        tab.set_viewport_size({"width": 1366, "height": 900})
    workflow.save_settings(conn, 1, 15, 25, None)
    code, name, month = people["codes"][0], people["rows"][0]["机构名称"], last_month()
    first = write_draft(tmp_path, draft(code, month, name, surplus=-250_000), "十月报表.xlsx")
    _login(tab, live_server, "h1", "/returns/")
    tab.wait_for_selector("#upload-form[data-ready]", state="attached")
    tab.set_input_files("#file-input", str(first))
    tab.click("#upload-button")
    tab.wait_for_selector("#verdict")
    comment = "表1 医疗收入与明细合计不符，请核对后重新上报。"
    review.return_for_revision(conn, current(conn, code, month)["id"], user(conn, people, "province"), comment,
                               Path(app.config["RISK_THRESHOLDS_FILE"]))
    tab.goto(live_server + "/")
    task = tab.locator("#task")
    assert comment in task.inner_text() and "退回修改" in task.inner_text() and _fits(tab)
    screenshot(tab, "home-returned")
    task.locator("a", has_text="打开报表").click()
    assert comment in tab.text_content("#review-comment")
    assert tab.locator("#timeline li").last.get_attribute("data-action") == "return"
    screenshot(tab, "return-page")
    tab.goto(live_server + "/returns/")
    tab.wait_for_selector("#upload-form[data-ready]", state="attached")
    tab.set_input_files("#file-input", str(first))
    tab.click("#upload-button")
    tab.wait_for_selector("#verdict")
    assert tab.get_attribute("#verdict", "data-status") == "unchanged"
    colour = tab.evaluate("getComputedStyle(document.querySelector('#verdict')).backgroundColor")
    assert colour != "rgb(223, 243, 228)"           # not the green of .verdict.accepted
    assert "没有任何变化" in tab.text_content("#verdict") and _fits(tab)
    screenshot(tab, "identical-reupload")
    fixed = write_draft(tmp_path, draft(code, month, name, surplus=-240_000), "十月报表-修改.xlsx")
    tab.goto(live_server + "/returns/")
    tab.wait_for_selector("#upload-form[data-ready]", state="attached")
    tab.set_input_files("#file-input", str(fixed))
    tab.click("#upload-button")
    tab.wait_for_selector("#verdict")
    assert tab.get_attribute("#verdict", "data-status") == "accepted"
    assert current(conn, code, month)["status"] == "submitted"
    tab.goto(live_server + "/")
    assert "正等待省级审核" in tab.text_content("#task")
    screenshot(tab, "resubmitted")



def test_review_settings_command(runner, conn):
    shown = runner.invoke(args=["review-settings"])
    assert shown.exit_code == 0 and "审核级数 1" in shown.output
    changed = runner.invoke(args=["review-settings", "--levels", "2", "--prefecture-day", "12"])
    assert changed.exit_code == 0 and "市州审核截止次月 12 日" in changed.output
    assert workflow.settings(conn) == workflow.ReviewSettings(2, 12, 25)
    bad = runner.invoke(args=["review-settings", "--province-day", "30"])
    assert bad.exit_code == 1 and "1–28" in bad.output and workflow.settings(conn).province_day == 25
