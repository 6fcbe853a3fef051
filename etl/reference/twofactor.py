"""TOTP two-factor login (RFC 6238, 6 digits, 30 s steps) and one-time recovery codes.

A secret is kept in the session while the user enrols and written to `app_user` only once a
code from it is confirmed. Codes are accepted one step either side of now, and never twice:
`totp_last_step` moves forward in one UPDATE, so two requests racing with the same code
cannot both win. Recovery codes carry 80 random bits, are shown once and stored as SHA-256;
using one marks it used in one UPDATE.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import io
import secrets

import psycopg
import pyotp
import segno

from etl.common.errors import HemonError

ISSUER = "医院经济运行监测"
RECOVERY_CODES = 10
WINDOW_STEPS = 1


def new_secret() -> str:
    """A fresh base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The QR code of `uri` as an inline SVG element (drawn here, no outside service)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, xmldecl=False, svgns=True,
                                    svgclass="totp-qr", title="两步验证二维码")
    return out.getvalue().decode()


def matching_step(secret: str, code: str, now: datetime.datetime | None = None) -> int | None:
    """The time step whose code `code` is (now ± WINDOW_STEPS), or None."""
    code = "".join((code or "").split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now or datetime.datetime.now(datetime.timezone.utc))
    for step in range(current - WINDOW_STEPS, current + WINDOW_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _hash(code: str) -> str:
    return hashlib.sha256("".join(code.lower().split()).replace("-", "").encode()).hexdigest()


def _new_recovery_codes() -> list[str]:
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"          # no 0/o, 1/l/i to misread
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(16))   # 16 × log2(31) ≈ 79 bits
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return codes


def enable(conn: psycopg.Connection, user_id: int, secret: str, code: str, actor: dict) -> list[str]:
    """Turn TOTP on with `secret` once `code` proves the user's app has it; return the new
    recovery codes (shown once, never stored in the clear). Raises HemonError on a wrong code."""
    from etl.common.audit import record
    step = matching_step(secret, code)
    if step is None:
        raise HemonError("验证码不正确，请核对手机上的时间并输入当前显示的6位数字")
    codes = _new_recovery_codes()
    with conn.transaction():
        row = conn.execute(
            """UPDATE app_user SET totp_secret = %s, totp_enabled_at = now(), totp_last_step = %s
               WHERE id = %s RETURNING username""", (secret, step, user_id)).fetchone()
        if row is None:
            raise HemonError("用户不存在")
        conn.execute("DELETE FROM recovery_code WHERE user_id = %s", (user_id,))
        conn.execute("INSERT INTO recovery_code (user_id, code_hash) SELECT %s, unnest(%s::text[])",
                     (user_id, [_hash(c) for c in codes]))
        record(conn, actor, "user.totp_enable", f"user:{row['username']}", None, None)
    return codes


def has_totp(conn: psycopg.Connection, user_id: int) -> bool:
    row = conn.execute("SELECT totp_enabled_at FROM app_user WHERE id = %s", (user_id,)).fetchone()
    return bool(row and row["totp_enabled_at"])


def verify(conn: psycopg.Connection, user_id: int, code: str) -> str | None:
    """Check a second factor: "totp" for a fresh TOTP code, "recovery" for an unused recovery
    code (now used up, audited), None otherwise (a replayed code included)."""
    from etl.common.audit import record
    row = conn.execute("SELECT username, totp_secret FROM app_user WHERE id = %s AND totp_enabled_at IS NOT NULL",
                       (user_id,)).fetchone()
    if row is None:
        return None
    step = matching_step(row["totp_secret"], code)
    if step is not None:
        won = conn.execute(
            """UPDATE app_user SET totp_last_step = %s
               WHERE id = %s AND (totp_last_step IS NULL OR totp_last_step < %s) RETURNING id""",
            (step, user_id, step)).fetchone()
        return "totp" if won else None
    with conn.transaction():
        used = conn.execute(
            """UPDATE recovery_code SET used_at = now()
               WHERE user_id = %s AND code_hash = %s AND used_at IS NULL RETURNING id""",
            (user_id, _hash(code or ""))).fetchone()
        if used is None:
            return None
        left = conn.execute("SELECT count(*) AS n FROM recovery_code WHERE user_id = %s AND used_at IS NULL",
                            (user_id,)).fetchone()["n"]
        record(conn, {"id": user_id, "username": row["username"]}, "user.recovery_code_used",
               f"user:{row['username']}", None, {"left": left})
    return "recovery"


def recovery_codes_left(conn: psycopg.Connection, user_id: int) -> int:
    return conn.execute("SELECT count(*) AS n FROM recovery_code WHERE user_id = %s AND used_at IS NULL",
                        (user_id,)).fetchone()["n"]


def reset(conn: psycopg.Connection, user_id: int, actor: dict | None, action: str = "user.totp_reset") -> None:
    """Remove a user's TOTP and recovery codes (an admin's reset after a lost phone, or the
    user turning it off: `action`), audited, and end their sessions; a role that requires TOTP
    enrols again at the next login."""
    from etl.common.audit import record
    with conn.transaction():
        row = conn.execute(
            """UPDATE app_user SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL,
                                   session_version = session_version + 1
               WHERE id = %s RETURNING username""", (user_id,)).fetchone()
        if row is None:
            raise HemonError("用户不存在")
        conn.execute("DELETE FROM recovery_code WHERE user_id = %s", (user_id,))
        record(conn, actor, action, f"user:{row['username']}", None, None)
