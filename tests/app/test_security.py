"""Sessions, redirects, passwords, keys, headers and output encoding, tried as an attacker would."""
from __future__ import annotations

import pytest

from app import create_app
from etl.common.errors import HemonError
from etl.reference import registry
from etl.reference.accounts import (
    create_user,
    disable_user,
    password_problem,
    set_password,
)
from tests.factories import hospital_code, hospital_row, write_registry

ADMIN = {"id": None, "username": "cli"}


@pytest.fixture()
def reviewer(conn):
    return create_user(conn, "rev", "password-123", "reviewer")


@pytest.mark.parametrize("target", ["/%09/evil.example", "//evil.example", "/\\evil.example", "http://evil.example",
                                    "/%0d%0a/evil.example", "javascript:alert(1)"])
def test_login_redirects_only_to_local_paths(client, auth, reviewer, target):
    csrf = auth.csrf()
    response = client.post(f"/auth/login?next={target}", data={"username": "rev", "password": "password-123",
                                                               "csrf_token": csrf})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_keeps_a_local_next(client, auth, reviewer):
    response = client.post("/auth/login?next=/returns/", data={"username": "rev", "password": "password-123",
                                                               "csrf_token": auth.csrf()})
    assert response.headers["Location"] == "/returns/"


def test_a_cookie_used_after_logout_is_refused(app, client, auth, reviewer):
    auth.login("rev")
    assert client.get("/").status_code == 200
    stolen = client.get_cookie("session").value
    auth.logout()
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    response = thief.get("/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_password_reset_or_disable_ends_every_session(app, conn, client, auth, reviewer):
    auth.login("rev")
    assert client.get("/").status_code == 200
    set_password(conn, reviewer, "another-pass-2026", ADMIN, "user.password_reset")
    assert client.get("/").status_code == 302
    auth.login("rev", "another-pass-2026")
    assert client.get("/").status_code == 200
    disable_user(conn, reviewer, ADMIN)
    assert client.get("/").status_code == 302
    auth.login("rev", "another-pass-2026")                 # a disabled account cannot log in
    assert client.get("/").status_code == 302


def test_own_password_change_keeps_this_session_and_ends_the_others(app, client, auth, reviewer):
    auth.login("rev")
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    response = client.post("/auth/password", data={"old_password": "password-123", "new_password": "new-pass-2026x",
                                                   "confirm": "new-pass-2026x", "csrf_token": auth.csrf("/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302


def test_an_idle_session_ends(app, client, auth, reviewer):
    auth.login("rev")
    with client.session_transaction() as s:
        s["seen"] -= app.config["IDLE_MINUTES"] * 60 + 5
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("password, ok", [("12345678", False), ("1234567890", False), ("password123", False),
                                          ("aaaaaaaaaaaa", False), ("rev", False), ("abcdefghijk", False),
                                          ("Sichuan-2026!", True), ("password-123", True)])
def test_password_policy(password, ok):
    assert (password_problem(password, "rev") is None) == ok
    assert password_problem("administrator", "administrator") is not None


def test_weak_passwords_are_refused_when_creating_and_changing(conn, reviewer):
    with pytest.raises(HemonError, match="至少 10 位"):
        create_user(conn, "h", "12345678", "reviewer")
    with pytest.raises(HemonError, match="常见"):
        set_password(conn, reviewer, "1234567890", ADMIN, "user.password_reset")
    with pytest.raises(HemonError, match="用户名"):
        create_user(conn, "longusername", "longusername", "reviewer")


@pytest.mark.parametrize("key", ["x", "dev", "short-key-of-20-chars", None])
def test_production_refuses_a_weak_secret_key(tmp_path, key):
    with pytest.raises(RuntimeError, match="HEMON_SECRET_KEY"):
        create_app({"INSTANCE_DIR": str(tmp_path), "SECRET_KEY": key, "DATABASE_URL": "postgresql://unused/x"},
                   env="production")


def test_authenticated_pages_are_not_cached(client, auth, reviewer):
    assert "no-store" not in client.get("/auth/login").headers.get("Cache-Control", "")
    auth.login("rev")
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in client.get("/").headers     # only in production (HTTPS)


SCRIPT_NAME = '<img src=x onerror="window.__pwned=1">=HYPERLINK("http://x")'


def test_a_script_bearing_hospital_name_stays_text_on_the_map(app, conn, tmp_path, live_server, page, reviewer):
    registry.load_hospitals(conn, write_registry(tmp_path / "r.xlsx", [hospital_row(1, 机构名称=SCRIPT_NAME)]))
    from etl.ratings import scoring
    conn.execute("INSERT INTO period (period, deadline) VALUES ('2026-10', '2026-11-10')")
    scoring.score(conn, app.config["RISK_THRESHOLDS_FILE"], ["2026-10"])
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=username]", "rev")
    page.fill("input[name=password]", "password-123")
    page.click("button[type=submit]")
    for path in ("/map/?period=2026-10", f"/hospitals/{hospital_code(1)}?period=2026-10", "/?period=2026-10"):
        page.goto(live_server + path)
        marker = page.locator(".hospital-marker")
        if marker.count():
            marker.first.hover()
            page.wait_for_timeout(300)
        assert page.evaluate("window.__pwned === undefined"), path
    assert SCRIPT_NAME in page.content() or "onerror" in page.content()


def test_pages_run_under_a_csp_without_inline_scripts(app, conn, tmp_path, live_server, page, reviewer):
    """The map (folium's generated script, with the nonce) and the period selects (site.js)
    work, and the browser reports no blocked script."""
    registry.load_hospitals(conn, write_registry(tmp_path / "r.xlsx", [hospital_row(1), hospital_row(2)]))
    from etl.ratings import scoring
    for period, deadline in (("2026-09", "2026-10-10"), ("2026-10", "2026-11-10")):
        conn.execute("INSERT INTO period (period, deadline) VALUES (%s, %s)", (period, deadline))
    scoring.score(conn, app.config["RISK_THRESHOLDS_FILE"], ["2026-09", "2026-10"])
    violations = []
    page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=username]", "rev")
    page.fill("input[name=password]", "password-123")
    page.click("button[type=submit]")
    response = page.goto(f"{live_server}/map/?period=2026-10")
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    page.wait_for_selector(".leaflet-container .hospital-marker", state="attached")
    assert page.locator(".hospital-marker").count() == 2
    with page.expect_navigation():
        page.select_option("select[name=period]", "2026-09")
    assert "period=2026-09" in page.url
    page.goto(f"{live_server}/periods/2026-10/submissions")
    with page.expect_navigation():
        page.select_option("select[data-goto]", "2026-09")
    assert page.url.endswith("/periods/2026-09/submissions")
    assert violations == []
