"""Channel clients of the alerts: one message to one channel (e-mail, Slack incoming webhook, Telegram bot).

`channel_send(channel, subject, text)` returns the service's answer in a few words, or raises a `ChannelError`
that says whether trying again may help (`transient`, with the wait the service asked for, if any) or not."""
from __future__ import annotations

from risk.alerts import mail, slack, telegram
from risk.alerts.base import ANSWER_CHARS, ChannelError
from risk.models import AlertChannel, ChannelKind

SENDERS = {ChannelKind.EMAIL: mail.send, ChannelKind.SLACK: slack.send, ChannelKind.TELEGRAM: telegram.send}

__all__ = ["ChannelError", "channel_send"]


def channel_send(channel: AlertChannel, subject: str, text: str) -> str:
    """Sends `text` (an e-mail's body; `subject` its subject line) to `channel`; the answer in a few words.
    Raises ChannelError when the channel did not take it."""
    return SENDERS[channel.kind](channel, subject, text)[:ANSWER_CHARS]
