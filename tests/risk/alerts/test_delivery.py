"""Alerts reach e-mail, Slack and Telegram after commit, once per breach; refusals fail at once, rate limits and
server errors are retried (after the wait the service asked for), and a rule is silent in its quiet period."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from risk.models import Alert, AlertChannel, AlertDelivery, AlertRule, AlertStatus, ChannelKind, DeliveryStatus
from risk.services.alerts import alert_deliver, alert_raise, alert_resolve, alert_route, retry_delay
from risk.tasks.alerts import alert_deliver_task
from tests.risk.alerts.stubs import closed_port

pytestmark = pytest.mark.django_db


def deliveries(alert: Alert) -> dict[str, AlertDelivery]:
    return {d.channel.kind: d for d in AlertDelivery.objects.filter(alert=alert).select_related("channel")}


def test_an_alert_reaches_every_channel_of_its_rule_once_per_breach(channels, route, smtp, slack, telegram, eager,
                                                                     django_capture_on_commit_callbacks):
    route("breaker_opened", *channels.values())
    with django_capture_on_commit_callbacks(execute=True):
        alert = alert_raise("breaker_opened", "deployment:7", "Deployment 7: daily loss breaker opened (-2.10%)",
                            trading_mode="LIVE")
    assert alert is not None
    [(sender, recipients, mail)] = smtp.messages
    assert sorted(recipients) == ["ops@desk.example", "risk@desk.example"]
    assert mail["Subject"] == "[LIVE] Deployment 7: daily loss breaker opened (-2.10%)"
    assert slack.texts()[0].startswith("[LIVE] Deployment 7: daily loss breaker opened")
    assert [m["text"].split("\n")[0] for m in telegram.sent] == ["[LIVE] Deployment 7: daily loss breaker opened (-2.10%)"]
    sent = deliveries(alert)
    assert {kind: (d.status, d.attempts) for kind, d in sent.items()} == {
        kind: (DeliveryStatus.SENT, 1) for kind in ("email", "slack", "telegram")}
    assert sent["slack"].response == "ok" and sent["telegram"].response == "message 1"
    assert all(d.sent_at is not None and d.error == "" for d in sent.values())

    with django_capture_on_commit_callbacks(execute=True):  # the same breach seen again: no new alert, no message
        assert alert_raise("breaker_opened", "deployment:7", "Deployment 7: daily loss breaker opened (-2.40%)") is None
    assert (len(smtp.messages), len(slack.calls), len(telegram.calls)) == (1, 1, 1)

    assert alert_resolve("breaker_opened", "deployment:7") == 1  # cleared; a new breach alerts again
    with django_capture_on_commit_callbacks(execute=True):
        assert alert_raise("breaker_opened", "deployment:7", "Deployment 7: daily loss breaker opened again") is not None
    assert (len(smtp.messages), len(slack.calls), len(telegram.calls)) == (2, 2, 2)
    assert Alert.objects.filter(kind="breaker_opened", status=AlertStatus.RESOLVED).count() == 1


def test_nothing_is_sent_when_the_transaction_rolls_back(channels, route, slack, eager,
                                                         django_capture_on_commit_callbacks):
    from django.db import transaction

    route("kill_switch", channels["slack"])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        with transaction.atomic():
            alert_raise("kill_switch", "all", "Kill switch engaged")
            raise RuntimeError("the engaging failed")
    assert slack.calls == [] and not Alert.objects.exists() and not AlertDelivery.objects.exists()


def test_a_rule_switched_off_raises_nothing(channels, route, slack, django_capture_on_commit_callbacks):
    AlertRule.objects.filter(pk=route("utilisation", channels["slack"]).pk).update(enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert alert_raise("utilisation", "bankroll:house", "Bankroll house: utilisation 95%") is None
    assert slack.calls == [] and not Alert.objects.exists()


def test_slack_invalid_payload_and_telegram_unknown_chat_fail_at_once(channels, route, slack, telegram, eager,
                                                                     django_capture_on_commit_callbacks):
    slack.script(slack.text(400, "invalid_payload"))
    AlertChannel.objects.filter(pk=channels["telegram"].pk).update(target="-100999")
    route("rollback", channels["slack"], channels["telegram"])
    with django_capture_on_commit_callbacks(execute=True):
        alert = alert_raise("rollback", "deployment:3", "Deployment 3 rolled back: drawdown 6%")
    failed = deliveries(alert)
    assert (failed["slack"].status, failed["slack"].attempts, failed["slack"].response) == (
        DeliveryStatus.FAILED, 1, "invalid_payload")
    assert failed["slack"].error == "HTTP 400 invalid_payload"
    assert (failed["telegram"].status, failed["telegram"].attempts) == (DeliveryStatus.FAILED, 1)
    assert failed["telegram"].error == "400 Bad Request: chat not found"
    assert json.loads(failed["telegram"].response) == {"ok": False, "error_code": 400,
                                                       "description": "Bad Request: chat not found"}
    assert len(slack.calls) == 1 and len(telegram.calls) == 1 and telegram.sent == []


@pytest.fixture
def pending(channels):
    """pending(kind): an alert's pending delivery to the channel of `kind` (routed, not yet sent)."""

    def make(kind: str) -> AlertDelivery:
        alert = Alert.objects.create(kind="reconciliation", key=f"deployment:{kind}", trading_mode="PAPER",
                                     message="Deployment 9: reconciliation mismatch, paused: cash 500.00 vs 499.00")
        delivery = AlertDelivery.objects.create(alert=alert, channel=channels[kind])
        return delivery

    return make


def test_a_slack_rate_limit_is_retried_after_its_retry_after_then_sent(pending, slack, settings):
    settings.RISK_ALERT_RETRY_SECONDS = 30.0
    slack.script(slack.rate_limited(7), slack.server_error())
    delivery = pending("slack")
    first = alert_deliver(delivery_id=delivery.pk)
    assert first.retry_in == 7.0  # the Retry-After header
    assert (first.delivery.status, first.delivery.attempts, first.delivery.response) == (
        DeliveryStatus.PENDING, 1, "rate_limited")
    second = alert_deliver(delivery_id=delivery.pk)
    assert second.retry_in == 60.0  # a 500 says nothing: the backoff, doubled at the second attempt
    assert (second.delivery.attempts, second.delivery.error) == (2, "HTTP 500 rollup_error")
    third = alert_deliver(delivery_id=delivery.pk)
    assert third.retry_in is None and third.delivery.status == DeliveryStatus.SENT and third.delivery.attempts == 3
    assert third.delivery.error == "" and third.delivery.response == "ok"
    assert alert_deliver(delivery_id=delivery.pk).delivery.attempts == 3  # sent: a late retry does nothing
    assert len(slack.calls) == 3


def test_a_telegram_flood_limit_waits_its_retry_after(pending, telegram):
    telegram.script(telegram.flood(3), telegram.bad_gateway())
    delivery = pending("telegram")
    first = alert_deliver(delivery_id=delivery.pk)
    assert first.retry_in == 3.0 and first.delivery.error == "429 Too Many Requests: retry after 3"
    assert '"retry_after": 3' in first.delivery.response
    assert alert_deliver(delivery_id=delivery.pk).retry_in == 0.0  # 502: backoff (0 s in these tests)
    done = alert_deliver(delivery_id=delivery.pk)
    assert done.delivery.status == DeliveryStatus.SENT and done.delivery.attempts == 3
    assert [m["text"].split("\n")[0] for m in telegram.sent] == [
        "[PAPER] Deployment 9: reconciliation mismatch, paused: cash 500.00 vs 499.00"]


def test_the_task_run_in_process_retries_until_sent(pending, slack, telegram, eager):
    slack.script(slack.rate_limited(0), slack.server_error())
    telegram.script(telegram.flood(0))
    to_slack, to_telegram = pending("slack"), pending("telegram")
    alert_deliver_task.delay(to_slack.pk)
    alert_deliver_task.delay(to_telegram.pk)
    to_slack.refresh_from_db()
    to_telegram.refresh_from_db()
    assert (to_slack.status, to_slack.attempts, len(slack.calls)) == (DeliveryStatus.SENT, 3, 3)
    assert (to_telegram.status, to_telegram.attempts, len(telegram.calls)) == (DeliveryStatus.SENT, 2, 2)


def test_on_a_worker_the_task_hands_celery_a_retry_with_the_wait_asked_for(pending, slack, monkeypatch):
    """A worker's run: the task raises Celery's Retry and queues itself again with Retry-After as countdown."""
    queued = []
    monkeypatch.setattr("celery.canvas.Signature.apply_async", lambda sig, *a, **kw: queued.append(sig))
    slack.script(slack.rate_limited(7))
    delivery = pending("slack")
    alert_deliver_task.push_request(id="worker-run", args=[delivery.pk], kwargs={}, retries=0, is_eager=False,
                                    called_directly=False)
    try:
        with pytest.raises(Retry) as retried:
            alert_deliver_task.run(delivery.pk)
        assert retried.value.when == 7.0
        [again] = queued
        assert (again.args, again.options["countdown"], again.options["retries"]) == ((delivery.pk,), 7.0, 1)
        assert alert_deliver_task.run(delivery.pk) == DeliveryStatus.SENT  # the retry, when it comes
    finally:
        alert_deliver_task.pop_request()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(slack.calls)) == (DeliveryStatus.SENT, 2, 2)


def test_the_task_gives_up_after_the_last_attempt(pending, slack, eager, settings):
    settings.RISK_ALERT_MAX_ATTEMPTS = 3
    slack.script(*[slack.server_error()] * 5)
    delivery = pending("slack")
    alert_deliver_task.delay(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.error) == (DeliveryStatus.FAILED, 3, "HTTP 500 rollup_error")
    assert len(slack.calls) == 3


def test_a_server_away_is_transient_and_its_error_keeps_the_secret_out(pending, telegram, smtp, settings):
    settings.TELEGRAM_API_URL = f"http://127.0.0.1:{closed_port()}"
    attempt = alert_deliver(delivery_id=pending("telegram").pk)
    assert attempt.retry_in is not None and attempt.delivery.status == DeliveryStatus.PENDING
    assert attempt.delivery.error.startswith("transport: ConnectionError")
    assert telegram.token not in attempt.delivery.error and "/bot***/sendMessage" in attempt.delivery.error
    settings.EMAIL_PORT = closed_port()
    mail = alert_deliver(delivery_id=pending("email").pk)
    assert mail.retry_in is not None and mail.delivery.error.startswith("mail server unavailable: ConnectionRefusedError")
    assert telegram.calls == [] and smtp.messages == []


def test_backoff_doubles_and_is_capped(settings):
    settings.RISK_ALERT_RETRY_SECONDS, settings.RISK_ALERT_RETRY_MAX_SECONDS = 30.0, 100.0
    assert [retry_delay(n, None) for n in (1, 2, 3, 4)] == [30.0, 60.0, 100.0, 100.0]
    assert retry_delay(5, 3.0) == 3.0 and retry_delay(1, 500.0) == 100.0


def test_a_rule_is_silent_on_a_channel_in_its_quiet_period(channels, route, slack, smtp, eager,
                                                           django_capture_on_commit_callbacks):
    route("leverage_breach", channels["slack"], quiet_minutes=30)
    route("utilisation", channels["slack"])  # another rule is not held back by this one's quiet period
    with django_capture_on_commit_callbacks(execute=True):
        first = alert_raise("leverage_breach", "agent:1", "Cohort 4, agent 1: leverage 2.60× above its limit 2.00×")
        second = alert_raise("leverage_breach", "agent:2", "Cohort 4, agent 2: leverage 2.90× above its limit 2.00×")
        other = alert_raise("utilisation", "bankroll:house", "Bankroll house: utilisation 93.0% above 90.0%")
    assert deliveries(first)["slack"].status == DeliveryStatus.SENT
    hushed = deliveries(second)["slack"]
    assert (hushed.status, hushed.attempts, hushed.response) == (DeliveryStatus.QUIET, 0, "quiet period of 30 min")
    assert deliveries(other)["slack"].status == DeliveryStatus.SENT
    assert [t.split("\n")[0] for t in slack.texts()] == [
        "[PAPER] Cohort 4, agent 1: leverage 2.60× above its limit 2.00×",
        "[PAPER] Bankroll house: utilisation 93.0% above 90.0%"]

    AlertDelivery.objects.filter(alert=first).update(sent_at=timezone.now() - timedelta(minutes=31))
    with django_capture_on_commit_callbacks(execute=True):  # the quiet period is over
        third = alert_raise("leverage_breach", "agent:3", "Cohort 4, agent 3: leverage 3.10× above its limit 2.00×")
    assert deliveries(third)["slack"].status == DeliveryStatus.SENT and len(slack.calls) == 3


def test_without_a_rule_alerts_go_to_the_default_addresses(smtp, settings, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        nowhere = alert_raise("beat_missed", "beat:a", "Scheduled job a missed its run")
    assert not AlertDelivery.objects.filter(alert=nowhere).exists() and smtp.messages == []

    settings.RISK_ALERT_EMAILS = ["risk@desk.example"]
    with django_capture_on_commit_callbacks(execute=True):
        alert = alert_raise("beat_missed", "beat:b", "Scheduled job b missed its run")
    [(_, recipients, mail)] = smtp.messages
    assert recipients == ["risk@desk.example"] and mail["Subject"] == "[PAPER] Scheduled job b missed its run"
    channel = AlertDelivery.objects.get(alert=alert).channel
    assert (channel.name, channel.kind) == ("default e-mail", ChannelKind.EMAIL)
    assert alert_route(alert_id=alert.pk) == []  # routed once


def test_a_raised_alert_is_pushed_to_the_risk_page_after_commit(django_capture_on_commit_callbacks):
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from neolight.realtime import RISK

    layer = get_channel_layer()
    page = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(RISK, page)
    with django_capture_on_commit_callbacks(execute=True):
        alert = alert_raise("utilisation", "bankroll:house", "Bankroll house: utilisation 95%")

    message = async_to_sync(layer.receive)(page)
    assert message["event"] == "alert" and message["payload"] == {"alert": alert.pk, "kind": "utilisation"}
