"""Registry changes one hospital at a time: validated as the file is, recorded as events and in
the audit log; a closed hospital drops out of every completeness count from its closing month."""
import datetime as dt
from pathlib import Path

import pytest

from etl.common.errors import HemonError, InputRejected
from etl.filing import periods, reminders
from etl.ratings import overview
from etl.ratings.rescoring import rescore
from etl.reference import registry, registry_import, registry_search
from etl.reference import registry_changes as changes
from etl.reference.accounts import create_user
from etl.reference.scope import Scope
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)

THRESHOLDS = Path(__file__).resolve().parents[3] / "config" / "risk.yaml"
ADMIN = {"id": None, "username": "admin"}


@pytest.fixture()
def two_months(app, conn, tmp_path, load_period):
    """Hospitals 1 and 2 filed 2026-09; only hospital 1 filed 2026-10; everything rescored."""
    load_period("2026-09")
    settings = intake.IntakeSettings.from_config(app.config)
    result = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(1), "2026-10")), settings)
    assert result.status == "accepted", result.findings
    rescore(conn, THRESHOLDS)
    return settings


def _audit(conn, action):
    return conn.execute("SELECT before, after FROM audit_log WHERE action = %s ORDER BY id", (action,)).fetchall()


def test_add_refuses_what_the_file_refuses_with_the_same_words(conn, tmp_path, load_period):
    load_period("2026-09")
    bad = hospital_row(3, 经度="东经104", 等级="特级")
    with pytest.raises(InputRejected) as from_file:
        registry.load_hospitals(conn, write_registry(tmp_path / "bad.xlsx", [bad]))
    with pytest.raises(InputRejected) as from_form:
        changes.add(conn, {k: str(v) for k, v in bad.items()}, ADMIN)
    assert [m for _, m in from_form.value.problems] == [m for _, m in from_file.value.problems]
    assert {f for f, _ in from_form.value.problems} == {"等级", "经度"}
    assert changes.get(conn, hospital_code(3)) is None
    with pytest.raises(HemonError, match="已登记"):
        changes.add(conn, hospital_row(1), ADMIN)
    added = changes.add(conn, hospital_row(3, 机构名称="新院区"), ADMIN, "2026-10")
    assert added["opened_from"] == "2026-10"
    assert [e["kind"] for e in changes.history(conn, hospital_code(3))] == ["create"]
    assert _audit(conn, "registry.create")[0]["after"]["name"] == "新院区"


def test_edit_records_what_changed_from_what_to_what(conn, load_period):
    load_period("2026-09")
    code = hospital_code(1)
    before = changes.get(conn, code)
    with pytest.raises(InputRejected) as exc:
        changes.edit(conn, code, changes.as_row(before) | {"编制床位": "-5"}, ADMIN)
    assert exc.value.problems == [("编制床位", "编制床位“-5”应为非负整数")]
    assert changes.get(conn, code)["beds"] == before["beds"]
    done = changes.edit(conn, code, changes.as_row(before) | {"编制床位": "420", "经度": "103.7"}, ADMIN)
    assert done == {"longitude": ["103.760000", "103.700000"], "beds": [300, 420]}
    assert changes.edit(conn, code, changes.as_row(changes.get(conn, code)), ADMIN) == {}
    [event] = changes.history(conn, code)
    assert event["kind"] == "edit" and event["actor_name"] == "admin"
    assert {c["field"] for c in event["change_list"]} == {"经度", "编制床位"}
    [entry] = _audit(conn, "registry.edit")
    assert entry["before"] == {"longitude": "103.760000", "beds": 300}
    assert entry["after"] == {"longitude": "103.700000", "beds": 420}


def test_a_closed_hospital_is_not_expected_from_its_closing_month(conn, tmp_path, two_months):
    settings, h2 = two_months, hospital_code(2)
    assert periods.submissions(conn, "2026-10", Scope.province())["total"]["missing"] == 1
    assert {r["period"]: r["hospitals"] for r in periods.rated_periods(conn)} == {"2026-10": 2, "2026-09": 2}
    today = dt.date(2026, 11, 8)
    assert [d["code"] for d in reminders.due(conn, today, 3)] == [h2]
    assert [r["period"] for r in periods.hospital_filings(conn, h2, today)] == ["2026-10", "2026-09"]
    with pytest.raises(HemonError, match="已报送 2026-09"):
        changes.close(conn, h2, "2026-09", "撤销", ADMIN, THRESHOLDS)
    with pytest.raises(HemonError, match="原因"):
        changes.close(conn, h2, "2026-10", "", ADMIN, THRESHOLDS)

    changes.close(conn, h2, "2026-10", "机构撤销", ADMIN, THRESHOLDS, dt.date(2026, 10, 20))

    filing = periods.submissions(conn, "2026-10", Scope.province())
    assert [r["code"] for r in filing["rows"]] == [hospital_code(1)]
    assert filing["total"]["missing"] == 0
    assert filing["total"]["completeness"] == 1
    assert {r["period"]: r["hospitals"] for r in periods.rated_periods(conn)} == {"2026-10": 1, "2026-09": 2}
    assert periods.filing_share(conn, "2026-10")["share"] == 1
    assert reminders.due(conn, today, 3) == []
    assert periods.pending(conn, h2, today) is None
    assert [r["period"] for r in periods.hospital_filings(conn, h2, today)] == ["2026-09"]
    assert [r["code"] for r in overview.period_overview(conn, "2026-10", Scope.province())] == [hospital_code(1)]
    assert len(overview.export_rows(conn, "2026-10", Scope.province())) == 1
    # Its history stays: September is still rated and listed.
    assert len(overview.period_overview(conn, "2026-09", Scope.province())) == 2
    ratings = conn.execute("SELECT period, rating FROM rating WHERE hospital_code = %s ORDER BY period", (h2,)).fetchall()
    assert [r["period"] for r in ratings] == ["2026-09"]
    rescore(conn, THRESHOLDS)            # a later full rescore does not bring the missing month back
    assert conn.execute("SELECT count(*) AS n FROM rating WHERE hospital_code = %s AND period = '2026-10'",
                        (h2,)).fetchone()["n"] == 0
    # A return for a month it no longer files is refused with the reason.
    result = intake.ingest_file(conn, write_draft(tmp_path, draft(h2, "2026-10", "测试康宁医院2")), settings)
    assert result.status == "rejected" and "COVER_HOSPITAL_CLOSED" in {f.code for f in result.findings}
    [event] = [e for e in changes.history(conn, h2) if e["kind"] == "close"]
    assert event["period"] == "2026-10" and event["reason"] == "机构撤销"
    assert _audit(conn, "registry.close")[0]["after"]["closed_from"] == "2026-10"

    changes.reopen(conn, h2, "误关闭", ADMIN, THRESHOLDS)
    assert periods.submissions(conn, "2026-10", Scope.province())["total"]["missing"] == 1
    assert conn.execute("SELECT rating FROM rating WHERE hospital_code = %s AND period = '2026-10'",
                        (h2,)).fetchone()["rating"] == "missing"


def test_change_of_code_moves_accounts_and_keeps_the_old_codes_history(conn, two_months):
    old, new = hospital_code(2), hospital_code(9)
    create_user(conn, "h2", "password-123", "hospital", old)
    with pytest.raises(HemonError, match="已登记"):
        changes.change_code(conn, old, hospital_code(1), "2026-10", "重新登记", ADMIN, THRESHOLDS)
    changes.change_code(conn, old, new, "2026-10", "重新登记", ADMIN, THRESHOLDS)
    assert changes.get(conn, old)["successor_code"] == new and changes.get(conn, old)["closed_from"] == "2026-10"
    assert changes.get(conn, new)["opened_from"] == "2026-10"
    assert changes.get(conn, new)["name"] == changes.get(conn, old)["name"]
    assert conn.execute("SELECT hospital_code FROM app_user WHERE username = 'h2'").fetchone()["hospital_code"] == new
    rows = {r["code"]: r["filing"] for r in periods.submissions(conn, "2026-10", Scope.province())["rows"]}
    assert set(rows) == {hospital_code(1), new} and rows[new] == "missing"
    assert {r["code"] for r in periods.submissions(conn, "2026-09", Scope.province())["rows"]} == \
        {hospital_code(1), old}
    for code in (old, new):
        [e] = changes.history(conn, code)
        assert e["kind"] == "code_change" and e["changes"] == {"code": [old, new]}
    with pytest.raises(HemonError, match="不能恢复"):
        changes.reopen(conn, old, "恢复", ADMIN, THRESHOLDS)


def test_merger_closes_the_absorbed_one_with_its_successor(conn, two_months):
    absorbed, into = hospital_code(2), hospital_code(1)
    with pytest.raises(HemonError, match="自身"):
        changes.merge(conn, absorbed, absorbed, "2026-10", "合并", ADMIN, THRESHOLDS)
    with pytest.raises(HemonError, match="未登记"):
        changes.merge(conn, absorbed, hospital_code(8), "2026-10", "合并", ADMIN, THRESHOLDS)
    changes.merge(conn, absorbed, into, "2026-10", "医联体整合", ADMIN, THRESHOLDS)
    assert changes.get(conn, absorbed)["successor_code"] == into
    assert [e["kind"] for e in changes.history(conn, into)] == ["merge"]
    assert changes.history(conn, into)[0]["other_code"] == absorbed
    assert periods.submissions(conn, "2026-10", Scope.province())["total"]["hospitals"] == 1


def test_search_filters_pages_and_export_reloads(conn, tmp_path, two_months):
    changes.close(conn, hospital_code(2), "2026-10", "撤销", ADMIN, THRESHOLDS)
    search = registry_search.search
    assert search(conn, registry_search.Filters())["total"] == 1
    assert search(conn, registry_search.Filters(status="all"))["total"] == 2
    assert [r["code"] for r in search(conn, registry_search.Filters(status="closed"))["rows"]] == [hospital_code(2)]
    assert search(conn, registry_search.Filters(q="康宁医院1", status="all"))["total"] == 1
    assert search(conn, registry_search.Filters(q=hospital_code(2)[:10].lower(), status="all"))["total"] == 2
    assert search(conn, registry_search.Filters(q="%", status="all"))["total"] == 0
    assert search(conn, registry_search.Filters(prefecture="511100", status="all"))["total"] == 2
    assert search(conn, registry_search.Filters(prefecture="510100", status="all"))["total"] == 0
    assert search(conn, registry_search.Filters(level="三级甲等", status="all"))["total"] == 0
    paged = search(conn, registry_search.Filters(status="all"), page=2, size=1)
    assert paged["pages"] == 2 and [r["code"] for r in paged["rows"]] == [hospital_code(2)]
    rows = registry_search.matching(conn, registry_search.Filters(status="all"))
    path = registry_search.write_xlsx(rows, tmp_path / "export.xlsx")
    again = registry.read_registry(path)
    assert [{k: r[k] for k in changes.FIELDS.values()} for r in rows] == again


def _ratings(conn, code):
    return {r["period"]: r["rating"] for r in conn.execute(
        "SELECT period, rating FROM rating WHERE hospital_code = %s ORDER BY period", (code,))}


def test_a_hospital_registered_after_months_exist_is_rated_missing_at_once(conn, tmp_path, two_months):
    """By the form, the registry file (load-hospitals) and the web import alike: each new
    hospital is `missing` in the months it owes, without waiting for a province-wide rescore."""
    changes.add(conn, hospital_row(3), ADMIN, thresholds_file=THRESHOLDS)
    assert _ratings(conn, hospital_code(3)) == {"2026-09": "missing", "2026-10": "missing"}
    changes.add(conn, hospital_row(4, 机构名称="十月起报医院"), ADMIN, "2026-10", thresholds_file=THRESHOLDS)
    assert _ratings(conn, hospital_code(4)) == {"2026-10": "missing"}          # it owes October only
    rows = [hospital_row(n) for n in (1, 2, 3)] + [hospital_row(4, 机构名称="十月起报医院", 编制床位=480)]
    done = registry_import.load(conn, write_registry(tmp_path / "r.xlsx", rows + [hospital_row(5)]), THRESHOLDS)
    assert (done["rows"], done["added"], done["changed"]) == (5, 1, 1)
    assert _ratings(conn, hospital_code(5)) == {"2026-09": "missing", "2026-10": "missing"}
    assert _ratings(conn, hospital_code(1))["2026-10"] != "missing"            # the others as they were
    # load-hospitals keeps the registry's history as the web import does.
    assert [e["kind"] for e in changes.history(conn, hospital_code(5))] == ["import"]
    assert [e["kind"] for e in changes.history(conn, hospital_code(4))] == ["import", "create"]   # newest first
