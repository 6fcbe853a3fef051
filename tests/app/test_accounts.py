"""Accounts: throttled logins, password change, users made and reset by an admin, all audited."""
import re

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


def test_failures_slow_the_address_not_the_user_elsewhere(client, auth, conn, people):
    attacker = {"REMOTE_ADDR": "10.0.0.66"}
    token = auth.csrf()
    for _ in range(5):
        page = client.post("/auth/login", data={"username": "reviewer", "password": "wrong-password",
                                                 "csrf_token": token}, environ_base=attacker)
        assert "用户名或密码错误" in page.get_data(as_text=True)
    response = client.post("/auth/login", data={"username": "reviewer", "password": "password-123",
                                                "csrf_token": token}, environ_base=attacker)
    assert response.status_code == 429 and "秒后再试" in response.get_data(as_text=True)
    assert actions(conn).count("login.failure") == 5
    # The real reviewer, from another address, is not kept out.
    assert auth.login("reviewer").status_code == 302
    assert actions(conn)[-1] == "login.success"


def test_parallel_logins_on_the_live_server_process_exactly_the_limit(live_server, conn, people):
    import re
    import threading
    import urllib.error
    import urllib.request
    from http.cookiejar import CookieJar

    from etl.reference.throttle import ADDRESS_FREE
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      opener.open(f"{live_server}/auth/login").read().decode()).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    body = f"username=reviewer&password=wrong-password&csrf_token={token}".encode()
    statuses, barrier = [], threading.Barrier(40)

    def attempt():
        request = urllib.request.Request(f"{live_server}/auth/login", data=body, headers={"Cookie": cookie})
        barrier.wait()
        try:
            statuses.append(urllib.request.urlopen(request, timeout=60).status)
        except urllib.error.HTTPError as exc:
            statuses.append(exc.code)

    threads = [threading.Thread(target=attempt) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] * ADDRESS_FREE + [429] * (40 - ADDRESS_FREE)
    assert actions(conn).count("login.failure") == ADDRESS_FREE


def test_admin_sees_failures_and_unlocks_the_account(client, auth, conn, people):
    for n in range(3):                       # three addresses: the account itself is now slowed
        for _ in range(5):
            client.post("/auth/login", data={"username": "reviewer", "password": "nope-nope-1",
                                             "csrf_token": auth.csrf()}, environ_base={"REMOTE_ADDR": f"10.1.0.{n}"})
    stranger = {"REMOTE_ADDR": "10.2.0.1"}
    assert client.post("/auth/login", data={"username": "reviewer", "password": "password-123",
                                            "csrf_token": auth.csrf()}, environ_base=stranger).status_code == 429
    auth.login("admin")
    page = client.get("/admin/users").get_data(as_text=True)
    assert "近1小时 10 次" in page and "解除限制" in page
    user_id = conn.execute("SELECT id FROM app_user WHERE username = 'reviewer'").fetchone()["id"]
    response = client.post(f"/admin/users/{user_id}/unlock", data={"csrf_token": auth.csrf("/admin/users")})
    assert "已解除登录限制" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert "user.unlock" in actions(conn)
    auth.logout()
    assert client.post("/auth/login", data={"username": "reviewer", "password": "password-123",
                                            "csrf_token": auth.csrf()}, environ_base=stranger).status_code == 302


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
    page = client.post(f"/admin/users/{user['id']}/password", data={"csrf_token": token}).get_data(as_text=True)
    new_password = re.search(r"data-password>([a-z0-9]+)<", page).group(1)
    auth.logout()
    assert auth.login("h1", "hospital-pw-1").status_code == 200            # the old one is gone
    assert auth.login("h1", new_password).status_code == 302
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
