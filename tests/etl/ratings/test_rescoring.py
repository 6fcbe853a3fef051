"""One rescoring entry point (etl/ratings/rescoring.py): which periods a rescore touches."""
import pytest

from etl.ratings.rescoring import rescore
from etl.reference import registry
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)

PERIODS = ("2026-07", "2026-08", "2026-09", "2026-10")


@pytest.fixture()
def scored(conn, app, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1)]))
    settings = intake.IntakeSettings.from_config(app.config)
    for period in PERIODS:
        result = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(1), period), f"{period}.xlsx"),
                                    settings)
        assert result.status == "accepted", result.findings
    # Forget every rating, so what a rescore writes shows which periods it touched.
    conn.execute("DELETE FROM rating")
    conn.execute("DELETE FROM scorecard")
    return settings.thresholds_file


def rated(conn) -> list[str]:
    return [r["period"] for r in conn.execute("SELECT DISTINCT period FROM rating ORDER BY period")]


def test_from_a_period_touches_it_and_the_later_ones_only(conn, scored):
    done = rescore(conn, scored, from_period="2026-09")
    assert done.periods == ("2026-09", "2026-10")
    assert rated(conn) == ["2026-09", "2026-10"]
    assert sum(done.counts.values()) == 2                     # one hospital, two periods
    assert conn.execute("SELECT count(*) AS n FROM indicator_value WHERE period < '2026-09'").fetchone()["n"] == 0


def test_given_periods_touch_those_only(conn, scored):
    assert rescore(conn, scored, periods=["2026-08"]).periods == ("2026-08",)
    assert rated(conn) == ["2026-08"]


def test_neither_rescores_every_known_period(conn, scored):
    assert rescore(conn, scored).periods == PERIODS
    assert rated(conn) == list(PERIODS)


def test_from_after_the_last_period_scores_nothing(conn, scored):
    done = rescore(conn, scored, from_period="2027-01")
    assert done.periods == () and done.counts == {} and rated(conn) == []


def test_periods_and_from_period_together_are_refused(conn, scored):
    with pytest.raises(ValueError):
        rescore(conn, scored, periods=["2026-08"], from_period="2026-09")
