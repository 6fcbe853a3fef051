"""In a real browser: log in as a reviewer and read the colours of the province."""
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


def test_reviewer_logs_in_and_sees_colours(app, conn, live_server, page, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    settings = intake.IntakeSettings.from_config(app.config)
    for n, surplus in ((1, 150_000), (2, -900_000)):
        intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(n), surplus=surplus)), settings)
    create_user(conn, "reviewer", "password-123", "reviewer")

    page.goto(live_server + "/")
    assert "/auth/login" in page.url
    page.fill("input[name=username]", "reviewer")
    page.fill("input[name=password]", "password-123")
    page.click("button[type=submit]")
    page.wait_for_selector("table.ratings")
    rows = page.locator("table.ratings tbody tr")
    assert rows.count() == 2
    colours = {rows.nth(i).get_attribute("data-rating") for i in range(2)}
    assert colours <= {"red", "yellow", "green"} and len(colours) >= 1
    assert page.locator(".counts .badge").count() == 4
