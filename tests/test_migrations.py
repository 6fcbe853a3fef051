"""Migrations are numbered without gaps and apply once."""
from app.db import migration_files, upgrade


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
