"""Early warning (事前预警): the scoped list for reviewers, the backtest and the bulletin setting
for administrators, and the `forecast` / `forecast-backtest` commands over the same functions."""
from __future__ import annotations

import json
import sys

import click
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.cli import with_appcontext

from app import month
from app.auth import current_scope, login_required
from app.db import get_conn
from app.messages import refusals
from etl.common.codes import PERIOD_PATTERN
from etl.ratings.overview import COLOUR_NAMES
from etl.reference.scope import Scope
from etl.warning import backtest, forecast, settings
from reports.exports import ratings as export

bp = Blueprint("forecast", __name__, url_prefix="/forecast")
READERS = ("reviewer", "admin", "prefecture", "prefecture-leader")


def _backtest_rows(result: dict) -> list[dict]:
    """The backtest's rows with their names, one per horizon, target and method."""
    return [r | {"target_name": backtest.TARGET_NAMES[r["target"]], "method_name": backtest.METHOD_NAMES[r["method"]]}
            for r in result["rows"]]


@bp.get("/")
@login_required(*READERS)
def index():
    """The warnings of the chosen month for the user's scope, with the list's backtest."""
    conn = get_conn()
    period, periods = month.chosen(conn)
    items = forecast.warnings(conn, period, current_scope()) if period else []
    result = backtest.latest(conn)
    quality = {h: backtest.row(result, h) for h in (1, 2, 3)}
    return render_template("forecast/index.html", period=period, periods=periods, items=items,
                           quality=quality, colours=COLOUR_NAMES, result=result, model=forecast.MODEL,
                           method_names=backtest.METHOD_NAMES, linked=g.user["role"] in ("reviewer", "admin"))


@bp.get("/backtest")
@login_required("admin")
def backtest_page():
    conn = get_conn()
    result = backtest.latest(conn)
    return render_template("forecast/backtest.html", result=result, rows=_backtest_rows(result),
                           setting=settings.current(conn), gate=settings.gate(conn, result),
                           model=forecast.MODEL, method_names=backtest.METHOD_NAMES)


@bp.post("/backtest/refresh")
@login_required("admin")
def refresh_backtest():
    backtest.refresh(get_conn())
    flash("已按当前评级重新回测", "success")
    return redirect(url_for("forecast.backtest_page"))


@bp.post("/settings")
@login_required("admin")
def save_settings():
    form = request.form
    with refusals():
        settings.save(get_conn(), form.get("bulletin") == "on", form.get("min_precision", ""),
                      form.get("horizon", ""), g.user)
        flash("已保存月报事前预警设置", "success")
    return redirect(url_for("forecast.backtest_page"))


# --- commands ---------------------------------------------------------------------------

@click.command("forecast")
@with_appcontext
@click.option("--period", help="预警起点月份 YYYY-MM（默认：最新有评级的月份）")
@click.option("--json", "as_json", is_flag=True, help="每行一个 JSON 对象（每家医院每个风险领域一条）")
def forecast_command(period, as_json):
    """List the hospitals and domains likely to turn red or yellow within 3 months."""
    conn = get_conn()
    if period is not None and not PERIOD_PATTERN.match(period):
        click.echo("错误：--period 应为 YYYY-MM", err=True)
        sys.exit(1)
    if period is None:
        row = conn.execute("SELECT max(period) AS p FROM rating").fetchone()
        period = row["p"]
    if period is None or conn.execute("SELECT 1 FROM rating WHERE period = %s LIMIT 1", (period,)).fetchone() is None:
        click.echo(f"错误：报告期 {period or ''} 没有评级结果，无法预警", err=True)
        sys.exit(1)
    items = forecast.warnings(conn, period, Scope.province())
    for w in items:
        if as_json:
            click.echo(export.dumps(w))     # the current value as an exact decimal number
        else:
            click.echo(f"{w['hospital_name']}（{w['hospital']}）{w['domain_name']}：{COLOUR_NAMES[w['now']]}→"
                       f"{COLOUR_NAMES[w['colour']]}（{w['months_ahead']}个月后）。{w['reason']}")
    if not as_json:
        click.echo(f"{period}：预警 {len(items)} 条")


@click.command("forecast-backtest")
@with_appcontext
@click.option("--json", "as_json", is_flag=True, help="输出 JSON")
def forecast_backtest_command(as_json):
    """Backtest the early warning over the stored history, against the naive forecast."""
    conn = get_conn()
    result = backtest.cached(conn)      # up to date: recomputed (and stored) after any rescore
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(f"回测区间 {result['first']}～{result['last']}，起点月份 {result['origins']} 个，医院 {result['hospitals']} 家")
    click.echo("期限\t目标\t方法\t预测数\t实际数\t命中\t精确率\t召回率")
    for r in _backtest_rows(result):
        click.echo(f"{r['horizon']}个月\t{r['target_name']}\t{r['method_name']}\t{r['predicted']}\t{r['actual']}\t"
                   f"{r['hits']}\t{_pct(r['precision'])}\t{_pct(r['recall'])}")


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


commands = [forecast_command, forecast_backtest_command]
