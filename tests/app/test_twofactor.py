"""TOTP two-factor login: required in production for admin and reviewer, enrolment with a QR
code, codes checked with a ±1 step window and never twice, recovery codes once, admin reset."""
from __future__ import annotations

import re
import secrets
import time

import pyotp
import pytest

from app import create_app
from app.auth import totp_roles
from etl.reference import registry
from etl.reference.accounts import create_user
from tests.factories import hospital_code, hospital_row, write_registry


@pytest.fixture()
def prod(app, conn, tmp_path):
    """The production configuration (strong key) on the test database."""
    production = create_app({"INSTANCE_DIR": str(tmp_path), "SECRET_KEY": secrets.token_hex(32),
                             "DATABASE_URL": app.config["DATABASE_URL"]}, env="production")
    yield production
    production.extensions["hemon_db"].close()


@pytest.fixture()
def people(conn, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1)]))
    create_user(conn, "admin", "password-123", "admin")
    create_user(conn, "rev", "password-123", "reviewer")
    create_user(conn, "h1", "password-123", "hospital", hospital_code(1))


def https_client(application):
    client = application.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"        # production cookies are Secure
    return client


def actions(conn):
    return [r["action"] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]


def code_at(secret, offset_steps=0):
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def post(client, auth, path, form_page=None, **data):
    return client.post(path, data={**data, "csrf_token": auth.csrf(form_page or path)})


def enrol(client, auth, username):
    """Log in with the password, enrol, and return (secret, recovery codes)."""
    response = auth.login(username)
    assert response.headers["Location"] == "/auth/2fa/"
    assert client.get("/auth/2fa/").headers["Location"] == "/auth/2fa/enrol"
    page = client.get("/auth/2fa/enrol").get_data(as_text=True)
    secret = re.search(r"data-secret>([A-Z2-7]+)<", page).group(1)
    assert "<svg" in page and "设置两步验证" in page
    wrong = post(client, auth, "/auth/2fa/enrol", code="000000" if code_at(secret) != "000000" else "111111")
    assert "验证码不正确" in wrong.get_data(as_text=True)
    done = post(client, auth, "/auth/2fa/enrol", code=code_at(secret)).get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z2-9-]+)</code></li>", done)
    assert "只显示这一次" in done and len(codes) == 10
    return secret, codes


def test_production_requires_totp_for_admin_and_reviewer(prod, conn, people, auth_for):
    assert prod.config["TOTP_ROLES"] == ("admin", "reviewer")
    client = https_client(prod)
    auth = auth_for(client)
    secret, codes = enrol(client, auth, "rev")
    assert client.get("/").status_code == 200                 # enrolment completed the login
    assert {"user.totp_enable", "login.success"} <= set(actions(conn))
    stored = conn.execute("SELECT totp_secret, (SELECT count(*) FROM recovery_code) AS n FROM app_user"
                          " WHERE username = 'rev'").fetchone()
    assert stored["totp_secret"] == secret and stored["n"] == 10
    assert not conn.execute("SELECT 1 FROM recovery_code WHERE code_hash = ANY(%s)", (codes,)).fetchone()
    auth.logout()

    # Next login: the password alone opens nothing.
    assert auth.login("rev").headers["Location"] == "/auth/2fa/"
    assert "/auth/login" in client.get("/").headers["Location"]
    assert "请输入手机验证器" in client.get("/auth/2fa/").get_data(as_text=True)
    assert "验证码不正确" in post(client, auth, "/auth/2fa/", code="12345").get_data(as_text=True)
    assert client.get("/").status_code == 302
    code = code_at(secret, 1)                                 # the next step: inside the ±1 window
    response = post(client, auth, "/auth/2fa/", code=code)
    assert response.status_code == 302 and client.get("/").status_code == 200
    auth.logout()

    # The same code again is a replay, refused.
    auth.login("rev")
    assert "已使用过" in post(client, auth, "/auth/2fa/", code=code).get_data(as_text=True)
    assert client.get("/").status_code == 302
    # A code from three steps away is outside the window.
    assert "验证码不正确" in post(client, auth, "/auth/2fa/", code=code_at(secret, -3)).get_data(as_text=True)

    # A recovery code logs in once.
    response = post(client, auth, "/auth/2fa/", code=codes[0].upper())
    assert response.status_code == 302
    assert "还剩 9 个" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert "user.recovery_code_used" in actions(conn)
    auth.logout()
    auth.login("rev")
    assert "验证码不正确" in post(client, auth, "/auth/2fa/", code=codes[0]).get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_production_admin_is_asked_too_and_a_hospital_is_not(prod, conn, people, auth_for):
    client = https_client(prod)
    auth = auth_for(client)
    assert auth.login("admin").headers["Location"] == "/auth/2fa/"
    auth.client = client = https_client(prod)
    assert auth.login("h1").headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_development_and_testing_logins_stay_one_step(app, client, auth, people):
    assert app.config["TOTP_ROLES"] == ()
    assert auth.login("admin").headers["Location"] == "/"


def test_totp_roles_from_the_environment():
    assert totp_roles("admin, reviewer") == ("admin", "reviewer")
    assert totp_roles("") == ()
    with pytest.raises(RuntimeError, match="HEMON_TOTP_ROLES"):
        totp_roles("admin,boss")


def test_wrong_codes_are_throttled_like_passwords(prod, conn, people, auth_for):
    client = https_client(prod)
    auth = auth_for(client)
    enrol(client, auth, "rev")
    auth.logout()
    auth.login("rev")
    for _ in range(4):                       # the password failure budget: 5, one used below
        post(client, auth, "/auth/2fa/", code="999999")
    post(client, auth, "/auth/2fa/", code="888888")
    response = post(client, auth, "/auth/2fa/", code="777777")
    assert response.status_code == 429 and "后再试" in response.get_data(as_text=True)


def test_a_user_may_turn_totp_on_and_an_admin_resets_it(client, auth, conn, people):
    auth.login("h1")
    assert "启用两步验证" in client.get("/auth/password").get_data(as_text=True)
    page = client.get("/auth/2fa/enrol").get_data(as_text=True)
    secret = re.search(r"data-secret>([A-Z2-7]+)<", page).group(1)
    post(client, auth, "/auth/2fa/enrol", code=code_at(secret))
    assert "未用的恢复码还剩 10 个" in client.get("/auth/password").get_data(as_text=True)
    auth.logout()
    assert auth.login("h1").headers["Location"] == "/auth/2fa/"        # optional, but now on
    post(client, auth, "/auth/2fa/", code=code_at(secret, 1))
    assert client.get("/").status_code == 200
    auth.logout()

    auth.login("admin")
    user_id = conn.execute("SELECT id FROM app_user WHERE username = 'h1'").fetchone()["id"]
    assert "重置" in client.get("/admin/users").get_data(as_text=True)
    post(client, auth, f"/admin/users/{user_id}/totp/reset", "/admin/users")
    assert "user.totp_reset" in actions(conn)
    auth.logout()
    assert auth.login("h1").headers["Location"] == "/"                 # one step again


@pytest.mark.parametrize("width, height", [(1280, 800), (390, 844)])
def test_enrolment_page_fits_desktop_and_phone(live_server, page, people, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{live_server}/auth/login")
    page.fill("input[name=username]", "h1")
    page.fill("input[name=password]", "password-123")
    page.click("button[type=submit]")
    page.goto(f"{live_server}/auth/password")
    page.click("text=启用两步验证")
    qr = page.locator(".totp-qr-box svg").bounding_box()
    assert qr and qr["width"] >= 120 and qr["x"] >= 0 and qr["x"] + qr["width"] <= width
    secret = page.locator("[data-secret]").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.fill("input[name=code]", code_at(secret))
    page.click("text=确认并启用")
    assert page.locator(".recovery-codes li").count() == 10
