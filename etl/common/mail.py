"""Email: the configured SMTP server and `send_email`, the platform's one way to send mail
(deadline reminders, bulletins)."""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage


@dataclass
class Smtp:
    host: str
    port: int = 25
    sender: str = "hemon@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = False

    @classmethod
    def from_config(cls, config) -> "Smtp | None":
        """The configured server (SMTP_* settings), or None where SMTP_HOST is not set."""
        if not config.get("SMTP_HOST"):
            return None
        return cls(config["SMTP_HOST"], int(config.get("SMTP_PORT") or 25),
                   config.get("SMTP_SENDER") or "hemon@localhost", config.get("SMTP_USERNAME") or None,
                   config.get("SMTP_PASSWORD") or None, bool(config.get("SMTP_STARTTLS")))


def send_email(smtp: Smtp, recipients: list[str], subject: str, body: str,
               attachments: list[tuple[str, str, bytes]] = ()) -> EmailMessage:
    """Send one plain-text email, with (file name, media type, bytes) attachments; returns it.

    Raises smtplib.SMTPException or OSError when the server cannot be reached or refuses.
    """
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"], msg["To"] = smtp.sender, ", ".join(recipients)
    msg.set_content(body)
    for name, media_type, content in attachments:
        maintype, _, subtype = media_type.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype or "octet-stream", filename=name)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
        if smtp.starttls:
            client.starttls()
        if smtp.username:
            client.login(smtp.username, smtp.password or "")
        client.send_message(msg)
    return msg
