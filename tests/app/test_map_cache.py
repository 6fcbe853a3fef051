"""The map is built once per state of what it shows, and large pages travel compressed."""
from __future__ import annotations

import gzip

from app import maps
from etl.ratings import scoring
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


def _world(app, conn, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "r.xlsx", [hospital_row(1), hospital_row(2)]))
    conn.execute("INSERT INTO period (period, deadline) VALUES ('2026-10', '2026-11-10')")
    scoring.score(conn, app.config["RISK_THRESHOLDS_FILE"], ["2026-10"])
    create_user(conn, "rev", "password-123", "reviewer")


def test_the_map_is_reused_until_a_rating_changes(app, conn, client, auth, tmp_path):
    _world(app, conn, tmp_path)
    maps._built.clear()
    auth.login("rev")
    first = client.get("/map/?period=2026-10").get_data(as_text=True)
    assert len(maps._built) == 1
    built = next(iter(maps._built.values()))
    assert client.get("/map/?period=2026-10").get_data(as_text=True).count("rating-missing") == \
        first.count("rating-missing")
    assert len(maps._built) == 1 and next(iter(maps._built.values())) is built
    # A return arrives: its hospital's rating changes, so the map is built again and shows it.
    result = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(1))),
                                intake.IntakeSettings.from_config(app.config))
    assert result.status == "accepted"
    page = client.get("/map/?period=2026-10").get_data(as_text=True)
    assert len(maps._built) == 2
    assert '"green"' in page and page != first
    # So does a registry change (a hospital renamed).
    conn.execute("UPDATE hospital SET name = '更名后的医院' WHERE code = %s", (hospital_code(2),))
    assert "更名后的医院" in client.get("/map/?period=2026-10").get_data(as_text=True)
    assert len(maps._built) == 3


def test_large_pages_are_compressed(app, conn, client, auth, tmp_path):
    _world(app, conn, tmp_path)
    auth.login("rev")
    plain = client.get("/map/?period=2026-10")
    assert "Content-Encoding" not in plain.headers
    packed = client.get("/map/?period=2026-10", headers={"Accept-Encoding": "gzip, deflate"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert len(packed.data) < len(plain.data) / 3
    text = gzip.decompress(packed.data).decode()       # the same page (nonce and CSRF token differ)
    assert text.startswith("<!doctype html>") and text.endswith("</html>")
    assert abs(len(text.encode()) - len(plain.data)) < 100
