"""Administration: risk thresholds (grouped by domain, typed in each indicator's unit, previewed
before activation, versioned, audited); the users page is app/users.py and the audit log
app/audit_log.py (views of this blueprint)."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
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

from app import month
from app.auth import login_required
from app.db import get_conn
from etl.ratings import scoring
from etl.ratings.indicators import BY_ID, DOMAINS
from etl.ratings.overview import COLOUR_NAMES, DOMAIN_NAMES, OPS
from etl.ratings.preview import preview
from etl.ratings.rescoring import rescore

bp = Blueprint("admin", __name__, url_prefix="/admin")
# How a threshold of each indicator unit is typed: the unit word and the factor from the
# stored value (ratios are stored as decimals: 0.7 is typed 70 %). Money is typed in yuan.
INPUT_UNITS = {"percent": ("%", 100), "pp": ("个百分点", 100), "days": ("天", 1), "months": ("个月", 1),
               "money": ("元", 1), "yuan": ("元", 1), "plain": ("", 1)}
COLOUR_WORDS = {"yellow": "黄色", "red": "红色"}
SHORT = {"red": "红", "yellow": "黄", "green": "绿"}


def _thresholds_file() -> Path:
    return Path(current_app.config["RISK_THRESHOLDS_FILE"])


def shown(indicator: str, stored) -> str:
    """A stored threshold as typed: 0.7 → '70' for a percentage, 60 → '60' for days."""
    value = Decimal(str(stored)) * INPUT_UNITS[BY_ID[indicator].unit][1]
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "") else text


def _stored(indicator: str, colour: str, typed: str) -> str:
    """A typed threshold back as stored; ValueError in Chinese naming the indicator."""
    unit, factor = INPUT_UNITS[BY_ID[indicator].unit]
    text = typed.replace(",", "").replace("，", "").strip()
    for word in (unit, "%", "％"):
        if word and text.endswith(word):
            text = text[: -len(word)].strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite() or len(text) > 30:
        raise ValueError(f"{BY_ID[indicator].label}的{COLOUR_WORDS[colour]}阈值“{typed[:30]}”不是数字")
    return f"{(value / factor).normalize():f}"


def _body_from_form(form, active: dict) -> dict:
    """The thresholds document the form describes (values converted from their units)."""
    body = {"version": form.get("version", "").strip()[:100] or "admin", "indicators": {},
            "monitored": active["body"].get("monitored", {})}
    for name, spec in active["body"]["indicators"].items():
        new = {"domain": spec["domain"], "label": spec["label"]}
        for colour in ("yellow", "red"):
            value = form.get(f"{name}.{colour}", "").strip()
            if value:
                op = form.get(f"{name}.{colour}_op", "")
                if op not in OPS:
                    raise ValueError(f"{BY_ID[name].label}的{COLOUR_WORDS[colour]}阈值比较符无效")
                new[colour] = [op, _stored(name, colour, value)]
        body["indicators"][name] = new
    return body


def _rows(active: dict, form) -> dict:
    """The form's rows grouped by domain: {domain: [{name, label, unit, yellow/red: (op, text)}]}."""
    groups = {d: [] for d in DOMAINS}
    for name, spec in active["body"]["indicators"].items():
        row = {"name": name, "label": BY_ID[name].label, "unit": INPUT_UNITS[BY_ID[name].unit][0]}
        for colour in ("yellow", "red"):
            if form is not None:
                row[colour] = (form.get(f"{name}.{colour}_op", ""), form.get(f"{name}.{colour}", ""))
            elif spec.get(colour):
                row[colour] = (spec[colour][0], shown(name, spec[colour][1]))
            else:
                row[colour] = ("", "")
        groups.setdefault(spec["domain"], []).append(row)
    return groups


def _period_counts(conn, period: str | None) -> str:
    """A month's hospitals by colour in words: 红色 3 家、黄色 12 家、绿色 2,915 家、未上报 138 家."""
    if period is None:
        return ""
    counts = {r["rating"]: r["n"] for r in conn.execute(
        "SELECT rating, count(*) AS n FROM rating WHERE period = %s GROUP BY rating", (period,))}
    words = "、".join(f"{COLOUR_NAMES[c]} {counts[c]:,} 家" for c in COLOUR_NAMES if counts.get(c))
    return f"{period}：{words}" if words else ""


def _render(conn, active, form=None, result=None, status=200):
    return render_template("admin/thresholds.html", active=active, groups=_rows(active, form), form=form,
                           ops=OPS, domains=DOMAIN_NAMES, colours=COLOUR_NAMES, short=SHORT, preview=result,
                           versions=_versions(conn)), status


@bp.route("/thresholds", methods=("GET", "POST"))
@login_required("admin")
def thresholds():
    conn = get_conn()
    active = scoring.active_thresholds(conn, _thresholds_file())
    if request.method == "GET":
        return _render(conn, active)
    form = request.form
    try:
        body = _body_from_form(form, active)
        if form.get("action") != "activate":
            period = month.default(conn)
            if period is None:
                raise ValueError("尚无任何月份的评级结果，无法预览；可直接启用")
            return _render(conn, active, form, preview(conn, active["body"], body, period))
        if not form.get("version", "").strip():
            raise ValueError("请填写版本名称（如“2026年11月调整”）")
        version_id = scoring.save_thresholds(conn, body, g.user, form.get("note", "").strip()[:500])
    except ValueError as exc:
        flash(str(exc).removeprefix("阈值配置："), "error")
        return _render(conn, active, form, status=400)
    done = rescore(conn, _thresholds_file())
    summary = _period_counts(conn, month.default(conn))
    flash(f"已启用阈值版本“{body['version']}”（#{version_id}），已对 {len(done.periods)} 个报告期重新评级"
          + (f"。{summary}" if summary else ""), "success")
    return redirect(url_for("admin.thresholds"))


def _versions(conn):
    return conn.execute(
        """SELECT t.id, t.name, t.source, t.note, t.activated_at, u.username
           FROM threshold_version t LEFT JOIN app_user u ON u.id = t.created_by
           ORDER BY t.activated_at DESC LIMIT 20""").fetchall()
