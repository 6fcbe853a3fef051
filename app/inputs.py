"""Request input a view can trust: no NUL bytes anywhere, periods exactly 'YYYY-MM'.

PostgreSQL refuses text holding NUL, so a NUL in a query string or form field would
otherwise surface as HTTP 500 deep in a query; every request is checked once, up front.
"""
from __future__ import annotations

from flask import abort, request

from etl.common.codes import PERIOD_PATTERN

NUL_MESSAGE = "请求中含有不允许的控制字符（NUL），已拒绝，请检查输入后重试"


def _refuse_nul():
    if "\x00" in request.path or b"\x00" in request.query_string or b"%00" in request.query_string:
        abort(400, description=NUL_MESSAGE)
    if request.method != "GET" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            if "\x00" in key or "\x00" in value:
                abort(400, description=NUL_MESSAGE)


def period(value: str | None, *, required: bool = True) -> str | None:
    """`value` if it is a period 'YYYY-MM' (a trailing newline is not), else a 400 in Chinese.

    None or '' is allowed when not `required` (the view then picks its default)."""
    if not value and not required:
        return None
    if not value or not PERIOD_PATTERN.match(value):
        abort(400, description="报告期应为 YYYY-MM 格式，如 2026-10")
    return value


def init_app(app) -> None:
    app.before_request(_refuse_nul)


def page_number() -> int:
    """?page= as a page number from 1 (anything else, or absurdly large: 1)."""
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and 0 < int(value) < 100_000 else 1
