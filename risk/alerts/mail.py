"""E-mail alerts through Django's mail backend (EMAIL_URL): one message to the channel's addresses.

An SMTP reply in the 4xx range, a dropped connection or a socket error is transient; a 5xx reply (a refused
sender or recipient, a rejected message) is a refusal."""
from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from risk.alerts.base import ChannelError
from risk.models import AlertChannel


def addresses(channel: AlertChannel) -> list[str]:
    """The channel's recipients: its target, comma-separated."""
    return [part.strip() for part in channel.target.split(",") if part.strip()]


def send(channel: AlertChannel, subject: str, text: str) -> str:
    recipients = addresses(channel)
    if not recipients:
        raise ChannelError("no e-mail address in the channel's target", transient=False)
    connection = get_connection(timeout=settings.RISK_ALERT_TIMEOUT_SECONDS)
    message = EmailMessage(subject[:200], text, settings.DEFAULT_FROM_EMAIL, recipients, connection=connection)
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise ChannelError(f"recipients refused: {exc.recipients}", transient=all(400 <= c < 500 for c in codes)) from exc
    except smtplib.SMTPResponseException as exc:
        reply = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        raise ChannelError(f"SMTP {exc.smtp_code} {reply}", transient=exc.smtp_code < 500,
                           answer=f"{exc.smtp_code} {reply}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"mail server unavailable: {exc.__class__.__name__}: {exc}", transient=True) from exc
    return f"mailed to {len(recipients)} address(es)"
