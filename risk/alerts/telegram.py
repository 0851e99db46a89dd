"""Telegram Bot API: POST {TELEGRAM_API_URL}/bot<token>/sendMessage with {"chat_id", "text"} as JSON; the token is
the channel's secret, the chat id its target.

The answer is `{"ok": true, "result": {message}}`, or `{"ok": false, "error_code": N, "description": …}` with,
for a flood limit (429), `"parameters": {"retry_after": seconds}`. 429, 5xx and transport failures are
transient; any other error (400 "Bad Request: chat not found", 401 "Unauthorized", 403 "Forbidden: bot was
blocked by the user") is a refusal."""
from __future__ import annotations

import requests
from django.conf import settings

from risk.alerts.base import ChannelError, redacted, seconds
from risk.models import AlertChannel

TEXT_CHARS = 4096  # the longest message sendMessage takes


def send(channel: AlertChannel, subject: str, text: str) -> str:
    token, chat = channel.secret.strip(), channel.target.strip()
    if not token or not chat:
        raise ChannelError("the channel needs a bot token (secret) and a chat id (target)", transient=False)
    url = f"{settings.TELEGRAM_API_URL.rstrip('/')}/bot{token}/sendMessage"
    try:
        answer = requests.post(url, json={"chat_id": chat, "text": text[:TEXT_CHARS]},
                               timeout=settings.RISK_ALERT_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise ChannelError(redacted(f"transport: {exc.__class__.__name__}: {exc}", token), transient=True) from exc
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ChannelError(f"HTTP {answer.status_code} {answer.text.strip()}", transient=answer.status_code >= 500,
                           answer=answer.text)
    if body.get("ok") is True:
        return f"message {(body.get('result') or {}).get('message_id', '?')}"
    code = body.get("error_code") or answer.status_code
    said = f"{code} {body.get('description', '')}".strip()
    if code == 429:
        parameters = body.get("parameters") or {}
        wait = seconds(parameters.get("retry_after")) or seconds(answer.headers.get("Retry-After"))
        raise ChannelError(said, transient=True, retry_after=wait, answer=answer.text)
    raise ChannelError(said, transient=code >= 500, answer=answer.text)
