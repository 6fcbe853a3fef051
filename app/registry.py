"""The hospital registry on the web (admins): list, search and export; add and edit a hospital;
close, reopen, change of code, merger; coordinates on a small map; a registry file imported
after a preview. The rules are etl/reference/registry_*; every change is audited there."""
from __future__ import annotations

import datetime as dt
import re
import secrets
import tempfile
import time
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

from app.auth import login_required
from app.db import get_conn
from etl.common.errors import HemonError, InputRejected
from etl.reference import registry_changes as changes
from etl.reference import registry_import, registry_places, registry_search
from etl.reference.registry import LEVELS

bp = Blueprint("registry", __name__, url_prefix="/admin/hospitals")
TOKEN = re.compile(r"\A[0-9a-f]{32}\Z")
IMPORT_SUFFIXES = (".xlsx", ".csv")
IMPORT_KEEP_SECONDS = 24 * 3600


def _thresholds() -> Path:
    return Path(current_app.config["RISK_THRESHOLDS_FILE"])


def _page() -> int:
    value = request.args.get("page", "1")
    return int(value) if value.isdigit() and len(value) < 7 else 1


@bp.get("/")
@login_required("admin")
def index():
    conn = get_conn()
    filters = registry_search.Filters.from_args(request.args)
    found = registry_search.search(conn, filters, _page())
    args = {k: v for k, v in vars(filters).items() if v}
    return render_template("registry/index.html", found=found, filters=filters, args=args,
                           choices=registry_search.choices(conn))


@bp.get("/export.xlsx")
@login_required("admin")
def export_xlsx():
    rows = registry_search.matching(get_conn(), registry_search.Filters.from_args(request.args))
    with tempfile.TemporaryDirectory() as tmp:
        data = registry_search.write_xlsx(rows, Path(tmp) / "registry.xlsx").read_bytes()
    from io import BytesIO
    return send_file(BytesIO(data), as_attachment=True, download_name="医疗机构名录.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _form_row() -> dict:
    """The form as a registry row {column: text}."""
    return {label: request.form.get(key, "").strip()[:200] for label, key in changes.FIELDS.items()}


def _form_context(conn, hospital: dict | None, values: dict) -> dict:
    regions = conn.execute("SELECT code, name, level FROM region WHERE level > 1 ORDER BY code").fetchall()
    kinds = {k: [r[k] for r in conn.execute(f"SELECT DISTINCT {k} FROM hospital ORDER BY 1")]
             for k in ("category", "affiliation")}
    return {"hospital": hospital, "values": values, "levels": LEVELS, "regions": regions, "kinds": kinds,
            "labels": changes.LABELS, "map": registry_places.map_data(conn, hospital or _as_hospital(values))}


def _as_hospital(values: dict) -> dict | None:
    try:
        return {"longitude": float(values.get("longitude")), "latitude": float(values.get("latitude")),
                "region_code": values.get("region_code")}
    except (TypeError, ValueError):
        return None


def _problems(exc: InputRejected) -> dict:
    """{field key: [messages]} from a refused row; messages without a field go under ''."""
    out: dict[str, list[str]] = {}
    for label, message in exc.problems:
        out.setdefault(changes.FIELDS.get(label, ""), []).append(message)
    return out


@bp.route("/new", methods=("GET", "POST"))
@login_required("admin")
def new():
    conn = get_conn()
    values = {k: request.form.get(k, "") for k in (*changes.FIELDS.values(), "opened_from")}
    if request.method == "POST":
        try:
            added = changes.add(conn, _form_row(), g.user, request.form.get("opened_from", ""),
                                thresholds_file=Path(current_app.config["RISK_THRESHOLDS_FILE"]))
        except InputRejected as exc:
            return render_template("registry/form.html", problems=_problems(exc), message=exc.message,
                                   **_form_context(conn, None, values)), 400
        except HemonError as exc:
            return render_template("registry/form.html", problems={}, message=str(exc),
                                   **_form_context(conn, None, values)), 400
        flash(f"已新增医疗机构 {added['name']}（{added['code']}）", "success")
        return redirect(url_for(".detail", code=added["code"]))
    return render_template("registry/form.html", problems={}, message=None, **_form_context(conn, None, values))


def _hospital_or_404(conn, code: str) -> dict:
    hospital = changes.get(conn, code) if len(code) <= 18 else None
    if hospital is None:
        abort(404)
    return hospital


def _detail(conn, hospital: dict, values: dict, problems: dict, message: str | None, status: int = 200):
    successor = changes.get(conn, hospital["successor_code"]) if hospital["successor_code"] else None
    return render_template("registry/form.html", problems=problems, message=message, successor=successor,
                           history=changes.history(conn, hospital["code"]), names=changes.EVENT_NAMES,
                           misplaced=registry_places.misplaced(conn, hospital),
                           **_form_context(conn, hospital, values)), status


@bp.route("/<code>", methods=("GET", "POST"))
@login_required("admin")
def detail(code):
    conn = get_conn()
    hospital = _hospital_or_404(conn, code)
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in changes.FIELDS.values()} | {"code": code}
        try:
            done = changes.edit(conn, code, _form_row(), g.user)
        except InputRejected as exc:
            return _detail(conn, hospital, values, _problems(exc), exc.message, 400)
        except HemonError as exc:
            return _detail(conn, hospital, values, {}, str(exc), 400)
        flash("已保存：" + "；".join(f"{changes.LABELS[k]} {v[0]} → {v[1]}" for k, v in done.items())
              if done else "没有改动", "success")
        return redirect(url_for(".detail", code=code))
    return _detail(conn, hospital, {k: hospital[k] for k in changes.FIELDS.values()}, {}, None)


def _act(code: str, action, done: str, then: str | None = None):
    """Run one closing-type action from a form; a refusal is flashed and changes nothing.
    On success go to hospital `then` (default: this one)."""
    conn = get_conn()
    _hospital_or_404(conn, code)
    try:
        action(conn)
    except HemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".detail", code=code))
    flash(done, "success")
    return redirect(url_for(".detail", code=then or code))


def _date(value: str) -> dt.date | None:
    """A form's optional date (YYYY-MM-DD); a bad one is a Chinese refusal."""
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise HemonError(f"关闭日期“{value.strip()[:20]}”应为日期，如 2026-10-20") from None


@bp.post("/<code>/close")
@login_required("admin")
def close(code):
    form = request.form
    return _act(code, lambda conn: changes.close(conn, code, form.get("period", ""), form.get("reason", ""), g.user,
                                                 _thresholds(), _date(form.get("closed_on", ""))),
                f"已关闭，自 {form.get('period', '')} 起不再要求报送")


@bp.post("/<code>/reopen")
@login_required("admin")
def reopen(code):
    return _act(code, lambda conn: changes.reopen(conn, code, request.form.get("reason", ""), g.user, _thresholds()),
                "已恢复为在册机构")


@bp.post("/<code>/code")
@login_required("admin")
def change_code(code):
    form = request.form
    new_code = form.get("new_code", "").strip().upper()[:30]
    return _act(code, lambda conn: changes.change_code(conn, code, new_code, form.get("period", ""),
                                                       form.get("reason", ""), g.user, _thresholds()),
                f"已更换机构代码为 {new_code}，自 {form.get('period', '')} 起以新代码报送", then=new_code)


@bp.post("/<code>/merge")
@login_required("admin")
def merge(code):
    form = request.form
    return _act(code, lambda conn: changes.merge(conn, code, form.get("into", "")[:30], form.get("period", ""),
                                                 form.get("reason", ""), g.user, _thresholds()),
                f"已登记合并：自 {form.get('period', '')} 起并入 {form.get('into', '').strip().upper()[:30]}")


def _imports_dir() -> Path:
    path = Path(current_app.instance_path) / "registry-imports"
    path.mkdir(parents=True, exist_ok=True)
    for old in path.iterdir():       # previews not applied within a day are dropped
        if old.stat().st_mtime < time.time() - IMPORT_KEEP_SECONDS:
            old.unlink(missing_ok=True)
    return path


def _import_file(token: str) -> Path:
    if not TOKEN.match(token):
        abort(404)
    found = [p for p in _imports_dir().glob(token + ".*") if p.suffix in IMPORT_SUFFIXES]
    if not found:
        abort(404)
    return found[0]


@bp.route("/import", methods=("GET", "POST"))
@login_required("admin")
def import_file():
    if request.method == "GET":
        return render_template("registry/import.html", preview=None, problems=None)
    file = request.files.get("file")
    suffix = Path(file.filename or "").suffix.lower() if file else ""
    if not file or suffix not in IMPORT_SUFFIXES:
        flash("请选择 .xlsx 或 .csv 格式的医疗机构名录文件", "error")
        return render_template("registry/import.html", preview=None, problems=None), 400
    token = secrets.token_hex(16)
    path = _imports_dir() / f"{token}{suffix}"      # never the client's file name as a path
    file.save(path)
    try:
        preview = registry_import.preview(get_conn(), path)
    except InputRejected as exc:
        path.unlink(missing_ok=True)
        return render_template("registry/import.html", preview=None, problems=exc), 400
    return render_template("registry/import.html", preview=preview, problems=None, token=token,
                           file_name=Path(file.filename).name[:200], labels=changes.LABELS)


@bp.post("/import/<token>")
@login_required("admin")
def import_apply(token):
    path = _import_file(token)
    form = request.form
    close_codes = [c for c in form.getlist("close") if c][:100000]
    try:
        done = registry_import.apply(get_conn(), path, form.get("digest", ""), close_codes, form.get("period") or None,
                                     form.get("reason", "").strip() or None, g.user, _thresholds(),
                                     form.get("file_name", "")[:200])
    except HemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".import_file"))
    path.unlink(missing_ok=True)
    flash(f"名录已导入：新增 {done['added']} 家，修改 {done['changed']} 家，关闭 {done['closed']} 家，"
          f"未变 {done['unchanged']} 家", "success")
    return redirect(url_for(".index"))
