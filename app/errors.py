"""One error path: every HTTP error renders errors/{status}.html, never a traceback."""
from __future__ import annotations

import logging

from flask import render_template
from werkzeug.exceptions import HTTPException, InternalServerError

logger = logging.getLogger(__name__)

TITLES = {400: "请求无效", 403: "无权访问", 404: "页面不存在", 405: "不支持的操作",
          413: "文件过大", 500: "系统错误"}
# What the page says when the view gave no Chinese description of its own: Werkzeug's
# default descriptions are English sentences and never reach a user.
DESCRIPTIONS = {400: "请求的内容无法处理，请返回上一页检查后重试。",
                403: "您没有访问此页面的权限。如需访问，请联系管理员。",
                404: "您访问的页面不存在，或已被移除。请检查地址，或从首页进入。",
                405: "此页面不支持该操作。",
                413: "上传的文件超过大小上限，请压缩或拆分后重新上传。",
                500: "系统出现错误，已记录，请稍后重试。"}
OTHER = "请求未能完成，请返回上一页重试。"


def _description(exc: HTTPException, code: int) -> str:
    """The view's own description (abort(400, description=...)), else the Chinese default."""
    own = exc.description
    # Werkzeug's class attribute is its English default; an instance value is the view's.
    if code == 500 or not own or own == type(exc).description:
        return DESCRIPTIONS.get(code, OTHER)
    return own


def _render(exc: HTTPException):
    code = exc.code or 500
    return render_template("errors/error.html", code=code, title=TITLES.get(code, "出错了"),
                           description=_description(exc, code)), code


def _unexpected(exc: Exception):
    logger.exception("unhandled error")
    return _render(InternalServerError())


def init_app(app) -> None:
    app.register_error_handler(HTTPException, _render)
    app.register_error_handler(Exception, _unexpected)
