"""Review actions on a return: accept it, or return it for revision (hospitals explain
warnings on the return's page, app/returns.py)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from psycopg import sql

from app.auth import current_scope, login_required
from app.db import get_conn
from etl.common.errors import HemonError
from etl.filing import review

bp = Blueprint("review", __name__, url_prefix="/review")


def _back(ret: dict):
    return redirect(url_for("hospitals.detail", code=ret["hospital_code"], period=ret["period"]))


def _return_or_404(conn, return_id: int) -> dict:
    where, extra = current_scope().clause("hospital_code")
    ret = conn.execute(sql.SQL("SELECT id, hospital_code, period FROM return WHERE id = %(id)s AND {}").format(where),
                       {"id": return_id} | extra).fetchone()
    if ret is None:
        abort(404)
    return ret


@bp.post("/<int:return_id>/accept")
@login_required("reviewer", "admin")
def accept(return_id):
    conn = get_conn()
    ret = _return_or_404(conn, return_id)
    try:
        review.accept(conn, return_id, g.user, Path(current_app.config["RISK_THRESHOLDS_FILE"]))
        flash("已审核通过，评级不再是暂定", "success")
    except HemonError as exc:
        flash(str(exc), "error")
    return _back(ret)


@bp.post("/<int:return_id>/return")
@login_required("reviewer", "admin")
def return_for_revision(return_id):
    conn = get_conn()
    ret = _return_or_404(conn, return_id)
    try:
        review.return_for_revision(conn, return_id, g.user, request.form.get("comment", ""),
                                   Path(current_app.config["RISK_THRESHOLDS_FILE"]))
        flash("已退回医院修改", "success")
    except HemonError as exc:
        flash(str(exc), "error")
    return _back(ret)

