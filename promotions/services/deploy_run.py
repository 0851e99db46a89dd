"""A deployment's run: its live cohort stepped bar by bar, each bar's new fills sent to the broker.

`DeploymentBar` is the cohort run's per-bar hook (`cohort_run_live(on_bar=…)`), called inside the bar's
transaction with the cohort's row locked: it locks the deployment, sends the fills not yet sent (none while
paused), records each order with its execution posting, then checks the equity limits and the timer. Before
sending, the guardian (`risk.services.guardian`) reads the bar: its breakers move, a halted deployment pauses (and
one it paused resumes when they recover); the broker is guarded by the pre-trade check, and an order it refuses is
recorded ("refused", with the reason) and pauses the deployment, since its books would no longer agree with the
broker's. A TEST deployment sends nothing: its fills are recorded as test orders at the model's prices. The
orders commit with the bar; a worker killed after the broker answered but before the commit leaves the fill
unposted, and the resumed run makes the same fill again with the same client order id, which the broker
already knows: the run records the broker's order instead of sending a second one.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import numpy as np
from django.utils import timezone

from cohorts import engine
from cohorts.models import Cohort, Fill
from cohorts.selectors.market import BarWindow
from cohorts.services.clocks import ReplayClock, WallClock
from cohorts.services.live import cohort_run_live
from neolight import faults
from promotions.brokers.base import Broker, BrokerError, BrokerFailure, BrokerOrder, OrderRequest
from promotions.brokers.guarded import GuardedBroker
from promotions.models import (
    DEPLOYMENT_ENDED,
    DEPLOYMENT_STATES,
    Deployment,
    DeploymentOrder,
    DeploymentRun,
    DeploymentStatus,
    LogKind,
    TradingMode,
)
from promotions.services.deploy_ledger import execution_post
from promotions.services.deployments import (
    deployment_broker,
    deployment_finish,
    deployment_pause,
    deployment_rollback,
    equity_breach,
    order_log,
)
from risk.services.guardian import Reading, SubjectGuard, deployment_guard_effects

log = logging.getLogger(__name__)
RETRY_LATER = (BrokerFailure.UNAVAILABLE, BrokerFailure.RATE_LIMITED)


def deployment_run(*, deployment_id: int, clock: ReplayClock | WallClock) -> Deployment:
    """Runs (or resumes, once its worker's lease has lapsed) a deployment's live cohort with its broker on the
    per-bar path, then ends the deployment if its run has ended. A deployment that has ended is left alone."""
    DEPLOYMENT_STATES.move(deployment_id, DeploymentStatus.RUNNING, guard=lambda d: d.status == DeploymentStatus.PENDING,
                           started_at=timezone.now())
    deployment = Deployment.objects.get(pk=deployment_id)
    if deployment.status in DEPLOYMENT_ENDED:
        return deployment
    run = DeploymentRun.objects.get(deployment=deployment)
    broker = deployment_broker(deployment)
    if run.broker_baseline is None:
        account = broker.account()
        DeploymentRun.objects.filter(pk=run.pk, broker_baseline__isnull=True).update(broker_baseline={
            "cash": str(account.cash), "positions": {p.symbol: str(p.qty) for p in broker.positions()}})
    cohort_run_live(cohort_id=run.cohort_id, clock=clock, on_bar=DeploymentBar(deployment_id, broker))
    deployment_finish(deployment_id=deployment_id)
    return Deployment.objects.get(pk=deployment_id)


def client_order_id(deployment_id: int, fill_number: int) -> str:
    """The broker's id of the order carrying engine fill `fill_number`: the same whenever it is sent."""
    return f"nl-dep{deployment_id}-fill{fill_number}"


class DeploymentBar:
    """The per-bar hook of a deployment's run; True ends the run at this bar (timer, rollback)."""

    def __init__(self, deployment_id: int, broker: Broker):
        self.deployment_id, self.broker = deployment_id, broker
        self.run: DeploymentRun | None = None  # read once: its cohort and costs do not change during a run
        self.guard: SubjectGuard | None = None

    def __call__(self, cohort: Cohort, window: BarWindow, t: int, result: engine.Result) -> bool:
        stamp = window.timestamps[t].astype("datetime64[s]").astype(datetime).replace(tzinfo=UTC)
        bar_at = stamp + timedelta(minutes=1)
        DeploymentRun.objects.filter(deployment_id=self.deployment_id).update(bar_at=bar_at)
        deployment = Deployment.objects.select_for_update().get(pk=self.deployment_id)
        if deployment.status in DEPLOYMENT_ENDED:
            return True
        if self.run is None:
            self.run = DeploymentRun.objects.select_related("cohort__wallet", "deployment").get(deployment=deployment)
        deployment = self._guard(deployment, bar_at, result)
        if deployment.status == DeploymentStatus.RUNNING:
            self._send(deployment, self.run, len(result.fills))
        equity = np.concatenate([[result.bankroll], result.parent_equity])
        breach = equity_breach(equity, max_drawdown=deployment.max_drawdown,
                               max_return_variance=deployment.max_return_variance)
        if breach:
            deployment_rollback(deployment_id=deployment.pk, reason=f"Automatic: {breach}",
                                data={"bar_at": bar_at.isoformat(), "equity": round(float(equity[-1]), 2),
                                      "peak": round(float(equity.max()), 2)})
            return True
        return bar_at >= deployment.ends_at

    def _guard(self, deployment: Deployment, bar_at: datetime, result: engine.Result) -> Deployment:
        """The guardian's reading of the bar and its effect on the deployment (paused, resumed, as it was)."""
        if self.guard is None:
            self.guard = SubjectGuard(deployment=deployment, start_equity=result.bankroll)
            if isinstance(self.broker, GuardedBroker):
                self.broker.figures = self.guard.figures
        equity = float(result.parent_equity[-1]) if result.equity.shape[1] else float(result.bankroll)
        verdict = self.guard.bar(Reading(at=bar_at, equity=equity, fills=result.fills))
        return deployment_guard_effects(deployment, verdict)

    def _send(self, deployment: Deployment, run: DeploymentRun, total: int) -> None:
        """Sends the fills the broker has not had yet, in order; stops at a broker that is down (the next bar
        tries again) and pauses the deployment at a refusal (the books would no longer agree)."""
        if total == 0:
            return
        sent = DeploymentOrder.objects.filter(deployment=deployment, fill_number__isnull=False).count()
        for number in range(sent, total):
            fill = Fill.objects.select_related("instrument").get(
                transaction__idempotency_key=f"cohort:{run.cohort_id}:fill:{number}")
            request = OrderRequest(client_order_id=client_order_id(deployment.pk, number), symbol=fill.instrument.symbol,
                                   side=fill.side, qty=fill.qty, mode=deployment.trading_mode)
            if deployment.trading_mode == TradingMode.TEST:  # sent nowhere: filled by the model, at its price
                execution_post(run=run, order=_record(deployment, number, fill, request, _test_fill(request, fill)))
                continue
            try:
                answer = self._place(request)
            except BrokerError as exc:
                if exc.kind in RETRY_LATER:
                    log.warning("deployment %s: broker unavailable (%s); fill %s waits", deployment.pk, exc, number)
                    return
                order = _record(deployment, number, fill, request, None, error=exc)
                if exc.kind == BrokerFailure.RISK:
                    deployment_pause(deployment_id=deployment.pk, reason=f"The pre-trade check refused an order, so its "
                                     f"books would no longer agree with the broker's: {exc.message}",
                                     data={"client_order_id": order.client_order_id, "refused": exc.message})
                    return
                deployment_pause(deployment_id=deployment.pk, reason=f"The broker refused an order: {exc.message}",
                                 kind=LogKind.MISMATCH, data={"client_order_id": order.client_order_id})
                return
            faults.point("deployment.after_order")
            order = _record(deployment, number, fill, request, answer)
            if order.filled_qty:
                execution_post(run=run, order=order)

    def _place(self, request: OrderRequest) -> BrokerOrder:
        """The broker's order for `request`: the one it already has under the client order id, else a new one."""
        try:
            return self.broker.get_order(request.client_order_id)
        except BrokerError as exc:
            if exc.kind != BrokerFailure.NOT_FOUND:
                raise
        return self.broker.submit_order(request)


def _record(deployment: Deployment, number: int, fill: Fill, request: OrderRequest, answer: BrokerOrder | None,
            error: BrokerError | None = None) -> DeploymentOrder:
    order = DeploymentOrder.objects.create(
        deployment=deployment, fill_number=number, client_order_id=request.client_order_id,
        broker_order_id=answer.broker_order_id if answer else "", mode=request.mode, symbol=request.symbol,
        side=request.side, qty=request.qty, expected_price=fill.price,
        status=answer.status if answer else _status(error), filled_qty=answer.filled_qty if answer else 0,
        filled_avg_price=answer.filled_avg_price if answer else None, error=error.message[:300] if error else "")
    order_log(deployment, order)
    return order


def _status(error: BrokerError) -> str:
    return "refused" if error.kind == BrokerFailure.RISK else str(error.kind)


def _test_fill(request: OrderRequest, fill: Fill) -> BrokerOrder:
    """A TEST deployment's order: filled whole at the engine's price, by nobody."""
    return BrokerOrder(client_order_id=request.client_order_id, broker_order_id="", symbol=request.symbol,
                       side=request.side, qty=request.qty, filled_qty=request.qty, filled_avg_price=fill.price,
                       status="test")
