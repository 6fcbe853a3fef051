"""The month as leaders and reviewers work it in Chromium (issue 17): a leader on a 390 px
phone (login, bulletin list, the latest bulletin, a prefecture of its appendix, the map), a
reviewer's pages on the phone, and search + sort + filter + export at 1366 px. Each step's
screenshot is saved (the `screenshot` fixture) for the reader of the note."""

import pytest
from openpyxl import load_workbook

from app.db import get_conn
from etl.reference import finder

PHONE = 390
HEADER_MAX = 150          # px: brand + user, one line of menu, the search box


@pytest.fixture()
def published(demo_app):
    """The demo's latest bulletin (made once per test session: publishing takes a while)."""
    from reports.bulletin import archive
    with demo_app.app_context():
        conn = get_conn()
        return archive.latest(conn, "2026-10") or archive.publish(conn, "2026-10")


def _login(page, base, username, password):
    page.goto(base + "/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def _fits(page, width=PHONE):
    """Nothing on the page is wider than the screen (wide tables scroll in their own box)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
    assert page.evaluate("document.body.scrollWidth") <= width, page.url


def _compact_header(page):
    box = page.locator("header.top").bounding_box()
    assert box["height"] <= HEADER_MAX, box
    # No menu item broken one character per line: each is a single line of text.
    for link in page.locator("nav.nav a").all():
        link_box = link.bounding_box()
        assert link_box["height"] < 32 and link_box["width"] > link_box["height"], link.inner_text()


def test_leader_on_a_phone(demo_live_server, published, phone, screenshot):
    page, base = phone, demo_live_server
    _login(page, base, "leader", "demo-leader-2026")
    page.wait_for_selector("table.bulletins")
    _compact_header(page)
    _fits(page)
    screenshot(page, "1-bulletins")

    page.click(f'tr[data-bulletin="{published["id"]}"] td:first-child a')
    page.wait_for_selector("article.bulletin")
    _compact_header(page)
    _fits(page)
    groups = page.locator("details.prefecture")
    assert groups.count() >= 10
    # The 136-row appendix is folded: no row shows until a prefecture is opened.
    assert page.locator("details.prefecture tbody tr:visible").count() == 0
    first = groups.nth(0)
    first.locator("summary").click()
    rows = first.locator("tbody tr")
    assert rows.count() >= 1 and rows.first.is_visible()
    # A name is read on one line, not a character per line.
    name = rows.first.locator("td").nth(1)
    assert name.bounding_box()["height"] < 40
    _fits(page)
    screenshot(page, "2-bulletin")

    page.goto(base + "/map/")
    page.wait_for_selector(".leaflet-container")
    _fits(page)
    frame = page.locator(".map-frame").bounding_box()
    assert frame["x"] >= 0 and frame["x"] + frame["width"] <= PHONE
    legend = page.locator(".map-legend")
    # Folded to its title: it covers a corner, not half the map; a tap opens it.
    assert legend.bounding_box()["height"] < frame["height"] * 0.15
    legend.locator("summary").click()
    assert legend.locator(".legend-body").is_visible()
    screenshot(page, "3-map")


def test_reviewer_pages_fit_a_phone(demo_live_server, phone, screenshot):
    page, base = phone, demo_live_server
    _login(page, base, "reviewer", "demo-review-2026")
    page.wait_for_selector("table.ratings")
    _compact_header(page)
    _fits(page)
    assert page.locator("form.find input[name=q]").is_visible()
    screenshot(page, "overview")
    for path in ("/periods/submissions", "/map/", "/map/regions/511100"):
        page.goto(base + path)
        page.wait_for_selector("main h1")
        _fits(page)


def test_search_sort_filter_and_export_at_a_desk(demo_app, demo_live_server, page, screenshot, tmp_path):
    base = demo_live_server
    page.set_viewport_size({"width": 1366, "height": 900})
    with demo_app.app_context():
        target = get_conn().execute("SELECT code, name FROM hospital ORDER BY code LIMIT 1").fetchone()
    letters = finder.initials(target["name"]).split()[0]
    _login(page, base, "reviewer", "demo-review-2026")
    page.wait_for_selector("table.ratings tbody tr")
    period = page.locator("select[name=period]").input_value()

    page.fill("form.find input[name=q]", letters)
    hit = page.locator(f'ul.suggest a[href="/hospitals/{target["code"]}?period={period}"]')
    hit.wait_for()
    screenshot(page, "1-suggestions")
    hit.click()
    page.wait_for_url(f"**/hospitals/{target['code']}?period={period}")
    assert target["name"] in page.locator("h1").inner_text()

    page.goto(f"{base}/?period={period}")
    box = page.locator('[data-long-table="overview"][data-ready="1"]')
    box.wait_for()
    total = box.locator("tbody tr").count()
    assert total == 136
    # Sort by 总体: red first, not filed last; again: the other way, not filed still last.
    overall = box.locator("thead th").nth(3)
    overall.locator("button").click()
    ratings = box.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.rating)")
    order = {"red": 1, "yellow": 2, "green": 3, "n/a": 4, "missing": 5}
    assert [order[r] for r in ratings] == sorted(order[r] for r in ratings)
    assert overall.get_attribute("aria-sort") == "ascending"
    # Filter on a prefecture: only its rows, and the export link carries the filter.
    place = box.locator("tbody tr").first.locator("td").nth(1).inner_text().split()[0]
    box.locator("input.table-filter").fill(place)
    shown = box.locator("tbody tr:visible").count()
    assert 0 < shown < total
    assert f"{shown} / 共 {total}" in box.locator(".table-count").inner_text()
    screenshot(page, "2-filtered")
    with page.expect_download() as download:
        box.locator("a.table-export").click()
    path = tmp_path / "overview.xlsx"
    download.value.save_as(path)
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("医疗机构", "机构代码", "地区", "等级", "总体评级")
    assert len(rows) - 1 == shown and all(place in r[2] for r in rows[1:])
    # … and the sort: the workbook's rows in the order on screen (ties as on screen too).
    assert "sort=" in box.locator("a.table-export").get_attribute("href")
    visible = box.locator("tbody tr:visible").evaluate_all("rows => rows.map(r => r.dataset.hospital)")
    assert [r[1] for r in rows[1:]] == visible
    codes = [sheet.cell(i, 2) for i in range(2, sheet.max_row + 1)]
    assert all(c.data_type == "s" and len(c.value) == 18 for c in codes)
