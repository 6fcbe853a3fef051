"""The scheduler: every timed job of the platform, declared once in JOBS.

`flask --app wsgi scheduler` runs them in the foreground (APScheduler 3); with
SCHEDULER_IN_WEB each web process runs them too. However many schedulers run against one
database, PostgreSQL advisory locks make each job's work happen once:

- the monthly bulletin (previous month's, on BULLETIN_DAY at BULLETIN_HOUR), and one per
  prefecture with hospitals, is published
  inside a transaction holding `pg_try_advisory_xact_lock(BULLETIN_LOCK, yyyymm)`; a
  scheduler that cannot take it, or finds the period's scheduled bulletin made, skips —
  and the unique index on scheduled bulletins per period backs this up;
- deadline reminders (daily at REMINDER_HOUR) run under a session lock for the day, and
  `reminder_sent` keeps any later run from sending the same reminder again.

Also here: `flask --app wsgi bulletin --period YYYY-MM --out DIR [--email]`.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import smtplib
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

import click
import psycopg
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from flask import Flask, current_app
from flask.cli import with_appcontext

from app.db import get_conn, get_db
from etl.common import mail
from etl.common.codes import shift_period
from etl.common.errors import HemonError
from etl.filing import reminders
from reports.bulletin import archive, delivery

logger = logging.getLogger(__name__)

# Advisory lock namespaces (the two-key form, which never meets app.db's MIGRATION_LOCK).
BULLETIN_LOCK = 7_145_002      # (BULLETIN_LOCK, yyyymm of the period)
REMINDER_LOCK = 7_145_003      # (REMINDER_LOCK, yyyymmdd of the day)


# --- the jobs -----------------------------------------------------------------------------

def _now(app: Flask, now: dt.datetime | None = None) -> dt.datetime:
    """`now` (default: the present) in the province's time zone."""
    tz = ZoneInfo(app.config["TIMEZONE"])
    return now.astimezone(tz) if now else dt.datetime.now(tz)


def previous_period(day: dt.date) -> str:
    return shift_period(f"{day.year:04d}-{day.month:02d}", -1)


def scheduled_bulletin(app: Flask, now: dt.datetime | None = None) -> dict | None:
    """Publish last month's bulletin unless another scheduler has (or is doing it); then email it.
    With it, one bulletin per prefecture with hospitals (not emailed: its users read it on
    the web); each one not yet made is made, so a run cut short is finished by the next.

    Returns the province's bulletin, or None where this scheduler made none of it.
    """
    period = previous_period(_now(app, now).date())
    key = int(period[:4]) * 100 + int(period[5:7])
    db = app.extensions["hemon_db"]
    with app.app_context(), db.connect() as lock_conn, db.connect() as conn:
        # The lock is held on its own connection for as long as the publish runs on the other
        # (which reads at REPEATABLE READ), and released only after the publish committed.
        with lock_conn.transaction():
            if not lock_conn.execute("SELECT pg_try_advisory_xact_lock(%s, %s) AS ok",
                                     (BULLETIN_LOCK, key)).fetchone()["ok"]:
                logger.info("bulletin %s skipped: another scheduler holds the lock", period)
                return None
            made = {r["region_code"]: r["version"] for r in lock_conn.execute(
                "SELECT region_code, version FROM bulletin WHERE period = %s AND trigger = 'schedule'", (period,))}
            regions = [None, *archive.prefectures_with_hospitals(lock_conn)]
            if all(region in made for region in regions):
                logger.info("bulletin %s skipped: the scheduled bulletin exists (version %s)", period, made[None])
                return None
            bulletin = None
            for region in (r for r in regions if r not in made):
                try:
                    published = archive.publish(conn, period, trigger="schedule", region=region)
                except (archive.AlreadyScheduled, psycopg.errors.UniqueViolation):
                    logger.info("bulletin %s %s skipped: another scheduler made it", period, region or "province")
                    continue
                except HemonError as exc:
                    if region is None:
                        raise
                    # One prefecture's failure is logged; the others still get theirs.
                    logger.error("bulletin %s %s failed: %s", period, region, exc)
                    continue
                if region is None:
                    bulletin = published
                    logger.info("bulletin %s version %s published (id %s)", period, published["version"],
                                published["id"])
                else:
                    logger.info("bulletin %s %s version %s published (id %s)", period, region,
                                published["version"], published["id"])
        if bulletin is not None:
            _email(app, conn, bulletin)
    return bulletin


def _email(app: Flask, conn: psycopg.Connection, bulletin: dict) -> None:
    smtp = mail.Smtp.from_config(app.config)
    try:
        to = delivery.parse_recipients(app.config.get("BULLETIN_RECIPIENTS"))
    except HemonError as exc:
        logger.error("bulletin %s not emailed: BULLETIN_RECIPIENTS: %s", bulletin["period"], exc)
        return
    if smtp is None or not to:
        logger.info("bulletin %s not emailed: SMTP_HOST or BULLETIN_RECIPIENTS not configured", bulletin["period"])
        return
    try:
        delivery.deliver(conn, bulletin["id"], smtp, to)
    except (smtplib.SMTPException, OSError) as exc:
        logger.error("bulletin %s not emailed: %s", bulletin["period"], exc)


def scheduled_reminders(app: Flask, now: dt.datetime | None = None) -> int | None:
    """Send today's deadline reminders (etl.filing.reminders.send); None where skipped."""
    smtp = mail.Smtp.from_config(app.config)
    if smtp is None:
        logger.info("deadline reminders skipped: SMTP_HOST not configured")
        return None
    today = _now(app, now).date()
    key = today.year * 10_000 + today.month * 100 + today.day
    cfg = app.config
    with app.app_context(), app.extensions["hemon_db"].connect() as conn:
        # A session lock: each reminder is committed as it is sent, not at the end.
        if not conn.execute("SELECT pg_try_advisory_lock(%s, %s) AS ok", (REMINDER_LOCK, key)).fetchone()["ok"]:
            logger.info("deadline reminders skipped: another scheduler is sending them")
            return None
        try:
            return reminders.send(conn, smtp, today, int(cfg["REMINDER_DAYS_BEFORE"]), int(cfg["DEADLINE_DAY"]))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (REMINDER_LOCK, key))


def _logged(func: Callable) -> Callable:
    """A job that logs its failure (with the traceback, for the operator) and lets the scheduler go on."""
    def run(app: Flask):
        try:
            return func(app)
        except HemonError as exc:
            logger.error("%s failed: %s", func.__name__, exc)
        except Exception:
            logger.exception("%s failed", func.__name__)
    run.__name__ = run.__qualname__ = func.__name__
    return run


# --- the schedule: declared here and nowhere else -------------------------------------------

@dataclass(frozen=True)
class Job:
    id: str
    description: str                       # shown by `flask --app wsgi scheduler`
    func: Callable[[Flask], object]
    trigger: Callable[[dict], object]      # config -> APScheduler trigger


def _bulletin_trigger(cfg) -> object:
    tz = ZoneInfo(cfg["TIMEZONE"])
    if cfg.get("BULLETIN_RUN_AT"):
        at = cfg["BULLETIN_RUN_AT"]
        at = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
        return DateTrigger(run_date=at if at.tzinfo else at.replace(tzinfo=tz), timezone=tz)
    return CronTrigger(day=_setting(cfg, "BULLETIN_DAY", 1, 28), hour=_setting(cfg, "BULLETIN_HOUR", 0, 23),
                       minute=0, timezone=tz)


def _reminder_trigger(cfg) -> object:
    return CronTrigger(hour=_setting(cfg, "REMINDER_HOUR", 0, 23), minute=0, timezone=ZoneInfo(cfg["TIMEZONE"]))


JOBS = (
    Job("monthly-bulletin", "上月经济运行监测月报：生成、归档，并按配置发送邮件", scheduled_bulletin, _bulletin_trigger),
    Job("deadline-reminders", "报表截止提醒邮件", scheduled_reminders, _reminder_trigger),
)


def _setting(cfg, name: str, low: int, high: int) -> int:
    try:
        value = int(cfg[name])
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high:
        raise HemonError(f"配置 {name} 应为 {low}–{high} 之间的整数，当前为 {cfg.get(name)!r}")
    return value


def make_scheduler(app: Flask, background: bool = False, now: dt.datetime | None = None) -> BaseScheduler:
    """A scheduler with every job in JOBS; not started.

    With SCHEDULER_CATCH_UP, a bulletin whose moment this month has passed is made at start
    (the scheduler may have been down then; the job skips if it exists already).
    """
    cfg = app.config
    tz = ZoneInfo(cfg["TIMEZONE"])
    cls = BackgroundScheduler if background else BlockingScheduler
    scheduler = cls(timezone=tz, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
    for job in JOBS:
        scheduler.add_job(_logged(job.func), job.trigger(cfg), args=[app], id=job.id, name=job.description)
    if cfg.get("SCHEDULER_CATCH_UP") and not cfg.get("BULLETIN_RUN_AT"):
        now = _now(app, now)
        due = now.replace(day=_setting(cfg, "BULLETIN_DAY", 1, 28), hour=_setting(cfg, "BULLETIN_HOUR", 0, 23),
                          minute=0, second=0, microsecond=0)
        if now >= due:
            scheduler.add_job(_logged(scheduled_bulletin), DateTrigger(run_date=now, timezone=tz), args=[app],
                              id="monthly-bulletin-catch-up", name="补做本月未生成的定时月报")
    return scheduler


# --- in the web process (SCHEDULER_IN_WEB) -----------------------------------------------------

_web_lock = threading.Lock()


def init_app(app: Flask) -> None:
    """With SCHEDULER_IN_WEB, each web process starts a background scheduler on its first request.

    On the first request rather than at import: gunicorn forks workers after loading the
    app (threads do not survive a fork), and `flask` commands never start one. The running
    scheduler is app.extensions["hemon_scheduler"].
    """
    if not app.config.get("SCHEDULER_IN_WEB"):
        return

    @app.before_request
    def _start_scheduler():
        if app.extensions.get("hemon_scheduler_pid") == os.getpid():
            return
        with _web_lock:
            if app.extensions.get("hemon_scheduler_pid") == os.getpid():
                return
            app.extensions["hemon_scheduler_pid"] = os.getpid()
            try:
                scheduler = make_scheduler(app, background=True)
                scheduler.start()
                app.extensions["hemon_scheduler"] = scheduler
                logger.info("scheduler started in web process %s", os.getpid())
            except Exception:
                logger.exception("scheduler not started in web process %s", os.getpid())


# --- commands ------------------------------------------------------------------------------------

def _fail(message: str) -> None:
    click.echo(f"错误：{message}", err=True)
    sys.exit(1)


@click.command("bulletin")
@with_appcontext
@click.option("--period", required=True, help="报告期 YYYY-MM")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Word、PDF 写入的目录")
@click.option("--email", "send", is_flag=True, help="并发送给 BULLETIN_RECIPIENTS")
@click.option("--region", default=None, help="市州区划代码：生成该市州的月报（默认全省）")
def bulletin_command(period, out, send, region):
    """Publish the period's bulletin (the province's, or --region a prefecture's) as a new
    version, write its Word and PDF into OUT."""
    cfg = current_app.config
    smtp = to = None
    if send:
        smtp = mail.Smtp.from_config(cfg)
        if smtp is None:
            _fail("未配置 SMTP（HEMON_SMTP_HOST），无法发送月报")
        try:
            to = delivery.parse_recipients(cfg.get("BULLETIN_RECIPIENTS"))
        except HemonError as exc:
            _fail(f"BULLETIN_RECIPIENTS：{exc}")
        if not to:
            _fail("未配置月报收件人（HEMON_BULLETIN_RECIPIENTS）")
    conn = get_conn()
    try:
        bulletin = archive.publish(conn, period, trigger="manual", region=region or None)
    except HemonError as exc:
        _fail(str(exc))
    except Exception as exc:                              # logged for the operator, never a traceback
        logger.exception("bulletin %s failed", period)
        _fail(f"生成 {period} 月报失败：{exc}")
    try:
        paths = archive.write_files(conn, bulletin["id"], out)
    except OSError as exc:
        _fail(f"月报第 {bulletin['version']} 版已归档，但无法写入 {out}：{exc.strerror or exc}")
    click.echo(f"已生成 {period} {bulletin['region_name'] or ''}经济运行监测月报第 {bulletin['version']} 版（编号 {bulletin['id']}）")
    for path in paths:
        click.echo(str(path))
    if send:
        try:
            delivery.deliver(conn, bulletin["id"], smtp, to)
        except (smtplib.SMTPException, OSError) as exc:
            _fail(f"月报已生成，但邮件发送失败：{exc}")
        click.echo(f"已发送至 {', '.join(to)}")


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the scheduled jobs (monthly bulletin, deadline reminders) until Ctrl-C or SIGTERM."""
    app = current_app._get_current_object()
    if not logging.getLogger().handlers:
        # The platform's own messages and each job run; libraries only when something is wrong.
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        for name in ("app", "etl", "reports", "apscheduler.executors"):
            logging.getLogger(name).setLevel(logging.INFO)
    try:
        scheduler = make_scheduler(app)
        delivery.parse_recipients(app.config.get("BULLETIN_RECIPIENTS"))     # refused now, not on the 15th
    except HemonError as exc:
        _fail(str(exc))
    get_db().url                     # start the embedded PostgreSQL here, not in a job's thread
    # SIGTERM stops like Ctrl-C: a job under way finishes (or rolls back) first.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    now = _now(app)
    click.echo("调度器已启动（Ctrl-C 停止）：")
    for job in scheduler.get_jobs():
        at = job.trigger.get_next_fire_time(None, now)
        click.echo(f"  {job.name}：下次运行 {at:%Y-%m-%d %H:%M:%S %Z}" if at else f"  {job.name}：不再运行")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            scheduler.shutdown(wait=True)
    click.echo("调度器已停止")


commands = [bulletin_command, scheduler_command]
