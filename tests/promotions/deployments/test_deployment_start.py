"""Starting a deployment from an approved request: once, from the signed payload, with the capital drawn."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cohorts.models import Cohort, CohortMode
from neolight.errors import ApplicationError
from promotions.models import Deployment, DeploymentStatus, LogKind, PaperAccount, RequestStatus
from promotions.services.deployments import deployment_renew, deployment_start
from tests.promotions.deployments.conftest import FUNDING
from tests.promotions.deployments.helpers import bankroll_cash

pytestmark = pytest.mark.usefixtures("crypto_hours")


def test_a_second_start_returns_the_first_deployment_and_draws_once(approved, django_capture_on_commit_callbacks,
                                                                    queued):
    request = approved(capital="750.50", hours=2, max_drawdown=0.03, max_return_variance=0.002)
    with django_capture_on_commit_callbacks(execute=True):
        first = deployment_start(request_id=request.pk)
        again = deployment_start(request_id=request.pk)
    assert again.pk == first.pk and Deployment.objects.count() == 1
    assert queued == [("promotions.tasks.deployment_run_task", first.pk, "wall")]
    assert (first.capital, first.max_drawdown, first.max_return_variance) == (Decimal("750.50"), 0.03, 0.002)
    assert first.ends_at - first.created_at <= timedelta(hours=2) and first.status == DeploymentStatus.PENDING
    cohort = Cohort.objects.get(deployment_run__deployment=first)
    assert cohort.mode == CohortMode.LIVE and cohort.agent_count == 1 and cohort.wallet.bankroll == Decimal("750.50")
    assert bankroll_cash(first) == FUNDING - Decimal("750.50")
    assert PaperAccount.objects.get(name=f"deployment-{first.pk}").cash == Decimal("750.50")
    assert first.log.filter(kind=LogKind.DEPLOYED).count() == 1


@pytest.mark.parametrize("status", [RequestStatus.PENDING, RequestStatus.REJECTED, RequestStatus.EXPIRED])
def test_only_an_approved_request_deploys(approved, status, desk):
    request = approved(status=status)  # the database refuses moving a decided request back
    with pytest.raises(ApplicationError):
        deployment_start(request_id=request.pk)
    assert not Deployment.objects.exists() and bankroll_cash_of(desk) == FUNDING


def bankroll_cash_of(desk):
    from cohorts.selectors.ledger import account_balance
    from cohorts.services.ledger import bankroll_cash_account

    return account_balance(bankroll_cash_account(desk))


def test_a_payload_that_cannot_deploy_is_refused_naming_every_fault(approved, desk):
    request = approved(family=None, allocation="-5", trading_mode="CASINO",
                       limits={"hours": "soon", "max_drawdown": 0.05, "max_return_variance": 0.001})
    with pytest.raises(ApplicationError) as refused:
        deployment_start(request_id=request.pk)
    for fault in ("family is missing", "allocation '-5'", "trading_mode 'CASINO'", "limits.hours"):
        assert fault in refused.value.message
    assert not Deployment.objects.exists() and bankroll_cash_of(desk) == FUNDING


def test_renewal_pushes_the_timer_out_within_the_runs_window_and_is_logged(approved, risk_user):
    deployment = deployment_start(request_id=approved(hours=1).pk)
    ends_at = deployment.ends_at
    with pytest.raises(ApplicationError):
        deployment_renew(deployment_id=deployment.pk, hours=1, reason=" ", user=risk_user)
    with pytest.raises(ApplicationError):
        deployment_renew(deployment_id=deployment.pk, hours=2, reason="longer", user=risk_user)
    renewed = deployment_renew(deployment_id=deployment.pk, hours=1, reason="the chain signed a renewal", user=risk_user)
    assert renewed.ends_at == ends_at + timedelta(hours=1)
    row = deployment.log.get(kind=LogKind.RENEWED)
    assert row.actor == risk_user and row.data["reason"] == "the chain signed a renewal"


def test_the_command_lists_and_overrides_with_a_reason(approved, ops_user, outsider, capsys):
    deployment = deployment_start(request_id=approved().pk)
    call_command("deployment", "list", "--json")
    assert f'"id": {deployment.pk}' in capsys.readouterr().out
    with pytest.raises(CommandError, match="reason"):
        call_command("deployment", "rollback", str(deployment.pk))
    with pytest.raises(CommandError, match="ops or risk"):
        call_command("deployment", "rollback", str(deployment.pk), "--reason", "stop", "--user", outsider.username)
    call_command("deployment", "rollback", str(deployment.pk), "--reason", "operator stop", "--user", ops_user.username)
    deployment.refresh_from_db()
    assert deployment.status == DeploymentStatus.ROLLED_BACK
    assert deployment.log.get(kind=LogKind.ROLLED_BACK).actor == ops_user


def test_a_live_mode_on_a_paper_account_is_refused_before_any_capital_moves(approved, desk):
    with pytest.raises(ApplicationError, match="paper account only"):
        deployment_start(request_id=approved(trading_mode="LIVE").pk)
    assert not Deployment.objects.exists() and bankroll_cash_of(desk) == FUNDING

