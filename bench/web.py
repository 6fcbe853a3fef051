"""Web: latency and throughput of three pages under 20 concurrent clients on loopback,
with the app served as in production (gunicorn, HEMON_ENV=production, the bench
province's database).

The load client is bounded and plain: 20 threads, each with its own http.client
connection, each sending the next request as soon as the last is answered, for a fixed
time per page after a warm-up. Production session cookies are Secure, so the client sends
the cookie itself. Pages: the map (reviewer), a hospital's page (reviewer, a different
hospital each request) and the returns list (each client a different hospital's user).
"""
from __future__ import annotations

import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from bench.province import SECRET_KEY
from bench.users import hospital_users, reviewer

ROOT = Path(__file__).resolve().parent.parent


def run(province, clients: int = 20, seconds: float = 15, warmup: float = 3, workers: int | None = None) -> dict:
    workers = workers or 2 * (os.cpu_count() or 1) + 1          # gunicorn's recommendation
    port = _free_port()
    reviewer_login = reviewer(province)
    hospital_logins = hospital_users(province, clients)
    server = _start(province, port, workers)
    try:
        cookie = login(port, *reviewer_login)
        hospital_cookies = [login(port, *h) for h in hospital_logins]
        codes = [h.code for h in province.hospitals]
        random.Random(province.seed).shuffle(codes)
        period = province.last
        pages = {
            "map": lambda client, k: (f"/map/?period={period}", cookie),
            "hospital": lambda client, k: (f"/hospitals/{codes[(client * 7919 + k) % len(codes)]}?period={period}",
                                           cookie),
            "returns": lambda client, k: ("/returns/", hospital_cookies[client % len(hospital_cookies)]),
        }
        out = {"server": f"gunicorn, {workers} sync workers, HEMON_ENV=production", "clients": clients,
               "seconds_per_page": seconds}
        for name, target in pages.items():
            load(port, target, clients, warmup)
            out[name] = load(port, target, clients, seconds)
        # One client alone, the largest hospital's page (its 表5 is the largest).
        largest = f"/hospitals/{province.largest.code}?period={period}"
        out["hospital_largest_alone_ms"] = statistics.median(
            _timed_get(port, largest, cookie) for _ in range(3)) * 1000
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(province, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, HEMON_ENV="production", HEMON_SECRET_KEY=SECRET_KEY, DATABASE_URL=province.url,
               HEMON_INSTANCE_DIR=str(province.tmp / "instance"),
               HEMON_TOTP_ROLES="")    # production's TOTP for reviewers/admins: the bench logs in by password
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
                               f"127.0.0.1:{port}", "--log-level", "warning", "wsgi:app"], cwd=ROOT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            if _get(port, "/auth/login")[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not answer within 60 s")


def _get(port: int, path: str, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Set-Cookie") or "", response.read()
    finally:
        conn.close()


def _timed_get(port: int, path: str, cookie: str) -> float:
    start = time.perf_counter()
    status = _get(port, path, {"Cookie": cookie})[0]
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    return time.perf_counter() - start


def login(port: int, username: str, password: str) -> str:
    """The session cookie ('session=…') after logging in through the login form."""
    status, set_cookie, body = _get(port, "/auth/login")
    cookie = set_cookie.split(";", 1)[0]
    token = re.search(rb'name="csrf_token" value="([^"]+)"', body).group(1).decode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/auth/login", urlencode({"username": username, "password": password,
                                                       "csrf_token": token}),
                     {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        response = conn.getresponse()
        response.read()
        if response.status != 302:
            raise RuntimeError(f"login of {username} answered {response.status}")
        return (response.getheader("Set-Cookie") or cookie).split(";", 1)[0]
    finally:
        conn.close()


def load(port: int, target, clients: int, seconds: float) -> dict:
    """`clients` threads requesting target(client, k) → (path, cookie) back to back for
    `seconds`; latency percentiles, throughput and errors."""
    samples: list[list[tuple[float, int, int]]] = [[] for _ in range(clients)]
    start = time.perf_counter()
    deadline = start + seconds

    def client(i: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        k = 0
        while time.perf_counter() < deadline:
            path, cookie = target(i, k)
            t0 = time.perf_counter()
            try:
                conn.request("GET", path, headers={"Cookie": cookie})
                response = conn.getresponse()
                body = response.read()
                status = response.status
                if response.will_close:
                    conn.close()
            except (OSError, http.client.HTTPException):
                conn.close()
                status, body = 0, b""
            samples[i].append((time.perf_counter() - t0, status, len(body)))
            k += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    flat = [s for per in samples for s in per]
    ok = sorted(s[0] for s in flat if s[1] == 200)
    if len(ok) < 2:
        return {"requests": len(flat), "errors": len(flat) - len(ok)}
    q = statistics.quantiles(ok, n=100, method="inclusive")
    return {"requests": len(flat), "errors": len(flat) - len(ok), "p50_ms": q[49] * 1000, "p95_ms": q[94] * 1000,
            "max_ms": ok[-1] * 1000, "requests_per_s": len(ok) / elapsed,
            "median_bytes": statistics.median(s[2] for s in flat if s[1] == 200)}
