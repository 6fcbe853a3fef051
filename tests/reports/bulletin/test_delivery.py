"""Bulletins by email, through a real SMTP conversation on loopback."""
from __future__ import annotations

import datetime as dt
import socket

import pytest

from etl.common.errors import HemonError
from etl.common.mail import Smtp
from reports.bulletin import archive, delivery


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bulletin_is_emailed_with_its_documents(app, conn, runner, tmp_path, smtp_server, load_period,
                                                monkeypatch):
    load_period()
    port = smtp_server.server_address[1]
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", port)
    monkeypatch.setitem(app.config, "SMTP_SENDER", "province@example.org")
    monkeypatch.setitem(app.config, "BULLETIN_RECIPIENTS", "leader1@example.org, leader2@example.org")

    result = runner.invoke(args=["bulletin", "--period", "2026-10", "--out", str(tmp_path / "out"), "--email"])
    assert result.exit_code == 0, result.output
    assert "已发送至 leader1@example.org, leader2@example.org" in result.output

    (message,) = smtp_server.messages
    assert message["To"] == "leader1@example.org, leader2@example.org" and message["From"] == "province@example.org"
    assert "2026年10月" in message["Subject"] and "第1版" in message["Subject"]
    bulletin = archive.latest(conn, "2026-10")
    text = message.get_body(("plain",)).get_content()
    assert "2026年10月" in text and bulletin["snapshot"]["summary"][0] in text
    attached = {part.get_filename(): part for part in message.iter_attachments()}
    assert sorted(attached) == ["经济运行监测月报-2026-10-v1.docx", "经济运行监测月报-2026-10-v1.pdf"]
    assert attached["经济运行监测月报-2026-10-v1.pdf"].get_content_type() == "application/pdf"
    assert attached["经济运行监测月报-2026-10-v1.pdf"].get_content() == archive.file(conn, bulletin["id"], "bulletin.pdf")[1]
    assert attached["经济运行监测月报-2026-10-v1.docx"].get_content() == archive.file(conn, bulletin["id"], "bulletin.docx")[1]
    assert bulletin["delivered_to"] == ["leader1@example.org", "leader2@example.org"]
    assert bulletin["delivered_at"] is not None

    # Again, to someone else: recorded, with what it replaced in the audit entry.
    smtp = Smtp("127.0.0.1", port, "province@example.org")
    assert delivery.deliver(conn, bulletin["id"], smtp, ["director@example.org"], user=None) is True
    assert smtp_server.messages[-1]["To"] == "director@example.org"
    assert archive.get(conn, bulletin["id"])["delivered_to"] == ["director@example.org"]
    log = conn.execute("SELECT before, after FROM audit_log WHERE action = 'bulletin.deliver' ORDER BY id").fetchall()
    assert [e["after"]["to"] for e in log] == [["leader1@example.org", "leader2@example.org"], ["director@example.org"]]
    assert log[0]["before"] is None and log[1]["before"]["delivered_to"] == ["leader1@example.org", "leader2@example.org"]

    # Nobody to send to, no such bulletin: nothing sent.
    assert delivery.deliver(conn, bulletin["id"], smtp, []) is False
    assert delivery.deliver(conn, 999_999, smtp, ["director@example.org"]) is False
    assert len(smtp_server.messages) == 2

    # A server that cannot be reached: the error surfaces and nothing is recorded.
    with pytest.raises(OSError):
        delivery.deliver(conn, bulletin["id"], Smtp("127.0.0.1", closed_port()), ["x@example.org"])
    assert archive.get(conn, bulletin["id"])["delivered_to"] == ["director@example.org"]
    assert len(log) == conn.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'bulletin.deliver'").fetchone()["n"]


def test_the_command_says_when_the_email_failed(app, conn, runner, tmp_path, load_period, monkeypatch):
    load_period()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", closed_port())
    monkeypatch.setitem(app.config, "BULLETIN_RECIPIENTS", ["leader@example.org"])
    result = runner.invoke(args=["bulletin", "--period", "2026-10", "--out", str(tmp_path / "out"), "--email"])
    assert result.exit_code == 1 and "错误：月报已生成，但邮件发送失败" in result.output
    assert "Traceback" not in result.output
    assert archive.latest(conn, "2026-10")["delivered_at"] is None
    assert (tmp_path / "out" / "经济运行监测月报-2026-10-v1.pdf").exists()


def test_recipients_from_configuration():
    assert delivery.parse_recipients("a@example.org, b@example.org;c@example.org  a@example.org") == \
        ["a@example.org", "b@example.org", "c@example.org"]
    assert delivery.parse_recipients(["a@example.org"]) == ["a@example.org"]
    assert delivery.parse_recipients(None) == delivery.parse_recipients("") == delivery.parse_recipients(()) == []
    with pytest.raises(HemonError, match="leader.example.org"):
        delivery.parse_recipients("leader.example.org")


def test_message_without_a_summary():
    bulletin = {"period": "2026-03", "version": 2, "snapshot": {"title": "x"},
                "generated_at": dt.datetime(2026, 4, 15, 8, 0, 3)}
    text = delivery.body(bulletin)
    assert "2026年3月" in text and "第2版" in text and "主要情况" not in text and "2026-04-15 08:00" in text
    bulletin["snapshot"]["summary"] = ["一。", "", "二。", "三。", "四。"]
    assert delivery.summary(bulletin["snapshot"]) == ["一。", "二。", "三。"]
    assert "1. 一。" in delivery.body(bulletin)
