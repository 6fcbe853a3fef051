"""A mapping version loaded while a hospital's upload is being taken in: the upload ends up
attributed under the new version, never left under the old one (rollup.ATTRIBUTION_LOCK)."""
import threading
import time

import psycopg
from psycopg.rows import dict_row

from etl.attribution import mapping
from etl.returns import intake
from tests.factories import draft, hospital_code, write_draft, write_mapping


def test_a_mapping_loaded_during_an_upload_reattributes_it(app, conn, tmp_path, load_period):
    load_period("2026-09")
    old = mapping.load_mapping(conn, write_mapping(tmp_path / "a.xlsx"), "旧口径", "2026-01")
    settings = intake.IntakeSettings.from_config(app.config)
    url = app.config["DATABASE_URL"]
    with psycopg.connect(url, row_factory=dict_row) as upload:      # not autocommit: stays open
        _race(conn, upload, url, old, settings, tmp_path)


def _race(conn, upload, url, old, settings, tmp_path):
    upload.execute("SELECT 1")
    result = intake.ingest_file(upload, write_draft(tmp_path, draft(hospital_code(1), "2026-10")), settings,
                                rescore=False)
    assert result.status == "accepted", result.findings
    # The upload is attributed (under the old version) and not yet committed.
    assert upload.execute("SELECT DISTINCT mapping_version_id AS v FROM attribution_total WHERE return_id = %s",
                          (result.return_id,)).fetchall() == [{"v": old}]
    loaded = {}

    def load_new_version():
        with psycopg.connect(url, autocommit=True, row_factory=dict_row) as own:
            loaded["id"] = mapping.load_mapping(own, write_mapping(tmp_path / "b.xlsx"), "新口径", "2026-10")

    loader = threading.Thread(target=load_new_version)
    loader.start()
    time.sleep(1.0)
    assert loader.is_alive()                  # the re-attribution waits for the upload in flight
    upload.commit()
    loader.join(timeout=60)
    assert not loader.is_alive() and loaded["id"] != old
    versions = conn.execute("SELECT DISTINCT mapping_version_id AS v FROM attribution_total WHERE return_id = %s",
                            (result.return_id,)).fetchall()
    assert versions == [{"v": loaded["id"]}]
