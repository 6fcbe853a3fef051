"""Accounts: throttled logins, password change, users made and reset by an admin, all audited."""
import pytest

from etl.reference import registry
from etl.reference.accounts import create_user
from tests.factories import hospital_code, hospital_row, write_registry


@pytest.fixture()
def people(conn, tmp_path):
    registry.load_hospitals(conn, write_registry(tmp_path / "reg.xlsx", [hospital_row(1)]))
    create_user(conn, "admin", "password-123", "admin")
    create_user(conn, "reviewer", "password-123", "reviewer")


def actions(conn):
    return [r["action"] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]


def test_repeated_failures_lock_the_username(client, auth, conn, people):
    for _ in range(5):
        assert "用户名或密码错误" in auth.login("reviewer", "wrong-password").get_data(as_text=True)
    response = auth.login("reviewer", "password-123")          # right password, but locked
    assert response.status_code == 429 and "分钟后再试" in response.get_data(as_text=True)
    assert actions(conn).count("login.failure") == 5
    # Another user from the same address is not locked by reviewer's failures.
    assert auth.login("admin").status_code == 302
    assert actions(conn)[-1] == "login.success"


def test_password_change(client, auth, conn, people):
    auth.login("reviewer")
    token = auth.csrf("/auth/password")
    page = client.post("/auth/password", data={"old_password": "nope-nope", "new_password": "new-password-1",
                                               "confirm": "new-password-1", "csrf_token": token})
    assert "原密码不正确" in page.get_data(as_text=True)
    response = client.post("/auth/password", data={"old_password": "password-123", "new_password": "new-password-1",
                                                   "confirm": "new-password-1", "csrf_token": token})
    assert response.status_code == 302
    auth.logout()
    assert auth.login("reviewer", "password-123").status_code == 200     # old one no longer works
    assert auth.login("reviewer", "new-password-1").status_code == 302
    assert "user.password_change" in actions(conn)


def test_admin_creates_and_resets_users(client, auth, conn, people):
    auth.login("admin")
    token = auth.csrf("/admin/users")
    client.post("/admin/users", data={"username": "h1", "password": "hospital-pw-1", "role": "hospital",
                                      "hospital_code": hospital_code(1), "csrf_token": token})
    page = client.post("/admin/users", data={"username": "h9", "password": "hospital-pw-1", "role": "hospital",
                                             "hospital_code": "", "csrf_token": token}).get_data(as_text=True)
    assert "必须指定所属机构" in page
    user = conn.execute("SELECT id, role, hospital_code FROM app_user WHERE username = 'h1'").fetchone()
    assert (user["role"], user["hospital_code"]) == ("hospital", hospital_code(1))
    client.post(f"/admin/users/{user['id']}/password", data={"password": "reset-pw-123", "csrf_token": token})
    auth.logout()
    assert auth.login("h1", "reset-pw-123").status_code == 302
    assert {"user.create", "user.password_reset"} <= set(actions(conn))
    auth.logout()
    auth.login("reviewer")
    assert client.get("/admin/users").status_code == 403


def test_create_user_command_reads_the_password_from_stdin(runner, conn, people):
    result = runner.invoke(args=["create-user", "boss", "--role", "leader"], input="leader-pw-2026\n")
    assert result.exit_code == 0, result.output
    short = runner.invoke(args=["create-user", "boss2", "--role", "leader"], input="short\n")
    assert short.exit_code == 1 and "至少" in short.output
    assert conn.execute("SELECT role FROM app_user WHERE username = 'boss'").fetchone()["role"] == "leader"
