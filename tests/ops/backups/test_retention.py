"""The retention policy deletes only what it allows; a dry run deletes nothing; the ledger is never touched."""
from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from cohorts.models import Bar, CohortCheckpoint, CohortResult, Entry, LedgerTransaction
from cohorts.selectors.cohorts import cohort_curves
from neolight.ops.retention import NEVER, RULES, prune
from risk.models import Alert, AlertChannel, AlertDelivery


@pytest.fixture
def aged(completed_cohort):
    """The posted cohort as if it had ended 40 days ago."""
    from cohorts.models import Cohort

    Cohort.objects.filter(pk=completed_cohort.pk).update(finished_at=timezone.now() - timedelta(days=40))
    return completed_cohort


def deliveries():
    """Three deliveries: sent 40 days ago, still pending from 40 days ago, sent today."""
    channel = AlertChannel.objects.create(name="desk", kind="email", target="desk@example.com")
    made = []
    for index, (status, age) in enumerate([("sent", 40), ("pending", 40), ("sent", 0)]):
        alert = Alert.objects.create(kind="utilisation", key=f"bankroll:{index}", trading_mode="TEST", message="m")
        delivery = AlertDelivery.objects.create(alert=alert, channel=channel, status=status)
        AlertDelivery.objects.filter(pk=delivery.pk).update(created_at=timezone.now() - timedelta(days=age))
        made.append(delivery)
    return made


def ledger_snapshot():
    return (list(Entry.objects.order_by("id").values_list("id", "amount")), LedgerTransaction.objects.count())


def test_dry_run_says_what_it_would_delete_and_deletes_nothing(aged, settings, capsys):
    settings.RETENTION_BARS_DAYS = 30  # the bundled bars are from 2021
    settings.RETENTION_CURVES_DAYS = 30
    bars, ledger = Bar.objects.count(), ledger_snapshot()

    call_command("prune", "--dry-run", "--json")
    report = json.loads(capsys.readouterr().out)

    counts = {rule["name"]: rule["rows"] for rule in report["rules"]}
    assert counts == {"bars": bars, "equity curves": 1}
    assert Bar.objects.count() == bars and cohort_curves(aged) is not None
    assert ledger_snapshot() == ledger


def test_prune_deletes_what_the_policy_allows_and_keeps_the_ledger_and_scores(aged, settings, capsys, client, superuser):
    settings.RETENTION_BARS_DAYS = 30
    settings.RETENTION_CURVES_DAYS = 30
    settings.RETENTION_LOGS_DAYS = 30
    settings.RETENTION_DELIVERIES_DAYS = 30
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS or [os.environ["FIELD_ENCRYPTION_KEYS"]]
    old_sent, old_pending, new_sent = deliveries()
    CohortCheckpoint.objects.update_or_create(cohort=aged, defaults={"bar": 60, "fills": 0, "data_bar": 60, "data": b"x"})
    score, ledger = aged.agents.order_by("pk").values_list("pk", "roi", "final_equity").first(), ledger_snapshot()
    call_command("prune")
    out = capsys.readouterr().out

    assert "bars older than 30 days (cohorts_bar): deleted 60 row(s)" in out
    assert Bar.objects.count() == 0
    assert cohort_curves(aged) is None  # the curves are gone…
    assert CohortResult.objects.filter(cohort=aged).exists()  # …the results row and the scores stay
    assert aged.agents.order_by("pk").values_list("pk", "roi", "final_equity").first() == score
    assert not CohortCheckpoint.objects.filter(cohort=aged).exists()
    assert ledger_snapshot() == ledger
    client.force_login(superuser)  # the cohort's pages still open on the summaries
    for url in (reverse("cohort-detail", args=[aged.pk]), reverse("agent-detail", args=[aged.pk, 0]),
                reverse("api-cohort", args=[aged.pk])):
        assert client.get(url).status_code == 200, url
    assert set(AlertDelivery.objects.values_list("pk", flat=True)) == {old_pending.pk, new_sent.pk}
    assert Alert.objects.count() == 3  # the alerts themselves stay
    # a second run finds nothing more
    assert {p.name: p.rows for p in prune()} == {name: 0 for name in {r.name for r in RULES}}


def test_retention_off_by_default_prunes_nothing(aged, capsys):
    call_command("prune")
    assert "No retention is set" in capsys.readouterr().out
    assert prune(dry_run=True) == []


def test_no_rule_can_touch_the_ledger_audit_or_knowledge(settings, db):
    for rule in RULES:
        settings.__setattr__(rule.setting, 1)
    touched = {rule.rows(timezone.now()).model._meta.label_lower for rule in RULES}
    assert touched.isdisjoint(NEVER)
    assert {"cohorts.entry", "promotions.signature", "risk.killswitchevent", "knowledge.knowledgeentry"} <= NEVER
