"""Login, logout and the role checks every view goes through."""
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
from etl.reference.accounts import (
    ROLES,
    authenticate,
    end_sessions,
    get_user,
    login_blocked,
    record_login,
    set_password,
)
from etl.reference.scope import Scope, scope_for

bp = Blueprint("auth", __name__, url_prefix="/auth")


def init_app(app) -> None:
    app.before_request(_load_user)
    app.jinja_env.globals["ROLES"] = ROLES


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
    if g.user and g.user["role"] in ("reviewer", "admin"):
        row = get_conn().execute("SELECT max(period) AS p FROM period").fetchone()
        g.latest_period = row["p"] if row else None


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
        username = request.form.get("username", "").strip()
        wait = login_blocked(conn, username, request.remote_addr)
        if wait:
            flash(f"登录失败次数过多，请 {wait} 分钟后再试")
            return render_template("auth/login.html"), 429
        user = authenticate(conn, username, request.form.get("password", ""))
        record_login(conn, username, request.remote_addr, user)
        if user is None:
            flash("用户名或密码错误")
        else:
            _open_session(user)
            return redirect(local_path(request.args.get("next"), url_for("province.index")))
    return render_template("auth/login.html")


def _open_session(user: dict) -> None:
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
            flash("原密码不正确")
        elif new != request.form.get("confirm", ""):
            flash("两次输入的新密码不一致")
        else:
            try:
                set_password(conn, g.user["id"], new, g.user, "user.password_change")
                # Every other session of this user ends; this one goes on under the new version.
                _open_session(get_user(conn, g.user["id"]))
                flash("密码已修改")
                return redirect(url_for("province.index"))
            except HemonError as exc:
                flash(str(exc))
    return render_template("auth/password.html")
