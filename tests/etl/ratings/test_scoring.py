"""Indicators and ratings computed in SQL for whole periods."""
import json
from decimal import Decimal

import pytest

from etl.common.codes import periods_between
from etl.ratings import indicators
from etl.reference import registry
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)


@pytest.fixture()
def settings(conn, app, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    return intake.IntakeSettings.from_config(app.config)


def take(conn, settings, tmp_path, d):
    result = intake.ingest_file(conn, write_draft(tmp_path, d), settings)
    assert result.status == "accepted", result.findings
    return result


def indicator(conn, period, name, n=1):
    return conn.execute("SELECT value, rating FROM indicator_value WHERE hospital_code=%s AND period=%s "
                        "AND indicator=%s", (hospital_code(n), period, name)).fetchone()


def test_deficit_run_counts_and_a_missing_month_breaks_it(conn, settings, tmp_path):
    months = periods_between("2026-01", "2026-08")
    for p in months:
        if p != "2026-04":                     # no return in April
            take(conn, settings, tmp_path, draft(hospital_code(1), p, surplus=-10_000))
    runs = [indicator(conn, p, "deficit_months")["value"] for p in months if p != "2026-04"]
    assert runs == [1, 2, 3, 1, 2, 3, 4]
    assert indicator(conn, "2026-03", "deficit_months")["rating"] == "yellow"
    assert conn.execute("SELECT rating FROM rating WHERE hospital_code=%s AND period='2026-04'",
                        (hospital_code(1),)).fetchone()["rating"] == "missing"


def test_wage_arrears_months_and_colours(conn, settings, tmp_path):
    take(conn, settings, tmp_path, draft(hospital_code(1), "2026-10", arrears=100_000, arrears_since="2026-10"))
    take(conn, settings, tmp_path, draft(hospital_code(2), "2026-10", arrears=100_000, arrears_since="2026-09"))
    assert indicator(conn, "2026-10", "wage_arrears_months", 1)["value"] == 1
    assert indicator(conn, "2026-10", "wage_arrears_months", 2)["value"] == 2
    wages = {r["hospital_code"]: r["wages"] for r in conn.execute("SELECT hospital_code, wages FROM rating")}
    assert wages == {hospital_code(1): "yellow", hospital_code(2): "red"}


def test_overdue_debt_is_red(conn, settings, tmp_path):
    take(conn, settings, tmp_path, draft(hospital_code(1), overdue=250_000))
    assert indicator(conn, "2026-10", "overdue_debt") == {"value": Decimal(250_000), "rating": "red"}
    assert conn.execute("SELECT debt FROM rating WHERE hospital_code=%s", (hospital_code(1),)).fetchone()["debt"] == "red"


def test_export_lists_every_hospital_json_and_csv(runner, conn, settings, tmp_path):
    take(conn, settings, tmp_path, draft(hospital_code(1)))
    got = json.loads(runner.invoke(args=["export-ratings", "--period", "2026-10"]).output)
    assert [r["hospital"] for r in got] == sorted([hospital_code(1), hospital_code(2)])
    by_code = {r["hospital"]: r for r in got}
    assert by_code[hospital_code(2)]["rating"] == "missing"
    assert all(v is None for v in by_code[hospital_code(2)]["indicators"].values())
    assert by_code[hospital_code(1)]["provisional"] is True
    assert list(by_code[hospital_code(1)]["indicators"]) == list(indicators.IDS)   # the registry, in order
    lines = runner.invoke(args=["export-ratings", "--period", "2026-10", "--format", "csv"]).output.splitlines()
    assert lines[0].startswith("\ufeffhospital,hospital_name,prefecture,period,rating,provisional,deficit,debt,wages,"
                               "surplus_rate_month")
    assert len(lines) == 3


def test_score_command_needs_a_choice(runner, settings):
    assert runner.invoke(args=["score"]).exit_code == 1
    assert runner.invoke(args=["score", "--period", "2026-1"]).exit_code == 2
    result = runner.invoke(args=["score", "--all"])
    assert result.exit_code == 0, result.output


def test_changes_between_months(conn, settings, tmp_path):
    from etl.ratings.overview import changes
    from etl.reference.scope import Scope
    # Hospital 1: red (overdue debt) for four months; hospital 2: green, then red, then better.
    for p in ("2026-07", "2026-08", "2026-09", "2026-10"):
        take(conn, settings, tmp_path, draft(hospital_code(1), p, overdue=1000))
    take(conn, settings, tmp_path, draft(hospital_code(2), "2026-08"))
    take(conn, settings, tmp_path, draft(hospital_code(2), "2026-09", overdue=1000))
    take(conn, settings, tmp_path, draft(hospital_code(2), "2026-10"))
    sep = changes(conn, "2026-09", Scope.province())
    assert [r["code"] for r in sep["newly_red"]] == [hospital_code(2)]
    assert [(r["code"], r["red_months"]) for r in sep["stayed_red"]] == [(hospital_code(1), 3)]
    oct_ = changes(conn, "2026-10", Scope.province())
    assert [r["code"] for r in oct_["improved"]] == [hospital_code(2)]
    assert oct_["newly_red"] == [] and oct_["stayed_red"][0]["red_months"] == 4
    jul = changes(conn, "2026-07", Scope.province())
    assert [r["code"] for r in jul["newly_red"]] == [hospital_code(1)]
    # Scoped: 乐山 (their prefecture) sees the same lists, 成都 sees none of them.
    assert changes(conn, "2026-09", Scope.prefecture("511100")) == sep
    assert all(v == [] for v in changes(conn, "2026-09", Scope.prefecture("510100")).values())


def test_zero_divisor_is_na_and_does_not_colour_by_itself(conn, settings, tmp_path):
    d = draft(hospital_code(1))
    t2 = {k: v[0] for k, v in d.t2.items()}
    for code in ("L201", "L202", "L203", "L204", "L210"):
        t2[code] = 0
    t2["L200"] = t2["L220"]
    t2["N300"] = t2["A100"] - t2["L200"]
    d.t2 = {k: (v, v) for k, v in t2.items()}
    take(conn, settings, tmp_path, d)
    assert indicator(conn, "2026-10", "current_ratio") == {"value": None, "rating": "n/a"}
    row = conn.execute("SELECT debt FROM rating WHERE hospital_code = %s", (hospital_code(1),)).fetchone()
    assert row["debt"] in ("green", "yellow")          # decided by the other debt indicators
