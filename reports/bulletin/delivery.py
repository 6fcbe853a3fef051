"""Bulletins by email: one message with the Word and PDF documents attached.

Sent through etl.common.mail.send_email (the platform's one way to send mail); a delivery is
recorded on the bulletin (when, to whom) and in the audit log once the server accepted it.
"""
from __future__ import annotations

import logging
import re

import psycopg

from etl.common import audit
from etl.common.errors import HemonError
from etl.common.mail import Smtp, send_email
from reports.bulletin import archive

logger = logging.getLogger(__name__)

EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+$")
SUMMARY_SENTENCES = 3


def parse_recipients(value) -> list[str]:
    """A recipient list from configuration: a list, or one string separated by commas,
    semicolons or spaces. A malformed address is an error, not silently dropped."""
    if not value:
        return []
    items = re.split(r"[,;\s]+", value) if isinstance(value, str) else [str(v) for v in value]
    out = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        if not EMAIL.match(item):
            raise HemonError(f"收件人邮箱“{item}”格式不正确")
        if item not in out:
            out.append(item)
    return out


def deliver(conn: psycopg.Connection, bulletin_id: int, smtp: Smtp, recipients: list[str], *,
            user: dict | None = None) -> bool:
    """Email the bulletin to `recipients`; False (nothing sent) without recipients or bulletin
    (a withdrawn one counts as none).

    SMTP failures raise (smtplib.SMTPException, OSError) and record nothing.
    """
    to = parse_recipients(recipients)
    bulletin = archive.readable(conn, bulletin_id)
    if bulletin is None or not to:
        return False
    attachments = archive.documents(conn, bulletin_id)
    send_email(smtp, to, subject(bulletin), body(bulletin), attachments)
    with conn.transaction():
        conn.execute("UPDATE bulletin SET delivered_at = now(), delivered_to = %s WHERE id = %s", (to, bulletin_id))
        audit.record(conn, user, "bulletin.deliver", f"bulletin:{bulletin_id}",
                     {"delivered_at": bulletin["delivered_at"], "delivered_to": bulletin["delivered_to"]}
                     if bulletin["delivered_at"] else None,
                     {"period": bulletin["period"], "version": bulletin["version"], "to": to,
                      "files": [name for name, _, _ in attachments]})
    logger.info("bulletin %s v%s emailed to %d recipient(s)", bulletin["period"], bulletin["version"], len(to))
    return True


def period_cn(period: str) -> str:
    return f"{int(period[:4])}年{int(period[5:7])}月"


def title(bulletin: dict) -> str:
    """The bulletin's own title (e.g. 四川省公立医院经济运行监测月报), else the generic one."""
    found = (bulletin.get("snapshot") or {}).get("title")
    return found if isinstance(found, str) and found.strip() else f"公立医院{archive.TITLE}"


def subject(bulletin: dict) -> str:
    return f"{title(bulletin)}（{period_cn(bulletin['period'])}，第{bulletin['version']}版）"


def summary(snapshot: dict | None) -> list[str]:
    """The first sentences of the bulletin's summary, if it has one."""
    found = (snapshot or {}).get("summary") if isinstance(snapshot, dict) else None
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list):
        return []
    return [str(s).strip() for s in found if isinstance(s, (str, int, float)) and str(s).strip()][:SUMMARY_SENTENCES]


def body(bulletin: dict) -> str:
    lines = ["各位领导：", "",
             f"现将{period_cn(bulletin['period'])}{title(bulletin)}（第{bulletin['version']}版）"
             "报送如下，Word 版和 PDF 版见附件。", ""]
    sentences = summary(bulletin.get("snapshot"))
    if sentences:
        lines += ["主要情况："] + [f"{n}. {s}" for n, s in enumerate(sentences, 1)] + [""]
    generated = bulletin["generated_at"]
    lines.append(f"本邮件由公立医院经济运行监测平台自动发送（月报生成于 {generated:%Y-%m-%d %H:%M}）。")
    return "\n".join(lines) + "\n"
