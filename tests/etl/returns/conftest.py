"""Fixtures shared by the returns tests."""
import datetime as dt

import pytest

from etl.attribution import mapping
from etl.reference import registry
from etl.returns import intake
from tests.factories import hospital_row, write_mapping, write_registry

TODAY = dt.date(2026, 11, 24)


@pytest.fixture()
def province(conn, app, tmp_path):
    """Two registered hospitals and mapping v1 (from 2024-01); the intake settings, today 2026-11-24."""
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    mapping.load_mapping(conn, write_mapping(tmp_path / "map.xlsx"), "v1", "2024-01")
    settings = intake.IntakeSettings.from_config(app.config)
    settings.today = TODAY
    return settings
