"""Bulletins on the web: the archive, each bulletin as a page, its Word and PDF files.

Leaders (read-only) see bulletins and the map only; reviewers and admins read them too, and
an admin can publish a new version now (the scheduler publishes one each month by itself).
"""
from __future__ import annotations

from io import BytesIO

from flask import (
    Blueprint,
    abort,
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
from etl.common.errors import HemonError
from etl.ratings import overview
from reports.bulletin import archive
from reports.bulletin.layout import blocks

bp = Blueprint("bulletins", __name__, url_prefix="/bulletins")
READERS = ("leader", "reviewer", "admin")


@bp.get("/")
@login_required(*READERS)
def index():
    conn = get_conn()
    items = archive.listing(conn)
    latest = {}
    for b in items:                      # newest version of each period first in the list
        latest.setdefault(b["period"], b)
    return render_template("bulletins/index.html", bulletins=items, latest=latest,
                           periods=overview.periods_with_data(conn))


@bp.post("/")
@login_required("admin")
def publish():
    period = request.form.get("period", "").strip()
    try:
        bulletin = archive.publish(get_conn(), period, trigger="manual", user=g.user)
    except HemonError as exc:
        flash(str(exc), "error")
        return redirect(url_for("bulletins.index"))
    flash(f"已生成 {bulletin['period']} 月报第 {bulletin['version']} 版", "success")
    return redirect(url_for("bulletins.detail", bulletin_id=bulletin["id"]))


@bp.get("/<int:bulletin_id>")
@login_required(*READERS)
def detail(bulletin_id):
    bulletin = archive.get(get_conn(), bulletin_id) or abort(404)
    content = bulletin["snapshot"]
    return render_template("bulletins/detail.html", bulletin=bulletin, content=content, blocks=blocks(content),
                           files={f["name"]: f for f in bulletin["files"]})


@bp.get("/<int:bulletin_id>/files/<name>")
@login_required(*READERS)
def download(bulletin_id, name):
    conn = get_conn()
    bulletin = archive.get(conn, bulletin_id) or abort(404)
    found = archive.file(conn, bulletin_id, name) or abort(404)
    media_type, data = found
    as_attachment = not media_type.startswith("image/")
    response = send_file(BytesIO(data), mimetype=media_type, as_attachment=as_attachment,
                         download_name=archive.download_name(bulletin, name))
    response.headers["Cache-Control"] = "private, max-age=86400"   # an archived file never changes
    return response
