"""The alerts admin: a channel's secret is typed and never shown back; a test alert goes out from the channel list;
rules route kinds to channels; alerts and deliveries are read-only."""
from __future__ import annotations

import pytest
from django.urls import reverse

from risk.models import Alert, AlertChannel, AlertDelivery, AlertRule, DeliveryStatus

pytestmark = pytest.mark.django_db


def test_a_channels_secret_is_written_never_shown_and_kept_when_left_blank(client, superuser, slack):
    client.force_login(superuser)
    response = client.post(reverse("admin:risk_alertchannel_add"), {
        "name": "slack #risk", "kind": "slack", "target": "", "secret": slack.webhook_url, "enabled": "on"})
    assert response.status_code == 302
    channel = AlertChannel.objects.get(name="slack #risk")
    assert channel.secret == slack.webhook_url
    page = client.get(reverse("admin:risk_alertchannel_change", args=[channel.pk])).content.decode()
    assert slack.webhook_url not in page and "x9Secret" not in page and "Leave blank to keep it" in page
    assert slack.webhook_url not in client.get(reverse("admin:risk_alertchannel_changelist")).content.decode()

    client.post(reverse("admin:risk_alertchannel_change", args=[channel.pk]), {
        "name": "slack #risk-desk", "kind": "slack", "target": "", "secret": "", "enabled": "on"})
    channel.refresh_from_db()
    assert channel.name == "slack #risk-desk" and channel.secret == slack.webhook_url


def test_a_channel_is_refused_without_what_its_kind_needs(client, superuser):
    client.force_login(superuser)
    add = reverse("admin:risk_alertchannel_add")
    for fields, said in [({"kind": "email", "target": "risk@desk, ops@desk.example"}, "risk@desk is not an e-mail address"),
                         ({"kind": "slack", "secret": "hooks.slack.com"}, "Slack incoming webhook URL"),
                         ({"kind": "telegram", "target": "", "secret": ""}, "chat id the bot writes to")]:
        response = client.post(add, {"name": "x", "target": "", "secret": "", **fields, "enabled": "on"})
        assert response.status_code == 200 and said in response.content.decode()
    assert not AlertChannel.objects.exists()


def test_a_test_alert_goes_out_from_the_channel_list(client, superuser, channels, slack, telegram):
    client.force_login(superuser)
    AlertChannel.objects.filter(pk=channels["telegram"].pk).update(target="-100999")  # a chat the bot is not in
    response = client.post(reverse("admin:risk_alertchannel_changelist"), {
        "action": "send_test_alert", "_selected_action": [channels["slack"].pk, channels["telegram"].pk]}, follow=True)
    page = response.content.decode()
    assert "Test alert sent to slack #risk: ok" in page
    assert "Test alert not delivered: telegram desk: 400 Bad Request: chat not found" in page
    assert slack.texts() == ["[PAPER] NeoLight test alert: the channel slack #risk is wired up."]
    assert not Alert.objects.exists() and not AlertDelivery.objects.exists()


def test_rules_route_kinds_and_the_log_is_read_only(client, superuser, channels):
    client.force_login(superuser)
    response = client.post(reverse("admin:risk_alertrule_add"), {
        "kind": "rollback", "enabled": "on", "threshold": "", "quiet_minutes": "15",
        "channels": [channels["email"].pk, channels["slack"].pk]})
    assert response.status_code == 302
    rule = AlertRule.objects.get(kind="rollback")
    assert rule.quiet_minutes == 15 and set(rule.channels.all()) == {channels["email"], channels["slack"]}

    alert = Alert.objects.create(kind="rollback", key="deployment:1", trading_mode="PAPER", message="Deployment 1 rolled back")
    AlertDelivery.objects.create(alert=alert, channel=channels["slack"], status=DeliveryStatus.FAILED, attempts=1,
                                 response="invalid_payload", error="HTTP 400 invalid_payload")
    deliveries = client.get(reverse("admin:risk_alertdelivery_changelist") + "?status__exact=failed").content.decode()
    assert "HTTP 400 invalid_payload" in deliveries
    assert client.get(reverse("admin:risk_alertdelivery_add")).status_code == 403
    assert client.get(reverse("admin:risk_alert_add")).status_code == 403
    page = client.get(reverse("admin:risk_alert_change", args=[alert.pk])).content.decode()
    assert "Deployment 1 rolled back" in page and 'name="message"' not in page
