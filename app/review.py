"""Review: the queue (a reviewer's home), decisions on a return at the user's level, reopen
requests and their decisions, and the review settings (admins).

Which level may do what is etl/filing/workflow.py; every query is scoped with
`current_scope()` (a prefecture reviewer acts on its prefecture's hospitals only, other ids
are 404). Decision forms carry `expected` (the status the reviewer saw), so a reviewer who
acted on a stale page is told who decided first and nothing is written.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.cli import with_appcontext
from psycopg import sql

from app import inputs, month
from app.auth import current_scope, login_required
from app.db import get_conn
from app.messages import refusals
from app.security import local_path
from etl.common.codes import shift_period
from etl.common.errors import HemonError
from etl.filing import queue, reopening, review, workflow

bp = Blueprint("review", __name__, url_prefix="/review")
REVIEWERS = ("prefecture", "reviewer", "admin")
DONE = {"prefecture_accepted": "市州审核通过，已报省级审核", "accepted": "已审核通过并锁定，评级不再是暂定",
        "returned": "已退回医院修改", "rechecking": "已退回市州复核"}


def _thresholds() -> Path:
    return Path(current_app.config["RISK_THRESHOLDS_FILE"])


def _back(ret: dict):
    default = url_for("hospitals.detail", code=ret["hospital_code"], period=ret["period"])
    return redirect(local_path(request.form.get("next"), default), code=303)


def _return_or_404(conn, return_id: int) -> dict:
    where, extra = current_scope().clause("hospital_code")
    ret = conn.execute(sql.SQL("SELECT id, hospital_code, period FROM return WHERE id = %(id)s AND {}").format(where),
                       {"id": return_id} | extra).fetchone()
    if ret is None:
        abort(404)
    return ret


def _decision(return_id: int, act):
    conn = get_conn()
    ret = _return_or_404(conn, return_id)
    with refusals():
        done = act(conn)
        flash(DONE[done["to"]], "success")
    return _back(ret)


def _expected() -> str | None:
    value = request.form.get("expected") or None
    return value if value in workflow.STATUS_NAMES else None


@bp.post("/<int:return_id>/accept")
@login_required(*REVIEWERS)
def accept(return_id):
    return _decision(return_id, lambda conn: review.accept(conn, return_id, g.user, _thresholds(),
                                                            expected=_expected()))


@bp.post("/<int:return_id>/return")
@login_required(*REVIEWERS)
def return_for_revision(return_id):
    return _decision(return_id, lambda conn: review.return_for_revision(
        conn, return_id, g.user, request.form.get("comment", ""), _thresholds(), expected=_expected()))


@bp.post("/<int:return_id>/recheck")
@login_required("reviewer", "admin")
def recheck(return_id):
    return _decision(return_id, lambda conn: review.send_back_to_prefecture(
        conn, return_id, g.user, request.form.get("comment", ""), _thresholds(), expected=_expected()))


@bp.post("/<int:return_id>/reopen")
@login_required("hospital")
def reopen_request(return_id):
    """The hospital asks to reopen its accepted return (a reason is required)."""
    conn = get_conn()
    ret = _return_or_404(conn, return_id)
    with refusals():
        reopening.request(conn, return_id, request.form.get("reason", ""), g.user, current_scope())
        flash("已提交重新打开申请，省级审核员同意后即可上传新版本", "success")
    return redirect(local_path(request.form.get("next"), url_for("returns.detail", return_id=ret["id"])), code=303)


@bp.post("/<int:return_id>/reopen-decision")
@login_required("reviewer", "admin")
def reopen_decision(return_id):
    conn = get_conn()
    ret = _return_or_404(conn, return_id)
    grant = request.form.get("decision") == "grant"
    with refusals():
        reopening.decide(conn, return_id, grant, request.form.get("comment", ""), g.user, _thresholds())
        flash("已同意重新打开，医院可以上传新版本" if grant else "已不同意重新打开，报表保持锁定", "success")
    return _back(ret)


# ---- the queue -------------------------------------------------------------------------------

def _queue_args(conn) -> dict:
    """Period (default: last month, the one being filed and reviewed), bucket and filters."""
    period = inputs.period(request.values.get("period"), required=False) or shift_period(f"{month.today():%Y-%m}", -1)
    prefecture = (request.values.get("prefecture") or "").strip()[:12] or None
    level = (request.values.get("level") or "").strip()[:20] or None
    return {"period": period, "prefecture": prefecture, "level": level}


@bp.get("/")
@login_required(*REVIEWERS)
def index():
    conn = get_conn()
    scope = current_scope()
    args = _queue_args(conn)
    bucket = request.args.get("state", "awaiting")
    if bucket not in queue.BUCKETS:
        bucket = "awaiting"
    known = conn.execute("SELECT 1 FROM period WHERE period = %s", (args["period"],)).fetchone()
    buckets = queue.rows(conn, args["period"], scope, g.user, prefecture=args["prefecture"], level=args["level"],
                         today=month.today()) if known else {b: [] for b in queue.BUCKETS}
    where, extra = scope.clause("h.code")
    prefectures = conn.execute(sql.SQL(
        """SELECT DISTINCT prefecture_of(h.region_code) AS code, r.name FROM hospital h
           JOIN region r ON r.code = prefecture_of(h.region_code) WHERE {} ORDER BY 1""").format(where),
        extra).fetchall()
    levels = [r["level"] for r in conn.execute(sql.SQL(
        "SELECT DISTINCT h.level FROM hospital h WHERE {} AND h.level IS NOT NULL ORDER BY 1").format(where), extra)]
    periods = [r["period"] for r in conn.execute("SELECT period FROM period ORDER BY period DESC LIMIT 24")]
    if args["period"] not in periods:
        periods.insert(0, args["period"])
    cfg = workflow.settings(conn)
    progress = queue.progress(conn, args["period"], scope, month.today()) \
        if known and scope.is_province and cfg.levels == 2 else None
    return render_template("review/queue.html", buckets=buckets, bucket=bucket, names=queue.BUCKETS,
                           prefectures=prefectures, levels=levels, periods=periods, progress=progress,
                           cfg=cfg, at=workflow.level_of(g.user), known=known, **args)


@bp.post("/accept-clean")
@login_required(*REVIEWERS)
def accept_clean():
    """Accept every clean return awaiting the user's level in the filtered queue (each audited)."""
    conn = get_conn()
    args = _queue_args(conn)
    done = queue.accept_clean(conn, args["period"], current_scope(), g.user, _thresholds(),
                              prefecture=args["prefecture"], level=args["level"])
    if done["accepted"]:
        flash(f"已审核通过 {done['accepted']} 份无问题报表", "success")
    elif not done["refused"]:
        flash("没有可一键通过的报表（须无错误且核实性问题均已填写说明）", "error")
    if done["refused"]:
        flash("以下报表未通过：" + "；".join(f"{n}：{r}" for n, r in done["refused"][:20]), "error")
    return redirect(url_for("review.index", **{k: v for k, v in args.items() if v}), code=303)


# ---- settings --------------------------------------------------------------------------------

@bp.route("/settings", methods=("GET", "POST"))
@login_required("admin")
def settings():
    conn = get_conn()
    if request.method == "POST":
        try:
            workflow.save_settings(conn, request.form.get("levels"), request.form.get("prefecture_day"),
                                   request.form.get("province_day"), g.user)
            flash("审核设置已保存", "success")
            return redirect(url_for("review.settings"), code=303)
        except HemonError as exc:
            flash(str(exc), "error")
    return render_template("review/settings.html", cfg=workflow.settings(conn))


# ---- the review panel on a return's and a hospital's page ----------------------------------

def panel(conn, return_id: int | None) -> dict | None:
    """What the return pages show about review: status, 退回意见, the timeline, the reopen
    request, and the decisions the current user may take now. `return_id` has been checked
    against the user's scope by the caller; None gives None."""
    if not return_id:
        return None
    ret = conn.execute(
        """SELECT r.id, r.hospital_code, r.period, r.version, r.status, r.is_current, r.review_comment,
                  r.reviewed_at, prefecture_of(h.region_code) AS prefecture, p.locked
           FROM return r JOIN hospital h ON h.code = r.hospital_code JOIN period p ON p.period = r.period
           WHERE r.id = %s""", (return_id,)).fetchone()
    cfg = workflow.settings(conn)
    level = workflow.level_of(g.user)
    can = {}
    for action in ("accept", "return", "recheck"):
        try:
            workflow.decide(cfg, level, action, ret["status"], period=ret["period"], today=month.today(),
                            has_prefecture=ret["prefecture"] is not None)
            can[action] = ret["is_current"]
        except HemonError:
            can[action] = False
    pending = reopening.open_request(conn, return_id) if ret["status"] == "accepted" else None
    overdue = workflow.prefecture_overdue(cfg, ret["status"], ret["period"], month.today(),
                                          ret["prefecture"] is not None)
    last = review.last_step(conn, ret["hospital_code"], ret["period"])
    return {"ret": ret, "status_name": workflow.STATUS_NAMES[ret["status"]], "can": can, "pending": pending,
            "last_decision": reopening.last_decision(conn, return_id) if ret["status"] == "accepted" else None,
            "can_request": g.user["role"] == "hospital" and ret["is_current"] and ret["status"] == "accepted"
            and not pending and not ret["locked"],
            "can_grant": level == "province" and pending is not None and ret["is_current"],
            "timeline": review.timeline(conn, ret["hospital_code"], ret["period"]),
            "last": last, "prefecture_overdue": overdue, "cfg": cfg,
            "prefecture_deadline": cfg.prefecture_deadline(ret["period"]),
            "province_deadline": cfg.province_deadline(ret["period"])}


# ---- command line ----------------------------------------------------------------------------

@click.command("review-settings")
@with_appcontext
@click.option("--levels", type=click.IntRange(1, 2), help="1：省级审核；2：市州审核后省级审核")
@click.option("--prefecture-day", type=int, help="市州审核截止：报告期次月第几日（1–28）")
@click.option("--province-day", type=int, help="省级审核截止：报告期次月第几日（1–28）")
def settings_command(levels, prefecture_day, province_day):
    """Show the review settings, or change them (audited, as the settings page does)."""
    conn = get_conn()
    cfg = workflow.settings(conn)
    if (levels, prefecture_day, province_day) != (None, None, None):
        try:
            cfg = workflow.save_settings(conn, levels or cfg.levels, prefecture_day or cfg.prefecture_day,
                                         province_day or cfg.province_day, None)
        except HemonError as exc:
            click.echo(f"错误：{exc}", err=True)
            sys.exit(1)
    click.echo(f"审核级数 {cfg.levels}（{'市州审核后省级审核' if cfg.levels == 2 else '省级审核'}）；"
               f"市州审核截止次月 {cfg.prefecture_day} 日，省级审核截止次月 {cfg.province_day} 日")


commands = [settings_command]
