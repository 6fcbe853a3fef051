"""Hospitals' returns: template download, upload, findings, versions (issue 3).

Hospital users see and upload only their own hospital's returns (every query takes the user's
Scope, app/auth.py `current_scope`);
reviewers and admins may read any hospital's list, a prefecture's reviewers those of its
prefecture; leaders have no access. An upload is
saved to a temporary file and taken in by `intake.ingest_file`, exactly as `import-returns`
does. Each upload's answer is kept for a day under a random token in the instance folder,
readable only by its uploader: a rejected workbook leaves no database row, so its annotated
copy is made from the kept file when asked for.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

import click
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask.cli import with_appcontext
from psycopg import sql
from werkzeug.exceptions import RequestEntityTooLarge

from app import inputs, upload_results
from app import review as review_panel
from app.auth import current_scope, login_required
from app.db import get_conn
from etl.attribution import rollup
from etl.common.codes import PERIOD_PATTERN, default_deadline, shift_period
from etl.common.errors import HemonError
from etl.common.findings import SEVERITY_LABELS, rule_name
from etl.filing import periods, review, workflow
from etl.reference import finder
from etl.reference.scope import Scope
from etl.returns import intake
from etl.returns.annotate import annotate_safely
from etl.returns.blank_template import (
    blank_template_bytes,
    template_file_name,
    write_blank_template,
)
from etl.returns.contract import format_figure
from etl.returns.versions import diff as versions_diff
from etl.returns.versions import figures

bp = Blueprint("returns", __name__, url_prefix="/returns")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STATUS_LABELS = {None: "未上报", **workflow.STATUS_NAMES}
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
PAGE_FINDINGS = 1000
MIN_EXPLANATION = review.MIN_EXPLANATION
SEVERITY_ORDER = {"error": 0, "warning": 1, "notice": 2}


def init_globals(state) -> None:
    state.app.jinja_env.globals.setdefault("STATUS_LABELS", STATUS_LABELS)
    state.app.jinja_env.globals.setdefault("SEVERITY_LABELS", SEVERITY_LABELS)
    # Pages name a finding by its Chinese rule; the code is only in the title (tooltip).
    state.app.jinja_env.filters.setdefault("rule_name", rule_name)
    state.app.jinja_env.filters.setdefault("figure", format_figure)


bp.record_once(init_globals)


# ---- queries (every one scoped: the user's Scope, or a return already checked against it) --

def _hospital(conn, code: str, scope: Scope) -> dict | None:
    """Return the registry row (code, name) of `code` if it is in `scope`, else None."""
    where, extra = scope.clause("code")
    return conn.execute(sql.SQL("SELECT code, name FROM hospital WHERE code = %(code)s AND {}").format(where),
                        {"code": code} | extra).fetchone()


def hospital_for_template(conn, code: str, period: str, scope: Scope) -> tuple[dict | None, dt.date]:
    """Return the registry row for `code` (None outside `scope`) and the deadline of `period`
    (its own or the default)."""
    hospital = _hospital(conn, code, scope)
    row = conn.execute("SELECT deadline FROM period WHERE period = %s", (period,)).fetchone()
    return hospital, row["deadline"] if row else default_deadline(period, current_app.config["DEADLINE_DAY"])


def _return_for(conn, return_id: int) -> dict:
    """The return `return_id` if the user may see it, else 404 (hospital users: own only)."""
    where, extra = current_scope().clause("r.hospital_code")
    row = conn.execute(sql.SQL(
        """SELECT r.id, r.hospital_code, h.name AS hospital_name, r.period, r.version, r.is_current, r.status,
                  r.file_name, r.file_size, r.file_sha256, r.submitted_at, r.amount_unit, r.filled_by, r.phone,
                  p.deadline, p.locked,
                  filed_late((SELECT min(x.submitted_at) FROM return x
                              WHERE x.hospital_code = r.hospital_code AND x.period = r.period), p.deadline) AS late
           FROM return r JOIN hospital h ON h.code = r.hospital_code JOIN period p ON p.period = r.period
           WHERE r.id = %(id)s AND {where}""").format(where=where), {"id": return_id} | extra).fetchone()
    if row is None:
        abort(404)
    return row


def _file_content(conn, ret: dict) -> bytes:
    """The raw workbook of a return already checked by `_return_for`."""
    row = conn.execute("SELECT file_content FROM return WHERE id = %s AND hospital_code = %s",
                       (ret["id"], ret["hospital_code"])).fetchone()
    return bytes(row["file_content"])


def _findings(conn, return_id: int) -> list[dict]:
    return conn.execute(
        """SELECT seq, code, severity, sheet, cell, message, explanation FROM return_finding
           WHERE return_id = %s
           ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, seq""",
        (return_id,)).fetchall()


# ---- pages ---------------------------------------------------------------------------------

@bp.get("/")
@login_required("hospital", "reviewer", "admin", "prefecture")
def index():
    conn = get_conn()
    today = dt.date.today()
    scope = current_scope()
    # A hospital user's list is its own; the province picks a hospital from the scoped choice.
    code = scope.hospital_code or request.args.get("hospital") or None
    hospital = _hospital(conn, code, scope) if code else None
    if code and hospital is None:
        abort(404)
    # Province users find the hospital by name, code or pinyin initials (?q=), scoped.
    query = "" if scope.hospital_code else request.args.get("q", "").strip()
    found = finder.search(conn, query, scope) if query else []
    if len(found) == 1 and not hospital:
        return redirect(url_for("returns.index", hospital=found[0]["code"]))
    rows = periods.hospital_filings(conn, code, today, current_app.config["DEADLINE_DAY"]) if hospital else []
    return render_template("returns/index.html", hospital=hospital, query=query, found=found, rows=rows,
                           template_periods=_template_periods(conn, today),
                           max_mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
                           max_bytes=current_app.config["MAX_CONTENT_LENGTH"],
                           can_upload=g.user["role"] == "hospital")


def _template_periods(conn, today: dt.date) -> list[str]:
    """The last twelve months and this one, newest first, without locked periods."""
    this = f"{today:%Y-%m}"
    locked = {r["period"] for r in conn.execute("SELECT period FROM period WHERE locked")}
    return [p for p in (shift_period(this, -i) for i in range(13)) if p not in locked]


@bp.get("/template")
@login_required("hospital", "reviewer", "admin", "prefecture")
def template():
    period = request.args.get("period", "")
    scope = current_scope()
    code = scope.hospital_code or request.args.get("hospital", "")
    inputs.period(period)
    hospital, deadline = hospital_for_template(get_conn(), code, period, scope)
    if hospital is None:
        abort(404)
    data = blank_template_bytes(hospital["code"], hospital["name"], period, deadline=deadline)
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=template_file_name(hospital["code"], period))


@bp.post("/upload")
@login_required("hospital")
def upload():
    wants_json = request.headers.get("X-Requested-With") == "XMLHttpRequest"
    file = request.files.get("file")
    if file is None or not file.filename:
        if wants_json:
            return jsonify(error="请选择要上传的报表文件（.xlsx、.xls、.et 或 .ods）"), 400
        flash("请选择要上传的报表文件（.xlsx、.xls、.et 或 .ods）", "error")
        return redirect(url_for("returns.index"))
    cfg = current_app.config
    store = upload_results.results_dir()
    upload_results.purge(store, int(cfg["UPLOAD_RESULTS_MAX_MB"]) * 1024 * 1024)
    fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=store)
    os.close(fd)
    tmp = Path(tmp)
    token = secrets.token_urlsafe(24)
    try:
        file.save(tmp)
        settings = intake.IntakeSettings.from_config(cfg)
        result = _ingest(tmp, settings, display_name(file.filename))
        keep = upload_results.worth_keeping(result, tmp, _annotate_limit())
        record = result.as_dict() | {"user_id": g.user["id"], "return_id": result.return_id, "created": time.time()}
        upload_results.save(store / token, record, tmp if keep else None)
    finally:
        tmp.unlink(missing_ok=True)
    target = url_for("returns.result", token=token)
    return jsonify(redirect=target) if wants_json else redirect(target, code=303)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    """Answer an upload over the size limit in Chinese, as JSON for the upload script."""
    limit = current_app.config["MAX_CONTENT_LENGTH"] / (1024 * 1024)
    message = f"文件超过上限 {limit:g} MB，未上传。请删除多余的工作表或内容后重新上传。"
    if request.headers.get("X-Requested-With") == "XMLHttpRequest":
        return jsonify(error=message), 413
    return render_template("errors/error.html", code=413, title="文件过大", description=message), 413


def display_name(raw: str) -> str:
    """Return the client's file name fit for display only (never used as a path)."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()[:200]
    return name or "upload.xlsx"


def _ingest(tmp: Path, settings, name: str) -> intake.IntakeResult:
    """Take the upload in, retrying collisions; whatever else fails is an answer, never a 500."""
    try:
        return intake.ingest_retrying(get_conn(), tmp, settings, uploader=dict(g.user), file_name=name)
    except Exception:  # the uploader gets a Chinese answer; the traceback goes to the log
        current_app.logger.exception("upload of %s failed", name)
        return intake.IntakeResult(name, "rejected", findings=[intake.Finding(
            "UPLOAD_FAILED", "error", "", None,
            "系统繁忙，本次上传未能保存（未生成任何数据），请稍后重新上传；如多次出现请联系管理员")])


def _annotate_limit() -> int:
    return int(current_app.config["ANNOTATE_MAX_UNCOMPRESSED_MB"]) * 1024 * 1024


def _annotated_bytes(source, findings, title: str) -> bytes:
    """The user's workbook marked with its findings, made in a limited child process."""
    return annotate_safely(source, findings, title=title, limits=intake.parse_limits(current_app.config),
                           max_uncompressed=_annotate_limit())


def _load_result(token: str) -> tuple[dict, Path]:
    """The kept answer to an upload by the current user, or 404 (other users, expired)."""
    if not TOKEN.match(token):
        abort(404)
    folder = upload_results.results_dir() / token
    record = upload_results.load(folder, g.user["id"])
    if record is None:
        abort(404, description="校验结果不存在或已过期（保留24小时），请重新上传")
    return record, folder


@bp.get("/result/<token>")
@login_required("hospital")
def result(token):
    record, _ = _load_result(token)
    findings = sorted(record["findings"], key=lambda f: SEVERITY_ORDER.get(f["severity"], 3))
    counts = record.get("counts") or {s: sum(f["severity"] == s for f in findings) for s in SEVERITY_ORDER}
    ret = current = None
    if record["return_id"]:
        ret = _return_for(get_conn(), record["return_id"])
        if record.get("duplicate"):
            current = _current_of(get_conn(), ret)
    return render_template("returns/result.html", record=record, token=token, ret=ret, counts=counts,
                           current=current,
                           findings=findings[:PAGE_FINDINGS], total=sum(counts.values()), limit=PAGE_FINDINGS)


@bp.get("/result/<token>/annotated")
@login_required("hospital")
def result_annotated(token):
    record, folder = _load_result(token)
    source = folder / "upload.xlsx"
    data = _annotated_bytes(source if record.get("kept") and source.exists() else b"", record["findings"],
                            f"校验结果：{record['file']}（未接收）")
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=_annotated_name(record["file"]))


def _current_of(conn, ret: dict) -> dict | None:
    """The current version of the return `ret` belongs to (already checked against the scope),
    with its status and 退回意见: what an identical re-upload left unchanged."""
    return conn.execute("SELECT id, version, status, review_comment FROM return"
                        " WHERE hospital_code = %s AND period = %s AND is_current",
                        (ret["hospital_code"], ret["period"])).fetchone()


def _annotated_name(name: str) -> str:
    stem = name[:-5] if name.lower().endswith(".xlsx") else name
    return f"{stem}_校验结果.xlsx"


@bp.get("/<int:return_id>")
@login_required("hospital", "reviewer", "admin", "prefecture")
def detail(return_id):
    conn = get_conn()
    ret = _return_for(conn, return_id)
    findings = _findings(conn, return_id)
    versions = conn.execute(
        """SELECT r.id, r.version, r.is_current, r.status, r.submitted_at, r.file_name,
                  count(f.seq) FILTER (WHERE f.severity = 'warning') AS warnings,
                  count(f.seq) FILTER (WHERE f.severity = 'notice') AS notices
           FROM return r LEFT JOIN return_finding f ON f.return_id = r.id
           WHERE r.hospital_code = %s AND r.period = %s
           GROUP BY r.id ORDER BY r.version DESC""",
        (ret["hospital_code"], ret["period"])).fetchall()
    # Cell-by-cell changes against another version of the same return (default: the one before).
    other = request.args.get("compare", type=int)
    base = next((v for v in versions if v["id"] == other and v["id"] != ret["id"]), None) if other else \
        next((v for v in versions if v["version"] == ret["version"] - 1), None)
    changes = versions_diff(conn, base["id"], ret["id"]) if base else None
    return render_template("returns/detail.html", ret=ret, findings=findings, versions=versions,
                           can_explain=_can_explain(ret), min_explanation=MIN_EXPLANATION,
                           attributed=rollup.summary(conn, return_id), base=base, changes=changes,
                           figures=figures(conn, return_id), rv=review_panel.panel(conn, return_id))


def _can_explain(ret: dict) -> bool:
    return (g.user["role"] == "hospital" and ret["is_current"] and ret["status"] != "accepted"
            and not ret["locked"])


@bp.post("/<int:return_id>/explain")
@login_required("hospital")
def explain(return_id):
    """Save the hospital's explanations of warnings, each through the audited review rule."""
    conn = get_conn()
    ret = _return_for(conn, return_id)
    if not _can_explain(ret):
        abort(403, description="只有当前版本且尚未审核通过的报表可以填写说明")
    given = {int(k.split("-", 1)[1]): v.strip() for k, v in request.form.items()
             if re.fullmatch(r"explanation-[0-9]{1,6}", k) and v.strip()}
    stored = {r["seq"]: r["explanation"] for r in _findings(conn, return_id) if r["severity"] == "warning"}
    saved, refused = 0, []
    for seq, text in sorted(given.items()):
        if stored.get(seq) == text[:2000]:
            continue
        try:
            review.explain_finding(conn, return_id, seq, text[:2000], g.user, current_scope())
            saved += 1
        except HemonError as exc:
            refused.append(f"第 {seq} 条：{exc}")
    if refused:
        flash("以下说明未保存：" + "；".join(refused), "error")
    if saved:
        flash(f"已保存 {saved} 条说明", "success")
    return redirect(url_for("returns.detail", return_id=return_id), code=303)


@bp.get("/<int:return_id>/file")
@login_required("hospital", "reviewer", "admin", "prefecture")
def original(return_id):
    conn = get_conn()
    ret = _return_for(conn, return_id)
    return send_file(BytesIO(_file_content(conn, ret)), mimetype=XLSX, as_attachment=True,
                     download_name=ret["file_name"] if ret["file_name"].lower().endswith(".xlsx") else "return.xlsx")


@bp.get("/<int:return_id>/annotated")
@login_required("hospital", "reviewer", "admin", "prefecture")
def annotated(return_id):
    conn = get_conn()
    ret = _return_for(conn, return_id)
    data = _annotated_bytes(_file_content(conn, ret), _findings(conn, return_id),
                            f"校验结果：{ret['period']} 第{ret['version']}版（{STATUS_LABELS[ret['status']]}）")
    return send_file(BytesIO(data), mimetype=XLSX, as_attachment=True,
                     download_name=_annotated_name(ret["file_name"]))


# ---- command line --------------------------------------------------------------------------

@click.command("template")
@with_appcontext
@click.option("--hospital", "code", required=True, help="机构代码（18位统一社会信用代码）")
@click.option("--period", required=True, help="报告期 YYYY-MM")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="输出的 .xlsx 文件")
def template_command(code, period, out):
    """Write the blank return workbook for a hospital and period (as the web page does)."""
    if not PERIOD_PATTERN.match(period):
        raise click.BadParameter("应为 YYYY-MM", param_hint="--period")
    hospital, deadline = hospital_for_template(get_conn(), code.strip().upper(), period, Scope.province())
    if hospital is None:
        click.echo(f"错误：机构代码 {code} 不在医疗机构名录中", err=True)
        sys.exit(1)
    write_blank_template(out, hospital["code"], hospital["name"], period, deadline=deadline)
    click.echo(f"已生成 {hospital['name']} {period} 的空白报表：{out}")


commands = [template_command]
