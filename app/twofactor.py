"""The second login step (a TOTP or recovery code), enrolment, and turning TOTP on or off.

Reached half-logged-in (`app.auth.pending_user`: password accepted, nothing else open) or,
for enrolling of one's own accord and turning it off, logged in. Code attempts go through the
same throttle as passwords, so six digits cannot be guessed at speed.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from app.auth import (
    login_required,
    open_session,
    pending_user,
    totp_required,
    wait_words,
)
from app.db import get_conn
from etl.common.errors import HemonError
from etl.reference import throttle, twofactor
from etl.reference.accounts import get_user

bp = Blueprint("twofactor", __name__, url_prefix="/auth/2fa")


@bp.route("/", methods=("GET", "POST"))
def verify():
    conn = get_conn()
    user = pending_user()
    if user is None:
        flash("请重新登录", "error")
        return redirect(url_for("auth.login"))
    if not twofactor.has_totp(conn, user["id"]):
        return redirect(url_for("twofactor.enrol"))
    if request.method == "POST":
        admission = throttle.admit(conn, user["username"], request.remote_addr)
        if admission.wait:
            flash(f"尝试次数过多，请 {wait_words(admission.wait)}后再试", "error")
            return render_template("auth/totp.html"), 429
        kind = twofactor.verify(conn, user["id"], request.form.get("code", ""))
        if kind is None:
            throttle.settle(conn, admission.attempt_id, None, step="totp")
            flash("验证码不正确或已使用过，请输入手机上当前显示的6位数字或一个未用过的恢复码", "error")
            return render_template("auth/totp.html")
        throttle.settle(conn, admission.attempt_id, user, step=kind)
        target = session["pending"].get("next") or url_for("province.index")
        open_session(user)
        if kind == "recovery":
            flash(f"已使用一个恢复码，还剩 {twofactor.recovery_codes_left(conn, user['id'])} 个；"
                  "用完前请在“修改密码”页重新设置两步验证", "success")
        return redirect(target)
    return render_template("auth/totp.html")


@bp.route("/enrol", methods=("GET", "POST"))
def enrol():
    """Set TOTP up: half-logged-in when the role requires it, or logged in by choice."""
    conn = get_conn()
    user = g.user or pending_user()
    if user is None:
        return redirect(url_for("auth.login"))
    if twofactor.has_totp(conn, user["id"]):
        flash("两步验证已启用", "success")
        return redirect(url_for("auth.password") if g.user else url_for("twofactor.verify"))
    secret = session.get("enrol_secret")
    if request.method == "POST" and secret:
        try:
            codes = twofactor.enable(conn, user["id"], secret, request.form.get("code", ""), user)
        except HemonError as exc:
            flash(str(exc), "error")
        else:
            target = url_for("auth.password")
            if g.user is None:                      # enrolment was the second step of a login
                target = session["pending"].get("next") or url_for("province.index")
                throttle.succeeded(conn, user, request.remote_addr, "enrol")
                open_session(user)
            session.pop("enrol_secret", None)
            return render_template("auth/recovery_codes.html", codes=codes, target=target)
    if not secret:
        secret = session["enrol_secret"] = twofactor.new_secret()
    uri = twofactor.provisioning_uri(secret, user["username"])
    return render_template("auth/enrol.html", secret=secret, qr=twofactor.qr_svg(uri), uri=uri, username=user["username"],
                           required=totp_required(user), logged_in=g.user is not None)


@bp.post("/disable")
@login_required()
def disable():
    """Turn one's own TOTP off (roles that do not require it), with a current code."""
    conn = get_conn()
    if totp_required(g.user):
        flash("您的角色必须使用两步验证，不能关闭", "error")
    elif twofactor.verify(conn, g.user["id"], request.form.get("code", "")) is None:
        flash("验证码不正确或已使用过，两步验证未关闭", "error")
    else:
        twofactor.reset(conn, g.user["id"], g.user, action="user.totp_disable")
        open_session(get_user(conn, g.user["id"]))     # reset ended every session; keep this one
        flash("两步验证已关闭", "success")
    return redirect(url_for("auth.password"))
