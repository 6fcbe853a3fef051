"""The indicator registry is the only definition: scoring, drill-through, pages, exports and
the thresholds file all follow it; and a monitored indicator added there works end to end."""
import ast
import re
from decimal import Decimal
from pathlib import Path

import pytest

from etl.ratings import indicators, overview, scoring
from etl.ratings.indicators import BY_ID, REGISTRY
from etl.reference import registry as hospitals
from etl.reference.accounts import create_user
from etl.reference.scope import Scope
from etl.returns import contract, intake
from reports.exports import ratings as exports
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)

RISK_FILE = Path(__file__).resolve().parents[3] / "config" / "risk.yaml"
SQL_WORDS = {"NULLIF", "CASE", "WHEN", "THEN", "ELSE", "END", "AND", "OR", "NOT", "NULL", "period_index"}


# ------------------------------------------------------------------ the registry itself
def test_every_input_cell_exists_in_the_return_contract():
    columns = {code: {c for c, _ in contract.TABLE_COLUMNS[sheet]}
               for sheet, items in contract.TABLE_ITEMS.items() for code, _ in items}
    for alias, code, column in scoring.INPUTS:
        assert code in columns and column in columns[code], alias


def test_each_formula_reads_only_its_declared_cells_and_scoring_facts():
    for ind in REGISTRY:
        names = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", ind.sql)) - SQL_WORDS
        assert names <= set(ind.reads) | set(indicators.FACTS), (ind.id, names)
        # the bench evaluates the pandas form, else the SQL read as Python
        ast.parse(ind.pandas or ind.sql, mode="eval")


def test_every_indicator_is_complete():
    assert len(BY_ID) == len(REGISTRY)
    for ind in REGISTRY:
        assert ind.unit in indicators.UNITS and ind.label and ind.words, ind.id
        assert ind.domain in (*indicators.DOMAINS, None) and (ind.domain or not ind.rated), ind.id
    keys = indicators.KEY_INDICATOR
    assert set(keys) == set(indicators.DOMAINS)
    assert all(BY_ID[i].rated and BY_ID[i].domain == d and direction in ("asc", "desc")
               for d, (i, direction) in keys.items())


def test_units_read_as_before_and_points_are_signed():
    assert overview.format_value("debt_ratio", Decimal("0.7")) == "70.0%"
    assert overview.format_value("cash_days", Decimal("45.25")) == "45.2天"
    assert overview.format_value("overdue_debt", Decimal("250000")) == "25.00万元"
    assert overview.format_value("overdue_debt", 0) == "0元"
    assert overview.format_value("material_per_100", Decimal("21.456")) == "21.46元"
    assert overview.format_value("debt_ratio_change", Decimal("0.012")) == "+1.2个百分点"
    assert overview.format_value("debt_ratio_change", Decimal("-0.005")) == "-0.5个百分点"
    assert overview.format_value("debt_ratio_change", None) == "无法计算"


# ------------------------------------------------------------------ the thresholds file
def test_thresholds_file_names_every_indicator_in_its_registry_role():
    body = scoring.load_thresholds(RISK_FILE)
    assert set(body["indicators"]) == {i.id for i in REGISTRY if i.rated}
    assert set(body["monitored"]) == {i.id for i in REGISTRY if not i.rated}
    assert scoring.computed(body) == list(indicators.IDS)
    for name, spec in body["indicators"].items():
        assert (spec["domain"], spec["label"]) == (BY_ID[name].domain, BY_ID[name].label)


def test_registry_label_wins_and_domain_comes_from_the_registry():
    body = scoring.validate_thresholds({"indicators": {"debt_ratio": {"label": "别的名字", "red": [">=", 0.7]}},
                                        "monitored": {"drug_revenue_share": {"label": "别的"}}})
    assert body["indicators"]["debt_ratio"] == {"domain": "debt", "label": "资产负债率", "red": [">=", "0.7"]}
    assert body["monitored"] == {"drug_revenue_share": {"label": "药占比"}}


@pytest.mark.parametrize("body,fragment", [
    ({"indicators": {"debt_ratio": {"domain": "wages"}}}, "未知指标或风险领域"),
    ({"indicators": {"drug_revenue_share": {"red": [">", 0.4]}}}, "监测指标"),
    ({"indicators": {}, "monitored": ["debt_ratio"]}, "未知监测指标"),
    ({"indicators": {}, "monitored": ["nope"]}, "未知监测指标"),
])
def test_thresholds_at_odds_with_the_registry_are_refused(body, fragment):
    with pytest.raises(ValueError, match=fragment):
        scoring.validate_thresholds(body)


# ------------------------------------------------------------------ end to end
@pytest.fixture()
def scored(conn, app, tmp_path):
    """Hospital 1's return for 2026-10 whose 年初 assets are 20,000,000 higher (the 年初 ratio lower)."""
    hospitals.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1)]))
    d = draft(hospital_code(1))
    for code in ("A120", "A100", "N300"):
        end, begin = d.t2[code]
        d.t2[code] = (end, begin + 20_000_000)
    result = intake.ingest_file(conn, write_draft(tmp_path, d), intake.IntakeSettings.from_config(app.config))
    assert result.status == "accepted", result.findings
    create_user(conn, "reviewer", "password-123", "reviewer")
    return result


def test_scoring_and_export_carry_every_registry_indicator(conn, scored):
    stored = {r["indicator"]: r["value"] for r in conn.execute(
        "SELECT indicator, value FROM indicator_value WHERE hospital_code = %s", (hospital_code(1),))}
    assert set(stored) == set(indicators.IDS)
    rows = overview.export_rows(conn, "2026-10", Scope.province())
    header = next(exports.csv_rows(rows))
    assert header[-len(indicators.IDS):] == indicators.IDS
    assert rows[0]["indicators"]["debt_ratio"] == stored["debt_ratio"]


def test_new_indicator_is_computed_from_end_and_begin_cells(conn, scored):
    value = conn.execute("SELECT value, rating FROM indicator_value WHERE indicator = 'debt_ratio_change'").fetchone()
    l200, a100 = Decimal(93_000_000), Decimal(220_000_000)
    assert value["rating"] is None                          # monitored: shown, never coloured
    assert abs(value["value"] - (l200 / a100 - l200 / (a100 + 20_000_000))) < Decimal("1e-15")
    cells = indicators.sources(conn, scored.return_id)["debt_ratio_change"]
    assert [(c["code"], c["column"]) for c in cells] == [("L200", "期末数"), ("A100", "期末数"),
                                                         ("L200", "年初数"), ("A100", "年初数")]
    assert [c["amount"] for c in cells] == [l200, a100, l200, a100 + 20_000_000]
    assert all(c["sheet"] == "表2" for c in cells)


def test_hospital_page_shows_registry_labels_units_and_the_new_indicator(client, auth, conn, scored):
    auth.login("reviewer")
    page = client.get(f"/hospitals/{hospital_code(1)}?period=2026-10").get_data(as_text=True)
    values = {r["indicator"]: r["value"] for r in conn.execute("SELECT indicator, value FROM indicator_value")}
    for ind in REGISTRY:
        row = page[page.index(f'data-indicator="{ind.id}"'):]
        row = row[:row.index("</tr>")]
        assert f"<td>{ind.label}</td>" in row, ind.id
        assert f"<td>{ind.label} {overview.format_value(ind.id, values[ind.id])}" in row, ind.id
        assert ind.words in row, ind.id
    row = page[page.index('data-indicator="debt_ratio_change"'):]
    row = row[:row.index("</tr>")]
    assert "资产负债率较年初变动 +3.5个百分点" in row and "<td>监测</td>" in row
    for ref in ("表2!C18", "表2!C9", "表2!D18", "表2!D9"):
        assert ref in row
