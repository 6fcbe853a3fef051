"""Deadline reminders by email, for hospitals that have not filed last month's return.

Runs from `flask --app wsgi send-reminders` (and the scheduler): at most one email per
hospital, period and day; nothing is sent where SMTP is not configured. Mail goes through
etl.common.mail, the platform's one way to send it.
"""
from __future__ import annotations

import datetime as dt
import logging

import psycopg

from etl.common import audit
from etl.common.mail import Smtp, send_email
from etl.filing.periods import pending

logger = logging.getLogger(__name__)


def due(conn: psycopg.Connection, today: dt.date, days_before: int, deadline_day: int = 10) -> list[dict]:
    """Hospitals owing last month's return whose deadline is at most `days_before` days away."""
    out = []
    for h in conn.execute("SELECT code, name FROM hospital ORDER BY code"):
        owed = pending(conn, h["code"], today, deadline_day)
        if owed and 0 <= owed["days_left"] <= days_before:
            emails = [r["email"] for r in conn.execute(
                "SELECT email FROM app_user WHERE hospital_code = %s AND email IS NOT NULL ORDER BY email",
                (h["code"],))]
            out.append({**h, **owed, "emails": emails})
    return out


def send(conn: psycopg.Connection, smtp: Smtp, today: dt.date, days_before: int = 3,
         deadline_day: int = 10) -> int:
    """Email every hospital due a reminder today (once a day); returns how many were sent."""
    sent = 0
    for item in due(conn, today, days_before, deadline_day):
        if not item["emails"]:
            logger.info("no email address for %s, reminder skipped", item["code"])
            continue
        if conn.execute("SELECT 1 FROM reminder_sent WHERE hospital_code = %s AND period = %s AND sent_on = %s",
                        (item["code"], item["period"], today)).fetchone():
            continue
        msg = send_email(
            smtp, item["emails"], f"【提醒】{item['period']} 月度经济运行监测报表将于 {item['deadline']} 截止",
            f"{item['name']}：\n\n贵院 {item['period']} 月度经济运行监测报表尚未上报，"
            f"截止日期为 {item['deadline']}（还有 {item['days_left']} 天）。请登录平台下载模板并上报。\n")
        with conn.transaction():
            conn.execute("INSERT INTO reminder_sent (hospital_code, period, sent_on, recipients) VALUES (%s, %s, %s, %s)",
                         (item["code"], item["period"], today, msg["To"]))
            audit.record(conn, None, "reminder.sent", f"hospital:{item['code']}", None,
                         {"period": item["period"], "to": item["emails"]})
        sent += 1
    logger.info("sent %d deadline reminders", sent)
    return sent
