"""Users page (/admin/users, views of the admin blueprint): find accounts, create one or every
missing hospital account at once, disable / enable, change a role, reset a password.

Generated passwords (bulk accounts, resets) are shown or downloaded once and never stored in
clear: not in the session (a flash message would sit in the signed, unencrypted cookie), not
in the audit log. Their owners must change them at first login (app/auth.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.cli import with_appcontext

from app.admin import bp
from app.auth import login_required
from app.db import get_conn
from app.inputs import page_number
from app.messages import refusals
from etl.common.errors import HemonError
from etl.reference import throttle, twofactor
from etl.reference.accounts import (
    PREFECTURE_ROLES,
    ROLES,
    change_role,
    create_user,
    disable_user,
    enable_user,
    find_users,
    reset_password,
)
from etl.reference.hospital_accounts import create_hospital_accounts

PER_PAGE = 50
STATUS_NAMES = {"active": "正常", "disabled": "已停用", "must_change": "待修改初始密码", "never": "从未登录"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def prefectures(conn) -> list[dict]:
    return conn.execute("SELECT code, name FROM region WHERE level = 2 ORDER BY code").fetchall()


def _missing_accounts(conn) -> int:
    return conn.execute("""SELECT count(*) AS n FROM hospital h
                           WHERE NOT EXISTS (SELECT 1 FROM app_user u WHERE u.hospital_code = h.code)""").fetchone()["n"]


def _user_or_404(conn, user_id: int) -> dict:
    user = conn.execute(
        """SELECT u.id, u.username, u.role, u.hospital_code, u.region_code, u.display_name, u.email,
                  u.created_at, u.disabled_at, u.last_login_at, u.totp_enabled_at, u.must_change_password,
                  h.name AS hospital_name, r.name AS region_name
           FROM app_user u LEFT JOIN hospital h ON h.code = u.hospital_code
                LEFT JOIN region r ON r.code = u.region_code WHERE u.id = %s""", (user_id,)).fetchone()
    if user is None:
        abort(404, description="用户不存在")
    return user


@bp.route("/users", methods=("GET", "POST"))
@login_required("admin")
def users():
    conn = get_conn()
    if request.method == "POST":
        form = request.form
        role = form.get("role", "")
        try:
            create_user(conn, form.get("username", ""), form.get("password", ""), role,
                        form.get("hospital_code", "").strip().upper() if role == "hospital" else None,
                        form.get("display_name", "").strip() or None, actor=g.user,
                        email=form.get("email", "").strip() or None,
                        region_code=form.get("region_code", "").strip() if role in PREFECTURE_ROLES else None)
            flash(f"已创建用户 {form.get('username')}", "success")
            return redirect(url_for("admin.users"))
        except HemonError as exc:
            flash(str(exc), "error")
    args = {k: request.args.get(k, "").strip()[:100] for k in ("q", "role", "status", "region")}
    page = page_number()
    rows, total = find_users(conn, args["q"], args["role"], args["status"], args["region"],
                             PER_PAGE, (page - 1) * PER_PAGE)
    return render_template("admin/users.html", users=rows, total=total, page=page, per_page=PER_PAGE,
                           args=args, query={k: v for k, v in args.items() if v}, roles=ROLES, statuses=STATUS_NAMES, prefectures=prefectures(conn),
                           prefecture_roles=PREFECTURE_ROLES, missing=_missing_accounts(conn),
                           failures=throttle.failures(conn), totp_roles=current_app.config["TOTP_ROLES"])


@bp.post("/users/hospital-accounts")
@login_required("admin")
def hospital_accounts():
    """Create every missing hospital account and download the workbook: the only copy."""
    sent = {}
    try:
        rows = create_hospital_accounts(get_conn(), g.user, lambda data, _rows: sent.update(data=data))
    except HemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    if not rows:
        flash("每家医院都已有账号，未创建新账号", "success")
        return redirect(url_for("admin.users"))
    response = make_response(sent["data"])
    response.headers["Content-Type"] = XLSX
    response.headers["Content-Disposition"] = "attachment; filename=hospital-accounts.xlsx; " \
        "filename*=UTF-8''%E5%8C%BB%E9%99%A2%E8%B4%A6%E5%8F%B7%E5%88%9D%E5%A7%8B%E5%AF%86%E7%A0%81.xlsx"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/users/<int:user_id>")
@login_required("admin")
def user(user_id):
    conn = get_conn()
    return render_template("admin/user.html", u=_user_or_404(conn, user_id), roles=ROLES,
                           prefectures=prefectures(conn), prefecture_roles=PREFECTURE_ROLES, password=None)


def _not_self(user_id: int, what: str) -> None:
    if user_id == g.user["id"]:
        raise HemonError(f"不能{what}自己的账号，请由另一位管理员操作")


@bp.post("/users/<int:user_id>/disable")
@login_required("admin")
def disable(user_id):
    """Disable an account; its sessions end at once (the next request of any of them is anonymous)."""
    with refusals():
        _not_self(user_id, "停用")
        disable_user(get_conn(), user_id, g.user)
        flash("已停用该账号，其登录会话已全部结束", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/enable")
@login_required("admin")
def enable(user_id):
    with refusals():
        enable_user(get_conn(), user_id, g.user)
        flash("已启用该账号", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/role")
@login_required("admin")
def role(user_id):
    form = request.form
    with refusals():
        _not_self(user_id, "修改角色于")
        change_role(get_conn(), user_id, form.get("role", ""), form.get("hospital_code", "").strip().upper() or None,
                    form.get("region_code", "").strip() or None, g.user)
        flash("已修改角色", "success")
    return redirect(url_for("admin.user", user_id=user_id))


@bp.post("/users/<int:user_id>/password", endpoint="reset_password")
@login_required("admin")
def reset_password_view(user_id):
    """Generate a new password and show it on this page, once; the user must change it."""
    conn = get_conn()
    try:
        password = reset_password(conn, user_id, g.user)
    except HemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    response = make_response(render_template(
        "admin/user.html", u=_user_or_404(conn, user_id), roles=ROLES, prefectures=prefectures(conn),
        prefecture_roles=PREFECTURE_ROLES, password=password))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/users/<int:user_id>/unlock")
@login_required("admin")
def unlock(user_id):
    """Clear an account's failed logins, so it may log in from anywhere at once."""
    with refusals():
        cleared = throttle.unlock(get_conn(), user_id, g.user)
        flash(f"已解除登录限制（清除失败记录 {cleared} 条）", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/totp/reset")
@login_required("admin")
def reset_totp(user_id):
    """Remove a user's two-factor (lost phone); they set it up again at their next login."""
    with refusals():
        twofactor.reset(get_conn(), user_id, g.user)
        flash("已重置两步验证，该用户的登录会话已全部结束", "success")
    return redirect(url_for("admin.users"))


@click.command("create-hospital-users")
@with_appcontext
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="写出账号与初始密码的 .xlsx 文件（唯一副本）")
def create_hospital_users_command(out: Path):
    """Create an account for every hospital without one; write usernames and initial passwords to --out."""
    if out.suffix.lower() != ".xlsx":
        click.echo("--out 应为 .xlsx 文件", err=True)
        sys.exit(1)
    if out.exists():
        click.echo(f"{out} 已存在；为免覆盖已发放的密码，请指定新的文件名", err=True)
        sys.exit(1)

    def write(data: bytes, _rows) -> None:
        partial = out.with_name(out.name + ".part")
        partial.write_bytes(data)
        partial.chmod(0o600)                  # initial passwords: readable by the operator only
        partial.replace(out)

    try:
        rows = create_hospital_accounts(get_conn(), None, write)
    except (HemonError, OSError) as exc:
        click.echo(f"未创建账号：{exc}", err=True)
        sys.exit(1)
    if not rows:
        click.echo("每家医院都已有账号，未创建新账号")
        return
    click.echo(f"已创建 {len(rows)} 个医院账号，用户名与初始密码已写入 {out}（唯一副本，请妥善分发；首次登录须修改密码）")


# For the operator when no administrator can log in (the only one locked out, or their phone
# lost): the same functions as the admin pages' buttons, audited with no acting user.
def _user_id(username: str) -> int:
    row = get_conn().execute("SELECT id FROM app_user WHERE lower(username) = lower(%s)", (username,)).fetchone()
    if row is None:
        click.echo(f"用户 {username} 不存在", err=True)
        sys.exit(1)
    return row["id"]


@click.command("unlock-user")
@with_appcontext
@click.argument("username")
def unlock_user_command(username: str):
    """Clear a user's failed logins (every address), as 用户 → 解除限制 does."""
    cleared = throttle.unlock(get_conn(), _user_id(username), None)
    click.echo(f"已解除 {username} 的登录限制（清除 {cleared} 次失败记录）")


@click.command("reset-2fa")
@with_appcontext
@click.argument("username")
def reset_2fa_command(username: str):
    """Remove a user's two-factor and recovery codes and end their sessions (lost phone);
    check the person's identity first. A role that requires it enrols again at the next login."""
    twofactor.reset(get_conn(), _user_id(username), None)
    click.echo(f"已重置 {username} 的两步验证；下次登录时重新设置")


@click.command("reset-password")
@with_appcontext
@click.argument("username")
def reset_password_command(username: str):
    """Give a user a new generated password, printed once; it must be changed at the next login."""
    password = reset_password(get_conn(), _user_id(username), None)
    click.echo(f"{username} 的新密码（仅显示这一次，首次登录须修改）：{password}")


commands = [create_hospital_users_command, unlock_user_command, reset_2fa_command, reset_password_command]
