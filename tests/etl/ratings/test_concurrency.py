"""Scoring under concurrency: uploads, reviews, threshold saves and province-wide rescores at
once, against the real PostgreSQL, end where one clean rescore would; one hospital's rescore
leaves every other hospital's rows as they were."""
import threading

import pytest

from etl.common.errors import HemonError
from etl.filing import review
from etl.ratings import scoring
from etl.ratings.rescoring import rescore
from etl.reference import registry
from etl.reference.accounts import create_user
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)

PERIODS = ("2026-07", "2026-08", "2026-09", "2026-10")
HOSPITALS = range(1, 7)


def _surplus(n: int, period: str, version: int) -> int:
    """Losses for some hospitals in some months, so deficit runs chain across periods."""
    month = int(period[5:7])
    return -120_000 * version if (n + month) % 3 else 150_000


@pytest.fixture()
def province(conn, app, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(n) for n in HOSPITALS]))
    reviewer_id = create_user(conn, "reviewer", "password-123", "reviewer")
    files = {}
    for n in HOSPITALS:
        for period in PERIODS:
            for version in (1, 2):
                d = draft(hospital_code(n), period, surplus=_surplus(n, period, version))
                files[n, period, version] = write_draft(tmp_path, d, f"{n}-{period}-v{version}.xlsx")
    return {"settings": intake.IntakeSettings.from_config(app.config), "files": files,
            "reviewer": {"id": reviewer_id, "username": "reviewer", "role": "reviewer"}}


def _state(conn) -> tuple[list, list]:
    ratings = conn.execute(
        """SELECT hospital_code, period, return_id, rating, deficit, debt, wages, provisional,
                  threshold_version_id FROM rating ORDER BY hospital_code, period""").fetchall()
    values = conn.execute(
        """SELECT hospital_code, period, indicator, return_id, value, rating FROM indicator_value
           ORDER BY hospital_code, period, indicator""").fetchall()
    return ratings, values


def test_uploads_reviews_thresholds_and_score_at_once_end_as_one_clean_rescore(app, conn, province):
    db, settings = app.extensions["hemon_db"], province["settings"]
    errors, uploading = [], threading.Event()
    uploading.set()

    def worker(job):
        def run():
            try:
                with db.connect() as own:
                    job(own)
            except Exception as exc:   # noqa: BLE001 — every failure is the test's finding
                errors.append(f"{job.__name__}: {type(exc).__name__}: {exc}")
        return threading.Thread(target=run)

    def uploads_of(n):
        def upload(own):
            for period in PERIODS:
                for version in (1, 2) if period == "2026-09" else (1,):
                    result = intake.ingest_file(own, province["files"][n, period, version], settings)
                    if version == 2 and result.status == "rejected":
                        # The reviewer accepted version 1 first: accepted means locked, and the
                        # second version is refused for that reason alone.
                        assert [f.code for f in result.findings if f.severity == "error"] == ["RETURN_LOCKED"]
                        continue
                    assert result.status == "accepted", result.findings
        upload.__name__ = f"upload {n}"
        return upload

    def reviews(own):
        decided = 0
        while uploading.is_set() or decided == 0:
            for row in own.execute("SELECT id FROM return WHERE is_current AND status = 'submitted' ORDER BY id"):
                try:
                    if row["id"] % 2:
                        review.accept(own, row["id"], province["reviewer"], settings.thresholds_file)
                    else:
                        review.return_for_revision(own, row["id"], province["reviewer"], "数据需要核对",
                                                   settings.thresholds_file)
                    decided += 1
                except HemonError:
                    pass       # replaced by a newer version meanwhile: the refusal the UI shows

    def province_rescores(own):
        while uploading.is_set():
            rescore(own, settings.thresholds_file)

    def threshold_save(own):
        body = scoring.active_thresholds(own, settings.thresholds_file)["body"]
        body["indicators"]["surplus_rate_month"]["yellow"] = ["<", "0.01"]
        scoring.save_thresholds(own, body, None, "concurrency test")
        rescore(own, settings.thresholds_file)

    uploaders = [worker(uploads_of(n)) for n in HOSPITALS]
    others = [worker(reviews), worker(province_rescores), worker(threshold_save)]
    for t in uploaders + others:
        t.start()
    for t in uploaders:
        t.join(timeout=300)
    uploading.clear()
    for t in others:
        t.join(timeout=300)

    assert errors == []
    assert conn.execute("SELECT count(*) AS n FROM return WHERE is_current").fetchone()["n"] == 24
    assert conn.execute("SELECT count(*) AS n FROM return WHERE status <> 'submitted'").fetchone()["n"] > 0
    after_the_rush = _state(conn)
    assert len(after_the_rush[0]) == len(HOSPITALS) * len(PERIODS)
    rescore(conn, settings.thresholds_file)
    assert after_the_rush == _state(conn)


def _xmins(conn) -> dict:
    return {(r["t"], r["hospital_code"], r["period"]): r["xmin"] for r in conn.execute(
        """SELECT 'rating' AS t, hospital_code, period, xmin::text FROM rating
           UNION ALL SELECT 'scorecard', hospital_code, period, xmin::text FROM scorecard""")}


def _stale(conn, hospital: str | None = None) -> None:
    """Make stored results wrong (every value NULL, provisional flipped): scoring writes only
    rows whose result changed, so a rescore that reaches a row must rewrite it."""
    params = {"h": hospital}
    conn.execute("""UPDATE scorecard SET value = array_fill(NULL::numeric, ARRAY[cardinality(value)])
                    WHERE %(h)s::text IS NULL OR hospital_code = %(h)s""", params)
    conn.execute("UPDATE rating SET provisional = NOT provisional WHERE %(h)s::text IS NULL OR hospital_code = %(h)s",
                 params)


def test_one_hospitals_rescore_leaves_every_other_hospitals_rows_untouched(conn, province):
    settings = province["settings"]
    for n in (1, 2, 3):
        for period in PERIODS:
            assert intake.ingest_file(conn, province["files"][n, period, 1], settings).status == "accepted"
    _stale(conn)
    before = _xmins(conn)
    done = rescore(conn, settings.thresholds_file, from_period="2026-09", hospital=hospital_code(2))
    assert done.periods == ("2026-09", "2026-10") and sum(done.counts.values()) == 2
    after = _xmins(conn)
    assert set(after) == set(before)
    changed = {key for key in before if before[key] != after[key]}
    assert changed == {(t, hospital_code(2), p) for t in ("rating", "scorecard") for p in ("2026-09", "2026-10")}


def test_a_rescore_that_changes_nothing_writes_nothing(conn, province):
    settings = province["settings"]
    for n in (1, 2):
        for period in PERIODS:
            assert intake.ingest_file(conn, province["files"][n, period, 1], settings).status == "accepted"
    before, state = _xmins(conn), _state(conn)
    rescore(conn, settings.thresholds_file)
    assert _xmins(conn) == before and _state(conn) == state


def test_an_upload_rescores_its_hospital_from_its_period_and_chains_the_deficit_run(conn, province):
    settings = province["settings"]
    for n in (1, 2):
        for period in PERIODS:
            assert intake.ingest_file(conn, province["files"][n, period, 1], settings).status == "accepted"
    _stale(conn, hospital_code(2))
    before = _xmins(conn)
    # A second version (a bigger loss) of 2026-08 for hospital 2: its 08, 09, 10 are rescored, nothing else.
    second = intake.ingest_file(conn, province["files"][2, "2026-08", 2], settings)
    assert second.status == "accepted" and second.version == 2
    changed = {(key[1], key[2]) for key, xmin in _xmins(conn).items() if before.get(key) != xmin}
    assert changed == {(hospital_code(2), p) for p in ("2026-08", "2026-09", "2026-10")}

    def rescored(state):       # all but hospital 2's 2026-07, left stale (the upload did not reach it)
        return [[r for r in rows if (r["hospital_code"], r["period"]) != (hospital_code(2), "2026-07")]
                for rows in state]
    incremental = rescored(_state(conn))
    rescore(conn, settings.thresholds_file)
    assert incremental == rescored(_state(conn))


def test_an_upload_opening_a_month_rates_every_other_hospital_missing_in_it(conn, province):
    settings = province["settings"]
    assert intake.ingest_file(conn, province["files"][1, "2026-07", 1], settings).status == "accepted"
    rows = conn.execute("SELECT hospital_code, rating FROM rating WHERE period = '2026-07'").fetchall()
    assert {r["hospital_code"]: r["rating"] for r in rows if r["rating"] == "missing"} == \
        {hospital_code(n): "missing" for n in HOSPITALS if n != 1}


def test_a_changed_scorecard_rewrites_its_rating_too(conn, province):
    """Pages cached on the ratings' computed_at (the map, the backtest) must see a scorecard
    whose values changed though its colours did not."""
    settings = province["settings"]
    for n in (1, 2):
        for period in PERIODS:
            assert intake.ingest_file(conn, province["files"][n, period, 1], settings).status == "accepted"
    conn.execute("""UPDATE scorecard SET value = array_fill(NULL::numeric, ARRAY[cardinality(value)])
                    WHERE hospital_code = %s AND period = '2026-09'""", (hospital_code(2),))
    before = _xmins(conn)
    rescore(conn, settings.thresholds_file)
    changed = {key for key, xmin in _xmins(conn).items() if before[key] != xmin}
    assert changed == {("rating", hospital_code(2), "2026-09"), ("scorecard", hospital_code(2), "2026-09")}
