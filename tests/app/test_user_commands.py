"""The operator's way back in when no administrator can log in: unlock-user, reset-2fa and
reset-password from the command line, each audited like the admin pages' buttons."""
import time

import pyotp
from werkzeug.security import check_password_hash

from etl.reference import twofactor
from etl.reference.accounts import authenticate, create_user


def test_an_administrator_locked_out_with_a_lost_phone_gets_back_in(runner, conn):
    user_id = create_user(conn, "chief", "password-123", "admin")
    secret = twofactor.new_secret()
    twofactor.enable(conn, user_id, secret, pyotp.TOTP(secret).at(time.time()), {"id": user_id})
    conn.execute("INSERT INTO login_attempt (username, address, succeeded) "
                 "SELECT 'chief', '10.0.0.' || n, false FROM generate_series(1, 12) AS n")

    result = runner.invoke(args=["unlock-user", "CHIEF"])
    assert result.exit_code == 0 and "清除 12 次失败记录" in result.output
    assert conn.execute("SELECT count(*) AS n FROM login_attempt WHERE NOT succeeded").fetchone()["n"] == 0

    result = runner.invoke(args=["reset-2fa", "chief"])
    assert result.exit_code == 0 and not twofactor.has_totp(conn, user_id)
    assert conn.execute("SELECT count(*) AS n FROM recovery_code WHERE user_id = %s", (user_id,)).fetchone()["n"] == 0

    result = runner.invoke(args=["reset-password", "chief"])
    assert result.exit_code == 0
    password = result.output.strip().rsplit("：", 1)[1]
    assert authenticate(conn, "chief", password) is not None and authenticate(conn, "chief", "password-123") is None
    row = conn.execute("SELECT must_change_password, password_hash FROM app_user WHERE id = %s", (user_id,)).fetchone()
    assert row["must_change_password"] and check_password_hash(row["password_hash"], password)
    audited = [r["action"] for r in conn.execute(
        "SELECT action FROM audit_log WHERE target = 'user:chief' ORDER BY id")]
    assert audited[-3:] == ["user.unlock", "user.totp_reset", "user.password_reset"]
    assert password not in str(conn.execute("SELECT json_agg(a) AS j FROM audit_log a").fetchone()["j"])


def test_an_unknown_user_is_refused_in_chinese(runner, conn):
    for command in ("unlock-user", "reset-2fa", "reset-password"):
        result = runner.invoke(args=[command, "nobody"])
        assert result.exit_code == 1 and "用户 nobody 不存在" in result.output
