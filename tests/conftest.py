"""Fixtures: a real PostgreSQL (embedded, or DATABASE_URL's server), apps, connections; and the
fixtures several folders share (logins, live servers, a browser, a loopback SMTP server, small
provinces).

Each test module gets clean tables through `conn`; the demo province is built once per
session in its own database (`demo_app`). With DATABASE_URL set, the tests create and drop
their own databases on that server and never touch the one named in the URL. Test modules
never import this file: they ask for its fixtures by name.
"""
from __future__ import annotations

import email
import os
import socketserver
import threading
import uuid
from email.policy import default
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from app import create_app
from app.db import Database, get_conn, upgrade
from etl.attribution import mapping
from etl.reference import registry
from etl.reference.province import initialise as initialise_province
from etl.returns import intake
from tests.factories import (
    MAPPING_ROWS,
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_mapping,
    write_registry,
)


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


@pytest.fixture()
def blank_database_url(pg_server) -> str:
    """The URL of a new, empty database: no schema at all, as an operator's first command finds it."""
    return _new_database(pg_server, "blank")


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


def _empty(c) -> None:
    tables = [r["tablename"] for r in c.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migration'")]
    c.execute("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")


@pytest.fixture()
def conn(app):
    """A connection to the test database with every data table emptied first, then set up
    for Sichuan (init-province 510000), whose counties tests.factories' rows use."""
    with app.extensions["hemon_db"].connection() as c:
        _empty(c)
        initialise_province(c, "510000")
        c.execute("TRUNCATE audit_log RESTART IDENTITY")   # tests read the log their own actions wrote
        yield c


@pytest.fixture()
def empty_db(conn):
    """`conn`'s database emptied again, province included: a deployment before init-province."""
    _empty(conn)
    return conn


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
        # Redirects followed: a user who must change their password is sent to that page.
        page = self.client.get(path, follow_redirects=True).get_data(as_text=True)
        return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    def login(self, username: str, password: str = "password-123"):
        return self.client.post("/auth/login", data={"username": username, "password": password,
                                                     "csrf_token": self.csrf()})

    def logout(self):
        return self.client.post("/auth/logout", data={"csrf_token": self.csrf("/")})


@pytest.fixture()
def auth(client):
    return AuthActions(client)


@pytest.fixture()
def auth_for():
    """AuthActions for any other test client, e.g. one of `demo_app`: auth_for(client).login(...)."""
    return AuthActions


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _serve(app):
    """Serve `app` on a free loopback port in a thread; return (base URL, server)."""
    from werkzeug.serving import make_server
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def _fontconfig_with_the_cjk_font(folder: Path) -> dict:
    """An environment whose fontconfig adds the project's packaged CJK font (reports/fonts.py) to
    the system's, so screenshots show Chinese on a machine without CJK fonts, as CI is."""
    from reports.fonts import FONT_PATH
    conf = folder / "fonts.conf"
    conf.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><include ignore_missing="yes">/etc/fonts/fonts.conf</include>
<dir>{FONT_PATH.parent}</dir><cachedir>{folder / "cache"}</cachedir></fontconfig>
""", encoding="utf-8")
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """Debian's chromium driven by Playwright; skipped where absent, but never under CI."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing under CI: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
                              env=_fontconfig_with_the_cjk_font(tmp_path_factory.mktemp("fonts")))
        yield b
        b.close()


@pytest.fixture()
def live_server(app, conn):
    base, server = _serve(app)
    yield base
    server.shutdown()


@pytest.fixture()
def demo_live_server(demo_app):
    """The base URL of `demo_app` served on loopback for this test."""
    base, server = _serve(demo_app)
    yield base
    server.shutdown()


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone(browser):
    """A page the size of a phone (390 × 844, touch, device scale 3), as leaders read on."""
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                  device_scale_factor=3, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


SCREENSHOTS = Path(os.environ.get("HEMON_SCREENSHOTS", Path(__file__).resolve().parent.parent / "screenshots"))


@pytest.fixture
def screenshot(request):
    """Save a full-page screenshot for the reader of a flow: screenshot(page, "step") writes
    screenshots/<test name>-<step>.png (HEMON_SCREENSHOTS to put them elsewhere; not in git)."""
    def take(page, step: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{request.node.name}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path
    return take


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to receive a message (EHLO, MAIL, RCPT, DATA, QUIT)."""

    def handle(self):
        self.wfile.write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 test\r\n")
            elif verb == b"DATA":
                self.wfile.write(b"354 go\r\n")
                body = b""
                while (chunk := self.rfile.readline()) != b".\r\n":
                    body += chunk
                self.server.messages.append(email.message_from_bytes(body, policy=default))
                self.wfile.write(b"250 ok\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


@pytest.fixture()
def smtp_server():
    """A loopback SMTP server; what it received is in `.messages`, its port in `.server_address[1]`."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.messages = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture()
def load_period(app, conn, tmp_path):
    """load_period(period="2026-10"): the regions, two hospitals, both returns for `period` (scored)."""
    from etl.demo.province import load_regions

    def load(period: str = "2026-10") -> None:
        registry.load_regions(conn, load_regions())
        registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
        settings = intake.IntakeSettings.from_config(app.config)
        for n, surplus in ((1, 150_000), (2, -400_000)):
            result = intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(n), period, surplus=surplus)),
                                        settings)
            assert result.status == "accepted", result.findings
    return load


@pytest.fixture()
def two_versions(conn, app, tmp_path):
    """Two hospitals' returns (2025-11, 2025-12) under mapping A, and a mapping B that moves them."""
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1), hospital_row(2)]))
    mapping.load_mapping(conn, write_mapping(tmp_path / "a.xlsx"), "A", "2024-01")
    # B: 血常规 化验 → 治疗 (becomes service revenue); 全身麻醉 dropped (becomes 未归集).
    rows = [r if r[0] != "250101001" else (r[0], r[1], r[2], "治疗费", "治疗", "一般治疗操作费")
            for r in MAPPING_ROWS if r[0] != "330100001"]
    mapping.load_mapping(conn, write_mapping(tmp_path / "b.xlsx", rows), "B", "2099-01")
    settings = intake.IntakeSettings.from_config(app.config)
    for n, periods in ((1, ("2025-11", "2025-12")), (2, ("2025-12",))):
        for p in periods:
            assert intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(n), p)), settings).status == "accepted"


# Two prefectures of the demo province's 21 have hospitals: 乐山市 (511102) and 成都市 (510104).
SPARSE_COUNTIES = ("511102", "510104")


def _all_digit_code(county: str) -> str:
    """A valid credit code of only digits: the kind spreadsheets turn into 1.25101E+17."""
    from etl.common.codes import with_check_char
    return next(c for n in range(1, 200) if (c := with_check_char(f"12{county}{n:09d}")).isdigit())


@pytest.fixture()
def sparse_province(app, conn, tmp_path):
    """The demo province's regions with three hospitals in 2 of its 21 prefectures, one with an
    all-digit code; every return for 2026-10 accepted and scored. Returns the hospital rows."""
    from etl.demo.province import load_regions
    registry.load_regions(conn, load_regions())
    rows = [hospital_row(1, SPARSE_COUNTIES[0]), hospital_row(2, SPARSE_COUNTIES[0]),
            hospital_row(3, SPARSE_COUNTIES[1], 机构代码=_all_digit_code(SPARSE_COUNTIES[1]), 机构名称="成都锦江测试医院",
                         经度=104.08, 纬度=30.65)]
    registry.load_hospitals(conn, write_registry(tmp_path / "sparse.xlsx", rows))
    settings = intake.IntakeSettings.from_config(app.config)
    for row, surplus in zip(rows, (150_000, -400_000, 90_000)):
        d = draft(row["机构代码"], "2026-10", row["机构名称"], surplus=surplus)
        result = intake.ingest_file(conn, write_draft(tmp_path, d), settings)
        assert result.status == "accepted", result.findings
    return rows


@pytest.fixture()
def libreoffice(tmp_path):
    """convert(path, target) -> the converted file: Debian's LibreOffice, headless, with its own
    profile per test and fontconfig limited to DejaVu, so no CJK system font can stand in for
    a font a document failed to name or embed."""
    import shutil
    import subprocess
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui libreoffice-calc-nogui"
    fonts = tmp_path / "fontconfig"
    fonts.mkdir()
    (fonts / "fonts.conf").write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        "<dir>/usr/share/fonts/truetype/dejavu</dir>"
        f"<cachedir>{fonts / 'cache'}</cachedir></fontconfig>")
    env = dict(os.environ, FONTCONFIG_FILE=str(fonts / "fonts.conf"), HOME=str(tmp_path))
    profile = (tmp_path / "lo-profile").as_uri()

    def convert(path: Path, target: str, infilter: str | None = None) -> Path:
        out = tmp_path / "lo-out"
        command = [soffice, f"-env:UserInstallation={profile}", "--headless", "--norestore"]
        if infilter:
            command.append(f"--infilter={infilter}")
        command += ["--convert-to", target, "--outdir", str(out), str(path)]
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=180)
        converted = out / f"{Path(path).stem}.{target.split(':')[0]}"
        assert converted.exists(), f"LibreOffice wrote no {converted.name}"
        return converted

    convert.env = env
    return convert


# Draft options that rate a domain red (config/risk.yaml): a loss of about 11% of revenue,
# an overdue debt, wage arrears (owed since two months earlier unless arrears_since says).
RED = {"deficit": {"surplus": -2_000_000}, "debt": {"overdue": 500_000}, "wages": {"arrears": 1_000_000}}


@pytest.fixture()
def upload_return(app, conn, tmp_path):
    """upload_return(n, period="2026-10", *red_domains, **draft options): hospital n's return
    taken in like a web upload (its hospital rescored, cases opened). Regions and hospitals
    1–3 are registered on first use."""
    from etl.common.codes import shift_period
    from etl.demo.province import load_regions
    settings = intake.IntakeSettings.from_config(app.config)
    loaded = []

    def upload(n: int, period: str = "2026-10", *red: str, **options):
        if not loaded:
            registry.load_regions(conn, load_regions())
            registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(i) for i in (1, 2, 3)]))
            loaded.append(True)
        for domain in red:
            options = RED[domain] | options
        if options.get("arrears") and not options.get("arrears_since"):
            options["arrears_since"] = shift_period(period, -2)
        d = draft(hospital_code(n), period, name=f"测试康宁医院{n}", **options)
        result = intake.ingest_file(conn, write_draft(tmp_path, d, f"{n}-{period}-{uuid.uuid4().hex[:6]}.xlsx"),
                                    settings)
        assert result.status == "accepted", result.findings
        return result
    return upload
