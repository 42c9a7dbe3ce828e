"""Sending email over SMTP with aiosmtplib (STARTTLS, implicit TLS and login supported)."""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib

from services.notifier.adapters.templates import RenderedEmail


class PermanentEmailError(Exception):
    """The server refused the message for good (e.g. unknown recipient): retrying will not help."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    use_tls: bool = False
    sender: str = "UPR Tracker <alerts@upr-tracker.local>"
    timeout_s: float = 10.0


def build_message(
    sender: str, to: str, rendered: RenderedEmail, *, delivery_id: str, unsubscribe_url: str
) -> EmailMessage:
    # Long header lines (the unsubscribe URL) are kept whole, not turned into encoded words.
    message = EmailMessage(policy=policy.SMTP.clone(max_line_length=998))
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(usegmt=True)
    # The same delivery always carries the same Message-ID: mail systems can drop a duplicate
    # sent in the window between SMTP accepting it and the delivery log recording it.
    message["Message-ID"] = f"<{delivery_id}@upr-tracker>"
    message["X-UPR-Delivery"] = delivery_id
    message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message


class SmtpMailer:
    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    async def send(self, message: EmailMessage) -> None:
        """Raise PermanentEmailError for a refusal, any other exception for a transient failure."""
        c = self.config
        try:
            await aiosmtplib.send(
                message, hostname=c.host, port=c.port, username=c.username, password=c.password,
                start_tls=c.starttls, use_tls=c.use_tls, timeout=c.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise PermanentEmailError(f"recipient refused: {exc}") from None
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                raise PermanentEmailError(f"SMTP {exc.code}: {exc.message}") from None
            raise
