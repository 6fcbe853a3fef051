"""Fixtures shared by the web tests (tests/conftest.py has the app, database and browser)."""
import pytest

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


@pytest.fixture()
def october_filed(app, conn, tmp_path):
    """Two 乐山 hospitals that filed 2026-10 (one in surplus, one deep in deficit), and a
    leader, an admin and a reviewer (password-123): enough for a bulletin to publish."""
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    settings = intake.IntakeSettings.from_config(app.config)
    for n, surplus in ((1, 150_000), (2, -900_000)):
        intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(n), surplus=surplus)), settings)
    for role in ("leader", "admin", "reviewer"):
        create_user(conn, role, "password-123", role)
