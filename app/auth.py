"""Login, logout and the role checks every view goes through.

A login is one step, or two when the user has TOTP or their role requires it (TOTP_ROLES):
after the password the session holds only `pending` (no user_id), so every page but the
second step (app/twofactor.py) treats it as anonymous."""
from __future__ import annotations

import functools
import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from app.db import get_conn
from app.security import local_path
from etl.common.errors import HemonError
from etl.reference import throttle, twofactor
from etl.reference.accounts import (
    ROLES,
    authenticate,
    end_sessions,
    get_user,
    set_password,
)
from etl.reference.scope import Scope, scope_for

bp = Blueprint("auth", __name__, url_prefix="/auth")


# A half-logged-in session (password accepted, second factor not yet given) lasts this long.
PENDING_MINUTES = 10


def init_app(app) -> None:
    app.config["TOTP_ROLES"] = totp_roles(app.config.get("TOTP_ROLES"))
    app.before_request(_load_user)
    app.before_request(_require_own_password)
    app.jinja_env.globals["ROLES"] = ROLES


def totp_roles(value) -> tuple[str, ...]:
    """TOTP_ROLES as a tuple of role names, from a list or a comma-separated string
    (HEMON_TOTP_ROLES); an unknown role name stops the app from starting."""
    names = value.split(",") if isinstance(value, str) else list(value or ())
    roles = tuple(n.strip() for n in names if n and n.strip())
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise RuntimeError(f"HEMON_TOTP_ROLES: unknown role(s) {', '.join(unknown)}; use {', '.join(ROLES)}")
    return roles


def totp_required(user: dict) -> bool:
    return user["role"] in current_app.config["TOTP_ROLES"]


def wait_words(seconds: int) -> str:
    """A wait in Chinese: seconds below a minute, else whole minutes rounded up."""
    return f"{seconds} 秒" if seconds < 60 else f"{(seconds + 59) // 60} 分钟"


def _load_user():
    """The session's user, if the session is still valid: same session version (not logged
    out, password not changed or reset, not disabled), active within IDLE_MINUTES and opened
    within SESSION_HOURS. Otherwise the session is cleared and the request is anonymous."""
    user_id = session.get("user_id")
    user = get_user(get_conn(), user_id) if user_id else None
    now = int(time.time())
    if user is not None and (user["session_version"] != session.get("sv") or user["disabled_at"] is not None
                             or now - session.get("seen", 0) > current_app.config["IDLE_MINUTES"] * 60
                             or now - session.get("since", 0) > current_app.config["SESSION_HOURS"] * 3600):
        session.clear()
        user = None
    elif user is not None and now - session.get("seen", 0) > 60:
        session["seen"] = now              # written at most once a minute
    g.user = user


# What a user who must change their password may still reach.
OPEN_TO_NEW_PASSWORD = {"auth.password", "auth.logout", "static"}


def _require_own_password():
    """Send a user whose password was handed to them (bulk accounts, an admin's reset) to the
    change-password page from every page until they have chosen their own."""
    if g.user is not None and g.user["must_change_password"] and request.endpoint not in OPEN_TO_NEW_PASSWORD:
        return redirect(url_for("auth.password"))
    return None


def current_scope() -> Scope:
    """Return what the logged-in user may see: the only place a view gets its scope."""
    return scope_for(g.user)


def login_required(*roles):
    """Require a logged-in user, and one of `roles` if given (else any role)."""
    def decorator(view):
        @functools.wraps(view)
        def wrapped(**kwargs):
            if g.user is None:
                return redirect(url_for("auth.login", next=request.full_path))
            if roles and g.user["role"] not in roles:
                abort(403)
            return view(**kwargs)
        return wrapped
    return decorator


@bp.route("/login", methods=("GET", "POST"))
def login():
    if request.method == "POST":
        conn = get_conn()
        username = request.form.get("username", "").strip()[:200]
        admission = throttle.admit(conn, username, request.remote_addr)
        if admission.wait:
            current_app.logger.warning("login throttled: %r from %s", username, request.remote_addr)
            flash(f"登录失败次数过多，请 {wait_words(admission.wait)}后再试", "error")
            return render_template("auth/login.html"), 429
        user = authenticate(conn, username, request.form.get("password", ""))
        if user is None:
            throttle.settle(conn, admission.attempt_id, None)
            flash("用户名或密码错误", "error")
            return render_template("auth/login.html")
        target = local_path(request.args.get("next"), url_for("province.index"))
        if twofactor.has_totp(conn, user["id"]) or totp_required(user):
            throttle.settle(conn, admission.attempt_id, user, step="password")
            session.clear()
            session["pending"] = {"id": user["id"], "sv": user["session_version"], "at": int(time.time()),
                                  "next": target}
            return redirect(url_for("twofactor.verify"))
        throttle.settle(conn, admission.attempt_id, user)
        open_session(user)
        return redirect(target)
    return render_template("auth/login.html")


def pending_user() -> dict | None:
    """The half-logged-in user (password accepted within PENDING_MINUTES, sessions not ended
    since, account enabled), or None."""
    pending = session.get("pending")
    if not isinstance(pending, dict) or int(time.time()) - pending.get("at", 0) > PENDING_MINUTES * 60:
        return None
    user = get_user(get_conn(), pending.get("id"))
    if user is None or user["disabled_at"] is not None or user["session_version"] != pending.get("sv"):
        return None
    return user


def open_session(user: dict) -> None:
    """Log `user` in on this browser (a fresh session: nothing from before survives)."""
    session.clear()
    now = int(time.time())
    session.update(user_id=user["id"], sv=user["session_version"], since=now, seen=now)


@bp.post("/logout")
def logout():
    if g.user is not None:
        conn = get_conn()
        with conn.transaction():
            end_sessions(conn, g.user["id"])     # every device: a copied cookie stops working too
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=("GET", "POST"))
@login_required()
def password():
    if request.method == "POST":
        conn = get_conn()
        new = request.form.get("new_password", "")
        if authenticate(conn, g.user["username"], request.form.get("old_password", "")) is None:
            flash("原密码不正确", "error")
        elif new != request.form.get("confirm", ""):
            flash("两次输入的新密码不一致", "error")
        else:
            try:
                set_password(conn, g.user["id"], new, g.user, "user.password_change")
                # Every other session of this user ends; this one goes on under the new version.
                open_session(get_user(conn, g.user["id"]))
                flash("密码已修改", "success")
                return redirect(url_for("province.index"))
            except HemonError as exc:
                flash(str(exc), "error")
    conn = get_conn()
    return render_template("auth/password.html", forced=g.user["must_change_password"], totp_on=twofactor.has_totp(conn, g.user["id"]),
                           totp_required=totp_required(g.user),
                           codes_left=twofactor.recovery_codes_left(conn, g.user["id"]))
