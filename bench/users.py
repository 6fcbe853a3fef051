"""The bench province's accounts: one reviewer, and hospital users for the web clients."""
from __future__ import annotations

PASSWORD = "bench-password-2026"


def reviewer(province) -> tuple[str, str]:
    return _ensure(province, "bench-reviewer", "reviewer", None)


def hospital_users(province, count: int) -> list[tuple[str, str]]:
    """`count` hospital accounts for hospitals spread over the registry."""
    hospitals = province.hospitals
    step = max(1, len(hospitals) // count)
    return [_ensure(province, f"bench-hospital-{i}", "hospital", hospitals[i * step % len(hospitals)].code)
            for i in range(count)]


def account(province, username: str, role: str, hospital: str | None = None) -> tuple[str, str]:
    """(username, password) of a bench account, created the first time it is asked for."""
    return _ensure(province, username, role, hospital)


def _ensure(province, username: str, role: str, hospital: str | None) -> tuple[str, str]:
    from etl.reference.accounts import create_user
    with province.connect() as conn:
        if not conn.execute("SELECT 1 FROM app_user WHERE username = %s", (username,)).fetchone():
            create_user(conn, username, PASSWORD, role, hospital)
    return username, PASSWORD
