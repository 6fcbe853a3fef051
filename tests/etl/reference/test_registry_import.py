"""A registry file loaded from the web: the preview says what would be added, changed and left
out; applying does exactly that in one transaction, closing only the hospitals ticked."""
from pathlib import Path

import pytest

from etl.common.errors import HemonError, InputRejected
from etl.reference import registry_changes as changes
from etl.reference import registry_import
from tests.factories import hospital_code, hospital_row, write_registry

THRESHOLDS = Path(__file__).resolve().parents[3] / "config" / "risk.yaml"
ADMIN = {"id": None, "username": "admin"}


@pytest.fixture()
def three(conn, tmp_path, load_period):
    """Hospitals 1 and 2 (with 2026-09 returns) and 3 (none) registered."""
    load_period("2026-09")
    changes.add(conn, hospital_row(3), ADMIN)


def test_preview_then_apply_adds_changes_and_closes_only_the_ticked(conn, tmp_path, three):
    path = write_registry(tmp_path / "new.xlsx", [hospital_row(1, 编制床位=480), hospital_row(4, 机构名称="新建分院")])
    seen = registry_import.preview(conn, path)
    assert [r["code"] for r in seen["added"]] == [hospital_code(4)]
    assert [(c["code"], c["changes"]) for c in seen["changed"]] == [(hospital_code(1), {"beds": [300, 480]})]
    assert [m["code"] for m in seen["missing"]] == [hospital_code(2), hospital_code(3)]
    assert seen["unchanged"] == 0
    assert conn.execute("SELECT count(*) AS n FROM hospital").fetchone()["n"] == 3     # a preview writes nothing

    with pytest.raises(HemonError, match="只能关闭"):
        registry_import.apply(conn, path, seen["digest"], [hospital_code(1)], "2026-10", None, ADMIN, THRESHOLDS)
    with pytest.raises(HemonError, match="重新上传"):
        registry_import.apply(conn, path, "0" * 32, [], None, None, ADMIN, THRESHOLDS)
    done = registry_import.apply(conn, path, seen["digest"], [hospital_code(3)], "2026-10", "已撤销", ADMIN,
                                 THRESHOLDS, "new.xlsx")
    assert done == {"added": 1, "changed": 1, "closed": 1, "unchanged": 0}
    assert changes.get(conn, hospital_code(1))["beds"] == 480
    assert changes.get(conn, hospital_code(4))["name"] == "新建分院"
    assert conn.execute("SELECT rating FROM rating WHERE hospital_code = %s AND period = '2026-09'",
                        (hospital_code(4),)).fetchone()["rating"] == "missing"   # rated at once
    assert changes.get(conn, hospital_code(3))["closed_from"] == "2026-10"
    assert changes.get(conn, hospital_code(2))["closed_from"] is None            # not ticked: still open
    assert [e["kind"] for e in changes.history(conn, hospital_code(1))] == ["import"]
    entry = conn.execute("SELECT target, after FROM audit_log WHERE action = 'registry.import'").fetchone()
    assert entry["target"] == "new.xlsx" and entry["after"]["closed_codes"] == [hospital_code(3)]
    # The same file again: nothing to add or change, the closed one is listed as closed.
    again = registry_import.preview(conn, write_registry(tmp_path / "again.xlsx", [hospital_row(3)]))
    assert again["added"] == again["changed"] == [] and [c["code"] for c in again["closed_listed"]] == [hospital_code(3)]


def test_a_refused_close_rolls_the_whole_import_back(conn, tmp_path, three):
    path = write_registry(tmp_path / "new.xlsx", [hospital_row(3, 编制床位=10), hospital_row(4)])
    seen = registry_import.preview(conn, path)
    # Hospital 1 filed 2026-09: closing it from 2026-09 is refused, so nothing of the file is applied.
    with pytest.raises(HemonError, match="已报送 2026-09"):
        registry_import.apply(conn, path, seen["digest"], [hospital_code(1)], "2026-09", "撤销", ADMIN, THRESHOLDS)
    assert changes.get(conn, hospital_code(4)) is None
    assert changes.get(conn, hospital_code(3))["beds"] == 300
    assert conn.execute("SELECT count(*) AS n FROM hospital_event WHERE kind = 'import'").fetchone()["n"] == 0


def test_a_bad_file_is_refused_as_load_hospitals_refuses_it(conn, tmp_path, three):
    path = write_registry(tmp_path / "bad.xlsx", [hospital_row(1), hospital_row(5, 纬度=99)])
    with pytest.raises(InputRejected) as exc:
        registry_import.preview(conn, path)
    assert exc.value.problems == [("第3行", "纬度“99”应为3～54之间的数字")]
