"""Each minute the ledger's cash and positions for a running deployment are held against the broker's: a match
is logged at most every few minutes, a mismatch (a tampered paper book) pauses the deployment."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F

from cohorts.services.clocks import ReplayClock
from promotions.models import DeploymentRun, DeploymentStatus, LogKind, PaperAccount, PaperPosition
from promotions.services.deploy_reconcile import deployment_reconcile, deployments_reconcile_all
from promotions.services.deploy_run import deployment_run
from promotions.services.deployments import deployment_start
from tests.promotions.deployments.conftest import WorkerKilled

pytestmark = pytest.mark.usefixtures("crypto_hours", "at_start")


def nudge(book: PaperAccount, symbol: str, delta: Decimal) -> None:
    """Changes the paper broker's position in `symbol` by `delta` behind the deployment's back."""
    position, _ = PaperPosition.objects.get_or_create(account=book, symbol=symbol,
                                                      defaults={"qty": 0, "avg_entry_price": Decimal(3000)})
    PaperPosition.objects.filter(pk=position.pk).update(qty=F("qty") + delta)


@pytest.fixture
def mid_run(approved, kill):
    """A deployment whose worker died after 33 bars, its first orders sent and its positions open at the broker."""
    deployment = deployment_start(request_id=approved(capital="500", hours=1).pk, clock="replay")
    kill("live.after_bar", 33)
    with pytest.raises(WorkerKilled):
        deployment_run(deployment_id=deployment.pk, clock=ReplayClock(0))
    assert deployment.orders.filter(status="filled").exists() and PaperPosition.objects.exists()
    return deployment


def test_a_matching_deployment_is_logged_reconciled_at_most_every_n_minutes(mid_run, settings):
    settings.DEPLOYMENT_RECONCILED_LOG_MINUTES = 15
    assert deployments_reconcile_all()["reconciled"] == [mid_run.pk]
    assert deployment_reconcile(deployment_id=mid_run.pk) == "reconciled"
    rows = mid_run.log.filter(kind=LogKind.RECONCILED)
    assert rows.count() == 1
    assert rows.get().data["ledger"]["cash"] == str(PaperAccount.objects.get(name=f"deployment-{mid_run.pk}").cash)

    # fifteen minutes on, a match is logged again; differences within the ledger's resolution still match
    DeploymentRun.objects.filter(pk=mid_run.pk).update(bar_at=F("bar_at") + timedelta(minutes=15))
    book = PaperAccount.objects.get(name=f"deployment-{mid_run.pk}")
    PaperAccount.objects.filter(pk=book.pk).update(cash=F("cash") + Decimal("0.01"))
    nudge(book, "ETH-USDT", Decimal("0.00000001"))
    assert deployment_reconcile(deployment_id=mid_run.pk) == "reconciled"
    assert rows.count() == 2
    mid_run.refresh_from_db()
    assert mid_run.status == DeploymentStatus.RUNNING


@pytest.mark.parametrize("tamper", ["cash", "position"])
def test_a_tampered_paper_book_pauses_the_deployment_with_both_sides_figures(mid_run, tamper):
    book = PaperAccount.objects.get(name=f"deployment-{mid_run.pk}")
    if tamper == "cash":
        PaperAccount.objects.filter(pk=book.pk).update(cash=F("cash") + Decimal("0.02"))
    else:
        nudge(book, "ETH-USDT", Decimal("0.00000002"))

    assert deployment_reconcile(deployment_id=mid_run.pk) == "mismatch"
    mid_run.refresh_from_db()
    assert mid_run.status == DeploymentStatus.PAUSED
    mismatch = mid_run.log.get(kind=LogKind.MISMATCH)
    ledger, broker = mismatch.data["ledger"], mismatch.data["broker"]
    if tamper == "cash":
        assert Decimal(broker["cash"]) - Decimal(ledger["cash"]) == Decimal("0.02")
    else:
        theirs, ours = (Decimal(side["positions"].get("ETH-USDT", 0)) for side in (broker, ledger))
        assert theirs - ours == Decimal("0.00000002")
    assert deployment_reconcile(deployment_id=mid_run.pk) == "skipped"  # paused: no more checks, no more rows
    assert mid_run.log.filter(kind=LogKind.MISMATCH).count() == 1
