"""Cases (风险处置): the list with filters and its export, one case's page and its steps,
and the `cases` command.

Hospital users see their own cases and write plans, progress notes and attachments;
reviewers, administrators and prefecture reviewers (their prefecture) review plans, close
(销号) and escalate; prefecture leaders read. Every query takes `current_scope()`; another
hospital's case answers 404. The work is etl/cases; views parse input and flash the answer.
"""
from __future__ import annotations

from io import BytesIO

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
    send_file,
    url_for,
)
from flask.cli import with_appcontext

from app import inputs
from app.auth import current_scope, login_required
from app.db import get_conn
from app.messages import refusals
from etl.cases import attachments, lifecycle, listing, plans, progress
from etl.cases import settings as case_settings
from etl.cases.repayment import shortfalls
from etl.common.errors import HemonError
from etl.ratings import indicators as registry
from etl.ratings.overview import COLOUR_NAMES, DOMAIN_NAMES
from etl.reference.scope import Scope
from reports.exports import cases as export
from reports.exports.ratings import dumps

bp = Blueprint("cases", __name__, url_prefix="/cases")

READERS = ("reviewer", "admin", "prefecture", "prefecture-leader", "hospital")
REVIEWERS = ("reviewer", "admin", "prefecture")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def init_globals(state) -> None:
    # The hospital page and a hospital's home link to its cases in hand (templates call it).
    state.app.jinja_env.globals.setdefault("open_cases", _open_cases)


bp.record_once(init_globals)


def _open_cases(code: str) -> list[dict]:
    if g.user is None or g.user["role"] not in READERS:
        return []
    rows = listing.open_cases(get_conn(), code, current_scope())
    for r in rows:
        r["domain_name"] = DOMAIN_NAMES[r["domain"]]
        r["state_name"] = listing.STATE_NAMES[r["status"]]
    return rows


def _filters() -> dict:
    """The list's filters from the query string; unknown values are ignored, not errors."""
    args = request.args
    state = args.get("state") if args.get("state") in listing.STATE_NAMES else None
    domain = args.get("domain") if args.get("domain") in DOMAIN_NAMES else None
    prefecture = (args.get("prefecture") or "").strip()[:12] or None
    overdue = {"1": True, "0": False}.get(args.get("overdue", ""))
    return {"state": state, "domain": domain, "prefecture": prefecture, "overdue": overdue}


@bp.get("/")
@login_required(*READERS)
def index():
    conn = get_conn()
    scope = current_scope()
    filters = _filters()
    rows = listing.cases(conn, scope, **filters)
    prefectures = conn.execute(
        "SELECT code, name FROM region WHERE level = 2 AND code IN (SELECT prefecture_of(region_code) FROM hospital) "
        "ORDER BY code").fetchall() if scope.is_province else []
    return render_template("cases/index.html", rows=rows, filters=filters, states=listing.STATE_NAMES,
                           shortfalls=shortfalls(conn, rows),
                           domains=DOMAIN_NAMES, prefectures=prefectures, overdue_words=export.overdue_words)


@bp.route("/settings", methods=("GET", "POST"))
@login_required("admin")
def settings():
    """处置设置: the case rules (etl.cases.settings), as `cases-settings` sets them."""
    conn = get_conn()
    if request.method == "POST":
        try:
            case_settings.save(conn, request.form.get("close_months"), request.form.get("plan_days"), g.user)
            flash("处置设置已保存", "success")
            return redirect(url_for("cases.settings"), code=303)
        except HemonError as exc:
            flash(str(exc), "error")
    return render_template("cases/settings.html", cfg=case_settings.current(conn),
                           months=case_settings.CLOSE_MONTHS_RANGE, days=case_settings.PLAN_DAYS_RANGE)


@bp.get("/export.xlsx")
@login_required(*READERS)
def export_xlsx():
    conn = get_conn()
    rows = listing.cases(conn, current_scope(), **_filters())
    return send_file(BytesIO(export.xlsx_bytes(conn, rows)), as_attachment=True, download_name="风险处置事项.xlsx",
                     mimetype=XLSX)


def _case_or_404(conn, case_id: int) -> dict:
    case = listing.case(conn, case_id, current_scope())
    if case is None:
        abort(404)
    return case


def _back(case_id: int):
    return redirect(url_for("cases.detail", case_id=case_id))


@bp.get("/<int:case_id>")
@login_required(*READERS)
def detail(case_id):
    conn = get_conn()
    case = _case_or_404(conn, case_id)
    more = progress.detail(conn, case)
    due = [m["period"] for m in more["months"]]
    return render_template(
        "cases/detail.html", case=case, **more, domains=DOMAIN_NAMES, colours=COLOUR_NAMES,
        indicators=plans.domain_indicators(case["domain"]), rows=plans.ROWS, note_periods=due,
        close_months=listing.close_months(conn), overdue_words=export.overdue_words(case),
        format_value=registry.format_value, target_text=plans.target_text, units={i.id: i.unit for i in registry.REGISTRY},
        can_write=g.user["role"] == "hospital", can_review=g.user["role"] in REVIEWERS,
        max_mb=current_app.config["CASE_ATTACHMENT_MAX_MB"])


def _step(case_id: int, action, success: str):
    """Run one lifecycle step for a case the user may see; flash its answer either way."""
    conn = get_conn()
    _case_or_404(conn, case_id)
    with refusals():
        action(conn)
        flash(success, "success")
    return _back(case_id)


@bp.post("/<int:case_id>/plan")
@login_required("hospital")
def plan(case_id):
    conn = get_conn()
    case = _case_or_404(conn, case_id)
    try:
        parsed = plans.parse(request.form, case["domain"])
    except HemonError as exc:
        flash(str(exc), "error")
        return _back(case_id)
    return _step(case_id, lambda c: lifecycle.submit_plan(c, case_id, g.user, current_scope(), parsed),
                 "整改方案已提交，等待审核")


@bp.post("/<int:case_id>/review")
@login_required(*REVIEWERS)
def review(case_id):
    _case_or_404(get_conn(), case_id)
    decision = request.form.get("decision")
    if decision not in ("accept", "return"):
        flash("请选择“审核通过”或“退回补充”", "error")
        return _back(case_id)
    return _step(case_id, lambda c: lifecycle.review_plan(c, case_id, g.user, current_scope(), decision == "accept",
                                                          request.form.get("comment", "")),
                 "整改方案已审核通过，进入整改" if decision == "accept" else "已退回医院补充整改方案")


@bp.post("/<int:case_id>/notes")
@login_required("hospital")
def note(case_id):
    _case_or_404(get_conn(), case_id)
    period = inputs.period(request.form.get("period"), required=False) or ""
    return _step(case_id, lambda c: lifecycle.add_note(c, case_id, g.user, current_scope(), period,
                                                       request.form.get("body", "")), f"{period} 整改进展已保存")


@bp.post("/<int:case_id>/files")
@login_required("hospital", *REVIEWERS)
def attach(case_id):
    _case_or_404(get_conn(), case_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择要上传的附件", "error")
        return _back(case_id)
    limit = int(current_app.config["CASE_ATTACHMENT_MAX_MB"]) * 1024 * 1024
    data = upload.stream.read(limit + 1)      # one byte past the limit is enough to refuse it
    return _step(case_id, lambda c: attachments.add(c, case_id, g.user, upload.filename, data, limit),
                 "附件已上传")


@bp.get("/<int:case_id>/files/<int:seq>")
@login_required(*READERS)
def attachment(case_id, seq):
    conn = get_conn()
    _case_or_404(conn, case_id)
    found = attachments.content(conn, case_id, seq)
    if found is None:
        abort(404)
    return send_file(BytesIO(bytes(found["content"])), as_attachment=True, download_name=found["file_name"],
                     mimetype=attachments.KINDS[found["kind"]])


@bp.post("/<int:case_id>/close")
@login_required(*REVIEWERS)
def close(case_id):
    return _step(case_id, lambda c: lifecycle.close(c, case_id, g.user, current_scope(), request.form.get("comment", "")),
                 "已销号")


@bp.post("/<int:case_id>/escalate")
@login_required(*REVIEWERS)
def escalate(case_id):
    return _step(case_id, lambda c: lifecycle.escalate(c, case_id, g.user, current_scope(),
                                                       request.form.get("reason", "")), "已升级处理")


# ---- commands -------------------------------------------------------------------------------

def _check_period(value: str) -> str:
    from etl.common.codes import PERIOD_PATTERN
    if not PERIOD_PATTERN.match(value or ""):
        raise ValueError("报告期应为 YYYY-MM")
    return value


@click.command("cases")
@click.option("--period", required=True, callback=lambda c, p, v: _cli_period(v), help="报告期 YYYY-MM")
@click.option("--json", "as_json", is_flag=True, help="每个事项输出一行 JSON")
@with_appcontext
def cases_command(period, as_json):
    """List the cases in hand during a period (opened by then, not closed before it)."""
    conn = get_conn()
    rows = listing.cases(conn, Scope.province(), period=period)
    if as_json:
        for record in export.records(conn, rows):
            click.echo(dumps(record))
        return
    for r in rows:
        flag = "逾期 " + export.overdue_words(r) if r["overdue"] else ""
        click.echo(f"{r['id']}\t{r['hospital_code']}\t{r['hospital_name']}\t{DOMAIN_NAMES[r['domain']]}\t"
                   f"{r['state_name']}\t立案 {r['opened_period']}\t方案截止 {r['plan_due']}\t{flag}".rstrip())
    click.echo(f"共 {len(rows)} 个事项")


@click.command("cases-settings")
@click.option("--close-months", type=click.IntRange(*case_settings.CLOSE_MONTHS_RANGE), default=None,
              help="连续多少个月不为红色可销号（默认 3）")
@click.option("--plan-days", type=click.IntRange(*case_settings.PLAN_DAYS_RANGE), default=None,
              help="立案后多少天内提交整改方案（默认 15）")
@with_appcontext
def cases_settings_command(close_months, plan_days):
    """Show or set the case rules: months before 销号, days for the plan (audited, as 处置设置 does)."""
    after = case_settings.save(get_conn(), close_months, plan_days, None)
    click.echo(f"销号需连续不为红色月数：{after.close_months}；整改方案提交期限：立案后 {after.plan_days} 天")


def _cli_period(value: str) -> str:
    try:
        return _check_period(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


commands = [cases_command, cases_settings_command]
