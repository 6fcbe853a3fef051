"""CSRF tokens for every form and upload, and the security headers on every response."""
from __future__ import annotations

import hmac
import re
import secrets

from flask import abort, current_app, g, request, session
from markupsafe import Markup

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def csp_nonce() -> str:
    """This response's script nonce (one per request)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)")


def with_nonce(html: str) -> Markup:
    """Trusted generated HTML (folium's map) with this response's nonce on its inline scripts."""
    return Markup(_INLINE_SCRIPT.sub(f'<script nonce="{csp_nonce()}"', str(html)))


def _check_csrf():
    if request.method in SAFE_METHODS:
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not hmac.compare_digest(sent, session.get("csrf", "\x00")):
        abort(400, description="表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试")


def local_path(target: str | None, default: str) -> str:
    """`target` if it is a path on this site, else `default`: never another site after login.

    Refused: scheme or host (//x, \\x, http:), control characters and white space (browsers
    drop a tab in /\t/evil.example and read //evil.example)."""
    if not target or not target.startswith("/") or any(ord(c) < 33 or c in "\\\x7f" for c in target):
        return default
    if target.startswith("//") or target.startswith("/\\"):
        return default
    return target


def _headers(response):
    # Pages and files behind a login carry hospital finances: never kept by a browser or proxy.
    if getattr(g, "user", None) is not None:
        response.headers["Cache-Control"] = "no-store"
    if current_app.config.get("HSTS"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Scripts only from this site's files, or inline with this response's nonce (the map's
    # generated script): an injected <script> or on…= attribute never runs.
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        f"script-src 'self' 'nonce-{csp_nonce()}'; object-src 'none'; base-uri 'self'; "
        "form-action 'self'; frame-ancestors 'self'")
    return response


def init_app(app) -> None:
    if app.config.get("PROXY_HOPS"):
        # The client's address (login throttling counts by it) as the trusted proxies saw it.
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.before_request(_check_csrf)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    app.jinja_env.filters["with_nonce"] = with_nonce
