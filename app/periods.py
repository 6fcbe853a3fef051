"""Periods: the administrator opens them and sets deadlines; reviewers see who has filed."""
from __future__ import annotations

import datetime as dt

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

from app import inputs, month, tables
from app.auth import current_scope, login_required
from app.db import get_conn
from app.messages import refusals
from etl.common.errors import HemonError
from etl.filing import periods
from etl.reference.scope import area_name

bp = Blueprint("periods", __name__, url_prefix="/periods")


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        raise HemonError("日期应为 YYYY-MM-DD") from None


@bp.route("/", methods=("GET", "POST"))
@login_required("admin")
def index():
    conn = get_conn()
    if request.method == "POST":
        with refusals():
            periods.open_period(conn, request.form.get("period", "").strip(), _date(request.form.get("deadline", "")),
                                g.user, current_app.config["DEADLINE_DAY"])
            flash("报告期已开放", "success")
        return redirect(url_for("periods.index"))
    return render_template("periods/index.html", periods=periods.listing(conn))


@bp.post("/<period>/deadline")
@login_required("admin")
def deadline(period):
    period = inputs.period(period)
    with refusals():
        when = _date(request.form.get("deadline", ""))
        if when is None:
            raise HemonError("请填写截止日期")
        periods.set_deadline(get_conn(), period, when, g.user)
        flash(f"{period} 截止日期已改为 {when}", "success")
    return redirect(url_for("periods.index"))


@bp.post("/<period>/lock")
@login_required("admin")
def lock(period):
    period = inputs.period(period)
    with refusals():
        locked = request.form.get("locked") == "1"
        periods.set_locked(get_conn(), period, locked, g.user)
        flash(f"{period} 已{'锁定，不再接收报表' if locked else '解除锁定'}", "success")
    return redirect(url_for("periods.index"))


@bp.get("/submissions")
@login_required("reviewer", "admin", "prefecture")
def current_submissions():
    """Who has filed the month pages open on (app.month), or the newest open month before any
    is rated; the overview when no month is open."""
    conn = get_conn()
    period = month.default(conn)
    if period is None:
        row = conn.execute("SELECT max(period) AS p FROM period").fetchone()
        period = row["p"] if row else None
    if period is None:
        return redirect(url_for("province.index"))
    return redirect(url_for("periods.submissions", period=period))


@bp.get("/<period>/submissions")
@login_required("reviewer", "admin", "prefecture")
def submissions(period):
    inputs.period(period)
    conn = get_conn()
    if conn.execute("SELECT 1 FROM period WHERE period = %s", (period,)).fetchone() is None:
        abort(404)
    scope = current_scope()
    by_county = scope.is_prefecture        # a prefecture's users follow their counties; the province its prefectures
    data = periods.submissions(conn, period, scope)
    late = [r for r in data["rows"] if r["filing"] != "on_time"]
    late_cells = [[r["name"], r["code"], (r["county_name"] if by_county else r["prefecture_name"]) or "",
                   FILING[r["filing"]], r["first_at"].strftime("%Y-%m-%d %H:%M") if r["first_at"] else "",
                   r["versions"] or None]
                  for r in late]
    prefecture_cells = [[g["name"] or g["prefecture"], g["hospitals"], g["on_time"], g["late"], g["missing"],
                         _percent(g["completeness"]), _percent(g["timeliness"])] for g in data["prefectures"]]
    if tables.wanted("late"):
        headers = ["医疗机构", "机构代码", "县（市、区）" if by_county else "市（州）", *LATE_HEADERS[3:]]
        return tables.send(f"{period} 未报与逾期", headers, late_cells, f"未报与逾期_{period}.xlsx")
    if tables.wanted("prefectures") and not by_county:
        return tables.send(f"{period} 各市州报送", PREFECTURE_HEADERS, prefecture_cells, f"各市州报送情况_{period}.xlsx")
    return render_template("periods/submissions.html", period=period, data=data, late=late, late_cells=late_cells,
                           prefecture_cells=prefecture_cells, by_county=by_county,
                           area=area_name(conn, scope) if by_county else None,
                           all_periods=[p["period"] for p in periods.listing(conn)])


FILING = {"missing": "未报", "late": "逾期", "on_time": "按时"}
LATE_HEADERS = ["医疗机构", "机构代码", "市（州）", "情况", "首次报送", "版本数"]
PREFECTURE_HEADERS = ["市（州）", "应报", "按时", "逾期", "未报", "完整率", "及时率"]


def _percent(share) -> str:
    return f"{share * 100:.1f}%" if share is not None else "—"
