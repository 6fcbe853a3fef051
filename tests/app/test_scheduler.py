"""The scheduler: one schedule, and each job's work done once however many schedulers run."""
from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app import scheduler
from etl.common.errors import HemonError
from etl.reference import registry
from etl.reference.accounts import create_user
from etl.returns import intake
from tests.factories import (
    draft,
    hospital_code,
    hospital_row,
    write_draft,
    write_registry,
)
from tests.helpers import last_month

ROOT = Path(__file__).resolve().parents[2]
SH = ZoneInfo("Asia/Shanghai")


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)


def scheduled(conn, period: str) -> list[dict]:
    """The period's bulletins as (version, trigger), by region: None the province's."""
    return conn.execute("SELECT region_code, version, trigger FROM bulletin WHERE period = %s ORDER BY region_code NULLS FIRST",
                        (period,)).fetchall()


# load_period's two hospitals are in 乐山市: the province's bulletin and 乐山's, one each.
MADE = [{"region_code": None, "version": 1, "trigger": "schedule"},
        {"region_code": "511100", "version": 1, "trigger": "schedule"}]


def test_the_schedule_is_declared_once(app, monkeypatch):
    now = at(2026, 11, 10, 12)
    jobs = {j.id: j for j in scheduler.make_scheduler(app, now=now).get_jobs()}
    assert set(jobs) == {job.id for job in scheduler.JOBS} == {"monthly-bulletin", "deadline-reminders"}
    assert jobs["monthly-bulletin"].trigger.get_next_fire_time(None, now) == at(2026, 11, 15, 8)
    assert jobs["deadline-reminders"].trigger.get_next_fire_time(None, now) == at(2026, 11, 11, 9)

    # Past this month's moment, the scheduler catches up at start (the job skips if it was made).
    late = {j.id for j in scheduler.make_scheduler(app, now=at(2026, 11, 24, 12)).get_jobs()}
    assert late == {"monthly-bulletin", "deadline-reminders", "monthly-bulletin-catch-up"}

    monkeypatch.setitem(app.config, "BULLETIN_DAY", "3")
    monkeypatch.setitem(app.config, "BULLETIN_HOUR", 7)
    job = scheduler.make_scheduler(app, now=now).get_job("monthly-bulletin")
    assert job.trigger.get_next_fire_time(None, now) == at(2026, 12, 3, 7)

    monkeypatch.setitem(app.config, "BULLETIN_RUN_AT", "2026-11-10T12:00:05")
    jobs = {j.id: j for j in scheduler.make_scheduler(app, now=now).get_jobs()}
    assert "monthly-bulletin-catch-up" not in jobs
    assert jobs["monthly-bulletin"].trigger.get_next_fire_time(None, now) == at(2026, 11, 10, 12, 0, 5)
    assert scheduler.previous_period(dt.date(2026, 1, 15)) == "2025-12"


def test_a_bad_schedule_setting_is_refused(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "BULLETIN_DAY", 31)            # not in every month
    with pytest.raises(HemonError, match="BULLETIN_DAY"):
        scheduler.make_scheduler(app)
    result = runner.invoke(args=["scheduler"])
    assert result.exit_code == 1 and result.output.startswith("错误：配置 BULLETIN_DAY")
    monkeypatch.setitem(app.config, "BULLETIN_DAY", 15)
    monkeypatch.setitem(app.config, "BULLETIN_RECIPIENTS", "leader@example.org, director-at-example.org")
    result = runner.invoke(args=["scheduler"])
    assert result.exit_code == 1 and result.output.startswith("错误：") and "director-at-example.org" in result.output


def test_two_schedulers_in_one_process_make_one_bulletin(app, conn, tmp_path, load_period, caplog):
    load_period("2026-10")
    now = at(2026, 11, 15, 8)
    start = threading.Barrier(2)
    results = []

    def run():
        start.wait()
        results.append(scheduler.scheduled_bulletin(app, now))

    threads = [threading.Thread(target=run) for _ in range(2)]
    with caplog.at_level(logging.INFO, logger="app.scheduler"):
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert sorted(r is None for r in results) == [False, True]
        assert scheduled(conn, "2026-10") == MADE
        # A scheduler that comes later finds it made.
        assert scheduler.scheduled_bulletin(app, now) is None
    skips = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skips) == 2 and "exists" in skips[-1]
    assert conn.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'bulletin.publish'").fetchone()["n"] == 2


def _start(app, tmp_path: Path, name: str, **settings) -> tuple[subprocess.Popen, Path, Path]:
    """`flask --app wsgi scheduler` as its own OS process against the test database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEMON_") and k != "DATABASE_URL"}
    env.update({"HEMON_ENV": "testing", "DATABASE_URL": app.config["DATABASE_URL"],
                "HEMON_INSTANCE_DIR": str(tmp_path / name), "HEMON_SECRET_KEY": "test-scheduler",
                "PYTHONUNBUFFERED": "1"})
    env.update({f"HEMON_{key}": str(value) for key, value in settings.items()})
    out, err = tmp_path / f"{name}.out", tmp_path / f"{name}.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"], cwd=ROOT,
                                   env=env, stdout=stdout, stderr=stderr)
    return process, out, err


def test_two_scheduler_processes_make_one_bulletin(app, conn, tmp_path, load_period):
    """Two `flask --app wsgi scheduler` processes whose bulletin job fires at the same moment."""
    fire = dt.datetime.now(SH).replace(microsecond=0) + dt.timedelta(seconds=6)
    period = last_month(fire)
    load_period(period)
    settings = {"BULLETIN_RUN_AT": fire.isoformat(), "SCHEDULER_CATCH_UP": "false"}
    started = [_start(app, tmp_path, name, **settings) for name in ("worker-a", "worker-b")]
    try:
        deadline = time.monotonic() + 180
        logs = ["", ""]
        while time.monotonic() < deadline:
            logs = [err.read_text(encoding="utf-8") for _, _, err in started]
            if all(f"bulletin {period}" in log for log in logs):
                break
            assert all(p.poll() is None for p, _, _ in started), logs
            time.sleep(0.2)
        else:
            pytest.fail(f"the bulletin job did not run in both schedulers: {logs}")
        for process, _, _ in started:
            process.send_signal(signal.SIGTERM)
        codes = [process.wait(60) for process, _, _ in started]
    finally:
        for process, _, _ in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    outputs = [out.read_text(encoding="utf-8") for _, out, _ in started]
    logs = [err.read_text(encoding="utf-8") for _, _, err in started]
    assert codes == [0, 0], logs
    assert all("调度器已启动" in o and "调度器已停止" in o for o in outputs), outputs
    assert all("Traceback" not in log for log in logs), logs

    assert scheduled(conn, period) == MADE
    published = [log for log in logs if f"bulletin {period} version 1 published" in log]
    skipped = [log for log in logs if f"bulletin {period} skipped" in log]
    assert len(published) == 1 and len(skipped) == 1, logs
    assert conn.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'bulletin.publish'").fetchone()["n"] == 2


def test_reminders_job_sends_once_a_day(app, conn, tmp_path, smtp_server, monkeypatch):
    registry.load_hospitals(conn, write_registry(tmp_path / "r.xlsx", [hospital_row(1), hospital_row(2)]))
    intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(1))), intake.IntakeSettings.from_config(app.config))
    create_user(conn, "h2", "password-123", "hospital", hospital_code(2), email="h2@example.org")
    now = at(2026, 11, 8, 9)
    assert scheduler.scheduled_reminders(app, now) is None                   # no SMTP configured

    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.server_address[1])
    with app.extensions["hemon_db"].connect() as other:                      # another scheduler at it
        other.execute("SELECT pg_advisory_lock(%s, 20261108)", (scheduler.REMINDER_LOCK,))
        assert scheduler.scheduled_reminders(app, now) is None
    assert scheduler.scheduled_reminders(app, now) == 1
    assert scheduler.scheduled_reminders(app, now) == 0
    assert [m["To"] for m in smtp_server.messages] == ["h2@example.org"]


def test_web_processes_can_run_the_scheduler(app, conn, tmp_path):
    from app import create_app
    web = create_app({"INSTANCE_DIR": str(tmp_path / "web"), "DATABASE_URL": app.config["DATABASE_URL"],
                      "SECRET_KEY": "test-web", "SCHEDULER_IN_WEB": True, "SCHEDULER_CATCH_UP": False},
                     env="testing")
    try:
        assert "hemon_scheduler" not in web.extensions                    # nothing until a request
        client = web.test_client()
        client.get("/auth/login")
        running = web.extensions["hemon_scheduler"]
        client.get("/auth/login")
        assert web.extensions["hemon_scheduler"] is running and running.running
        assert {j.id for j in running.get_jobs()} == {"monthly-bulletin", "deadline-reminders"}
        assert "hemon_scheduler" not in app.extensions                    # off by default
    finally:
        if "hemon_scheduler" in web.extensions:
            web.extensions["hemon_scheduler"].shutdown(wait=True)
        web.extensions["hemon_db"].close()
