"""gzip for large text responses (the map page is ~0.9 MB of HTML, ~150 KB compressed)."""
from __future__ import annotations

import gzip

from flask import request

MIN_BYTES = 8 * 1024
TYPES = ("text/html", "text/css", "text/csv", "application/json", "application/javascript", "text/javascript")


def _compress(response):
    if (response.status_code != 200 or response.direct_passthrough or response.is_streamed
            or "Content-Encoding" in response.headers or response.mimetype not in TYPES
            or "gzip" not in request.headers.get("Accept-Encoding", "")):
        return response
    data = response.get_data()
    if len(data) < MIN_BYTES:
        return response
    response.set_data(gzip.compress(data, compresslevel=5))
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(response.get_data()))
    response.vary.add("Accept-Encoding")
    return response


def init_app(app) -> None:
    app.after_request(_compress)
