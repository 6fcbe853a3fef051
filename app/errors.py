"""One error path: every HTTP error renders errors/{status}.html, never a traceback."""
from __future__ import annotations

import logging

from flask import render_template
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)

TITLES = {400: "请求无效", 403: "无权访问", 404: "页面不存在", 405: "不支持的操作",
          413: "文件过大", 500: "系统错误"}


def _render(exc: HTTPException):
    code = exc.code or 500
    return render_template("errors/error.html", code=code, title=TITLES.get(code, "出错了"),
                           description=exc.description if code != 500 else "系统出现错误，已记录，请稍后重试。"), code


def _unexpected(exc: Exception):
    logger.exception("unhandled error")
    return _render(InternalServerError())


def init_app(app) -> None:
    app.register_error_handler(HTTPException, _render)
    app.register_error_handler(Exception, _unexpected)
