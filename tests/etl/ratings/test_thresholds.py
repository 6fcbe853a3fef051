"""Every threshold of risk.md at its boundary: just below, at, just above."""
import json
from decimal import Decimal

import pytest

from etl.ratings import scoring

E = Decimal("0.000001")
# indicator: [(value, colour)] — the default thresholds of config/risk.yaml (risk.md).
BOUNDARIES = {
    "surplus_rate_ytd": [(-E, "yellow"), (0, "green"), (E, "green"),
                         (Decimal("-0.05") - E, "red"), (Decimal("-0.05"), "red"), (Decimal("-0.05") + E, "yellow")],
    "deficit_months": [(2, "green"), (3, "yellow"), (4, "yellow"), (5, "yellow"), (6, "red"), (7, "red")],
    "debt_ratio": [(Decimal("0.5") - E, "green"), (Decimal("0.5"), "yellow"), (Decimal("0.5") + E, "yellow"),
                   (Decimal("0.7") - E, "yellow"), (Decimal("0.7"), "red"), (Decimal("0.7") + E, "red")],
    "current_ratio": [(1 - E, "yellow"), (1, "green"), (1 + E, "green"),
                      (Decimal("0.7") - E, "red"), (Decimal("0.7"), "yellow"), (Decimal("0.7") + E, "yellow")],
    "long_debt_to_revenue": [(Decimal("0.3") - E, "green"), (Decimal("0.3"), "yellow"), (Decimal("0.6") - E, "yellow"),
                             (Decimal("0.6"), "red"), (Decimal("0.6") + E, "red")],
    "cash_days": [(60 - E, "yellow"), (60, "green"), (60 + E, "green"), (30 - E, "red"), (30, "yellow")],
    "overdue_debt": [(0, "green"), (E, "red"), (Decimal("0.01"), "red")],
    "wage_arrears": [(0, "green"), (E, "yellow")],
    "wage_arrears_months": [(0, "green"), (1, "green"), (2, "red"), (3, "red")],
    "wage_arrears_to_payroll": [(Decimal("0.5") - E, "green"), (Decimal("0.5"), "red"), (Decimal("0.5") + E, "red")],
    "basic_wage_arrears": [(0, "green"), (E, "red")],
}


@pytest.fixture()
def specs(app, conn):
    return scoring.active_thresholds(conn, app.config["RISK_THRESHOLDS_FILE"])["body"]["indicators"]


def test_every_rated_indicator_has_boundary_cases(specs):
    rated = {k for k, v in specs.items() if "yellow" in v or "red" in v}
    assert rated == set(BOUNDARIES)


@pytest.mark.parametrize("indicator", sorted(BOUNDARIES))
def test_boundaries(conn, specs, indicator):
    for value, colour in BOUNDARIES[indicator]:
        got = conn.execute("SELECT indicator_colour(%s::numeric, %s::jsonb) AS c",
                           (Decimal(value), json.dumps(specs[indicator]))).fetchone()["c"]
        assert got == colour, (indicator, value)


@pytest.mark.parametrize("indicator", sorted(BOUNDARIES))
def test_scoring_colours_as_indicator_colour_does(conn, specs, indicator):
    """Scoring writes the comparisons inline (scoring._rank), not through indicator_colour():
    the two agree at every boundary, and on a missing value."""
    rank = {"red": 3, "yellow": 2, "green": 1, "n/a": 0}
    for value, colour in [*BOUNDARIES[indicator], (None, "n/a")]:
        params = {"v": None if value is None else Decimal(value)}
        sql = scoring._rank("x.v", specs[indicator], params)
        got = conn.execute(f"SELECT {sql} AS r FROM (SELECT %(v)s::numeric AS v) x", params).fetchone()["r"]
        assert got == rank[colour], (indicator, value)


def test_missing_value_is_na_never_green(conn, specs):
    got = conn.execute("SELECT indicator_colour(NULL, %s::jsonb) AS c", (json.dumps(specs["debt_ratio"]),)).fetchone()
    assert got["c"] == "n/a"


@pytest.mark.parametrize("body,fragment", [
    ({"indicators": {"nope": {"domain": "debt"}}}, "未知指标"),
    ({"indicators": {"debt_ratio": {"domain": "debt", "red": ["=>", 0.7]}}}, "比较符"),
    ({"indicators": {"debt_ratio": {"domain": "debt", "red": [">=", "abc"]}}}, "不是数字"),
    ({"indicators": {"debt_ratio": {"domain": "debt", "yellow": [">=", 0.7], "red": [">=", 0.5]}}}, "更严重"),
    ({"indicators": {"cash_days": {"domain": "debt", "yellow": ["<", 30], "red": [">", 60]}}}, "更严重"),
])
def test_invalid_thresholds_are_refused(body, fragment):
    with pytest.raises(ValueError, match=fragment):
        scoring.validate_thresholds(body)
