"""The province's view of a period: every hospital with its colours (reviewers, admins); a
prefecture's reviewers get the same page for their prefecture, a hospital its own row."""
from __future__ import annotations

from collections import Counter
from io import BytesIO

from flask import (
    Blueprint,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from app import inputs, month, tables
from app.auth import current_scope, login_required
from app.db import get_conn
from etl.filing.tasks import hospital_tasks
from etl.ratings import overview
from etl.reference import deployment
from etl.reference import province as province_setup
from etl.reference.scope import area_name
from reports.exports import ratings as export

bp = Blueprint("province", __name__)


@bp.get("/")
@login_required()
def index():
    if g.user["role"] in ("leader", "prefecture-leader"):   # leaders read bulletins and the map, not the table
        return redirect(url_for("bulletins.index"))
    conn = get_conn()
    period, periods = month.chosen(conn)
    # A hospital user's rows are scoped in the query itself, not filtered afterwards.
    scope = current_scope()
    rows = overview.period_overview(conn, period, scope) if period else []
    headers, cells = tables.ratings_table(rows, filing=True)
    if tables.wanted("overview") and period:
        return tables.send(f"{period} 风险评级", headers, cells, f"医院风险评级表_{period}.xlsx")
    counts = Counter(r["rating"] for r in rows)
    moves = overview.changes(conn, period, scope) if period and not scope.hospital_code else None
    # A hospital's home page shows this month's task — the return it owes, or its status, 退回意见
    # and what to do next — and other months waiting for it (etl/filing/tasks.py).
    tasks = (hospital_tasks(conn, scope.hospital_code, month.today(), current_app.config["DEADLINE_DAY"])
             if scope.hospital_code else None)
    # An administrator sees the set-up steps until every one is done (README "Setting up a
    # province"); the demo is a showcase, not a set-up.
    setup = province_setup.checklist(conn) if g.user["role"] == "admin" and not deployment.is_demo(conn) else []
    return render_template("province/index.html", period=period, periods=periods, rows=rows, tasks=tasks,
                           counts=counts, colours=overview.COLOUR_NAMES, domains=overview.DOMAIN_NAMES,
                           moves=moves, cells=cells,
                           setup=setup if not all(s["done"] for s in setup) else [],
                           area=area_name(conn, scope) if scope.is_prefecture else None)


@bp.get("/export.xlsx")
@login_required("hospital", "reviewer", "admin", "prefecture")
def export_xlsx():
    """The period's ratings as a workbook (default: the month pages open on, app.month).

    Scoped in the query: a hospital user's workbook holds its own row only.
    """
    conn = get_conn()
    period = inputs.period(request.args.get("period"), required=False) or month.default(conn)
    if period is None:
        return redirect(url_for("province.index"))
    rows = overview.export_rows(conn, period, current_scope(), names=True)
    return send_file(BytesIO(export.xlsx_bytes(rows, period)), as_attachment=True,
                     download_name=f"医院风险评级_{period}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
