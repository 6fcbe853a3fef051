"""The simulation against a case small enough to compute by hand."""
from decimal import Decimal

import pytest

from etl.attribution import simulation
from etl.common.errors import HemonError
from etl.reference.scope import Scope
from tests.factories import hospital_code


def test_comparison_matches_hand_computation(conn, two_versions):
    result = simulation.compare(conn, "A", "B", "2025-11", "2025-12", scope=Scope.province())
    # Each return: 表5 = 挂号 0.4M, 血常规 1.6M, 西药 4M+5M, 床位 1M, 麻醉 2M, 卫生材料 2M; R110 = 16M.
    # Under A non-service = 化验 1.6 + 西药 9 + 卫材 2 = 12.6M -> share 3.4/16 = 0.2125.
    # Under B non-service = 11M -> share 5/16 = 0.3125; 未归集 2M -> 0.125. +10 points.
    h1 = next(h for h in result.hospitals if h["code"] == hospital_code(1))
    assert h1["r110"] == Decimal(32_000_000)
    assert h1["share_a"] == Decimal("0.2125") and h1["share_b"] == Decimal("0.3125")
    assert h1["points"] == Decimal(10)
    assert h1["unattributed_a"] == 0 and h1["unattributed_b"] == Decimal("0.125")
    assert h1["moved_revenue"] == Decimal(2 * (1_600_000 + 2_000_000))
    assert h1["moved_items"] == ["250101001", "330100001"]
    cats = {(c["system"], c["category"]): c for c in result.categories}
    assert cats[("subject", "化验")]["a"] == Decimal(4_800_000) and cats[("subject", "化验")]["b"] == 0
    assert cats[("subject", "未归集")]["diff"] == Decimal(6_000_000)
    assert cats[("subject", "手术")]["diff"] == Decimal(-6_000_000)
    assert result.totals["points"] == Decimal(10)
    assert {h["code"] for h in result.movers} == {hospital_code(1), hospital_code(2)}
    item = next(i for i in result.items if i["price_code"] == "330100001")
    assert (item["subject_a"], item["subject_b"], item["amount"], item["hospitals"]) == ("手术", "未归集", Decimal(6_000_000), 2)


def test_only_the_chosen_periods_count(conn, two_versions):
    result = simulation.compare(conn, "A", "B", "2025-11", "2025-11", scope=Scope.province())
    assert [h["code"] for h in result.hospitals] == [hospital_code(1)]
    assert result.hospitals[0]["r110"] == Decimal(16_000_000)


def test_a_scope_limits_every_total_to_its_hospitals(conn, two_versions):
    one = simulation.compare(conn, "A", "B", "2025-11", "2025-12", scope=Scope.hospital(hospital_code(1)))
    assert [h["code"] for h in one.hospitals] == [hospital_code(1)]
    cats = {(c["system"], c["category"]): c for c in one.categories}
    assert cats[("subject", "化验")]["a"] == Decimal(3_200_000)        # hospital 1's two months only
    assert one.totals["r110"] == Decimal(32_000_000)
    elsewhere = simulation.compare(conn, "A", "B", "2025-11", "2025-12", scope=Scope.prefecture("510100"))
    assert elsewhere.hospitals == [] and elsewhere.categories == [] and elsewhere.items == []


def test_default_range_is_the_last_complete_year_clamped_to_the_data(conn, two_versions):
    assert simulation.default_range(conn) == ("2025-11", "2025-12")


def test_unknown_version(conn, two_versions):
    with pytest.raises(HemonError, match="不存在"):
        simulation.compare(conn, "A", "Z", scope=Scope.province())


def test_compare_command_writes_a_workbook(runner, conn, two_versions, tmp_path):
    from openpyxl import load_workbook
    out = tmp_path / "cmp.xlsx"
    result = runner.invoke(args=["compare-mappings", "A", "B", "--from", "2025-11", "--to", "2025-12",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "+10.00 个百分点" in result.output
    wb = load_workbook(out)
    assert wb.sheetnames == ["汇总", "分类对比", "医院对比", "变动项目"]
    rows = list(wb["医院对比"].iter_rows(min_row=2, values_only=True))
    assert {r[0] for r in rows} == {hospital_code(1), hospital_code(2)} and rows[0][5] == 10
    assert runner.invoke(args=["compare-mappings", "A", "nope"]).exit_code == 1


def test_reattribute_command(runner, conn, two_versions):
    conn.execute("DELETE FROM attribution_total")
    result = runner.invoke(args=["reattribute", "--from", "2025-11"])
    assert result.exit_code == 0 and "3 份报表" in result.output, result.output
    assert conn.execute("SELECT count(DISTINCT return_id) AS n FROM attribution_total").fetchone()["n"] == 3
