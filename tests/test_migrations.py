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
