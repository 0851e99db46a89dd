"""What every channel client shares: the error that tells a retry from a refusal, and the helpers for answers."""
from __future__ import annotations

ANSWER_CHARS = 300  # as much of an answer as the delivery log keeps


class ChannelError(Exception):
    """A message the channel did not take. `transient`: a rate limit, a server error or a transport failure,
    worth another try (after `retry_after` seconds when the service said so); otherwise a refusal (a bad
    payload, an unknown chat or webhook, a refused address) that no retry will change."""

    def __init__(self, message: str, *, transient: bool, retry_after: float | None = None, answer: str = ""):
        super().__init__(message[:ANSWER_CHARS])
        self.transient = transient
        self.retry_after = retry_after
        self.answer = answer[:ANSWER_CHARS]  # what the service said, as it said it (empty: no answer)


def redacted(text: str, *secrets: str) -> str:
    """`text` with every non-empty secret (a bot token, a webhook URL) blanked out: errors are logged and stored."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def seconds(value) -> float | None:
    """A Retry-After / retry_after value in seconds (delta-seconds only), or None when absent or unreadable."""
    try:
        return max(0.0, float(value)) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
