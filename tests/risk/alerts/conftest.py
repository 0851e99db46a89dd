"""Fixtures of the alert tests: a mail server and the Slack and Telegram stand-ins on 127.0.0.1, channels wired to
them, and quick retries (no real backoff waits)."""
from __future__ import annotations

import os

import pytest

from cohorts.services.clocks import ReplayClock
from promotions.services.deploy_run import deployment_run
from promotions.services.deployments import deployment_start
from risk.models import AlertChannel, AlertRule, ChannelKind
from tests.cohorts.conftest import crypto_hours  # noqa: F401  (the deployments' bars)
from tests.promotions.deployments.conftest import WorkerKilled, approved, at_start, desk, kill, risk_user  # noqa: F401
from tests.promotions.smtp_stub import SmtpStub
from tests.risk.alerts.stubs import SlackWebhookStub, TelegramBotStub


@pytest.fixture(autouse=True)
def alert_settings(settings):
    """Channel secrets are encrypted with the test key; retries wait no real time here (the waits asked for
    are checked on `alert_deliver`'s answers instead)."""
    settings.RISK_ALERT_RETRY_SECONDS = 0.0
    settings.RISK_ALERT_MAX_ATTEMPTS = 4
    settings.RISK_ALERT_TIMEOUT_SECONDS = 2.0
    settings.RISK_ALERT_EMAILS = []
    settings.TRADING_MODE = "PAPER"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # users of these tests log in fast
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS or [os.environ["FIELD_ENCRYPTION_KEYS"]]  # secrets


@pytest.fixture(scope="session")
def servers():
    """The local mail server and the Slack and Telegram stand-ins, started once for these tests."""
    with SmtpStub() as smtp, SlackWebhookStub() as slack, TelegramBotStub() as telegram:
        yield smtp, slack, telegram


@pytest.fixture
def smtp(servers, settings):
    server = servers[0]
    server.messages.clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    return server


@pytest.fixture
def slack(servers):
    return servers[1].reset()


@pytest.fixture
def telegram(servers, settings):
    settings.TELEGRAM_API_URL = servers[2].url
    return servers[2].reset()


@pytest.fixture
def channels(db, smtp, slack, telegram) -> dict[str, AlertChannel]:
    """One channel of each kind, wired to the local servers."""
    return {
        "email": AlertChannel.objects.create(name="desk mail", kind=ChannelKind.EMAIL,
                                             target="risk@desk.example, ops@desk.example"),
        "slack": AlertChannel.objects.create(name="slack #risk", kind=ChannelKind.SLACK, target="",
                                             secret=slack.webhook_url),
        "telegram": AlertChannel.objects.create(name="telegram desk", kind=ChannelKind.TELEGRAM,
                                                target=telegram.chat_id, secret=telegram.token),
    }


@pytest.fixture
def route(db):
    """route(kind, *channels, quiet_minutes=0, threshold=None): the rule of `kind` sends to those channels."""

    def make(kind: str, *channels: AlertChannel, quiet_minutes: int = 0, threshold: float | None = None) -> AlertRule:
        rule, _ = AlertRule.objects.update_or_create(kind=kind, defaults={"quiet_minutes": quiet_minutes,
                                                                          "threshold": threshold, "enabled": True})
        rule.channels.set(channels)
        return rule

    return make


@pytest.fixture
def mid_run(request):
    """A running deployment whose worker died after 33 bars, with orders filled and positions open."""
    request.getfixturevalue("at_start")
    make, die = request.getfixturevalue("approved"), request.getfixturevalue("kill")
    deployment = deployment_start(request_id=make(capital="500", hours=1).pk, clock="replay")
    die("live.after_bar", 33)
    with pytest.raises(WorkerKilled):
        deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))
    return deployment
