"""The cases pages and command: attachments checked by content and size, the list with its
filters and export (scoped), bad plans refused with a message, links from the hospital's
pages, and `flask cases --period --json`."""
import io
import json
import zipfile

import pytest
from openpyxl import Workbook, load_workbook
from werkzeug.datastructures import MultiDict

from etl.cases import lifecycle, plans
from etl.reference.accounts import create_user
from etl.reference.scope import Scope
from tests.factories import hospital_code


@pytest.fixture()
def red_cases(conn, upload_return):
    """Hospital 2 red on debt, hospital 3 on deficit and wages (2026-10); users for 1–3 and a reviewer."""
    upload_return(1)
    upload_return(2, "2026-10", "debt")
    upload_return(3, "2026-10", "deficit", "wages")
    for n in (1, 2, 3):
        create_user(conn, f"h{n}", "password-123", "hospital", hospital_code(n))
    create_user(conn, "reviewer", "password-123", "reviewer")
    return {r["domain"]: r["id"] for r in conn.execute("SELECT id, domain FROM risk_case")}


def _post_file(client, auth, case_id, name, data):
    token = auth.csrf(f"/cases/{case_id}")
    return client.post(f"/cases/{case_id}/files", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", follow_redirects=True)


def _xlsx_bytes() -> bytes:
    wb = Workbook()
    wb.active["A1"] = "整改台账"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _zip(names) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in names:
            zf.writestr(name, "<x/>")
    return buf.getvalue()


def test_attachments_are_checked_by_content_and_size(app, conn, client, auth, red_cases, monkeypatch):
    case_id = red_cases["debt"]
    auth.login("h2")
    refused = [("说明.pdf", b"MZ\x90\x00 an executable", "附件只接收"),
               ("a.docx", _zip(["[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"]), "含有宏"),
               ("b.zip", _zip(["[Content_Types].xml", "other.xml"]), "附件只接收"),
               ("c.xlsx", b"PK\x03\x04 broken", "已损坏"),
               ("d.pdf", b"", "空文件")]
    for name, data, message in refused:
        page = _post_file(client, auth, case_id, name, data).get_data(as_text=True)
        assert message in page, name
    monkeypatch.setitem(app.config, "CASE_ATTACHMENT_MAX_MB", 1)
    page = _post_file(client, auth, case_id, "big.pdf", b"%PDF-1.7\n" + b"0" * (1024 * 1024)).get_data(as_text=True)
    assert "超过上限 1 MB" in page
    assert conn.execute("SELECT count(*) AS n FROM risk_case_file").fetchone()["n"] == 0
    accepted = [("方案.pdf", b"%PDF-1.7\n%%EOF"), ("现场.PNG", b"\x89PNG\r\n\x1a\n" + b"0" * 20),
                ("台账.xlsx", _xlsx_bytes())]
    for name, data in accepted:
        assert "附件已上传" in _post_file(client, auth, case_id, name, data).get_data(as_text=True)
    rows = conn.execute("SELECT seq, kind, file_name FROM risk_case_file ORDER BY seq").fetchall()
    assert [(r["kind"], r["file_name"]) for r in rows] == [("pdf", "方案.pdf"), ("png", "现场.png"), ("xlsx", "台账.xlsx")]
    assert client.get(f"/cases/{case_id}/files/3").data == accepted[2][1]
    assert conn.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'case.attach'").fetchone()["n"] == 3
    auth.logout()
    auth.login("h3")                      # another hospital: the file is not found
    assert client.get(f"/cases/{case_id}/files/1").status_code == 404


def test_a_bad_plan_is_refused_with_a_message_and_changes_nothing(client, auth, conn, red_cases):
    case_id = red_cases["wages"]
    auth.login("h3")
    token = auth.csrf(f"/cases/{case_id}")
    form = {"csrf_token": token, "cause": "财政补助延迟拨付导致欠薪。", "measure_body_1": "争取财政专项",
            "measure_due_1": "2026-12-31"}
    page = client.post(f"/cases/{case_id}/plan", data=form, follow_redirects=True).get_data(as_text=True)
    assert "须附欠薪化解计划" in page and 'role="alert"' in page
    assert conn.execute("SELECT status FROM risk_case WHERE id = %s", (case_id,)).fetchone()["status"] == "awaiting_plan"
    form |= {"repayment_period_1": "2026-11", "repayment_amount_1": "300000"}
    page = client.post(f"/cases/{case_id}/plan", data=form, follow_redirects=True).get_data(as_text=True)
    assert "整改方案已提交" in page and "方案待审核" in page


def test_list_filters_export_and_links(client, auth, conn, red_cases):
    auth.login("reviewer")
    page = client.get("/cases/").get_data(as_text=True)
    assert page.count('data-case="') == 3 and "测试康宁医院3" in page
    assert client.get("/cases/?domain=wages").get_data(as_text=True).count('data-case="') == 1
    assert client.get("/cases/?state=closed").get_data(as_text=True).count('data-case="') == 0
    assert client.get("/cases/?state=nonsense&overdue=x").get_data(as_text=True).count('data-case="') == 3
    wb = load_workbook(io.BytesIO(client.get("/cases/export.xlsx?domain=deficit").data))
    rows = list(wb.active.values)
    assert rows[0][:6] == ("编号", "医院代码", "医院名称", "市（州）", "风险领域", "状态")
    assert len(rows) == 2 and rows[1][1] == hospital_code(3) and rows[1][4] == "收不抵支" and rows[1][5] == "待提交整改方案"
    assert wb.active.cell(2, 2).data_type == "s"
    auth.logout()
    auth.login("h3")
    assert client.get("/cases/").get_data(as_text=True).count('data-case="') == 2
    assert len(list(load_workbook(io.BytesIO(client.get("/cases/export.xlsx").data)).active.values)) == 3
    home = client.get("/").get_data(as_text=True)
    assert 'id="open-cases"' in home and f'href="/cases/{red_cases["wages"]}"' in home
    assert f'href="/cases/{red_cases["deficit"]}"' in client.get(f"/hospitals/{hospital_code(3)}").get_data(as_text=True)
    auth.logout()
    auth.login("h1")
    assert 'id="open-cases"' not in client.get("/").get_data(as_text=True)
    assert client.get(f"/cases/{red_cases['debt']}").status_code == 404


def test_cases_command_prints_one_json_object_per_case(app, runner, red_cases):
    result = runner.invoke(args=["cases", "--period", "2026-10", "--json"])
    assert result.exit_code == 0, result.output
    objects = [json.loads(line) for line in result.output.splitlines()]
    assert sorted((o["hospital"], o["domain"]) for o in objects) == sorted(
        [(hospital_code(2), "debt"), (hospital_code(3), "deficit"), (hospital_code(3), "wages")])
    first = objects[0]
    assert {"hospital", "hospital_name", "domain", "status", "opened", "due", "overdue", "closed"} <= set(first)
    assert first["status"] == "awaiting_plan" and first["opened"] == "2026-10" and first["closed"] is None
    assert runner.invoke(args=["cases", "--period", "2026-09", "--json"]).output == ""
    text = runner.invoke(args=["cases", "--period", "2026-10"]).output
    assert "拖欠薪酬" in text and "共 3 个事项" in text
    bad = runner.invoke(args=["cases", "--period", "2026-13"])
    assert bad.exit_code != 0 and "YYYY-MM" in bad.output
    settings = runner.invoke(args=["cases-settings", "--close-months", "4", "--plan-days", "20"])
    assert "4" in settings.output and "20" in settings.output


def test_prefecture_users_see_and_review_their_prefectures_cases(client, auth, conn, red_cases):
    create_user(conn, "leshan", "password-123", "prefecture", region_code="511100")
    create_user(conn, "leshan-leader", "password-123", "prefecture-leader", region_code="511100")
    create_user(conn, "chengdu", "password-123", "prefecture", region_code="510100")
    case_id = red_cases["debt"]
    auth.login("chengdu")
    assert client.get("/cases/").get_data(as_text=True).count('data-case="') == 0
    assert client.get(f"/cases/{case_id}").status_code == 404
    auth.logout()
    auth.login("leshan-leader")
    assert client.get("/cases/").get_data(as_text=True).count('data-case="') == 3
    token = auth.csrf(f"/cases/{case_id}")
    assert client.post(f"/cases/{case_id}/escalate", data={"csrf_token": token, "reason": "久拖不改"}).status_code == 403
    auth.logout()
    auth.login("leshan")
    token = auth.csrf(f"/cases/{case_id}")
    page = client.post(f"/cases/{case_id}/escalate", data={"csrf_token": token, "reason": "逾期债务久拖不改"},
                       follow_redirects=True).get_data(as_text=True)
    assert "已升级处理" in page and 'data-state="escalated"' in page


def test_the_case_list_flags_a_shortfall(client, auth, conn, upload_return):
    upload_return(3, "2026-08", "wages")
    case = conn.execute("SELECT * FROM risk_case").fetchone()
    plan = plans.parse(MultiDict({"cause": "财政补助延迟拨付，医保结算回款慢。", "measure_body_1": "争取财政专项",
                                  "measure_due_1": "2026-12-31", "repayment_period_1": "2026-09",
                                  "repayment_amount_1": "400000"}), "wages")
    lifecycle.submit_plan(conn, case["id"], None, Scope.province(), plan)
    upload_return(3, "2026-09", arrears=700_000, arrears_since="2026-06")
    create_user(conn, "reviewer", "password-123", "reviewer")
    auth.login("reviewer")
    assert "欠薪化解缺口 100,000.00 元" in client.get("/cases/").get_data(as_text=True)
    page = client.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert 'class="overdue shortfall">100,000.00<' in page


def test_an_admin_sets_the_case_rules_on_the_page(client, auth, conn):
    """处置设置 saves what `cases-settings` saves, audited; a bad value is refused in Chinese."""
    from etl.cases import settings as case_settings
    from etl.reference.accounts import create_user
    create_user(conn, "boss", "password-123", "admin")
    auth.login("boss")
    page = client.get("/cases/settings").get_data(as_text=True)
    assert 'name="close_months"' in page and 'value="3"' in page
    token = auth.csrf("/cases/settings")
    done = client.post("/cases/settings", data={"close_months": "5", "plan_days": "30", "csrf_token": token})
    assert done.status_code == 303
    assert case_settings.current(conn) == case_settings.CaseSettings(5, 30)
    refused = client.post("/cases/settings", data={"close_months": "0", "plan_days": "30", "csrf_token": token},
                          follow_redirects=True).get_data(as_text=True)
    assert "销号所需连续不为红色的月数应为 1–24" in refused and case_settings.current(conn).close_months == 5
    entry = conn.execute("SELECT before, after FROM audit_log WHERE action = 'cases.settings'").fetchall()
    assert [(e["before"]["close_months"], e["after"]["close_months"]) for e in entry] == [(3, 5)]
