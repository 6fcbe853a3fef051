"""Attribution mapping versions on the web: list, view a version's rows, download it in the
load format, upload and withdraw (admins; a withdrawal only before it takes effect), and the
simulation."""
from __future__ import annotations

import io
import tempfile
from pathlib import Path

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

from app import month
from app.auth import current_scope, login_required
from app.db import get_conn
from app.inputs import page_number
from etl.attribution import mapping, simulation
from etl.common.codes import PERIOD_PATTERN
from etl.common.errors import HemonError, InputRejected
from etl.ratings.rescoring import rescore
from reports.exports import simulation as simulation_workbook

bp = Blueprint("mappings", __name__, url_prefix="/mappings")


@bp.get("/")
@login_required("reviewer", "admin", "prefecture")
def index():
    return render_template("mappings/index.html", versions=mapping.versions(get_conn()))


@bp.post("/")
@login_required("admin")
def upload():
    conn = get_conn()
    file = request.files.get("file")
    name, effective = request.form.get("name", "").strip(), request.form.get("effective", "").strip()
    suffix = Path(file.filename or "").suffix.lower() if file else ""
    if not file or suffix not in (".xlsx", ".csv"):
        flash("请选择 .xlsx 或 .csv 格式的映射文件", "error")
        return redirect(url_for("mappings.index"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"mapping{suffix}"          # never the client's file name as a path
        file.save(path)
        try:
            mapping.load_mapping(conn, path, name, effective, loaded_by=g.user["id"])
        except InputRejected as exc:
            return render_template("mappings/index.html", versions=mapping.versions(conn), problems=exc), 400
        except HemonError as exc:
            flash(str(exc), "error")
            return redirect(url_for("mappings.index"))
    done = rescore(conn, Path(current_app.config["RISK_THRESHOLDS_FILE"]), from_period=effective)
    flash(f"已导入映射版本 {name}，自 {effective} 起生效；已重新归集并评级 {len(done.periods)} 个报告期", "success")
    return redirect(url_for("mappings.index"))


def _compare_args():
    a, b = request.args.get("a", ""), request.args.get("b", "")
    first, last = request.args.get("from") or None, request.args.get("to") or None
    for p in (first, last):
        if p and not PERIOD_PATTERN.match(p):
            raise HemonError("期间应为 YYYY-MM")
    return a, b, first, last


@bp.get("/compare")
@login_required("reviewer", "admin", "prefecture")
def compare():
    conn = get_conn()
    versions = mapping.versions(conn)
    result = None
    if request.args.get("a") and request.args.get("b"):
        try:
            a, b, first, last = _compare_args()
            result = simulation.compare(conn, a, b, first, last, current_app.config["SIMULATION_THRESHOLD_POINTS"],
                                        scope=current_scope())
        except HemonError as exc:
            flash(str(exc), "error")
    return render_template("mappings/compare.html", versions=versions, result=result, args=request.args)


@bp.get("/compare.xlsx")
@login_required("reviewer", "admin", "prefecture")
def compare_download():
    try:
        a, b, first, last = _compare_args()
        result = simulation.compare(get_conn(), a, b, first, last, current_app.config["SIMULATION_THRESHOLD_POINTS"],
                                    scope=current_scope())
    except HemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for("mappings.compare"))
    out = io.BytesIO()
    simulation_workbook.write(result, out)
    out.seek(0)
    return send_file(out, as_attachment=True, download_name=f"归集口径模拟测试_{a}_vs_{b}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _version_or_404(conn, version_id: int) -> dict:
    version = mapping.get_version(conn, version_id)
    if version is None:
        abort(404, description="映射版本不存在")
    return version


@bp.get("/<int:version_id>")
@login_required("reviewer", "admin", "prefecture")
def version(version_id):
    """A version's rows, searchable by code or name, 100 to a page."""
    conn = get_conn()
    v = _version_or_404(conn, version_id)
    text = request.args.get("q", "").strip()[:100]
    page = page_number()
    rows, total = mapping.version_rows(conn, version_id, text, 100, (page - 1) * 100)
    return render_template("mappings/version.html", v=v, rows=rows, total=total, page=page, per_page=100,
                           args={"q": text} if text else {}, q=text,
                           this_month=month.today().strftime("%Y-%m"))


@bp.get("/<int:version_id>.xlsx")
@login_required("reviewer", "admin", "prefecture")
def download(version_id):
    conn = get_conn()
    v = _version_or_404(conn, version_id)
    return send_file(io.BytesIO(mapping.workbook(conn, version_id)), as_attachment=True,
                     download_name=f"归集口径映射_{v['name']}_自{v['effective_from']}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.post("/<int:version_id>/withdraw")
@login_required("admin")
def withdraw(version_id):
    """Withdraw a version not yet in effect (audited); refused with the reason once it is."""
    try:
        v = mapping.withdraw(get_conn(), version_id, month.today().strftime("%Y-%m"), g.user)
    except HemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for("mappings.version", version_id=version_id)
                        if mapping.get_version(get_conn(), version_id) else url_for("mappings.index"))
    flash(f"已撤回映射版本“{v['name']}”（原定自 {v['effective_from']} 起生效）", "success")
    return redirect(url_for("mappings.index"))
