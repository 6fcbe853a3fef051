"""PostgreSQL for the app: the pool, the request connection and the embedded server.

Every connection is in autocommit mode with a statement timeout; code that writes opens
`with conn.transaction():` around exactly the work that must succeed or fail together.
Rows come back as dicts.
"""
from __future__ import annotations

import logging
import re
import warnings
from contextlib import contextmanager
from pathlib import Path

import psycopg
from flask import current_app, g
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

logger = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant: serialises concurrent `db upgrade` runs against one database.
MIGRATION_LOCK = 7_145_001


class Database:
    """One PostgreSQL: a server URL, or an embedded server started on first use."""

    def __init__(self, url: str | None, instance_dir: str, statement_timeout_ms: int = 60_000,
                 max_size: int = 8, timezone: str = "Asia/Shanghai"):
        self._url = url
        self.timezone = timezone
        self.instance_dir = Path(instance_dir)
        self.statement_timeout_ms = statement_timeout_ms
        self.max_size = max_size
        self._pool: ConnectionPool | None = None
        self._server = None

    @property
    def embedded(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        if self._url is None:
            self._url = self._start_embedded()
        return self._url

    def _start_embedded(self) -> str:
        pgdata = self.instance_dir / "pgdata"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        logger.info("starting embedded PostgreSQL in %s", pgdata)
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
            warnings.simplefilter("ignore", UserWarning)
            # Imported here: a deployment with DATABASE_URL never needs the embedded server.
            import pgserver
            self._server = pgserver.get_server(pgdata, cleanup_mode="stop")
        return self._server.get_uri()

    def connect(self) -> psycopg.Connection:
        """A new connection outside the pool (for CLI work that wants its own)."""
        return psycopg.connect(self.url, **self._connect_kwargs())

    def _connect_kwargs(self) -> dict:
        return {"autocommit": True, "row_factory": dict_row,
                "options": f"-c statement_timeout={int(self.statement_timeout_ms)} -c timezone={self.timezone}"}

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            self._pool = ConnectionPool(self.url, kwargs=self._connect_kwargs(), min_size=1,
                                        max_size=self.max_size, open=True, name="hemon")
        return self._pool

    @contextmanager
    def connection(self):
        with self.pool.connection() as conn:
            yield conn

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None


def init_app(app) -> None:
    url = app.config.get("DATABASE_URL") or None
    app.extensions["hemon_db"] = Database(
        url, app.instance_path, app.config["STATEMENT_TIMEOUT_MS"], app.config["POOL_MAX_SIZE"],
        app.config["TIMEZONE"])
    app.teardown_appcontext(_return_conn)


def get_db() -> Database:
    return current_app.extensions["hemon_db"]


def get_conn() -> psycopg.Connection:
    """The connection for this request or command, taken from the pool once."""
    if "conn" not in g:
        g.conn = get_db().pool.getconn()
    return g.conn


def _return_conn(_exc=None) -> None:
    conn = g.pop("conn", None)
    if conn is not None:
        get_db().pool.putconn(conn)


# --- migrations -------------------------------------------------------------------------

def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, str, Path]]:
    """The numbered migrations, in order; a gap or a duplicate number is an error."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = MIGRATION_NAME.match(path.name)
        if not m:
            raise ValueError(f"migration file name not of the form NNNN_name.sql: {path.name}")
        found.append((int(m.group(1)), m.group(2), path))
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"migrations must be numbered 1..N without gaps, found {numbers}")
    return found


def upgrade(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied."""
    applied = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("""CREATE TABLE IF NOT EXISTS schema_migration (
                            version integer PRIMARY KEY, name text NOT NULL,
                            applied_at timestamptz NOT NULL DEFAULT now())""")
        done = {r["version"] for r in conn.execute("SELECT version FROM schema_migration")}
        for number, name, path in migration_files(directory):
            if number in done:
                continue
            logger.info("applying migration %04d_%s", number, name)
            conn.execute(path.read_text(encoding="utf-8"))
            conn.execute("INSERT INTO schema_migration (version, name) VALUES (%s, %s)",
                         (number, name))
            applied.append(f"{number:04d}_{name}")
    return applied
