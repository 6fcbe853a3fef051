"""Bulletins on the web: the archive, each bulletin as a page, its Word and PDF files.

Leaders (read-only) see bulletins and the map only; reviewers and admins read them too, and
an admin can publish a new version now, of the province's or a prefecture's bulletin (the
scheduler publishes them each month by itself), and withdraw a version with a reason: only
admins still see it (marked 已撤回); for everyone else its page and files answer 404, and the
period's previous version is the latest. A prefecture's users read its bulletins only;
another's, or the province's, answers 404.
"""
from __future__ import annotations

from io import BytesIO

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

from app import inputs, month, tables
from app.auth import current_scope, login_required
from app.db import get_conn
from etl.common.codes import PERIOD_PATTERN
from etl.common.errors import HemonError
from etl.filing import periods
from reports.bulletin import archive
from reports.bulletin.layout import blocks

bp = Blueprint("bulletins", __name__, url_prefix="/bulletins")
READERS = ("leader", "reviewer", "admin", "prefecture", "prefecture-leader")


@bp.get("/")
@login_required(*READERS)
def index():
    conn = get_conn()
    items = archive.listing(conn, scope=current_scope(),       # a prefecture's users: its own only
                            visible_only=not _sees_withdrawn())
    latest = {}
    for b in items:                      # newest version of each period (and area) first in the list
        if b["withdrawn_at"] is None:
            latest.setdefault((b["period"], b["region_code"]), b["id"])
    choices = periods.rated_periods(conn, current_app.config["DEADLINE_DAY"], current_scope())
    chosen = inputs.period(request.args.get("period"), required=False) or month.default(conn, choices)
    return render_template("bulletins/index.html", bulletins=items, periods=choices, period=chosen,
                           superseded={b["id"] for b in items if b["withdrawn_at"] is None
                                       and latest[(b["period"], b["region_code"])] != b["id"]},
                           threshold=month.share(), prefectures=archive.prefecture_names(conn))


def incomplete(conn, period: str) -> str | None:
    """The warning a publish of `period` needs confirming past, or None when enough have filed
    (or the period is not open: publishing then says so itself)."""
    filed = periods.filing_share(conn, period)
    if filed is None or filed["share"] >= month.share():
        return None
    return (f"本期仅报送 {filed['filed']}/{filed['hospitals']} 家（{filed['percent']}%），"
            f"低于 {month.share():.0%}，确认仍要生成？请勾选“报送不足仍生成”后再提交。")


@bp.post("/")
@login_required("admin")
def publish():
    period = request.form.get("period", "").strip()
    conn = get_conn()
    # Below the filing share a bulletin would report a month most hospitals have not filed yet.
    warning = incomplete(conn, period) if PERIOD_PATTERN.match(period) else None
    if warning and request.form.get("confirm") != "1":
        flash(warning)
        return redirect(url_for("bulletins.index", period=period))
    try:
        bulletin = archive.publish(conn, period, trigger="manual", user=g.user,
                                   region=request.form.get("region", "").strip() or None)
    except HemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for("bulletins.index"))
    flash(f"已生成 {bulletin['period']} {bulletin['region_name'] or ''}月报第 {bulletin['version']} 版", "success")
    return redirect(url_for("bulletins.detail", bulletin_id=bulletin["id"]))


def _sees_withdrawn() -> bool:
    return g.user["role"] == "admin"


@bp.post("/<int:bulletin_id>/withdraw")
@login_required("admin")
def withdraw(bulletin_id):
    try:
        bulletin = archive.withdraw(get_conn(), bulletin_id, request.form.get("reason", ""), g.user)
    except HemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for("bulletins.detail", bulletin_id=bulletin_id))
    flash(f"已撤回 {bulletin['period']} 月报第 {bulletin['version']} 版：领导不再看到此版本", "success")
    return redirect(url_for("bulletins.detail", bulletin_id=bulletin_id))


@bp.get("/<int:bulletin_id>")
@login_required(*READERS)
def detail(bulletin_id):
    bulletin = archive.readable(get_conn(), bulletin_id, scope=current_scope(),
                                withdrawn=_sees_withdrawn()) or abort(404)
    content = bulletin["snapshot"]
    cells = appendix_cells(content)
    if tables.wanted("appendix"):
        return tables.send(f"{bulletin['period']} 附表", APPENDIX_HEADERS, cells,
                           archive.download_name(bulletin, "附表.xlsx"))
    return render_template("bulletins/detail.html", bulletin=bulletin, content=content, blocks=blocks(content),
                           files={f["name"]: f for f in bulletin["files"]}, cells=cells,
                           groups=appendix_groups(content))


APPENDIX_HEADERS = ["序号", "医疗机构", "机构代码", "市（州）", "等级", "总体评级", "收不抵支", "长期债务", "拖欠薪酬", "备注"]


def appendix_cells(content: dict) -> list[list]:
    """The appendix as the workbook and the filter box read it: one row per hospital, in order."""
    colour = tables.COLOURS
    return [[i, r["name"], r.get("code", ""), r["prefecture"], r["level"], colour.get(r["rating"], r["rating"]),
             colour.get(r["deficit"], r["deficit"]), colour.get(r["debt"], r["debt"]),
             colour.get(r["wages"], r["wages"]), "暂定" if r["provisional"] else ""]
            for i, r in enumerate(content.get("appendix", []), 1)]


def appendix_groups(content: dict) -> list[dict]:
    """The appendix's rows by prefecture, in the order the appendix first names each (its
    worst hospitals first), each with its colour counts: on a phone the 136 rows fold into
    one line per prefecture."""
    groups: dict[str, dict] = {}
    for i, r in enumerate(content.get("appendix", [])):
        g = groups.setdefault(r["prefecture"], {"name": r["prefecture"] or "未登记地区", "rows": [],
                                                "counts": {c: 0 for c in tables.SEVERITY}})
        g["rows"].append(i)
        g["counts"][r["rating"]] = g["counts"].get(r["rating"], 0) + 1
    return list(groups.values())


@bp.get("/<int:bulletin_id>/files/<name>")
@login_required(*READERS)
def download(bulletin_id, name):
    conn = get_conn()
    bulletin = archive.readable(conn, bulletin_id, scope=current_scope(),
                                withdrawn=_sees_withdrawn()) or abort(404)
    found = archive.file(conn, bulletin_id, name) or abort(404)
    media_type, data = found
    as_attachment = not media_type.startswith("image/")
    response = send_file(BytesIO(data), mimetype=media_type, as_attachment=as_attachment,
                         download_name=archive.download_name(bulletin, name))
    response.headers["Cache-Control"] = "private, max-age=86400"   # an archived file never changes
    return response
