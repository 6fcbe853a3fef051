"""A hospital closed in the registry drops out of the bulletin from its closing month (filing,
colours, appendix, the missing list) and stays in the months before."""
from etl.ratings.rescoring import rescore
from etl.reference import registry_changes
from etl.returns import intake
from reports.bulletin import content
from tests.factories import draft, hospital_code, write_draft


def test_closed_hospital_is_not_missing_in_the_bulletin(app, conn, tmp_path, load_period):
    load_period("2026-09")
    settings = intake.IntakeSettings.from_config(app.config)
    assert intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(1), "2026-10")), settings).status == "accepted"
    thresholds = app.config["RISK_THRESHOLDS_FILE"]
    rescore(conn, thresholds)
    before = content.compose(conn, "2026-10")
    assert (before["filing"]["hospitals"], before["filing"]["missing"], before["counts"]["missing"]) == (2, 1, 1)

    registry_changes.close(conn, hospital_code(2), "2026-10", "机构撤销", None, thresholds)

    after = content.compose(conn, "2026-10")
    assert (after["filing"]["hospitals"], after["filing"]["missing"], after["counts"]["missing"]) == (1, 0, 0)
    assert after["filing"]["filed"] == 1
    assert [r["code"] for r in after["appendix"]] == [hospital_code(1)]
    assert after["quality"]["missing"] == []
    assert [r["code"] for r in content.compose(conn, "2026-09")["appendix"]] == [hospital_code(1), hospital_code(2)]
