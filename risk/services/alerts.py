"""Alerts: a breach raised once (the open alert of its kind and key), delivered after commit, resolved when it clears.

`alert_raise` is what every other part calls; it writes nothing for a rule switched off in the admin and nothing
for a breach that is already open, so a condition seen on every bar alerts once.
"""
from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from risk.models import Alert, AlertRule, AlertStatus

log = logging.getLogger(__name__)


def alert_raise(kind: str, key: str, message: str, *, trading_mode: str | None = None, data: dict[str, Any] | None = None,
                cohort=None, deployment=None) -> Alert | None:
    """Opens the alert of `kind` for `key` (e.g. "deployment:7") unless that breach is open already or the rule is off;
    returns the new alert, else None. `trading_mode` defaults to the deployment's, else the installation's."""
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
    return alert


def alert_resolve(kind: str, key: str) -> int:
    """Resolves the open alert of `kind` for `key` (the condition has cleared); the count resolved (0 or 1)."""
    return Alert.objects.filter(kind=kind, key=key, status=AlertStatus.OPEN).update(
        status=AlertStatus.RESOLVED, resolved_at=timezone.now())
