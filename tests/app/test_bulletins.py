"""Bulletins on the web: leaders land on them and read them; an admin publishes a new version;
the page, the Word and the PDF come from one archived snapshot. One test in a real browser."""
import io
import re
from urllib.parse import unquote

from docx import Document

from app.db import get_conn


def test_leader_lands_on_bulletins_and_never_on_the_rating_table(client, auth, october_filed):
    response = auth.login("leader")
    assert response.status_code == 302
    home = client.get("/")
    assert home.status_code == 302 and home.headers["Location"].endswith("/bulletins/")
    page = client.get("/bulletins/").get_data(as_text=True)
    assert "尚未生成月报" in page and "立即生成" not in page       # leaders read, they do not publish
    nav = re.search(r'<nav class="nav">(.*?)</nav>', page, re.S).group(1)
    assert "监测月报" in nav and "风险地图" in nav and "风险评级" not in nav and "医院报表" not in nav


def test_admin_publishes_and_everyone_reads_the_same_snapshot(client, auth, conn, october_filed):
    auth.login("admin")
    token = auth.csrf("/bulletins/")
    response = client.post("/bulletins/", data={"csrf_token": token, "period": "2026-10"})
    assert response.status_code == 302
    bulletin_id = int(re.search(r"/bulletins/(\d+)$", response.headers["Location"]).group(1))
    again = client.post("/bulletins/", data={"csrf_token": token, "period": "2026-10"})
    second_id = int(re.search(r"/bulletins/(\d+)$", again.headers["Location"]).group(1))
    versions = conn.execute("SELECT version FROM bulletin WHERE period = '2026-10' ORDER BY version").fetchall()
    assert [v["version"] for v in versions] == [1, 2]
    auth.logout()

    auth.login("leader")
    page = client.get(f"/bulletins/{bulletin_id}").get_data(as_text=True)
    snapshot = conn.execute("SELECT snapshot FROM bulletin WHERE id = %s", (bulletin_id,)).fetchone()["snapshot"]
    for sentence in snapshot["summary"]:
        assert sentence in page
    assert "一、总体情况" in page and "附表" in page
    images = re.findall(r'<img src="([^"]+)"', page)
    assert len(images) == 6
    for src in images:
        picture = client.get(src)
        assert picture.status_code == 200 and picture.mimetype == "image/png"
    listing = client.get("/bulletins/").get_data(as_text=True)
    assert f'data-bulletin="{bulletin_id}" class="superseded"' in listing and f'data-bulletin="{second_id}"' in listing

    word = client.get(f"/bulletins/{bulletin_id}/files/bulletin.docx")
    assert word.status_code == 200
    assert "经济运行监测月报-2026-10-v1.docx" in unquote(word.headers["Content-Disposition"])
    text = "\n".join(p.text for p in Document(io.BytesIO(word.data)).paragraphs)
    assert snapshot["summary"][0] in text
    assert client.get(f"/bulletins/{bulletin_id}/files/nothing.png").status_code == 404
    assert client.get("/bulletins/999999").status_code == 404


def test_publishing_an_unopened_period_says_why_and_stores_nothing(client, auth, conn, october_filed):
    auth.login("admin")
    token = auth.csrf("/bulletins/")
    response = client.post("/bulletins/", data={"csrf_token": token, "period": "2031-01"}, follow_redirects=True)
    assert "报告期 2031-01 尚未开放" in response.get_data(as_text=True)
    assert conn.execute("SELECT count(*) AS n FROM bulletin").fetchone()["n"] == 0


def test_leader_reads_the_demo_bulletin_in_a_browser(demo_app, demo_live_server, browser):
    from reports.bulletin import archive
    with demo_app.app_context():
        bulletin = archive.publish(get_conn(), "2026-10")
    base = demo_live_server
    context = browser.new_context(locale="zh-CN")
    try:
        page = context.new_page()
        page.goto(base + "/auth/login")
        page.fill("input[name=username]", "leader")
        page.fill("input[name=password]", "demo-leader-2026")
        page.click("button[type=submit]")
        page.wait_for_selector("table.bulletins")
        page.click(f'tr[data-bulletin="{bulletin["id"]}"] a')
        page.wait_for_selector("article.bulletin")
        assert page.locator("article.bulletin h2").count() >= 8
        # Every figure loads and is drawn (a broken image has no natural width); they load lazily,
        # as the reader scrolls to them. (wait_for_function would need eval, which the CSP forbids.)
        images = page.locator("article.bulletin img")
        assert images.count() == 6
        for i in range(6):
            images.nth(i).scroll_into_view_if_needed()
            for _ in range(100):
                if images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0"):
                    break
                page.wait_for_timeout(100)
            assert images.nth(i).evaluate("img => img.naturalWidth") > 300
        with page.expect_download() as download:
            page.click("text=下载 PDF")
        assert download.value.suggested_filename == f"经济运行监测月报-2026-10-v{bulletin['version']}.pdf"
    finally:
        context.close()


def test_leader_map_has_no_links_into_hospital_pages(client, auth, october_filed):
    auth.login("reviewer")
    assert "\"hospitalUrl\":\"/hospitals/__CODE__?period=2026-10\"" in client.get("/map/").get_data(as_text=True)
    auth.logout()
    auth.login("leader")
    page = client.get("/map/").get_data(as_text=True)
    assert "\"hospitalUrl\":null" in page and "/hospitals/" not in page
    region = client.get("/map/regions/511100?period=2026-10").get_data(as_text=True)
    assert "/hospitals/" not in region
