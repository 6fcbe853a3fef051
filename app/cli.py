"""`flask --app wsgi …` commands: thin wrappers over the same functions the web calls."""
from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from app.db import get_conn, get_db, upgrade
from etl.attribution.mapping import load_mapping
from etl.common.codes import PERIOD_PATTERN
from etl.common.errors import HemonError
from etl.ratings import overview
from etl.ratings.rescoring import rescore
from etl.reference import deployment, registry_import
from etl.reference.accounts import ROLES
from etl.reference.scope import Scope
from etl.returns import intake
from reports.exports import ratings as export

db_cli = AppGroup("db", help="数据库结构（迁移）")


def init_app(app, extra=()) -> None:
    app.cli.add_command(db_cli)
    for command in (load_hospitals_command, load_mapping_command, import_returns_command,
                    export_ratings_command, score_command, demo_command, create_user_command,
                    compare_mappings_command, reattribute_command, send_reminders_command,
                    serve_command, *extra):
        app.cli.add_command(command)


def _fail(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


def _period(value: str | None) -> str | None:
    if value is not None and not PERIOD_PATTERN.match(value):
        raise click.BadParameter("应为 YYYY-MM")
    return value


@db_cli.command("upgrade")
def db_upgrade_command():
    """Apply the numbered migrations in migrations/ that are not yet applied."""
    applied = upgrade(get_conn())
    click.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none'}")


@click.command("load-hospitals")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_hospitals_command(file):
    """Load the hospital registry (xlsx or csv); a file with any bad row loads nothing."""
    try:
        done = registry_import.load(get_conn(), file, Path(current_app.config["RISK_THRESHOLDS_FILE"]))
    except HemonError as exc:
        _fail(str(exc))
    click.echo(f"已导入 {done['rows']} 家医疗机构（新增 {done['added']}，变更 {done['changed']}，"
               f"未变 {done['unchanged']}）")


@click.command("load-mapping")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--version", "name", required=True, help="版本名称")
@click.option("--effective", required=True, callback=lambda c, p, v: _period(v), help="生效月份 YYYY-MM")
def load_mapping_command(file, name, effective):
    """Store an attribution mapping file as a new version."""
    conn = get_conn()
    try:
        version_id = load_mapping(conn, file, name, effective)
    except HemonError as exc:
        _fail(str(exc))
    done = rescore(conn, Path(current_app.config["RISK_THRESHOLDS_FILE"]), from_period=effective)
    click.echo(f"已导入归集口径映射版本 {name}（id {version_id}），自 {effective} 起生效；"
               f"已重新归集并评级 {len(done.periods)} 个报告期")


@click.command("import-returns")
@with_appcontext
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="每个文件输出一行 JSON")
def import_returns_command(paths, as_json):
    """Import return workbooks (files or folders) through the same pipeline as uploads.

    Each file is its own transaction; ratings owed by an interrupted earlier run are
    recomputed first. Exits 1 when any file was skipped or rejected.
    """
    from tqdm import tqdm

    from etl.returns import batch
    settings = intake.IntakeSettings.from_config(current_app.config)
    files, skipped = batch.scan(paths)
    for s in skipped:
        if as_json:
            click.echo(json.dumps({"file": str(s.path), "status": "skipped", "reason": s.reason},
                                  ensure_ascii=False))
        else:
            click.echo(f"{s.path}: 跳过 {s.reason}")
    bar = tqdm(total=len(files), desc="导入报表", unit="份", file=sys.stderr,
               disable=as_json or not sys.stderr.isatty())

    def report(result):
        bar.update(1)
        if as_json:
            click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        elif result.status == "rejected" or result.findings:
            bar.clear()
            _print_result(result)

    try:
        results = batch.import_files(get_conn(), files, settings, on_result=report)
    finally:
        bar.close()
    rejected = [r for r in results if r.status == "rejected"]
    if not as_json:
        accepted = len(results) - len(rejected)
        click.echo(f"共 {len(results) + len(skipped)} 个文件：接收 {accepted}，退回 {len(rejected)}，"
                   f"跳过 {len(skipped)}")
        for r in rejected:
            first = r.findings[0].message if r.findings else ""
            click.echo(f"  退回 {r.file}：{first}" + (f"（共 {len(r.findings)} 条问题）" if len(r.findings) > 1 else ""))
        for s in skipped:
            click.echo(f"  跳过 {s.path}：{s.reason}")
    sys.exit(1 if rejected or skipped else 0)


def _print_result(result) -> None:
    status = "接收" if result.status == "accepted" else "退回"
    click.echo(f"{result.file}: {status} {result.hospital or ''} {result.period or ''}"
               + (f" 第{result.version}版" if result.version else ""))
    for f in result.findings:
        where = f"{f.sheet}!{f.cell}" if f.cell else f.sheet
        click.echo(f"  [{f.severity}] {f.code} {where}: {f.message}")


@click.command("compare-mappings")
@with_appcontext
@click.argument("version_a")
@click.argument("version_b")
@click.option("--from", "first", callback=lambda c, p, v: _period(v), help="起始报告期 YYYY-MM")
@click.option("--to", "last", callback=lambda c, p, v: _period(v), help="截止报告期 YYYY-MM")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="输出 Excel 文件")
def compare_mappings_command(version_a, version_b, first, last, out):
    """Simulate mapping version B against A on the stored returns (模拟测试)."""
    from etl.attribution import simulation
    from reports.exports import simulation as simulation_workbook
    try:
        result = simulation.compare(get_conn(), version_a, version_b, first, last,
                                    current_app.config["SIMULATION_THRESHOLD_POINTS"], scope=Scope.province())
    except HemonError as exc:
        _fail(str(exc))
    t = result.totals
    click.echo(f"{version_a} → {version_b}，{result.first} 至 {result.last}：医疗服务收入占比 "
               f"{t['share_a'] * 100:.2f}% → {t['share_b'] * 100:.2f}%（{t['points']:+.2f} 个百分点）；"
               f"口径变动项目 {len(result.items)} 个；变动超过 {result.threshold_points} 个百分点的医院 {len(result.movers)} 家")
    for h in result.hospitals[:10]:
        if h["points"] is not None:
            click.echo(f"  {h['code']} {h['name']}: {h['share_a'] * 100:.2f}% → {h['share_b'] * 100:.2f}%"
                       f"（{h['points']:+.2f}）")
    if out:
        simulation_workbook.write(result, out)
        click.echo(f"已写出 {out}")


@click.command("export-ratings")
@with_appcontext
@click.option("--period", required=True, callback=lambda c, p, v: _period(v), help="报告期 YYYY-MM")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="写入文件（xlsx 必填）")
def export_ratings_command(period, fmt, out):
    """Write every registered hospital's rating and indicators for a period.

    JSON is the export contract (risk.md); CSV (UTF-8 with BOM) and xlsx add names and
    prefecture for spreadsheets. Printed unless --out is given.
    """
    if fmt == "xlsx" and out is None:
        _fail("xlsx 格式请用 --out 指定文件名，例如 --out 评级_2026-10.xlsx")
    rows = overview.export_rows(get_conn(), period, Scope.province(), names=fmt != "json")
    if fmt == "xlsx":
        data = export.xlsx_bytes(rows, period)
    else:
        text = export.dumps(rows, indent=1) + "\n" if fmt == "json" else export.csv_text(rows)
        if out is None:
            click.echo(text, nl=False)
            return
        data = text.encode("utf-8")
    try:
        out.write_bytes(data)
    except OSError as exc:
        _fail(f"无法写入 {out}：{exc.strerror}")
    click.echo(f"已写出 {out}（{len(rows)} 家医疗机构）")


@click.command("score")
@with_appcontext
@click.option("--period", callback=lambda c, p, v: _period(v), help="报告期 YYYY-MM")
@click.option("--all", "all_periods", is_flag=True, help="全部报告期")
def score_command(period, all_periods):
    """Recompute indicators and ratings for one period or all."""
    from etl.ratings import pending
    if bool(period) == all_periods:
        _fail("请指定 --period YYYY-MM 或 --all 之一")
    conn, thresholds = get_conn(), Path(current_app.config["RISK_THRESHOLDS_FILE"])
    owed = pending.settle(conn, thresholds)   # an interrupted import's rescoring first
    if owed:
        click.echo(f"已补做中断导入遗留的评级：{len(owed.periods)} 个报告期")
    counts = rescore(conn, thresholds, periods=None if all_periods else [period]).counts
    click.echo("评级完成：" + "，".join(f"{k} {v}" for k, v in sorted(counts.items())))


@click.command("demo")
@with_appcontext
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="演示报表写入的目录（默认在实例目录下）")
@click.option("--seed", default=2026, show_default=True)
def demo_command(out, seed):
    """Build the demo province: registry, mapping, users, 24 months of returns, a bulletin.
    A first command on a new database, so it brings the schema up to date first."""
    out = out or Path(current_app.instance_path) / "demo"
    try:
        conn = get_conn()
        upgrade(conn)
        _build_demo(conn, out, seed)
    except HemonError as exc:
        _fail(str(exc))


def _progress_lines(step: float = 0.1):
    """A progress report for logs: a line at every `step` of the work, with an estimate."""
    started, shown = time.monotonic(), [0.0]

    def report(done: int, total: int) -> None:
        if total and (done / total >= shown[0] + step or done == total):
            shown[0] = done / total
            elapsed = time.monotonic() - started
            left = elapsed / done * (total - done)
            click.echo(f"  演示报表 {done}/{total}（{done / total:.0%}），已用 {elapsed:.0f} 秒，预计还需 {left:.0f} 秒",
                       err=True)
    return report


def _build_demo(conn, out: Path, seed: int = 2026) -> None:
    """The demo province, then its last month's bulletins, the province's and 成都's (the
    leaders' first page)."""
    from etl.demo import build
    from etl.demo.province import DEMO_LAST
    from reports.bulletin import archive
    click.echo(build.build_demo(conn, out, intake.IntakeSettings.from_config(current_app.config),
                               seed=seed, progress=True if sys.stderr.isatty() else _progress_lines()))
    bulletin = archive.publish(conn, DEMO_LAST, trigger="manual")
    click.echo(f"已生成 {DEMO_LAST} 经济运行监测月报第 {bulletin['version']} 版")
    # The demo's prefecture leader (成都) reads its own bulletin from the start.
    local = archive.publish(conn, DEMO_LAST, trigger="manual", region=build.DEMO_PREFECTURE)
    click.echo(f"已生成 {DEMO_LAST} {local['region_name']}经济运行监测月报第 {local['version']} 版")


@click.command("create-user")
@with_appcontext
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
@click.option("--hospital", "hospital_code", default=None, help="医院填报员所属机构代码")
@click.option("--region", "region_code", default=None, help="市州用户所属市州的区划代码（如 510100）")
def create_user_command(username, role, hospital_code, region_code):
    """Create a user; the password is read from standard input."""
    from etl.reference.accounts import create_user
    password = sys.stdin.readline().rstrip("\n") if not sys.stdin.isatty() else \
        click.prompt("密码", hide_input=True, confirmation_prompt=True)
    try:
        create_user(get_conn(), username, password, role, hospital_code, region_code=region_code)
    except HemonError as exc:
        _fail(str(exc))
    click.echo(f"已创建用户 {username}（{role}）")


@click.command("serve")
@with_appcontext
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
def serve_command(host, port):
    """Prepare the database (migrate; HEMON_PROVINCE's province, else the demo if empty) and serve."""
    from etl.demo import build
    from etl.reference import province as province_setup
    app = current_app._get_current_object()
    conn = get_conn()
    upgrade(conn)
    if app.config.get("PROVINCE"):      # a real deployment: its province, never the demo
        from app.deployment import first_start
        try:
            done = first_start(conn, app.config["PROVINCE"])
        except HemonError as exc:
            _fail(f"{exc}（HEMON_PROVINCE={app.config['PROVINCE']}）")
        if done:
            click.echo(done)
    elif province_setup.blank(conn):
        click.echo("数据库为空，正在生成演示省份数据（首次运行需几分钟）…")
        _build_demo(conn, Path(app.instance_path) / "demo")
    host = host or app.config["SERVER_HOST"]
    port = port or app.config["SERVER_PORT"]
    where = "嵌入式 PostgreSQL（实例目录 " + app.instance_path + "）" if get_db().embedded else "DATABASE_URL"
    click.echo(f"\n数据库：{where}")
    click.echo(f"访问地址：http://{host}:{port}/")
    if deployment.is_demo(conn):
        click.echo("演示账号（仅演示数据中存在）：")
        for username, password, role in build.DEMO_LOGINS:
            click.echo(f"  {username} / {password}  （{role}）")
    # SIGTERM exits like Ctrl-C, so the embedded PostgreSQL is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # `app.run` refuses to run inside a flask command; the same server, started directly.
    from werkzeug.serving import run_simple
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command("reattribute")
@with_appcontext
@click.option("--from", "first", required=True, callback=lambda c, p, v: _period(v), help="自该报告期起 YYYY-MM")
def reattribute_command(first):
    """Re-attribute stored returns from a period on under the versions in effect, and rescore."""
    from etl.attribution.rollup import reattribute_from
    conn = get_conn()
    with conn.transaction():
        n = reattribute_from(conn, first)
    done = rescore(conn, Path(current_app.config["RISK_THRESHOLDS_FILE"]), from_period=first)
    click.echo(f"已重新归集 {n} 份报表并评级 {len(done.periods)} 个报告期")


@click.command("send-reminders")
@with_appcontext
@click.option("--today", default=None, help="按该日期计算（YYYY-MM-DD，默认今天）")
def send_reminders_command(today):
    """Email hospitals whose return is due within the configured days and not yet filed."""
    import datetime as dt

    from etl.common import mail
    from etl.filing import reminders
    cfg = current_app.config
    smtp = mail.Smtp.from_config(cfg)
    if smtp is None:
        _fail("未配置 SMTP（HEMON_SMTP_HOST），不发送邮件提醒")
    day = dt.date.fromisoformat(today) if today else dt.date.today()
    n = reminders.send(get_conn(), smtp, day, int(cfg["REMINDER_DAYS_BEFORE"]), cfg["DEADLINE_DAY"])
    click.echo(f"已发送 {n} 封截止提醒邮件")
