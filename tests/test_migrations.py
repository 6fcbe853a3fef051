"""Migrations are numbered without gaps and apply once."""
from app.db import MIGRATIONS_DIR, migration_files, upgrade
from etl.reference import province, registry
from etl.reference.regions import packaged_regions


def test_numbering_has_no_gaps():
    numbers = [n for n, _, _ in migration_files()]
    assert numbers == list(range(1, len(numbers) + 1)) and numbers


def test_upgrade_is_idempotent_and_recorded(app, conn):
    assert upgrade(conn) == []
    recorded = [r["version"] for r in conn.execute("SELECT version FROM schema_migration ORDER BY version")]
    assert recorded == [n for n, _, _ in migration_files()]


def test_db_upgrade_command(runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0 and "applied 0 migration" in result.output


def test_migration_0014_records_the_province_of_a_database_set_up_before(empty_db):
    sql = (MIGRATIONS_DIR / "0014_province.sql").read_text(encoding="utf-8")
    empty_db.execute(sql)
    assert province.current(empty_db) is None                        # no regions: no province
    registry.load_regions(empty_db, packaged_regions("510000"))       # as the demo loaded them before
    empty_db.execute(sql)
    assert province.current(empty_db) == {"code": "510000", "name": "四川省"}


def test_migration_0022_keeps_every_indicator_value_in_the_scorecards(blank_database_url, tmp_path):
    """Indicators stored one row each (before 0022) read the same through the view afterwards."""
    import shutil
    from decimal import Decimal

    import psycopg
    from psycopg.rows import dict_row
    before = tmp_path / "migrations"
    before.mkdir()
    for number, _, path in migration_files():
        if number < 22:
            shutil.copy(path, before / path.name)
    rows = [("H1", "2026-09", "cash_days", 7, Decimal("12.3456789012345678901234"), "yellow"),
            ("H1", "2026-09", "staff_cost_ratio", 7, None, "n/a"),
            ("H1", "2026-09", "revenue_growth", 7, Decimal("-0.05"), None),       # monitored: no colour
            ("H2", "2026-10", "cash_days", 9, Decimal("400"), "green")]
    with psycopg.connect(blank_database_url, autocommit=True, row_factory=dict_row) as db:
        upgrade(db, before)
        with db.cursor() as cur:
            cur.executemany("""INSERT INTO indicator_value (hospital_code, period, indicator, return_id, value, rating)
                               VALUES (%s, %s, %s, %s, %s, %s)""", rows)
        assert upgrade(db)[0] == "0022_scorecards"
        after = db.execute("""SELECT hospital_code, period, indicator, return_id, value, rating
                              FROM indicator_value ORDER BY hospital_code, indicator""").fetchall()
        assert sorted(tuple(r.values()) for r in after) == sorted(rows)
        assert db.execute("SELECT count(*) AS n FROM scorecard").fetchone()["n"] == 2
