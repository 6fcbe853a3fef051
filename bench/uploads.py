"""Uploads: deadline day. N hospital users (default 50) each upload their own return for the
newest period through the web, all at once, while an administrator saves new thresholds and
the province is rescored (issue 15).

- The app runs as in production (gunicorn, HEMON_ENV=production, the bench's strong secret
  key; bench/web.py starts it). Hospital accounts need no TOTP in production. The session
  cookie is Secure in production; the client is plain http.client on loopback and sends the
  cookie itself, so the bench leaves SESSION_COOKIE_SECURE as it is.
- Every user logs in through the login form (CSRF token from the form), reads the CSRF token
  from the returns page, and POSTs the workbook as multipart/form-data; the upload counts as
  done when the server answers 303 to the result page, and as right when that page says
  `data-status="accepted"`. Anything else (another status, a rejected return, a broken
  connection, a timeout) is an error.
- The administrator's change goes through the functions the admin page calls
  (`scoring.save_thresholds`, then `rescoring.rescore` of every period), on a connection
  from the app's own pool (production statement timeout), started together with the uploads.
  The new thresholds put each yellow limit half-way to the red one, so ratings move.
- Afterwards every stored indicator value and rating is compared with a clean full rescore
  of the same database, made in a transaction that is rolled back.

Bounded: one upload per user, loopback only, every request with a timeout.
"""
from __future__ import annotations

import http.client
import os
import re
import secrets
import shutil
import statistics
import subprocess
import threading
import time
from decimal import Decimal
from pathlib import Path

import psycopg

from bench import web
from bench.ingest import write_file
from bench.users import account

TIMEOUT_S = 300          # one request; the whole step is bounded by users × this at worst
RESULT = re.compile(rb'data-status="(\w+)"')
TOKEN = re.compile(rb'name="csrf_token" value="([^"]+)"')


def run(province, users: int = 50, workers: int | None = None) -> dict:
    workers = workers or 2 * (os.cpu_count() or 1) + 1
    period = province.last
    folder = province.tmp / "uploads"
    folder.mkdir(exist_ok=True)
    started = time.perf_counter()
    files = _workbooks(province, period, users, folder)
    out = {"users": len(files), "period": period, "server": f"gunicorn, {workers} sync workers, HEMON_ENV=production",
           "write_files_s": time.perf_counter() - started,
           "median_file_bytes": statistics.median(f.stat().st_size for _, _, f in files)}
    admin = _admin(province)
    port = web._free_port()
    server = web._start(province, port, workers)
    try:
        sessions = _login_all(port, files)
        results: list[dict | None] = [None] * len(sessions)
        gate = threading.Barrier(len(sessions) + 2)
        threads = [threading.Thread(target=_upload, args=(port, s, gate, results, i)) for i, s in enumerate(sessions)]
        threads.append(threading.Thread(target=_thresholds, args=(province, admin, gate, out)))
        for t in threads:
            t.start()
        gate.wait()
        t0 = time.perf_counter()
        for t in threads[:-1]:
            t.join()
        uploads_s = time.perf_counter() - t0
        threads[-1].join()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    ok = sorted(r["seconds"] for r in results if r and r["status"] == "accepted")
    out["errors"] = len(results) - len(ok)
    out["error_examples"] = [r for r in results if not r or r["status"] != "accepted"][:5]
    if ok:
        q = statistics.quantiles(ok, n=100, method="inclusive") if len(ok) > 1 else [ok[0]] * 99
        out.update(p50_ms=q[49] * 1000, p95_ms=q[94] * 1000, max_ms=ok[-1] * 1000)
    out["uploads_s"] = uploads_s
    out["uploads_per_s"] = len(ok) / uploads_s if uploads_s else None
    out.update(_check(province, period, [s["username"] for s in sessions]))
    shutil.rmtree(folder, ignore_errors=True)
    return out


# ------------------------------------------------------------------ preparation
def _workbooks(province, period: str, users: int, folder: Path) -> list[tuple[str, object, Path]]:
    """(username, hospital, workbook) for `users` hospitals spread over the registry, each with
    a return for `period` (hospitals whose story skips the month are passed over)."""
    hospitals = province.hospitals
    step = max(1, len(hospitals) // users)
    chosen = []
    for h in hospitals[::step] + [h for i, h in enumerate(hospitals) if i % step]:
        if len(chosen) == users:
            break
        written = write_file(province, period, h, folder)
        if written:
            username, _ = account(province, f"bench-upload-{len(chosen)}", "hospital", h.code)
            chosen.append((username, h, written[0]))
    return chosen


def _admin(province) -> dict:
    username, _ = account(province, "bench-admin", "admin")
    with province.connect() as conn:
        return conn.execute("SELECT id, username, role, hospital_code FROM app_user WHERE username = %s",
                            (username,)).fetchone()


def _login_all(port: int, files) -> list[dict]:
    """Log every user in through the form and read the upload form's CSRF token."""
    from bench.users import PASSWORD

    sessions = []
    for username, h, path in files:
        cookie = web.login(port, username, PASSWORD)
        status, set_cookie, body = web._get(port, "/returns/", {"Cookie": cookie})
        # The token is put in the session when the form is first drawn: the cookie changes.
        cookie = set_cookie.split(";", 1)[0] if set_cookie.startswith("session=") else cookie
        match = TOKEN.search(body)
        if status != 200 or not match:
            raise RuntimeError(f"the returns page of {username} answered {status} without an upload form")
        sessions.append({"username": username, "hospital": h.code, "cookie": cookie,
                         "token": match.group(1).decode(), "path": path})
    return sessions


# ------------------------------------------------------------------ the rush
def _multipart(token: str, path: Path) -> tuple[bytes, str]:
    boundary = "bench" + secrets.token_hex(12)
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode(),
             (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n'
              "Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n").encode(),
             path.read_bytes(), f"\r\n--{boundary}--\r\n".encode()]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _upload(port: int, s: dict, gate: threading.Barrier, results: list, i: int) -> None:
    body, content_type = _multipart(s["token"], s["path"])
    gate.wait()
    start = time.perf_counter()
    out = {"user": s["username"], "hospital": s["hospital"], "status": "error", "seconds": None}
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
        try:
            conn.request("POST", "/returns/upload", body, {"Content-Type": content_type, "Cookie": s["cookie"]})
            response = conn.getresponse()
            response.read()
            location = response.getheader("Location") or ""
        finally:
            conn.close()
        out["seconds"] = time.perf_counter() - start
        if response.status != 303:
            out["status"] = f"HTTP {response.status}"
        else:
            status, _, page = web._get(port, location, {"Cookie": s["cookie"]})
            found = RESULT.search(page)
            out["status"] = found.group(1).decode() if status == 200 and found else f"result page HTTP {status}"
    except (OSError, http.client.HTTPException) as exc:
        out["status"] = f"{type(exc).__name__}: {exc}"[:200]
        out["seconds"] = time.perf_counter() - start
    results[i] = out


def _thresholds(province, admin: dict, gate: threading.Barrier, out: dict) -> None:
    """What the admin page does on save: a new threshold version, then every period rescored."""
    from etl.ratings import rescoring, scoring

    thresholds = province.app.config["RISK_THRESHOLDS_FILE"]
    gate.wait()
    start = time.perf_counter()
    try:
        with province.app.extensions["hemon_db"].pool.connection() as conn:
            body = _tightened(scoring.active_thresholds(conn, thresholds)["body"])
            scoring.save_thresholds(conn, body, admin, "bench: deadline day")
            done = rescoring.rescore(conn, thresholds)
        out["thresholds"] = {"rescore_all_s": time.perf_counter() - start, "periods": len(done.periods),
                             "counts": done.counts, "error": None}
    except Exception as exc:  # noqa: BLE001 — reported, as the admin page would show a failure
        out["thresholds"] = {"rescore_all_s": time.perf_counter() - start, "error": f"{type(exc).__name__}: {exc}"}


def _tightened(body: dict) -> dict:
    """The thresholds with each yellow limit moved half-way to its red one (still valid)."""
    new = {"version": f"bench-{secrets.token_hex(4)}", "indicators": {}, "monitored": body.get("monitored", {})}
    for name, spec in body["indicators"].items():
        spec = {k: (list(v) if isinstance(v, list) else v) for k, v in spec.items()}
        if "yellow" in spec and "red" in spec:
            middle = (Decimal(str(spec["yellow"][1])) + Decimal(str(spec["red"][1]))) / 2
            spec["yellow"] = [spec["yellow"][0], str(middle)]
        new["indicators"][name] = spec
    return new


# ------------------------------------------------------------------ afterwards
def _check(province, period: str, usernames: list[str]) -> dict:
    """The uploads stored, and every indicator value and rating against a clean full rescore."""
    from etl.ratings import rescoring

    thresholds = province.app.config["RISK_THRESHOLDS_FILE"]
    with province.connect() as conn:
        stored = conn.execute(
            """SELECT count(*) AS n FROM return r JOIN app_user u ON u.id = r.uploaded_by
               WHERE r.period = %s AND r.is_current AND u.username = ANY(%s)""", (period, usernames)).fetchone()["n"]
        with conn.transaction() as tx:
            conn.execute("""CREATE TEMP TABLE bench_rating ON COMMIT DROP AS
                            SELECT hospital_code, period, return_id, rating, deficit, debt, wages, provisional,
                                   threshold_version_id FROM rating""")
            conn.execute("""CREATE TEMP TABLE bench_value ON COMMIT DROP AS
                            SELECT hospital_code, period, indicator, return_id, value, rating FROM indicator_value""")
            start = time.perf_counter()
            rescoring.rescore(conn, thresholds)
            clean_s = time.perf_counter() - start
            ratings = conn.execute(
                """SELECT count(*) AS n FROM (
                     (SELECT * FROM bench_rating EXCEPT ALL
                      SELECT hospital_code, period, return_id, rating, deficit, debt, wages, provisional,
                             threshold_version_id FROM rating)
                     UNION ALL
                     (SELECT hospital_code, period, return_id, rating, deficit, debt, wages, provisional,
                             threshold_version_id FROM rating EXCEPT ALL SELECT * FROM bench_rating)) d""").fetchone()["n"]
            values = conn.execute(
                """SELECT count(*) AS n FROM (
                     (SELECT * FROM bench_value EXCEPT ALL
                      SELECT hospital_code, period, indicator, return_id, value, rating FROM indicator_value)
                     UNION ALL
                     (SELECT hospital_code, period, indicator, return_id, value, rating FROM indicator_value
                      EXCEPT ALL SELECT * FROM bench_value)) d""").fetchone()["n"]
            checked = conn.execute("SELECT count(*) AS n FROM rating").fetchone()["n"]
            raise psycopg.Rollback(tx)
    return {"uploads_stored": stored, "checked_ratings": checked, "clean_rescore_s": clean_s,
            "ratings_differing_from_clean_rescore": ratings, "indicator_values_differing_from_clean_rescore": values}
