"""The registry: every bad row reported with its line, nothing half-loaded."""
import pytest

from etl.common.errors import InputRejected
from etl.reference import registry
from tests.factories import hospital_code, hospital_row, write_registry


def test_load_and_reload_updates(conn, tmp_path):
    path = write_registry(tmp_path / "r.xlsx", [hospital_row(1), hospital_row(2, 编制床位=500)])
    assert registry.load_hospitals(conn, path) == 2
    path = write_registry(tmp_path / "r2.xlsx", [hospital_row(2, 编制床位=650)])
    registry.load_hospitals(conn, path)
    beds = conn.execute("SELECT beds FROM hospital WHERE code = %s", (hospital_code(2),)).fetchone()["beds"]
    assert beds == 650


def test_bad_rows_are_listed_and_nothing_loads(conn, tmp_path):
    rows = [hospital_row(1), hospital_row(2, 机构代码="12511102450767890X"),
            hospital_row(3, 行政区划代码="5111"), hospital_row(4, 等级="特级"), hospital_row(1)]
    with pytest.raises(InputRejected) as exc:
        registry.load_hospitals(conn, write_registry(tmp_path / "bad.xlsx", rows))
    lines = [where for where, _ in exc.value.problems]
    assert lines == ["第3行", "第4行", "第5行", "第6行"]
    assert conn.execute("SELECT count(*) AS n FROM hospital").fetchone()["n"] == 0


def test_csv_registry_through_cli(runner, tmp_path):
    path = tmp_path / "r.csv"
    row = hospital_row(7)
    path.write_text(",".join(row) + "\n" + ",".join(str(v) for v in row.values()) + "\n", encoding="utf-8")
    result = runner.invoke(args=["load-hospitals", str(path)])
    assert result.exit_code == 0, result.output
    assert "1" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("机构代码,机构名称\nx,y\n", encoding="utf-8")
    result = runner.invoke(args=["load-hospitals", str(bad)])
    assert result.exit_code == 1 and "表头" in result.output
