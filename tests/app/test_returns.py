"""The hospital side on the web: template, upload, findings, versions; scoped to one's own."""
import io
import re
import zipfile

import pytest
from openpyxl import load_workbook

from etl.attribution import mapping
from etl.common.findings import rule_name
from etl.reference import registry
from etl.reference.accounts import create_user
from etl.returns.annotate import RESULT_SHEET
from tests.factories import (
    draft,
    fill_template,
    hospital_code,
    hospital_row,
    write_draft,
    write_mapping,
    write_registry,
)

T1 = "表1 收入费用"


@pytest.fixture()
def users(conn, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    mapping.load_mapping(conn, write_mapping(tmp_path / "map.xlsx"), "v1", "2024-01")
    ids = {"h1": create_user(conn, "h1", "password-123", "hospital", hospital_code(1)),
           "h2": create_user(conn, "h2", "password-123", "hospital", hospital_code(2))}
    create_user(conn, "reviewer", "password-123", "reviewer")
    create_user(conn, "leader", "password-123", "leader")
    return ids


def upload(client, auth, path, name=None, xhr=False):
    token = auth.csrf("/returns/")
    with open(path, "rb") as fh:
        data = {"file": (io.BytesIO(fh.read()), name or path.name), "csrf_token": token}
    headers = {"X-Requested-With": "XMLHttpRequest"} if xhr else {}
    return client.post("/returns/upload", data=data, content_type="multipart/form-data", headers=headers)


def follow(client, response):
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return client.get(response.headers["Location"])


def edited(tmp_path, change, n=1, name="r.xlsx"):
    path = write_draft(tmp_path, draft(hospital_code(n)), name)
    wb = load_workbook(path)
    change(wb)
    wb.save(path)
    return path


def count(conn, table="return"):
    return conn.execute(f"SELECT count(*) AS n FROM {table}").fetchone()["n"]


def test_template_download_is_prefilled_with_the_users_hospital(client, auth, users, tmp_path):
    auth.login("h1")
    response = client.get(f"/returns/template?period=2026-10&hospital={hospital_code(2)}")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    cover = {r[0].value: r[1].value for r in load_workbook(io.BytesIO(response.data))["封面"].iter_rows(max_col=2)}
    assert cover["机构代码"] == hospital_code(1) and cover["报告期"] == "2026-10"   # never another's
    assert client.get("/returns/template?period=2026-13").status_code == 400


def test_filled_template_uploaded_is_accepted_and_listed(client, auth, conn, users, tmp_path):
    auth.login("h1")
    blank = tmp_path / "blank.xlsx"
    blank.write_bytes(client.get("/returns/template?period=2026-10").data)
    fill_template(blank, draft(hospital_code(1)))
    page = follow(client, upload(client, auth, blank, name="../../报表/十月报表.xlsx")).get_data(as_text=True)
    assert 'data-status="accepted"' in page and "第1版" in page
    row = conn.execute("SELECT id, file_name, uploaded_by, status FROM return").fetchone()
    assert row["file_name"] == "十月报表.xlsx" and row["uploaded_by"] == users["h1"]
    listing = client.get("/returns/").get_data(as_text=True)
    assert re.search(r'data-period="2026-10" data-status="submitted"', listing)
    assert "已上报" in listing and f'/returns/{row["id"]}' in listing


def test_rejected_upload_shows_every_finding_and_leaves_no_row(client, auth, conn, users, tmp_path):
    auth.login("h1")
    path = edited(tmp_path, lambda wb: wb[T1].__setitem__("C3", "十万元"))
    response = follow(client, upload(client, auth, path))
    page = response.get_data(as_text=True)
    assert 'data-status="rejected"' in page and "未接收" in page
    assert 'data-code="AMOUNT_NOT_NUMBER" data-severity="error"' in page
    # The rule is named in Chinese; the code only in the tooltip.
    assert '<td class="rule" title="AMOUNT_NOT_NUMBER">金额不是数字</td>' in page
    assert ">AMOUNT_NOT_NUMBER<" not in page
    assert "<td>C3</td>" in page and "不是数字" in page and T1 in page
    assert count(conn) == 0
    link = re.search(r'href="(/returns/result/[^"]+/annotated)"', page).group(1)
    annotated = client.get(link)
    assert annotated.status_code == 200
    wb = load_workbook(io.BytesIO(annotated.data))
    assert wb.sheetnames[0] == RESULT_SHEET
    assert "金额不是数字" in wb[T1]["C3"].comment.text and "AMOUNT_NOT_NUMBER" not in wb[T1]["C3"].comment.text
    # The answer is the uploader's alone.
    auth.logout()
    auth.login("h2")
    assert client.get(link).status_code == 404
    assert client.get(link.rsplit("/", 1)[0]).status_code == 404


@pytest.mark.parametrize("case,code", [
    ("text", "FILE_NOT_XLSX"), ("encrypted", "FILE_ENCRYPTED"), ("corrupt", "FILE_CORRUPT"),
    ("bomb", "FILE_TOO_LARGE_UNCOMPRESSED"), ("no_sheet", "SHEET_MISSING"), ("no_code", "CODE_MISSING"),
    ("percent", "AMOUNT_NOT_NUMBER"), ("foreign", "COVER_HOSPITAL_NOT_YOURS"),
])
def test_bad_files_get_a_clear_finding_not_a_500(client, auth, conn, users, tmp_path, app, monkeypatch, case, code):
    monkeypatch.setitem(app.config, "MAX_UNCOMPRESSED_BYTES", 2_000_000)
    good = write_draft(tmp_path, draft(hospital_code(1)), "good.xlsx")
    path = tmp_path / "bad.xlsx"
    if case == "text":
        path.write_text("机构代码,报告期\n")
    elif case == "encrypted":
        # An OLE compound file holding an EncryptedPackage stream: a password-protected xlsx.
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000 + "EncryptedPackage".encode("utf-16-le")
                         + b"\0" * 3000)
    elif case == "corrupt":
        path.write_bytes(good.read_bytes()[:3000])
    elif case == "bomb":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("xl/workbook.xml", "<x/>")
            zf.writestr("xl/big.xml", b"0" * 3_000_000)
    elif case == "no_sheet":
        path = edited(tmp_path, lambda wb: wb.remove(wb["表3 薪酬发放"]))
    elif case == "no_code":
        path = edited(tmp_path, lambda wb: wb[T1].delete_rows(11))          # R130 科教收入
    elif case == "percent":
        path = edited(tmp_path, lambda wb: wb[T1].__setitem__("C2", "12%"))
    elif case == "foreign":
        path = write_draft(tmp_path, draft(hospital_code(2)), "foreign.xlsx")
    auth.login("h1")
    page = follow(client, upload(client, auth, path)).get_data(as_text=True)
    assert 'data-status="rejected"' in page
    assert f'data-code="{code}" data-severity="error"' in page
    assert count(conn) == 0
    link = re.search(r'href="(/returns/result/[^"]+/annotated)"', page).group(1)
    wb = load_workbook(io.BytesIO(client.get(link).data))      # a list at least, never a 500
    assert rule_name(code) in [c.value for c in wb[RESULT_SHEET]["C"]]


def test_warnings_load_and_are_explained_on_the_return_page(client, auth, conn, users, tmp_path):
    d = draft(hospital_code(1))
    code, name, setting, qty, amount = d.items[1]
    d.items[1] = ("999999999", "未知项目", setting, qty, amount)
    auth.login("h1")
    page = follow(client, upload(client, auth, write_draft(tmp_path, d))).get_data(as_text=True)
    assert 'data-status="accepted"' in page and 'data-code="ITEM_UNMAPPED" data-severity="warning"' in page
    rid = conn.execute("SELECT id FROM return").fetchone()["id"]
    detail = client.get(f"/returns/{rid}").get_data(as_text=True)
    seq = re.search(r'name="explanation-(\d+)"', detail).group(1)
    token = auth.csrf(f"/returns/{rid}")
    short = client.post(f"/returns/{rid}/explain", data={f"explanation-{seq}": "新项目", "csrf_token": token})
    assert "至少6个字" in client.get(short.headers["Location"]).get_data(as_text=True)
    client.post(f"/returns/{rid}/explain", data={f"explanation-{seq}": "新增检验项目，省级目录尚未收录", "csrf_token": token})
    assert conn.execute("SELECT explanation FROM return_finding WHERE severity='warning'").fetchone()["explanation"] \
        == "新增检验项目，省级目录尚未收录"
    assert "finding.explain" in [r["action"] for r in conn.execute("SELECT action FROM audit_log")]
    annotated = load_workbook(io.BytesIO(client.get(f"/returns/{rid}/annotated").data))[RESULT_SHEET]
    assert "新增检验项目，省级目录尚未收录" in [c.value for c in annotated["G"]]


def test_versions_lateness_and_status_by_period(client, auth, conn, users, tmp_path):
    # 2026-09 keeps a generous deadline; 2026-10's default (2026-11-10) has passed.
    conn.execute("INSERT INTO period (period, deadline) VALUES ('2026-09', '2099-12-31')")
    auth.login("h1")
    follow(client, upload(client, auth, write_draft(tmp_path, draft(hospital_code(1), "2026-09"), "sep.xlsx")))
    follow(client, upload(client, auth, write_draft(tmp_path, draft(hospital_code(1)), "v1.xlsx")))
    follow(client, upload(client, auth, write_draft(tmp_path, draft(hospital_code(1), surplus=-5_000), "v2.xlsx")))
    again = follow(client, upload(client, auth, tmp_path / "v2.xlsx")).get_data(as_text=True)
    assert "完全相同" in again
    conn.execute("UPDATE return SET status = 'returned' WHERE period = '2026-09'")
    listing = client.get("/returns/").get_data(as_text=True)
    oct_row = re.search(r'<tr data-period="2026-10".*?</tr>', listing, re.S).group(0)
    sep_row = re.search(r'<tr data-period="2026-09".*?</tr>', listing, re.S).group(0)
    assert "第2版" in oct_row and "共2版" in oct_row and "逾期上报" in oct_row
    assert "退回修改" in sep_row and "按时" in sep_row and "逾期" not in sep_row
    current = conn.execute("SELECT id FROM return WHERE period = '2026-10' AND is_current").fetchone()["id"]
    detail = client.get(f"/returns/{current}").get_data(as_text=True)
    assert "第1版" in detail and "当前" in detail and "逾期上报" in detail


def test_another_hospitals_return_is_404_and_leaders_are_refused(client, auth, conn, users, tmp_path):
    auth.login("h1")
    follow(client, upload(client, auth, write_draft(tmp_path, draft(hospital_code(1)))))
    rid = conn.execute("SELECT id FROM return").fetchone()["id"]
    auth.logout()
    auth.login("h2")
    for suffix in ("", "/file", "/annotated"):
        assert client.get(f"/returns/{rid}{suffix}").status_code == 404, suffix
    assert hospital_code(1) not in client.get("/returns/").get_data(as_text=True)
    token = auth.csrf("/returns/")
    assert client.post(f"/returns/{rid}/explain", data={"csrf_token": token}).status_code == 404
    auth.logout()
    auth.login("reviewer")
    listing = client.get(f"/returns/?hospital={hospital_code(1)}").get_data(as_text=True)
    assert f"/returns/{rid}" in listing and 'id="upload-form"' not in listing
    assert client.get(f"/returns/{rid}/file").data[:2] == b"PK"
    assert client.post("/returns/upload", data={"csrf_token": auth.csrf("/returns/")}).status_code == 403
    auth.logout()
    auth.login("leader")
    assert client.get("/returns/").status_code == 403
    assert client.get(f"/returns/{rid}").status_code == 403


def test_xhr_upload_answers_with_the_result_address(client, auth, users, tmp_path):
    auth.login("h1")
    response = upload(client, auth, write_draft(tmp_path, draft(hospital_code(1))), xhr=True)
    assert response.status_code == 200 and response.json["redirect"].startswith("/returns/result/")
    assert 'data-status="accepted"' in client.get(response.json["redirect"]).get_data(as_text=True)
    missing = client.post("/returns/upload", data={"csrf_token": auth.csrf("/returns/")},
                          headers={"X-Requested-With": "XMLHttpRequest"})
    assert missing.status_code == 400 and "请选择" in missing.json["error"]


def test_upload_needs_csrf_and_respects_the_size_limit(client, auth, conn, users, tmp_path, app, monkeypatch):
    auth.login("h1")
    path = write_draft(tmp_path, draft(hospital_code(1)))
    with open(path, "rb") as fh:
        no_token = client.post("/returns/upload", data={"file": (fh, "r.xlsx")}, content_type="multipart/form-data")
    assert no_token.status_code == 400
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    too_big = upload(client, auth, path)
    assert too_big.status_code == 413 and "文件超过上限 0.00390625 MB" in too_big.get_data(as_text=True)
    as_xhr = upload(client, auth, path, xhr=True)
    assert as_xhr.status_code == 413 and "文件超过上限" in as_xhr.json["error"]
    assert count(conn) == 0


def _login(page, base, username):
    page.goto(base + "/returns/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "password-123")
    page.click("button[type=submit]")
    page.wait_for_selector("#upload-form[data-ready]", state="attached")


def test_browser_upload_shows_the_findings_page(users, live_server, page, tmp_path):
    path = edited(tmp_path, lambda wb: wb[T1].__setitem__("C3", "abc"), name="十月.xlsx")
    _login(page, live_server, "h1")
    page.set_input_files("#file-input", str(path))
    assert "十月.xlsx" in page.text_content("#chosen")
    page.click("#upload-button")
    page.wait_for_selector("#verdict")
    assert "/returns/result/" in page.url
    assert page.get_attribute("#verdict", "data-status") == "rejected"
    row = page.locator('tr.finding[data-code="AMOUNT_NOT_NUMBER"]')
    assert row.count() == 1 and "C3" in row.inner_text() and "不是数字" in row.inner_text()
    with page.expect_download() as download:
        page.click("#annotated-link")
    assert download.value.suggested_filename == "十月_校验结果.xlsx"


def test_browser_drop_of_a_good_workbook_is_accepted(users, live_server, page, tmp_path):
    import base64
    data = base64.b64encode(write_draft(tmp_path, draft(hospital_code(1))).read_bytes()).decode()
    _login(page, live_server, "h1")
    page.evaluate("""data => {
        const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "拖入.xlsx"));
        document.getElementById("dropzone").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true}));
    }""", data)
    assert "拖入.xlsx" in page.text_content("#chosen")
    page.click("#upload-button")
    page.wait_for_selector("#verdict")
    assert page.get_attribute("#verdict", "data-status") == "accepted"
    page.click("text=查看报表详情")
    assert page.text_content("#status") == "已上报"


def test_return_page_shows_what_changed_since_the_last_version(app, conn, client, auth, tmp_path):
    from etl.reference import registry
    from etl.reference.accounts import create_user
    from etl.returns import intake
    from tests.factories import (
        draft,
        hospital_code,
        hospital_row,
        write_draft,
        write_registry,
    )
    registry.load_hospitals(conn, write_registry(tmp_path / "r.xlsx", [hospital_row(1)]))
    create_user(conn, "rev", "password-123", "reviewer")
    settings = intake.IntakeSettings.from_config(app.config)
    intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(1)), "a.xlsx"), settings)
    second = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(1), surplus=-50_000), "b.xlsx"), settings)
    auth.login("rev")
    page = client.get(f"/returns/{second.return_id}").get_data(as_text=True)
    assert "与第1版相比的变化" in page and 'data-code="S300"' in page and "表1!C21" in page
    assert "-50,000.00" in page
    assert 'data-sheet="表2"' in page and 'title="表1!C21"' in page          # figures as sent, with cells
