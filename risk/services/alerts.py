"""Alerts: a breach raised once (the open alert of its kind and key), delivered after commit, resolved when it clears.

`alert_raise` is what every other part calls; it writes nothing for a rule switched off in the admin and nothing
for a breach that is already open, so a condition seen on every bar alerts once.

Routing. After the commit that raised it, an alert gets one delivery per enabled channel of its rule
(`AlertRule.channels`, the per-rule routing in the admin). A kind with no rule row, or a rule with no enabled
channel, goes to the default routing: the addresses of RISK_ALERT_EMAILS, through an e-mail channel named
"default e-mail" kept for them (none when the setting is empty). Each pending delivery is queued to
`risk.tasks.alerts.alert_deliver_task`.

Quiet period. A rule with `quiet_minutes` stays silent on a channel for that long after it last delivered
there (or queued a delivery still in flight): the delivery is recorded as "quiet" and not sent.

Delivery. Each attempt records its count, the service's answer and the error. A refusal (a 4xx other than
429, an SMTP 5xx) fails the delivery at once; a rate limit, server error or transport failure is retried
after the wait the service asked for (Retry-After, Telegram's retry_after), else after RISK_ALERT_RETRY_SECONDS
doubling up to RISK_ALERT_RETRY_MAX_SECONDS, and fails after RISK_ALERT_MAX_ATTEMPTS tries.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from neolight.celery import enqueue
from neolight.errors import ApplicationError
from neolight.realtime import RISK, broadcast_on_commit
from risk.alerts import ChannelError, channel_send
from risk.models import Alert, AlertChannel, AlertDelivery, AlertRule, AlertStatus, ChannelKind, DeliveryStatus

log = logging.getLogger(__name__)
DELIVER_TASK = "risk.tasks.alerts.alert_deliver_task"
DEFAULT_CHANNEL = "default e-mail"  # the channel of RISK_ALERT_EMAILS (default routing)
LOG_CHARS = 300


def alert_raise(kind: str, key: str, message: str, *, trading_mode: str | None = None, data: dict[str, Any] | None = None,
                cohort=None, deployment=None) -> Alert | None:
    """Opens the alert of `kind` for `key` (e.g. "deployment:7") unless that breach is open already or the rule is off;
    returns the new alert, else None. `trading_mode` defaults to the deployment's, else the installation's.
    Its deliveries are made and queued after the commit (none if the transaction rolls back)."""
    rule = AlertRule.objects.filter(kind=kind).first()
    if rule is not None and not rule.enabled:
        return None
    mode = trading_mode or (deployment.trading_mode if deployment is not None else settings.TRADING_MODE)
    try:
        with transaction.atomic():
            alert = Alert.objects.create(kind=kind, key=key[:120], trading_mode=mode, message=message[:500],
                                         data=data or {}, cohort=cohort, deployment=deployment)
    except IntegrityError:  # the breach is open already: once per breach, not per bar
        return None
    log.warning("alert %s [%s] %s", kind, mode, message)
    transaction.on_commit(lambda: alert_route(alert_id=alert.pk), robust=True)  # a routing fault never undoes the caller
    broadcast_on_commit(RISK, "alert", {"alert": alert.pk, "kind": kind})  # the risk page shows it live
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("alert.raised", alert=alert)
    return alert


def alert_resolve(kind: str, key: str) -> int:
    """Resolves the open alert of `kind` for `key` (the condition has cleared); the count resolved (0 or 1)."""
    return Alert.objects.filter(kind=kind, key=key, status=AlertStatus.OPEN).update(
        status=AlertStatus.RESOLVED, resolved_at=timezone.now())


def alert_text(alert: Alert) -> tuple[str, str]:
    """The subject line and the text of an alert's messages; both start with the trading mode ("[PAPER] …")."""
    subject = f"[{alert.trading_mode}] {alert.message.splitlines()[0] if alert.message else alert.get_kind_display()}"
    text = (f"[{alert.trading_mode}] {alert.message}\n\n{alert.get_kind_display()} · {alert.key} · "
            f"raised {alert.raised_at:%Y-%m-%d %H:%M} UTC")
    return subject[:200], text


# --- routing -----------------------------------------------------------------------------------------
def alert_route(*, alert_id: int) -> list[AlertDelivery]:
    """Makes the alert's deliveries (one per channel of its rule, else the default routing; "quiet" where the rule
    delivered to the channel within its quiet minutes) and queues the pending ones after commit. Idempotent: a
    channel that has the alert's delivery already is left alone. Returns the deliveries made."""
    alert = Alert.objects.get(pk=alert_id)
    rule = AlertRule.objects.filter(kind=alert.kind).first()
    channels = list(rule.channels.filter(enabled=True)) if rule is not None else []
    channels = channels or default_channels()
    quiet = timedelta(minutes=rule.quiet_minutes) if rule is not None else timedelta(0)
    made = []
    with transaction.atomic():
        for channel in channels:
            AlertChannel.objects.select_for_update().get(pk=channel.pk)  # one routing at a time per channel
            if AlertDelivery.objects.filter(alert=alert, channel=channel).exists():
                continue
            hushed = quiet > timedelta(0) and _delivered_since(alert.kind, channel, timezone.now() - quiet)
            made.append(AlertDelivery.objects.create(
                alert=alert, channel=channel, status=DeliveryStatus.QUIET if hushed else DeliveryStatus.PENDING,
                response=f"quiet period of {rule.quiet_minutes} min" if hushed else ""))
        for delivery in made:
            if delivery.status == DeliveryStatus.PENDING:
                transaction.on_commit(lambda pk=delivery.pk: enqueue(DELIVER_TASK, pk), robust=True)
    return made


def default_channels() -> list[AlertChannel]:
    """The default routing: the e-mail channel of RISK_ALERT_EMAILS (kept in step with the setting), or none."""
    if not settings.RISK_ALERT_EMAILS:
        return []
    channel, _ = AlertChannel.objects.update_or_create(
        name=DEFAULT_CHANNEL, defaults={"kind": ChannelKind.EMAIL, "target": ", ".join(settings.RISK_ALERT_EMAILS)})
    return [channel] if channel.enabled else []


def _delivered_since(kind: str, channel: AlertChannel, since) -> bool:
    """Whether alerts of `kind` reached `channel` since `since`, or one is on its way there (queued since)."""
    return AlertDelivery.objects.filter(alert__kind=kind, channel=channel).filter(
        Q(status=DeliveryStatus.SENT, sent_at__gte=since) | Q(status=DeliveryStatus.PENDING, created_at__gte=since)
    ).exists()


# --- delivery ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attempt:
    """One delivery attempt's outcome: the delivery as it now stands, and the seconds to wait before the next
    attempt (None: no further attempt — sent, failed for good, or not pending)."""

    delivery: AlertDelivery
    retry_in: float | None = None


def retry_delay(attempt: int, asked: float | None) -> float:
    """Seconds before attempt `attempt` + 1: what the service asked for, else RISK_ALERT_RETRY_SECONDS doubled per
    attempt made; never more than RISK_ALERT_RETRY_MAX_SECONDS."""
    wait = asked if asked is not None else settings.RISK_ALERT_RETRY_SECONDS * 2 ** (attempt - 1)
    return min(float(wait), settings.RISK_ALERT_RETRY_MAX_SECONDS)


def alert_deliver(*, delivery_id: int) -> Attempt:
    """Makes one attempt to send a pending delivery and records it (attempts, answer, error; sent or failed).
    A delivery no longer pending is left as it is. The row stays locked while its message is sent, so two
    workers never send it twice."""
    with transaction.atomic():
        delivery = AlertDelivery.objects.select_for_update().select_related("alert", "channel").get(pk=delivery_id)
        if delivery.status != DeliveryStatus.PENDING:
            return Attempt(delivery)
        attempts = delivery.attempts + 1
        if not delivery.channel.enabled:
            return Attempt(_record(delivery, status=DeliveryStatus.FAILED, attempts=attempts,
                                   error="the channel is switched off"))
        subject, text = alert_text(delivery.alert)
        try:
            answer = channel_send(delivery.channel, subject, text)
        except ChannelError as exc:
            gave_up = not exc.transient or attempts >= settings.RISK_ALERT_MAX_ATTEMPTS
            log.warning("alert delivery %s, attempt %s: %s", delivery.pk, attempts, exc)
            delivery = _record(delivery, status=DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING,
                               attempts=attempts, response=exc.answer, error=str(exc))
            return Attempt(delivery, None if gave_up else retry_delay(attempts, exc.retry_after))
        return Attempt(_record(delivery, status=DeliveryStatus.SENT, attempts=attempts, response=answer, error="",
                               sent_at=timezone.now()))


def _record(delivery: AlertDelivery, **fields) -> AlertDelivery:
    fields = {name: value[:LOG_CHARS] if isinstance(value, str) else value for name, value in fields.items()}
    AlertDelivery.objects.filter(pk=delivery.pk).update(**fields)
    for name, value in fields.items():
        setattr(delivery, name, value)
    return delivery


def alert_channel_test(*, channel_id: int) -> str:
    """Sends a test message to a channel now (no alert, no delivery row); the channel's answer. Raises
    ApplicationError with what the channel said when it did not take it."""
    channel = AlertChannel.objects.get(pk=channel_id)
    mode = settings.TRADING_MODE
    try:
        return channel_send(channel, f"[{mode}] NeoLight test alert",
                            f"[{mode}] NeoLight test alert: the channel {channel.name} is wired up.")
    except ChannelError as exc:
        raise ApplicationError(f"{channel.name}: {exc}", field="channel") from exc
