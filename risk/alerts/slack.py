"""Slack incoming webhooks: POST {"text": …} as JSON to the webhook URL (the channel's secret).

Slack answers 200 with the body `ok`; a refusal is a 4xx whose body names it (`invalid_payload`, `no_text`,
`channel_not_found`, `no_service`, …); a rate limit is 429 with a Retry-After header (seconds); 5xx bodies
(`rollup_error`, …) are its own failures. 429, 5xx and transport failures are transient."""
from __future__ import annotations

import requests
from django.conf import settings

from risk.alerts.base import ChannelError, redacted, seconds
from risk.models import AlertChannel


def send(channel: AlertChannel, subject: str, text: str) -> str:
    url = channel.secret.strip()
    if not url:
        raise ChannelError("the channel has no webhook URL", transient=False)
    try:
        answer = requests.post(url, json={"text": text}, timeout=settings.RISK_ALERT_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise ChannelError(redacted(f"transport: {exc.__class__.__name__}: {exc}", url), transient=True) from exc
    body = answer.text.strip()
    if answer.status_code == 200 and body == "ok":
        return "ok"
    said = f"HTTP {answer.status_code} {body}"
    if answer.status_code == 429:
        raise ChannelError(said, transient=True, retry_after=seconds(answer.headers.get("Retry-After")), answer=body)
    raise ChannelError(said, transient=answer.status_code >= 500, answer=body)
