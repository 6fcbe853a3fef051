"""Administration: risk thresholds (validated, versioned, audited), users (create, reset a
password or two-factor, unlock after failed logins) and the audit log."""
from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from app.auth import login_required
from app.db import get_conn
from etl.common import audit
from etl.common.errors import HemonError
from etl.ratings import scoring
from etl.ratings.overview import COLOUR_NAMES, DOMAIN_NAMES, UNITS
from etl.ratings.rescoring import rescore
from etl.reference import throttle, twofactor
from etl.reference.accounts import ROLES, create_user, list_users, set_password

bp = Blueprint("admin", __name__, url_prefix="/admin")
OPS = ("<", "<=", ">", ">=")


def _thresholds_file() -> Path:
    return Path(current_app.config["RISK_THRESHOLDS_FILE"])


def _counts_words(counts: dict) -> str:
    """The rescoring's ratings by colour in words, red first: 红色 3，黄色 12，绿色 2915.

    The counts are ratings over every period rescored, not hospitals, so no unit is named.
    """
    order = list(COLOUR_NAMES)
    ranked = sorted(counts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    return "，".join(f"{COLOUR_NAMES.get(k, k)} {v}" for k, v in ranked) or "无"


@bp.route("/thresholds", methods=("GET", "POST"))
@login_required("admin")
def thresholds():
    conn = get_conn()
    active = scoring.active_thresholds(conn, _thresholds_file())
    if request.method == "POST":
        body = {"version": request.form.get("version", "").strip() or "admin",
                "indicators": {}, "monitored": active["body"].get("monitored", {})}
        for name, spec in active["body"]["indicators"].items():
            new = {"domain": spec["domain"], "label": spec["label"]}
            for colour in ("yellow", "red"):
                value = request.form.get(f"{name}.{colour}", "").strip()
                if value:
                    new[colour] = [request.form.get(f"{name}.{colour}_op", ""), value]
            body["indicators"][name] = new
        try:
            version_id = scoring.save_thresholds(conn, body, g.user, request.form.get("note", "").strip())
        except ValueError as exc:
            flash(str(exc), "error")
            return render_template("admin/thresholds.html", active=active, form=request.form, ops=OPS,
                                   domains=DOMAIN_NAMES, units=UNITS, versions=_versions(conn)), 400
        counts = rescore(conn, _thresholds_file()).counts
        flash(f"已启用阈值版本 {body['version']}（#{version_id}），已重新评级（各报告期合计）：" +
              _counts_words(counts), "success")
        return redirect(url_for("admin.thresholds"))
    return render_template("admin/thresholds.html", active=active, form=None, ops=OPS, domains=DOMAIN_NAMES,
                           units=UNITS, versions=_versions(conn))


def _versions(conn):
    return conn.execute(
        """SELECT t.id, t.name, t.source, t.note, t.activated_at, u.username
           FROM threshold_version t LEFT JOIN app_user u ON u.id = t.created_by
           ORDER BY t.activated_at DESC LIMIT 20""").fetchall()


@bp.get("/audit")
@login_required("admin")
def audit_log():
    return render_template("admin/audit.html", entries=audit.entries(get_conn()))


@bp.route("/users", methods=("GET", "POST"))
@login_required("admin")
def users():
    conn = get_conn()
    if request.method == "POST":
        form = request.form
        try:
            create_user(conn, form.get("username", ""), form.get("password", ""), form.get("role", ""),
                        form.get("hospital_code", "").strip().upper() or None,
                        form.get("display_name", "").strip() or None, actor=g.user,
                        email=form.get("email", "").strip() or None)
            flash(f"已创建用户 {form.get('username')}", "success")
            return redirect(url_for("admin.users"))
        except HemonError as exc:
            flash(str(exc), "error")
    return render_template("admin/users.html", users=list_users(conn), roles=ROLES,
                           failures=throttle.failures(conn), totp_roles=current_app.config["TOTP_ROLES"])


@bp.post("/users/<int:user_id>/password")
@login_required("admin")
def reset_password(user_id):
    try:
        set_password(get_conn(), user_id, request.form.get("password", ""), g.user, "user.password_reset")
        flash("密码已重置", "success")
    except HemonError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/unlock")
@login_required("admin")
def unlock(user_id):
    """Clear an account's failed logins, so it may log in from anywhere at once."""
    try:
        cleared = throttle.unlock(get_conn(), user_id, g.user)
        flash(f"已解除登录限制（清除失败记录 {cleared} 条）", "success")
    except HemonError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/totp/reset")
@login_required("admin")
def reset_totp(user_id):
    """Remove a user's two-factor (lost phone); they set it up again at their next login."""
    try:
        twofactor.reset(get_conn(), user_id, g.user)
        flash("已重置两步验证，该用户的登录会话已全部结束", "success")
    except HemonError as exc:
        flash(str(exc), "error")
    return redirect(url_for("admin.users"))
