"""Deployments raise alerts: a rollback (exactly one, by e-mail), a reconciliation mismatch; and the minute's rules
see a running deployment's parent drawdown, its agent's leverage and the bankroll's utilisation."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import F

from cohorts.models import Agent
from promotions.models import DEPLOYMENT_STATES, DeploymentStatus, PaperAccount
from promotions.services.deploy_reconcile import deployment_reconcile
from promotions.services.deployments import deployment_rollback, deployment_start
from risk.models import Alert, AlertDelivery, AlertRule, AlertStatus, DeliveryStatus
from risk.services.alert_rules import alert_rules_check
from risk.services.alerts import alert_raise

pytestmark = pytest.mark.usefixtures("crypto_hours")


def test_a_rollback_raises_exactly_one_alert_that_reaches_e_mail(approved, risk_user, smtp, settings, eager,
                                                                  django_capture_on_commit_callbacks):
    settings.RISK_ALERT_EMAILS = ["risk@desk.example"]
    deployment = deployment_start(request_id=approved(capital="500").pk)
    DEPLOYMENT_STATES.move(deployment.pk, DeploymentStatus.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        deployment_rollback(deployment_id=deployment.pk, reason="drawdown 6% beyond the 5% limit", user=risk_user)
    with django_capture_on_commit_callbacks(execute=True):  # rolled back already: nothing more happens
        assert deployment_rollback(deployment_id=deployment.pk, reason="again", user=risk_user) is None

    [alert] = Alert.objects.all()
    assert (alert.kind, alert.key, alert.deployment_id, alert.trading_mode) == (
        "rollback", f"deployment:{deployment.pk}", deployment.pk, "PAPER")
    [(_, recipients, mail)] = smtp.messages
    assert recipients == ["risk@desk.example"]
    assert mail["Subject"] == f"[PAPER] Deployment {deployment.pk} rolled back: drawdown 6% beyond the 5% limit"
    assert AlertDelivery.objects.get(alert=alert).status == DeliveryStatus.SENT


def test_a_reconciliation_mismatch_alerts_once_and_a_match_resolves_it(mid_run, slack, channels, route, eager,
                                                                       django_capture_on_commit_callbacks):
    route("reconciliation", channels["slack"])
    book = PaperAccount.objects.filter(name=f"deployment-{mid_run.pk}")
    book.update(cash=F("cash") + Decimal("0.02"))
    with django_capture_on_commit_callbacks(execute=True):
        assert deployment_reconcile(deployment_id=mid_run.pk) == "mismatch"
    [alert] = Alert.objects.filter(kind="reconciliation")
    assert alert.status == AlertStatus.OPEN and alert.deployment_id == mid_run.pk
    [text] = slack.texts()
    assert text.startswith(f"[PAPER] Deployment {mid_run.pk}: reconciliation mismatch, paused: cash ")

    book.update(cash=F("cash") - Decimal("0.02"))
    DEPLOYMENT_STATES.move(mid_run.pk, DeploymentStatus.RUNNING)  # resumed
    assert deployment_reconcile(deployment_id=mid_run.pk) == "reconciled"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED and len(slack.calls) == 1


def test_an_agents_loss_raises_parent_drawdown_and_leverage_once_each_until_it_clears(
        mid_run, telegram, channels, route, eager, django_capture_on_commit_callbacks):
    route("parent_drawdown", channels["telegram"])
    route("leverage_breach", channels["telegram"])
    cohort = mid_run.run.cohort
    agent = Agent.objects.get(cohort=cohort)
    assert alert_rules_check() == {"raised": [], "resolved": []}  # 500 of 500, positions 0.99× of equity: all well

    Agent.objects.filter(pk=agent.pk).update(final_equity=Decimal("300"))  # its running score after a loss
    with django_capture_on_commit_callbacks(execute=True):
        first = alert_rules_check()
    with django_capture_on_commit_callbacks(execute=True):
        again = alert_rules_check()  # the next minute, the same breaches: no new alert
    assert sorted(first["raised"]) == [f"leverage_breach:agent:{agent.pk}", f"parent_drawdown:cohort:{cohort.pk}"]
    assert again == {"raised": [], "resolved": []}
    drawdown = Alert.objects.get(kind="parent_drawdown")
    assert drawdown.deployment_id == mid_run.pk and drawdown.data["drawdown"] == pytest.approx(0.4)
    leverage = Alert.objects.get(kind="leverage_breach")
    assert float(Decimal(leverage.data["exposure"]) / 300) == pytest.approx(leverage.data["leverage"], abs=1e-4)
    assert Decimal(leverage.data["limit"]) == 1  # the wallet's ceiling (1×) is below the deployment's tier (2×)
    assert sorted(m["text"].split("\n")[0] for m in telegram.sent) == [
        f"[PAPER] Deployment {mid_run.pk} (cohort {cohort.pk}), agent 0: leverage {leverage.data['leverage']:.2f}× "
        "above its limit 1.00× (tier 2.00×, wallet ceiling 1.00×)",
        f"[PAPER] Deployment {mid_run.pk} (cohort {cohort.pk}): parent drawdown 40.00% above 5.00% "
        "(equity $300.00 of $500.00)"]

    ladder = alert_raise("leverage_breach", f"leverage:deployment:{mid_run.pk}", "above the ladder's cap")  # not the rule's
    Agent.objects.filter(pk=agent.pk).update(final_equity=Decimal("500"))  # recovered
    assert sorted(alert_rules_check()["resolved"]) == [f"leverage_breach:agent:{agent.pk}",
                                                       f"parent_drawdown:cohort:{cohort.pk}"]
    assert list(Alert.objects.filter(status=AlertStatus.OPEN)) == [ladder]


def test_utilisation_above_the_rules_threshold_alerts(approved, desk, settings):
    deployment_start(request_id=approved(capital="500").pk, run=False)
    settings.HOUSE_BANKROLL_NAME = desk.name  # 100,000 funded, the deployment's 500 at work
    AlertRule.objects.create(kind="utilisation", threshold=0.004)
    assert alert_rules_check()["raised"] == [f"utilisation:bankroll:{desk.name}"]
    assert alert_rules_check() == {"raised": [], "resolved": []}  # still above: the same breach
    alert = Alert.objects.get(kind="utilisation")
    assert alert.data["utilisation"] == pytest.approx(500 / 100_000)
    assert alert.message == "Bankroll desk: utilisation 0.5% above 0.4% ($500.00 at work of $100,000.00)"
    AlertRule.objects.filter(kind="utilisation").update(threshold=0.9)  # the threshold raised in the admin
    assert alert_rules_check()["resolved"] == [f"utilisation:bankroll:{desk.name}"]
