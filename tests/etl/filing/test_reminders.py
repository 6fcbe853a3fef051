"""Deadline reminders by email, through a real SMTP conversation on loopback."""
import datetime as dt

from etl.common import mail
from etl.filing import reminders
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


def test_reminders_go_once_to_hospitals_that_have_not_filed(app, conn, tmp_path, smtp_server):
    registry.load_hospitals(conn, write_registry(tmp_path / "r.xlsx", [hospital_row(1), hospital_row(2), hospital_row(3)]))
    intake.ingest_file(conn, write_draft(tmp_path, draft(hospital_code(1))), intake.IntakeSettings.from_config(app.config))
    create_user(conn, "h1", "password-123", "hospital", hospital_code(1), email="h1@example.org")
    create_user(conn, "h2", "password-123", "hospital", hospital_code(2), email="h2@example.org")
    create_user(conn, "h3", "password-123", "hospital", hospital_code(3))          # no address: skipped
    smtp = mail.Smtp("127.0.0.1", smtp_server.server_address[1], "province@example.org")
    assert reminders.send(conn, smtp, dt.date(2026, 11, 3)) == 0                  # 7 days left: too early
    assert reminders.send(conn, smtp, dt.date(2026, 11, 8)) == 1                  # 2 days left
    assert reminders.send(conn, smtp, dt.date(2026, 11, 8)) == 0                  # once a day
    (message,) = smtp_server.messages
    assert message["To"] == "h2@example.org" and "2026-10" in message["Subject"]
    assert "2026-11-10" in message.get_content()
    assert conn.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'reminder.sent'").fetchone()["n"] == 1


def test_command_refuses_without_smtp(runner):
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 1 and "SMTP" in result.output
