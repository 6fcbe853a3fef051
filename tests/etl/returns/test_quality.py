"""Data quality: outliers against the hospital's own history and its peers become notices."""
from decimal import Decimal

import pytest

from etl.common.codes import periods_between
from etl.reference import registry
from etl.reference.scope import Scope
from etl.returns import intake
from etl.returns.quality import modified_z
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)


def test_modified_z():
    assert modified_z(Decimal(10), [Decimal(x) for x in (1, 2, 3, 4, 5)]) == Decimal("0.6745") * 7 / 1
    assert modified_z(Decimal(3), [Decimal(3)] * 5) is None          # no spread: no verdict


@pytest.fixture()
def settings(conn, app, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(n) for n in range(1, 12)]))
    return intake.IntakeSettings.from_config(app.config)


def take(conn, settings, tmp_path, d):
    result = intake.ingest_file(conn, write_draft(tmp_path, d, f"{d.hospital_code}-{d.period}.xlsx"), settings)
    assert result.status == "accepted", result.findings
    return result


def test_a_month_far_from_the_hospitals_own_history_is_a_notice(conn, settings, tmp_path):
    surpluses = (100_000, 120_000, 90_000, 110_000, 130_000, 95_000, 105_000, 115_000)
    for period, surplus in zip(periods_between("2026-01", "2026-08"), surpluses):
        found = take(conn, settings, tmp_path, draft(hospital_code(1), period, surplus=surplus)).findings
        assert not [f for f in found if f.code.startswith("DQ_")]
    result = take(conn, settings, tmp_path, draft(hospital_code(1), "2026-09", surplus=-6_000_000))
    hits = [f for f in result.findings if f.code == "DQ_OWN_HISTORY"]
    assert [(f.severity, f.cell) for f in hits] == [("notice", "C13")]            # E200 本月数
    assert "E200" in hits[0].message and "修正Z值" in hits[0].message
    stored = conn.execute("SELECT severity FROM return_finding WHERE code = 'DQ_OWN_HISTORY'").fetchall()
    assert stored == [{"severity": "notice"}]


def test_a_figure_far_from_same_level_hospitals_is_a_notice(conn, settings, tmp_path):
    for n, wage in zip(range(2, 11), (3_900_000, 3_950_000, 4_000_000, 4_050_000, 4_100_000, 3_980_000,
                                      4_020_000, 3_920_000, 4_080_000)):
        d = draft(hospital_code(n))
        d.t3["W402"] = d.t3["W403"] = Decimal(wage)
        take(conn, settings, tmp_path, d)
    d = draft(hospital_code(11))
    d.t3["W402"] = d.t3["W403"] = Decimal(8_000_000)                # twice the peers' average wage
    result = take(conn, settings, tmp_path, d)
    hits = [f for f in result.findings if f.code.startswith("DQ_")]
    assert [f.code for f in hits] == ["DQ_PEER_LEVEL"]
    assert "人均月应发薪酬" in hits[0].message and "二级甲等" in hits[0].message


def test_outliers_are_listed_for_the_reviewer(conn, settings, tmp_path):
    from etl.filing.periods import submissions
    test_a_figure_far_from_same_level_hospitals_is_a_notice(conn, settings, tmp_path)
    listed = submissions(conn, "2026-10", Scope.province())["quality"]
    assert [(q["hospital_code"], q["code"]) for q in listed] == [(hospital_code(11), "DQ_PEER_LEVEL")]
