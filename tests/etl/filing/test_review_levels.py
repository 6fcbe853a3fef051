"""Two-level review on a real database: prefecture then province, accepted means locked,
reopening, 退回市州复核, two reviewers on one return, the queue and the progress by prefecture."""
import datetime as dt
import threading
from pathlib import Path

import pytest

from etl.common.errors import HemonError
from etl.filing import queue, reopening, review, tasks, workflow
from etl.reference.accounts import create_user, get_user
from etl.reference.scope import Scope
from etl.returns import intake
from tests.factories import draft, write_draft

PERIOD = "2026-10"
BEFORE = dt.date(2026, 11, 5)      # before the prefecture's deadline (2026-11-15)
AFTER = dt.date(2026, 11, 20)
LESHAN, CHENGDU = "511100", "510100"


@pytest.fixture()
def people(conn, sparse_province):
    """Two levels; a 乐山 and a 成都 prefecture reviewer, a province reviewer, hospital 1's user."""
    def user(name, role, **kw):
        return get_user(conn, create_user(conn, name, "password-123", role, **kw))
    workflow.save_settings(conn, 2, 15, 25, None)
    return {"leshan": user("leshan", "prefecture", region_code=LESHAN),
            "chengdu": user("chengdu", "prefecture", region_code=CHENGDU),
            "province": user("province", "reviewer"),
            "h1": user("h1", "hospital", hospital_code=sparse_province[0]["机构代码"]),
            "rows": sparse_province}


def current(conn, code):
    return conn.execute("SELECT id, version, status FROM return WHERE hospital_code = %s AND period = %s"
                        " AND is_current", (code, PERIOD)).fetchone()


def provisional(conn, code):
    return conn.execute("SELECT provisional FROM rating WHERE hospital_code = %s AND period = %s",
                        (code, PERIOD)).fetchone()["provisional"]


def upload(app, conn, tmp_path, code, name, surplus, uploader=None):
    settings = intake.IntakeSettings.from_config(app.config)
    d = draft(code, PERIOD, name, surplus=surplus)
    return intake.ingest_file(conn, write_draft(tmp_path, d, f"{code}-{surplus}.xlsx"), settings, uploader=uploader)


def test_prefecture_then_province_accepts_locks_and_a_granted_reopen_allows_a_new_version(app, conn, people, tmp_path):
    thresholds = Path(app.config["RISK_THRESHOLDS_FILE"])
    row = people["rows"][0]
    code = row["机构代码"]
    ret = current(conn, code)
    # The province may not decide before the prefecture (nor before its deadline passes).
    with pytest.raises(HemonError, match="尚待市州审核"):
        review.accept(conn, ret["id"], people["province"], thresholds, today=BEFORE)
    # Another prefecture's reviewer does not see it in its queue (scoped).
    chengdu = queue.rows(conn, PERIOD, Scope.prefecture(CHENGDU), people["chengdu"], today=BEFORE)["awaiting"]
    assert [r["code"] for r in chengdu] == [people["rows"][2]["机构代码"]]
    assert review.accept(conn, ret["id"], people["leshan"], thresholds, today=BEFORE)["to"] == "prefecture_accepted"
    assert provisional(conn, code) is True
    assert review.accept(conn, ret["id"], people["province"], thresholds, today=BEFORE)["to"] == "accepted"
    assert current(conn, code)["status"] == "accepted" and provisional(conn, code) is False

    # Locked: a changed workbook is refused with the way out, and nothing is stored.
    refused = upload(app, conn, tmp_path, code, row["机构名称"], 123_456, people["h1"])
    assert refused.status == "rejected" and [f.code for f in refused.findings][-1] == "RETURN_LOCKED"
    assert "申请重新打开" in refused.findings[-1].message
    assert conn.execute("SELECT count(*) AS n FROM return WHERE hospital_code = %s", (code,)).fetchone()["n"] == 1

    # Reopen: asked with a reason, granted with a comment; provisional again; a new version goes in.
    with pytest.raises(HemonError, match="原因"):
        reopening.request(conn, ret["id"], "改", people["h1"], Scope.hospital(code))
    reopening.request(conn, ret["id"], "表2 期末数填错一行，需更正", people["h1"], Scope.hospital(code))
    with pytest.raises(HemonError, match="正在等待审核"):
        reopening.request(conn, ret["id"], "再申请一次看看会怎样", people["h1"], Scope.hospital(code))
    with pytest.raises(HemonError, match="省级审核员"):
        reopening.decide(conn, ret["id"], True, "同意更正", people["leshan"], thresholds)
    reopening.decide(conn, ret["id"], True, "同意更正，请尽快上传", people["province"], thresholds)
    assert current(conn, code)["status"] == "reopened" and provisional(conn, code) is True
    again = upload(app, conn, tmp_path, code, row["机构名称"], 123_456, people["h1"])
    assert again.status == "accepted" and again.version == 2
    assert current(conn, code)["status"] == "submitted" and provisional(conn, code) is True

    actions = [r["action"] for r in conn.execute(
        "SELECT action FROM audit_log WHERE target = ANY(%s) ORDER BY id",
        ([f"return:{ret['id']}", f"return:{again.return_id}"],))]
    assert actions == ["return.upload", "return.prefecture_accept", "return.accept", "return.reopen_request",
                       "return.reopen_grant", "return.upload"]
    steps = review.timeline(conn, code, PERIOD)
    assert [(s["level"], s["action"]) for s in steps] == [
        ("hospital", "upload"), ("prefecture", "accept"), ("province", "accept"), ("hospital", "reopen_request"),
        ("province", "reopen_grant"), ("hospital", "upload")]
    assert steps[1]["who"] == "leshan" and steps[4]["comment"] == "同意更正，请尽快上传"


def test_refused_reopen_keeps_the_return_locked(app, conn, people, tmp_path):
    thresholds = Path(app.config["RISK_THRESHOLDS_FILE"])
    code = people["rows"][0]["机构代码"]
    ret = current(conn, code)
    with pytest.raises(HemonError, match="只有审核通过"):
        reopening.request(conn, ret["id"], "还没通过就申请重新打开", people["h1"], Scope.hospital(code))
    review.accept(conn, ret["id"], people["leshan"], thresholds, today=BEFORE)
    review.accept(conn, ret["id"], people["province"], thresholds, today=BEFORE)
    reopening.request(conn, ret["id"], "想改一下数字看看", people["h1"], Scope.hospital(code))
    reopening.decide(conn, ret["id"], False, "数据已核实无误，不予重开", people["province"], thresholds)
    assert current(conn, code)["status"] == "accepted"
    assert upload(app, conn, tmp_path, code, "x", 1, people["h1"]).status == "rejected"
    with pytest.raises(HemonError, match="没有待处理"):
        reopening.decide(conn, ret["id"], True, "再同意一次", people["province"], thresholds)
    task = tasks.hospital_tasks(conn, code, dt.date(2026, 11, 20))["current"]
    assert task["reopen_last"]["decision_comment"] == "数据已核实无误，不予重开"


def test_province_sends_back_to_the_prefecture_then_decides(app, conn, people):
    thresholds = Path(app.config["RISK_THRESHOLDS_FILE"])
    ret = current(conn, people["rows"][0]["机构代码"])
    review.accept(conn, ret["id"], people["leshan"], thresholds, today=BEFORE)
    with pytest.raises(HemonError, match="至少4个字"):
        review.send_back_to_prefecture(conn, ret["id"], people["province"], "不", thresholds, today=BEFORE)
    review.send_back_to_prefecture(conn, ret["id"], people["province"], "请市州核实床位数", thresholds, today=BEFORE)
    assert current(conn, people["rows"][0]["机构代码"])["status"] == "rechecking"
    # Back in the prefecture's queue, out of the province's.
    assert [r["id"] for r in queue.rows(conn, PERIOD, Scope.prefecture(LESHAN), people["leshan"],
                                        today=BEFORE)["awaiting"]].count(ret["id"]) == 1
    assert ret["id"] not in [r["id"] for r in queue.rows(conn, PERIOD, Scope.province(), people["province"],
                                                           today=BEFORE)["awaiting"]]
    review.return_for_revision(conn, ret["id"], people["leshan"], "床位数与登记不符，请更正", thresholds, today=BEFORE)
    assert current(conn, people["rows"][0]["机构代码"])["status"] == "returned"
    with pytest.raises(HemonError, match="等待医院重新上报"):
        review.accept(conn, ret["id"], people["province"], thresholds, today=AFTER)


def test_one_level_is_the_default_and_leaves_prefectures_out(app, conn, sparse_province):
    thresholds = Path(app.config["RISK_THRESHOLDS_FILE"])
    assert workflow.settings(conn) == workflow.ReviewSettings()
    pref = get_user(conn, create_user(conn, "pref", "password-123", "prefecture", region_code=LESHAN))
    prov = get_user(conn, create_user(conn, "prov", "password-123", "reviewer"))
    ret = current(conn, sparse_province[0]["机构代码"])
    with pytest.raises(HemonError, match="一级审核"):
        review.accept(conn, ret["id"], pref, thresholds)
    assert review.accept(conn, ret["id"], prov, thresholds)["to"] == "accepted"
    assert [r["action"] for r in conn.execute("SELECT action FROM review_step")] == ["accept"]


def test_prefecture_overdue_returns_reach_the_province_marked(app, conn, people):
    mine = queue.rows(conn, PERIOD, Scope.province(), people["province"], today=BEFORE)
    assert mine["awaiting"] == []
    late = queue.rows(conn, PERIOD, Scope.province(), people["province"], today=AFTER)["awaiting"]
    assert len(late) == 3 and all(r["prefecture_overdue"] for r in late)
    assert not any(r["overdue_here"] for r in late)          # the province's own deadline is the 25th
    later = queue.rows(conn, PERIOD, Scope.province(), people["province"], today=dt.date(2026, 11, 26))["awaiting"]
    assert all(r["overdue_here"] for r in later)
    leshan = queue.rows(conn, PERIOD, Scope.prefecture(LESHAN), people["leshan"], today=BEFORE)
    assert sorted(r["code"] for r in leshan["awaiting"]) == sorted(r["机构代码"] for r in people["rows"][:2])
    filtered = queue.rows(conn, PERIOD, Scope.province(), people["province"], today=AFTER, prefecture=CHENGDU)
    assert [r["code"] for r in filtered["awaiting"]] == [people["rows"][2]["机构代码"]]


def test_accept_all_clean_skips_unexplained_warnings_and_audits_each(app, conn, people):
    thresholds = Path(app.config["RISK_THRESHOLDS_FILE"])
    first = current(conn, people["rows"][0]["机构代码"])
    conn.execute("INSERT INTO return_finding (return_id, seq, code, severity, sheet, cell, message)"
                 " VALUES (%s, 99, 'ITEM_UNMAPPED', 'warning', '表5', 'A9', '项目未归集')", (first["id"],))
    by_state = queue.rows(conn, PERIOD, Scope.prefecture(LESHAN), people["leshan"], today=BEFORE)
    assert [r["clean"] for r in by_state["awaiting"]].count(False) == 1 and by_state["explained"] == []
    done = queue.accept_clean(conn, PERIOD, Scope.prefecture(LESHAN), people["leshan"], thresholds)
    assert done == {"accepted": 1, "refused": []}
    assert current(conn, people["rows"][0]["机构代码"])["status"] == "submitted"
    assert current(conn, people["rows"][1]["机构代码"])["status"] == "prefecture_accepted"
    assert current(conn, people["rows"][2]["机构代码"])["status"] == "submitted"    # 成都: not its scope
    assert [r["after"]["status"] for r in conn.execute(
        "SELECT after FROM audit_log WHERE action = 'return.prefecture_accept'")] == ["prefecture_accepted"]
    conn.execute("UPDATE return_finding SET explanation = '新开展项目，尚未纳入映射' WHERE return_id = %s", (first["id"],))
    explained = queue.rows(conn, PERIOD, Scope.prefecture(LESHAN), people["leshan"], today=BEFORE)["explained"]
    assert [r["id"] for r in explained] == [first["id"]]
    assert explained[0]["findings"][0]["explanation"] == "新开展项目，尚未纳入映射"


def test_progress_by_prefecture_counts_reviewed_on_time(app, conn, people):
    thresholds = Path(app.config["RISK_THRESHOLDS_FILE"])
    review.accept(conn, current(conn, people["rows"][0]["机构代码"])["id"], people["leshan"], thresholds)
    # Reviewed after the deadline: counted as reviewed, not on time.
    review.return_for_revision(conn, current(conn, people["rows"][1]["机构代码"])["id"], people["leshan"],
                               "请补充债务明细", thresholds)
    conn.execute("UPDATE review_step SET at = '2026-11-20 10:00+08' WHERE action = 'return'")
    conn.execute("UPDATE review_step SET at = '2026-11-14 10:00+08' WHERE action = 'accept'")
    rows = {r["prefecture"]: r for r in queue.progress(conn, PERIOD, Scope.province(), AFTER)["rows"]}
    assert (rows[LESHAN]["hospitals"], rows[LESHAN]["filed"], rows[LESHAN]["reviewed"], rows[LESHAN]["on_time"],
            rows[LESHAN]["waiting"]) == (2, 2, 2, 1, 0)
    assert (rows[CHENGDU]["reviewed"], rows[CHENGDU]["waiting"], rows[CHENGDU]["overdue"]) == (0, 1, 1)


def test_two_reviewers_on_one_return_one_wins_the_other_is_told(app, conn, people):
    """Reviewer A holds the row (its decision not yet committed); reviewer B, who saw the same
    status, waits on the row, then is refused by name; one decision, no lost update."""
    thresholds = Path(app.config["RISK_THRESHOLDS_FILE"])
    ret = current(conn, people["rows"][0]["机构代码"])
    second = dict(people["leshan"], id=get_user(conn, create_user(
        conn, "leshan2", "password-123", "prefecture", region_code=LESHAN))["id"], username="leshan2",
        display_name="乐山第二审核员")
    db = app.extensions["hemon_db"]
    a_decided, release, b_done = threading.Event(), threading.Event(), threading.Event()
    outcome = {}

    def reviewer_a():
        with db.connect() as own, own.transaction():
            review.accept(own, ret["id"], people["leshan"], thresholds, expected="submitted", today=BEFORE)
            a_decided.set()
            release.wait(30)

    def reviewer_b():
        with db.connect() as own:
            try:
                review.return_for_revision(own, ret["id"], second, "请核对收入", thresholds,
                                           expected="submitted", today=BEFORE)
                outcome["b"] = "done"
            except HemonError as exc:
                outcome["b"] = str(exc)
        b_done.set()

    a = threading.Thread(target=reviewer_a)
    a.start()
    assert a_decided.wait(30)
    b = threading.Thread(target=reviewer_b)
    b.start()
    assert not b_done.wait(1.0), "B must wait for A's row lock"
    release.set()
    a.join(30)
    b.join(30)
    assert "leshan" in outcome["b"] and "市级审核通过" in outcome["b"] and "未执行" in outcome["b"]
    assert current(conn, people["rows"][0]["机构代码"])["status"] == "prefecture_accepted"
    assert [r["action"] for r in conn.execute("SELECT action FROM review_step")] == ["accept"]
    assert conn.execute("SELECT count(*) AS n FROM audit_log WHERE action LIKE 'return.prefecture%%'").fetchone()["n"] == 1


def test_racing_reviewers_exactly_one_decision(app, conn, people):
    thresholds = Path(app.config["RISK_THRESHOLDS_FILE"])
    ret = current(conn, people["rows"][0]["机构代码"])
    db = app.extensions["hemon_db"]
    barrier = threading.Barrier(4)
    results = []

    def act(n):
        with db.connect() as own:
            barrier.wait(10)
            try:
                if n % 2:
                    review.accept(own, ret["id"], people["leshan"], thresholds, expected="submitted", today=BEFORE)
                else:
                    review.return_for_revision(own, ret["id"], people["leshan"], "并发退回测试", thresholds,
                                               expected="submitted", today=BEFORE)
                results.append("ok")
            except HemonError as exc:
                results.append(str(exc))

    threads = [threading.Thread(target=act, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results.count("ok") == 1 and all("未执行" in r for r in results if r != "ok")
    assert conn.execute("SELECT count(*) AS n FROM review_step").fetchone()["n"] == 1


def test_an_accept_committed_during_an_upload_wins(app, conn, people, tmp_path):
    """The upload re-checks under the row lock: accepted meanwhile → refused, nothing stored."""
    thresholds = Path(app.config["RISK_THRESHOLDS_FILE"])
    workflow.save_settings(conn, 1, 15, 25, None)
    row = people["rows"][0]
    ret = current(conn, row["机构代码"])
    db = app.extensions["hemon_db"]
    held, release = threading.Event(), threading.Event()

    def accept_slowly():
        with db.connect() as own, own.transaction():
            review.accept(own, ret["id"], people["province"], thresholds)
            held.set()
            release.wait(30)

    t = threading.Thread(target=accept_slowly)
    t.start()
    assert held.wait(30)
    threading.Timer(1.0, release.set).start()
    result = upload(app, conn, tmp_path, row["机构代码"], row["机构名称"], 77_777, people["h1"])
    t.join(30)
    assert result.status == "rejected" and result.findings[-1].code == "RETURN_LOCKED"
    assert current(conn, row["机构代码"])["version"] == 1
