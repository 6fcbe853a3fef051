"""Administration: risk thresholds (validated, versioned, audited) and the audit log; the
users page is app/users.py and the audit log app/audit_log.py (views of this blueprint)."""
from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from app.auth import login_required
from app.db import get_conn
from etl.ratings import scoring
from etl.ratings.overview import COLOUR_NAMES, DOMAIN_NAMES, UNITS
from etl.ratings.rescoring import rescore

bp = Blueprint("admin", __name__, url_prefix="/admin")
OPS = ("<", "<=", ">", ">=")


def _thresholds_file() -> Path:
    return Path(current_app.config["RISK_THRESHOLDS_FILE"])


def _counts_words(counts: dict) -> str:
    """The rescoring's ratings by colour in words, red first: 红色 3，黄色 12，绿色 2915.

    The counts are ratings over every period rescored, not hospitals, so no unit is named.
    """
    order = list(COLOUR_NAMES)
    ranked = sorted(counts.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    return "，".join(f"{COLOUR_NAMES.get(k, k)} {v}" for k, v in ranked) or "无"


@bp.route("/thresholds", methods=("GET", "POST"))
@login_required("admin")
def thresholds():
    conn = get_conn()
    active = scoring.active_thresholds(conn, _thresholds_file())
    if request.method == "POST":
        body = {"version": request.form.get("version", "").strip() or "admin",
                "indicators": {}, "monitored": active["body"].get("monitored", {})}
        for name, spec in active["body"]["indicators"].items():
            new = {"domain": spec["domain"], "label": spec["label"]}
            for colour in ("yellow", "red"):
                value = request.form.get(f"{name}.{colour}", "").strip()
                if value:
                    new[colour] = [request.form.get(f"{name}.{colour}_op", ""), value]
            body["indicators"][name] = new
        try:
            version_id = scoring.save_thresholds(conn, body, g.user, request.form.get("note", "").strip())
        except ValueError as exc:
            flash(str(exc), "error")
            return render_template("admin/thresholds.html", active=active, form=request.form, ops=OPS,
                                   domains=DOMAIN_NAMES, units=UNITS, versions=_versions(conn)), 400
        counts = rescore(conn, _thresholds_file()).counts
        flash(f"已启用阈值版本 {body['version']}（#{version_id}），已重新评级（各报告期合计）：" +
              _counts_words(counts), "success")
        return redirect(url_for("admin.thresholds"))
    return render_template("admin/thresholds.html", active=active, form=None, ops=OPS, domains=DOMAIN_NAMES,
                           units=UNITS, versions=_versions(conn))


def _versions(conn):
    return conn.execute(
        """SELECT t.id, t.name, t.source, t.note, t.activated_at, u.username
           FROM threshold_version t LEFT JOIN app_user u ON u.id = t.created_by
           ORDER BY t.activated_at DESC LIMIT 20""").fetchall()
