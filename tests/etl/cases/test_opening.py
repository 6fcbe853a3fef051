"""Scoring opens one case per red hospital and domain, none for green or yellow; rescoring
opens nothing new; a later red month joins the open case; after 销号 a new red month opens
a new case."""
from pathlib import Path

from etl.cases import lifecycle, listing
from etl.ratings.rescoring import rescore
from etl.reference.accounts import create_user, get_user
from etl.reference.scope import Scope
from tests.factories import hospital_code

PROVINCE = Scope.province()


def _cases(conn):
    return sorted((r["hospital_code"], r["domain"], r["opened_period"], r["status"])
                  for r in conn.execute("SELECT * FROM risk_case"))


def test_scoring_opens_a_case_per_red_domain_and_none_for_green(app, conn, upload_return):
    upload_return(1, surplus=-400_000)                 # deficit yellow, the rest green
    upload_return(2, "2026-10", "debt")
    upload_return(3, "2026-10", "deficit", "wages")
    colours = {(r["hospital_code"], d): r[d] for r in conn.execute("SELECT * FROM rating WHERE period = '2026-10'")
               for d in ("deficit", "debt", "wages")}
    reds = sorted((h, d) for (h, d), c in colours.items() if c == "red")
    assert colours[(hospital_code(1), "deficit")] == "yellow"
    assert reds == sorted([(hospital_code(2), "debt"), (hospital_code(3), "deficit"), (hospital_code(3), "wages")])
    assert _cases(conn) == sorted((h, d, "2026-10", "awaiting_plan") for h, d in reds)
    case = conn.execute("SELECT * FROM risk_case WHERE domain = 'debt'").fetchone()
    # Pre-filled with the explanation the hospital page shows, and the cells behind it.
    assert case["drivers"][0]["text"].startswith("逾期债务金额 50.00万元（红色阈值 >0")
    assert case["drivers"][0]["extra"] == ["表4", "逾期金额"]
    deficit = conn.execute("SELECT drivers FROM risk_case WHERE domain = 'deficit'").fetchone()["drivers"]
    assert any(c["cell"] and c["code"] == "S300" for d in deficit for c in d["cells"])
    audit = conn.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'case.open'").fetchone()["n"]
    assert audit == 3


def test_rescoring_twice_opens_nothing_new(app, conn, upload_return):
    upload_return(2, "2026-10", "debt")
    upload_return(3, "2026-10", "wages")
    before = _cases(conn)
    thresholds = Path(app.config["RISK_THRESHOLDS_FILE"])
    rescore(conn, thresholds)
    rescore(conn, thresholds, hospital=hospital_code(2))
    rescore(conn, thresholds)
    assert _cases(conn) == before and len(before) == 2


def test_a_later_red_month_joins_the_open_case(app, conn, upload_return):
    upload_return(2, "2026-09", "debt")
    upload_return(2, "2026-10", "debt")
    upload_return(2, "2026-11", "debt")
    assert _cases(conn) == [(hospital_code(2), "debt", "2026-09", "awaiting_plan")]


def test_after_closing_a_new_red_month_opens_a_new_case(app, conn, upload_return):
    reviewer = get_user(conn, create_user(conn, "rev", "password-123", "reviewer"))
    upload_return(2, "2026-06", "debt")
    case_id = conn.execute("SELECT id FROM risk_case").fetchone()["id"]
    conn.execute("UPDATE risk_case SET status = 'in_progress', accepted_at = now() WHERE id = %s", (case_id,))
    for period in ("2026-07", "2026-08"):
        upload_return(2, period)
    assert listing.case(conn, case_id, PROVINCE)["state"] == "in_progress"
    upload_return(2, "2026-09")
    assert listing.case(conn, case_id, PROVINCE)["state"] == "closable"
    lifecycle.close(conn, case_id, reviewer, PROVINCE, "整改到位")
    assert listing.case(conn, case_id, PROVINCE)["closed_period"] == "2026-09"
    rescore(conn, Path(app.config["RISK_THRESHOLDS_FILE"]))     # the old red month stays covered
    assert len(_cases(conn)) == 1
    upload_return(2, "2026-10", "debt")
    assert _cases(conn)[-1] == (hospital_code(2), "debt", "2026-10", "awaiting_plan") and len(_cases(conn)) == 2


def test_rescores_at_once_open_each_case_once(app, conn, upload_return):
    """Hospital and province rescores racing (as uploads and a threshold save do) open one
    case per red domain: the scoring locks serialise them, the open-case index backs them up."""
    import threading
    for n, red in ((1, ()), (2, ("debt",)), (3, ("deficit", "wages"))):
        upload_return(n, "2026-10", *red)
    conn.execute("DELETE FROM risk_case")
    db, thresholds, errors = app.extensions["hemon_db"], Path(app.config["RISK_THRESHOLDS_FILE"]), []

    def run(hospital):
        try:
            with db.connect() as own:
                for _ in range(3):
                    rescore(own, thresholds, hospital=hospital)
        except Exception as exc:     # noqa: BLE001 — every failure is the test's finding
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=run, args=(h,)) for h in
               (None, hospital_code(2), hospital_code(3), hospital_code(3), None)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert [(h, d) for h, d, _, _ in _cases(conn)] == sorted(
        [(hospital_code(2), "debt"), (hospital_code(3), "deficit"), (hospital_code(3), "wages")])
