"""Fixtures: a real PostgreSQL (embedded, or DATABASE_URL's server), apps, connections.

Each test module gets clean tables through `conn`; the demo province is built once per
session in its own database (`demo_app`). With DATABASE_URL set, the tests create and drop
their own databases on that server and never touch the one named in the URL.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from app import create_app
from app.db import Database, get_conn, upgrade

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """(admin URL, databases created) for the session's PostgreSQL server."""
    url = os.environ.get("DATABASE_URL")
    embedded = None
    if not url:
        embedded = Database(None, str(tmp_path_factory.mktemp("pg")))
        url = embedded.url
    created: list[str] = []
    yield url, created
    with psycopg.connect(url, autocommit=True) as admin:
        for name in created:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _new_database(pg_server, label: str) -> str:
    url, created = pg_server
    name = f"hemon_test_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    created.append(name)
    return make_conninfo(url, dbname=name)


def _make_app(pg_server, tmp_path_factory, label: str):
    app = create_app({"INSTANCE_DIR": str(tmp_path_factory.mktemp(f"instance_{label}")),
                      "DATABASE_URL": _new_database(pg_server, label), "SECRET_KEY": "test-" + label},
                     env="testing")
    with app.app_context():
        upgrade(get_conn())
    return app


@pytest.fixture(scope="session")
def app(pg_server, tmp_path_factory):
    app = _make_app(pg_server, tmp_path_factory, "main")
    yield app
    app.extensions["hemon_db"].close()


@pytest.fixture()
def conn(app):
    """A connection to the test database with every data table emptied first."""
    with app.extensions["hemon_db"].connection() as c:
        tables = [r["tablename"] for r in c.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migration'")]
        c.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        yield c


@pytest.fixture()
def client(app, conn):
    return app.test_client()


@pytest.fixture()
def runner(app, conn):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def demo_app(pg_server, tmp_path_factory):
    """An app whose database holds the whole demo province, built once."""
    from etl.demo import build
    from etl.returns import intake
    app = _make_app(pg_server, tmp_path_factory, "demo")
    with app.app_context():
        build.build_demo(get_conn(), Path(app.instance_path) / "demo",
                        intake.IntakeSettings.from_config(app.config))
    yield app
    app.extensions["hemon_db"].close()


class AuthActions:
    """Log a test client in and out through the real login form (with its CSRF token)."""

    def __init__(self, client):
        self.client = client

    def csrf(self, path: str = "/auth/login") -> str:
        import re
        page = self.client.get(path).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def login(self, username: str, password: str = "password-123"):
        return self.client.post("/auth/login", data={"username": username, "password": password,
                                                     "csrf_token": self.csrf()})

    def logout(self):
        return self.client.post("/auth/logout", data={"csrf_token": self.csrf("/")})


@pytest.fixture()
def auth(client):
    return AuthActions(client)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _serve(app):
    """Serve `app` on a free loopback port in a thread; return (base URL, server)."""
    import threading

    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium driven by Playwright; skipped where absent, but never under CI."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture()
def live_server(app, conn):
    base, server = _serve(app)
    yield base
    server.shutdown()


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()
