"""Micro-live deployments: start, pause, resume, renew, roll back and complete.

Design. A deployment runs its approved genome through the live-paper machinery: it owns a live cohort of one
agent (the genome, its capital = the approved allocation, drawn from the request's bankroll by
`cohort_launch` as a system launch, so the per-user launch caps do not apply; leverage and exposure are
held at 1 so the agent never needs more than its cash). The cohort brings the ledger draw, the per-bar
postings and checkpoints, resumption after a crash and the one settlement of the capital. The broker sits
on the per-bar path (`deploy_run`): inside each bar's transaction, the bar's new engine fills become broker
orders whose client order ids derive from the deployment and the fill number, so a resumed run never sends a
fill twice; each is recorded (`DeploymentOrder`, a `PromotionLog` order row "PAPER BUY 0.01 BTC-USDT @ …") and
the difference between the broker's fill and the engine's is posted to the deployment's execution accounts
(`deploy_ledger`), so the ledger's cash for the deployment is what the broker holds.

The rollback timer is the bars' time: the cohort's window reaches one approved duration past `ends_at`, and
the run stops at the first bar closing at or after `ends_at` (so `deployment_renew` can push it out up to the
window's end). Each bar also checks the engine's equity: a fall of more than `max_drawdown` below its running
peak, or a variance of 1-minute returns above `max_return_variance`, rolls the deployment back.

A paused deployment sends no orders; its bars still step and post to the ledger (the model of record), and
the fills held back go to the broker, in order, at the first bar after it resumes. An order the broker refuses
pauses the deployment (a `mismatch` log row); one it cannot take for now (down, rate-limited) waits for the
next bar. Reconciliation (`deploy_reconcile`) runs on running deployments only.

Ending — the timer, a rollback, a failed run — flattens the broker account (`close_all_positions`: the account
is the deployment's; NeoLight's paper broker opens one per deployment), stops the run (a running cohort is
failed under its own lease, which settles what its agent holds), and returns the capital: the cohort's
settlement plus the execution cash, so the bankroll gets back what the deployment's orders left at the broker.

Locks: every service that ends or moves a deployment locks its cohort's row, then the deployment's
(`DEPLOYMENT_STATES`), the order a bar takes them in, so a rollback, a bar and a reconciliation never
interleave and a deployment ends exactly once whoever sees the breach.

Capital steps (gradual rollout, risk/services/rollout.py). The engine cannot change an agent's capital during a
run, so a step is a successor: `deployment_succeed` ends the deployment (superseded: flattened, stopped and
settled as a rollback is) and starts a new one of the same genome, limits, broker, mode and timer with the new
capital drawn anew from the bankroll, in one transaction under the same locks — both happen or neither, and a
rollback that comes first leaves it nothing to do. The successor rests on the same request and names its
`predecessor` (unique: one successor per deployment, whoever retries). A new deployment starts with the first
slice of its allocation when RISK_ROLLOUT_FIRST_FRACTION is below 1.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cohorts import engine
from cohorts.models import AllocationPolicy, Bankroll, Cohort, CohortMode, CohortStatus
from cohorts.selectors.market import canonical_symbols
from cohorts.services.cohorts import cohort_fail, cohort_launch
from cohorts.services.inputs import LaunchInput
from neolight import faults
from neolight.celery import enqueue
from neolight.errors import ApplicationError
from neolight.realtime import broadcast_on_commit
from promotions.brokers.base import Broker, BrokerOrder, order_label
from promotions.brokers.guarded import GuardedBroker, TestBroker
from promotions.brokers.paper import paper_account_open
from promotions.brokers.registry import broker_for
from promotions.canonical import payload_genome
from promotions.models import (
    DEPLOYMENT_ENDED,
    DEPLOYMENT_STATES,
    BrokerName,
    Deployment,
    DeploymentOrder,
    DeploymentRun,
    DeploymentStatus,
    LogKind,
    PromotionLog,
    PromotionRequest,
    RequestStatus,
    TradingMode,
)
from promotions.permissions import in_approval_roles
from promotions.services.deploy_ledger import execution_settle
from risk.services.alerts import alert_raise

log = logging.getLogger(__name__)
DEPLOYMENTS = "deployments"  # the realtime group every deployment event goes to


# --- the approved payload ------------------------------------------------------------------------
@dataclass(frozen=True)
class DeploymentTerms:
    """What a signed payload deploys: genome, capital, symbols, limits, mode and bankroll."""

    family: str
    params: dict
    capital: Decimal
    symbols: tuple[str, ...]
    max_drawdown: float
    max_return_variance: float
    hours: int
    trading_mode: str
    bankroll_id: int


def deployment_terms(payload: dict) -> DeploymentTerms:
    """Reads a request's payload; an ApplicationError names every missing or invalid key."""
    problems: list[str] = []

    def need(key: str, source: dict = payload):
        if key not in source or source[key] in (None, ""):
            problems.append(f"{key} is missing")
        return source.get(key)

    family, params, symbols = need("family"), need("params"), need("symbols")
    allocation, bankroll, mode = need("allocation"), need("bankroll"), need("trading_mode")
    if isinstance(bankroll, dict):  # the chain's snapshot names the bankroll: {"id": …, "name": …}
        bankroll = need("id", bankroll)
    if family and isinstance(params, dict):  # the genome's floats were signed as their repr
        family, params = payload_genome({"family": family, "params": params})
    limits = payload.get("limits") or {}
    try:
        capital = Decimal(str(allocation)) if allocation is not None else Decimal(0)
    except InvalidOperation:
        capital = Decimal(0)
    if allocation is not None and not (capital.is_finite() and capital > 0):
        problems.append(f"allocation {allocation!r} is not a positive amount")
    if family and family not in engine.FAMILIES:
        problems.append(f"family {family!r} is unknown")
    if mode and mode not in TradingMode.values:
        problems.append(f"trading_mode {mode!r} is not one of {', '.join(TradingMode.values)}")
    if symbols is not None and (isinstance(symbols, str) or not symbols):
        problems.append("symbols must be a non-empty list")
    if bankroll is not None and not str(bankroll).isdigit():
        problems.append(f"bankroll {bankroll!r} is not a bankroll id")
    numbers = {}
    for key, default in (("max_drawdown", settings.DEPLOYMENT_MAX_DRAWDOWN),
                         ("max_return_variance", settings.DEPLOYMENT_MAX_RETURN_VARIANCE),
                         ("hours", settings.DEPLOYMENT_HOURS)):
        value = limits.get(key, default)
        try:
            numbers[key] = float(value)
        except (TypeError, ValueError):
            numbers[key] = float("nan")
        if not numbers[key] > 0:
            problems.append(f"limits.{key} {value!r} must be a positive number")
    if problems:
        raise ApplicationError("The request's payload cannot be deployed: " + "; ".join(problems) + ".", field="payload")
    return DeploymentTerms(family=family, params=dict(params), capital=capital, symbols=tuple(symbols),
                           max_drawdown=numbers["max_drawdown"], max_return_variance=numbers["max_return_variance"],
                           hours=int(numbers["hours"]), trading_mode=mode, bankroll_id=int(bankroll))


# --- start -------------------------------------------------------------------------------------------
@transaction.atomic
def deployment_start(*, request_id: int, clock: str = "wall", run: bool = True) -> Deployment:
    """Starts the deployment of an approved request, once: a second call returns the first deployment.

    Draws the capital through the ledger (a live cohort of one agent), opens the paper broker's account
    when the paper broker trades it, logs `deployed` and queues the run (`clock`: "wall", or "replay" to
    step stored bars at once) after commit (`run=False` leaves it pending).
    """
    request = PromotionRequest.objects.select_for_update().get(pk=request_id)
    existing = Deployment.objects.filter(request=request).first()
    if existing is not None:
        return existing
    if request.status != RequestStatus.APPROVED:
        raise ApplicationError(f"Request {request.pk} is {request.status}; only an approved request deploys.",
                               field="request")
    terms = deployment_terms(request.payload)
    broker = settings.DEPLOYMENT_BROKER
    bankroll = Bankroll.objects.filter(pk=terms.bankroll_id).first()
    if bankroll is None:
        raise ApplicationError(f"The request's payload names bankroll {terms.bankroll_id}, which does not exist.",
                               field="payload")
    start = timezone.now().replace(second=0, microsecond=0)
    duration = timedelta(hours=terms.hours)
    from risk.services import rollout  # risk builds on deployments

    capital = rollout.rollout_first_capital(terms.capital)
    deployment = Deployment.objects.create(
        request=request, broker=broker, trading_mode=terms.trading_mode, bankroll=bankroll, family=terms.family,
        params=terms.params, symbols=list(canonical_symbols(terms.symbols)), capital=capital,
        max_drawdown=terms.max_drawdown, max_return_variance=terms.max_return_variance, ends_at=start + duration)
    deployment_broker(deployment)  # a broker that cannot be built (a mode it refuses, no keys) refuses the start
    params = dict(terms.params)
    try:
        genome = engine.Genome(terms.family, {k: v for k, v in params.items() if k != "side"},
                               params.get("side", "long"))
    except ValueError as exc:
        raise ApplicationError(f"The request's genome cannot trade: {exc}.", field="payload") from None
    cohort = cohort_launch(
        data=LaunchInput(bankroll=capital, agents=1, policy=AllocationPolicy.EQUAL,
                         symbols=tuple(deployment.symbols), start=start, end=start + 2 * duration,
                         exposure_limit=Decimal(1), leverage_ceiling=Decimal(1), mode=CohortMode.LIVE,
                         compliance_notes=f"Micro-live deployment {deployment.pk} of promotion request {request.pk}."),
        source=bankroll, genomes=[genome], weights=[1.0], weights_note="one agent: the approved genome", run=False)
    DeploymentRun.objects.create(deployment=deployment, cohort=cohort)
    if broker == BrokerName.PAPER:
        paper_account_open(name=paper_account_name(deployment), cash=capital, fee_bps=cohort.wallet.fee_bps,
                           slippage_bps=cohort.wallet.slippage_bps)
    deployment_log(deployment, LogKind.DEPLOYED, f"{deployment.trading_mode} deployment of {terms.family} with "
         f"${capital:,.2f} on {broker}, until {deployment.ends_at:%Y-%m-%d %H:%M} UTC",
         cohort=cohort, data={"cohort": cohort.pk, "capital": str(capital)})
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("deployment.started", deployment=deployment)
    if capital != terms.capital:
        rollout.rollout_first_step(deployment=deployment, allocation=terms.capital)
    if run:
        transaction.on_commit(lambda: enqueue("promotions.tasks.deployment_run_task", deployment.pk, clock))
    return deployment


def paper_account_name(deployment: Deployment) -> str:
    return f"deployment-{deployment.pk}"


def deployment_broker(deployment: Deployment) -> Broker:
    """The broker a deployment trades with (`broker_for`) behind the pre-trade risk check (`GuardedBroker`); the paper
    broker's account is the deployment's own and prices at the last bar its run stepped. A TEST deployment has no
    broker: its `TestBroker` keeps the books of its test orders. ApplicationError when the broker cannot be built
    (e.g. no keys, a mode it refuses)."""
    def as_of():
        return DeploymentRun.objects.filter(deployment=deployment).values_list("bar_at", flat=True).first()

    if deployment.trading_mode == TradingMode.TEST:
        return TestBroker(deployment=deployment, as_of=as_of)
    if deployment.broker != BrokerName.PAPER:
        inner = broker_for(deployment.broker, mode=deployment.trading_mode)
    else:
        inner = broker_for(deployment.broker, mode=deployment.trading_mode, account=paper_account_name(deployment),
                           as_of=as_of)
    return GuardedBroker(inner, deployment=deployment, as_of=as_of)


# --- human overrides -------------------------------------------------------------------------------
class OverrideRefused(ApplicationError):
    """The user may not override deployments (403)."""

    status_code = 403


def override_check(*, user, reason: str) -> str:
    """The stripped reason, if `user` may override deployments (a member of an approval role's group; None
    is the system); ApplicationError otherwise. A superuser needs the group and a reason like anyone."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Give a reason for this override.", field="reason")
    if user is not None and not in_approval_roles(user):
        raise OverrideRefused("Only members of " + " or ".join(settings.PROMOTION_APPROVAL_ROLES)
                              + " may pause, resume or roll back a deployment.", field="user")
    return reason


def deployment_pause(*, deployment_id: int, reason: str, user=None, kind: str = LogKind.PAUSED,
                     data: dict | None = None) -> Deployment | None:
    """Pauses a running deployment (no orders until it resumes); None, nothing written, if it is not running."""
    reason = override_check(user=user, reason=reason)
    with transaction.atomic():
        deployment_cohort_lock(deployment_id)
        deployment = DEPLOYMENT_STATES.move(deployment_id, DeploymentStatus.PAUSED, status_reason=reason[:2000])
        if deployment is not None:
            deployment_log(deployment, kind, f"Paused: {reason}"[:300], actor=user, data={"reason": reason, **(data or {})})
            from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
            narrate_on_commit("deployment.paused", deployment=deployment)
    return deployment


def deployment_resume(*, deployment_id: int, reason: str, user=None) -> Deployment | None:
    """Resumes a paused deployment; the fills held back go to the broker at its next bar."""
    reason = override_check(user=user, reason=reason)
    with transaction.atomic():
        deployment_cohort_lock(deployment_id)
        deployment = DEPLOYMENT_STATES.move(deployment_id, DeploymentStatus.RUNNING, status_reason="")
        if deployment is not None:
            deployment_log(deployment, LogKind.RESUMED, f"Resumed: {reason}"[:300], actor=user, data={"reason": reason})
            from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
            narrate_on_commit("deployment.resumed", deployment=deployment)
    return deployment


def deployment_rollback(*, deployment_id: int, reason: str, user=None, data: dict | None = None) -> Deployment | None:
    """Rolls a deployment back, exactly once: flattens at the broker, stops the run, returns the capital through
    the ledger, logs and announces it. None (nothing done) if it had already ended."""
    reason = override_check(user=user, reason=reason)
    with transaction.atomic():
        deployment_cohort_lock(deployment_id)
        deployment = DEPLOYMENT_STATES.move(deployment_id, DeploymentStatus.ROLLED_BACK, status_reason=reason[:2000],
                                            finished_at=timezone.now())
        if deployment is None:
            return None
        _wind_down(deployment, f"Deployment {deployment.pk} rolled back: {reason}")
        deployment_log(deployment, LogKind.ROLLED_BACK, f"Rolled back: {reason}"[:300], actor=user,
             data={"reason": reason, **(data or {})})
        alert_raise("rollback", f"deployment:{deployment.pk}", f"Deployment {deployment.pk} rolled back: {reason}",
                    deployment=deployment, data={"reason": reason})
        from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
        narrate_on_commit("deployment.rolled_back", deployment=deployment)
    return deployment


def deployment_renew(*, deployment_id: int, hours: int, reason: str, user=None) -> Deployment:
    """Pushes a running or paused deployment's timer out by `hours`, up to its run's window (one approved
    duration past the first timer); logged with the actor and reason."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Give a reason for the renewal.", field="reason")
    with transaction.atomic():
        cohort = deployment_cohort_lock(deployment_id)
        deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
        if deployment.status in DEPLOYMENT_ENDED:
            raise ApplicationError(f"Deployment {deployment.pk} has ended; it cannot be renewed.", field="deployment")
        ends_at = deployment.ends_at + timedelta(hours=hours)
        if not hours > 0 or ends_at > cohort.window_end:
            raise ApplicationError(f"A renewal may move the timer to {cohort.window_end:%Y-%m-%d %H:%M} UTC at the "
                                   "latest; deploy again for longer.", field="hours")
        before = deployment.ends_at
        Deployment.objects.filter(pk=deployment.pk).update(ends_at=ends_at)
        deployment.ends_at = ends_at
        deployment_log(deployment, LogKind.RENEWED, f"Renewed until {ends_at:%Y-%m-%d %H:%M} UTC: {reason}"[:300], actor=user,
             data={"reason": reason, "from": before.isoformat(), "to": ends_at.isoformat()})
    return deployment


# --- capital steps ---------------------------------------------------------------------------------
def deployment_succeed(*, deployment_id: int, capital: Decimal, reason: str, user=None, clock: str = "wall",
                       run: bool = True) -> Deployment | None:
    """Moves a running or paused deployment to `capital` through a successor, exactly once: ends it (superseded:
    flattened, stopped, settled) and starts its successor — same request, genome, limits, broker, mode and timer,
    paused if it was, `capital` drawn anew from the bankroll — in one transaction. Returns the successor; None,
    nothing written, if the deployment had ended (a rollback came first). ApplicationError, nothing written, when
    the successor cannot start (the timer has run out, the bankroll is short)."""
    if not (isinstance(capital, Decimal) and capital.is_finite() and capital > 0):
        raise ApplicationError(f"A deployment's capital must be a positive amount, not {capital!r}.", field="capital")
    with transaction.atomic():
        cohort = deployment_cohort_lock(deployment_id)
        before = Deployment.objects.select_for_update().get(pk=deployment_id)
        if before.status in DEPLOYMENT_ENDED:
            return None
        start = timezone.now().replace(second=0, microsecond=0)
        if start >= before.ends_at or start >= cohort.window_end:
            raise ApplicationError(f"Deployment {before.pk}'s timer has run out; its capital can no longer be "
                                   "stepped.", field="deployment")
        deployment = DEPLOYMENT_STATES.move(deployment_id, DeploymentStatus.SUPERSEDED, finished_at=timezone.now(),
                                            status_reason=f"Capital stepped to ${capital:,.2f}: {reason}"[:2000])
        _wind_down(deployment, f"Deployment {deployment.pk} superseded: {reason}")
        deployment_log(deployment, LogKind.RESIZED, f"Capital stepped from ${deployment.capital:,.2f} to "
                       f"${capital:,.2f}: {reason}"[:300], actor=user,
                       data={"from": str(deployment.capital), "to": str(capital), "reason": reason})
        faults.point("deployment.superseded")
        paused = before.status_reason if before.status == DeploymentStatus.PAUSED else None
        successor = _successor_start(deployment, capital=capital, start=start, window_end=cohort.window_end,
                                     paused=paused)
        from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
        narrate_on_commit("deployment.capital_stepped", deployment=successor)
    if run:
        transaction.on_commit(lambda: enqueue("promotions.tasks.deployment_run_task", successor.pk, clock))
    return successor


def _successor_start(predecessor: Deployment, *, capital: Decimal, start: datetime, window_end: datetime,
                     paused: str | None) -> Deployment:
    """The successor's row (paused, with the pause's reason, if `paused` is one), its live cohort (`capital` drawn
    from the bankroll), paper account and `deployed` row."""
    status = DeploymentStatus.PENDING if paused is None else DeploymentStatus.PAUSED
    deployment = Deployment.objects.create(
        request_id=predecessor.request_id, predecessor=predecessor, status=status,
        status_reason=paused or "", broker=predecessor.broker,
        trading_mode=predecessor.trading_mode, bankroll_id=predecessor.bankroll_id, family=predecessor.family,
        params=predecessor.params, symbols=predecessor.symbols, capital=capital,
        max_drawdown=predecessor.max_drawdown, max_return_variance=predecessor.max_return_variance,
        ends_at=predecessor.ends_at)
    params = dict(deployment.params)
    genome = engine.Genome(deployment.family, {k: v for k, v in params.items() if k != "side"},
                           params.get("side", "long"))
    cohort = cohort_launch(
        data=LaunchInput(bankroll=capital, agents=1, policy=AllocationPolicy.EQUAL, symbols=tuple(deployment.symbols),
                         start=start, end=window_end, exposure_limit=Decimal(1), leverage_ceiling=Decimal(1),
                         mode=CohortMode.LIVE,
                         compliance_notes=f"Micro-live deployment {deployment.pk} of promotion request "
                                          f"{deployment.request_id}, successor of deployment {predecessor.pk}."),
        source=deployment.bankroll, genomes=[genome], weights=[1.0], weights_note="one agent: the approved genome",
        run=False)
    DeploymentRun.objects.create(deployment=deployment, cohort=cohort)
    if deployment.broker == BrokerName.PAPER:
        paper_account_open(name=paper_account_name(deployment), cash=capital, fee_bps=cohort.wallet.fee_bps,
                           slippage_bps=cohort.wallet.slippage_bps)
    deployment_log(deployment, LogKind.DEPLOYED, f"{deployment.trading_mode} successor of deployment "
                   f"{predecessor.pk} with ${capital:,.2f} on {deployment.broker}, until "
                   f"{deployment.ends_at:%Y-%m-%d %H:%M} UTC", cohort=cohort,
                   data={"cohort": cohort.pk, "capital": str(capital), "predecessor": predecessor.pk})
    return deployment


# --- the end ---------------------------------------------------------------------------------------
def deployment_finish(*, deployment_id: int) -> Deployment | None:
    """Ends a deployment whose run has ended: completed if its timer ran out (a paused one is rolled back),
    failed if its run failed. Flattens at the broker and settles once; None if nothing was to be done."""
    run = DeploymentRun.objects.select_related("cohort").get(deployment_id=deployment_id)
    if run.cohort.status not in (CohortStatus.COMPLETED, CohortStatus.FAILED):
        return None
    deployment = Deployment.objects.get(pk=deployment_id)
    if deployment.status in DEPLOYMENT_ENDED:
        return None
    if run.cohort.status == CohortStatus.FAILED:
        to, kind, reason = DeploymentStatus.FAILED, LogKind.ROLLED_BACK, f"Its run failed: {run.cohort.status_reason}"
    elif deployment.status == DeploymentStatus.PAUSED:
        to, kind, reason = DeploymentStatus.ROLLED_BACK, LogKind.ROLLED_BACK, "The timer ran out while paused."
    else:
        to, kind, reason = DeploymentStatus.COMPLETED, LogKind.COMPLETED, "The timer ran out."
    with transaction.atomic():
        deployment_cohort_lock(deployment_id)
        deployment = DEPLOYMENT_STATES.move(deployment_id, to, status_reason=reason[:2000], finished_at=timezone.now())
        if deployment is None:
            return None
        _wind_down(deployment, reason)
        deployment_log(deployment, kind, f"{to.label}: {reason}"[:300])
        from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
        narrate_on_commit(f"deployment.{to}", deployment=deployment)
    return deployment


def _wind_down(deployment: Deployment, reason: str) -> None:
    """Flattens at the broker, stops the run and settles its capital (the cohort's, then the execution's)."""
    broker = deployment_broker(deployment)
    broker.cancel_open_orders()
    for order in broker.close_all_positions():
        _record_flatten(deployment, order)
    run = DeploymentRun.objects.select_related("cohort").get(deployment=deployment)
    cohort = Cohort.objects.get(pk=run.cohort_id)
    if cohort.status in (CohortStatus.PENDING, CohortStatus.RUNNING):  # the run stops: its lease goes with it
        cohort_fail(cohort_id=cohort.pk, reason=reason, token=cohort.lease_token)
    at_broker = execution_settle(run=run)
    broadcast_on_commit(DEPLOYMENTS, "deployment.ended",
                        {"deployment": deployment.pk, "status": deployment.status, "returned": str(at_broker)})


def _record_flatten(deployment: Deployment, order: BrokerOrder) -> None:
    row = DeploymentOrder.objects.create(
        deployment=deployment, client_order_id=order.client_order_id, broker_order_id=order.broker_order_id,
        mode=deployment.trading_mode, symbol=order.symbol, side=order.side, qty=order.qty, status=order.status,
        filled_qty=order.filled_qty, filled_avg_price=order.filled_avg_price)
    order_log(deployment, row, note="flatten")


def order_log(deployment: Deployment, order: DeploymentOrder, note: str = "") -> None:
    """The order's line in the promotion log, with its mode: 'PAPER BUY 0.01 BTC-USDT @ 56,123.40'."""
    price = order.filled_avg_price or order.expected_price
    text = f"{order_label(order.mode, order.side)} {order.qty.normalize():f} {order.symbol}"
    text += f" @ {price:,.2f}" if price is not None else ""
    text += f" ({note})" if note else ""
    text += "" if order.status == "filled" else f": {order.status} {order.error}".rstrip()
    deployment_log(deployment, LogKind.ORDER, text[:300], data={
        "client_order_id": order.client_order_id, "fill": order.fill_number, "status": order.status,
        "qty": str(order.qty), "filled_qty": str(order.filled_qty),
        "price": None if order.filled_avg_price is None else str(order.filled_avg_price)})


def deployment_cohort_lock(deployment_id: int) -> Cohort:
    """Locks the deployment's cohort row (first, as a bar does) for the caller's transaction."""
    cohort_id = DeploymentRun.objects.filter(deployment_id=deployment_id).values_list("cohort_id", flat=True).first()
    if cohort_id is None:
        raise ApplicationError(f"There is no deployment {deployment_id}.", field="deployment")
    return Cohort.objects.select_for_update().get(pk=cohort_id)


def deployment_log(deployment: Deployment, kind: str, message: str, *, actor=None, cohort=None, data: dict | None = None) -> None:
    PromotionLog.objects.create(kind=kind, request_id=deployment.request_id, deployment=deployment, cohort=cohort,
                                actor=actor, message=message, data=data or {})
    broadcast_on_commit(DEPLOYMENTS, f"deployment.{kind}", {"deployment": deployment.pk, "message": message})


def equity_breach(equity: np.ndarray, *, max_drawdown: float, max_return_variance: float) -> str | None:
    """Why an equity curve (one point per bar) breaches its limits, or None: a fall of more than
    `max_drawdown` below its running peak, or a variance of its 1-minute returns above `max_return_variance`."""
    equity = np.asarray(equity, dtype=np.float64)
    if len(equity) == 0:
        return None
    drawdown = float(1.0 - equity[-1] / np.maximum.accumulate(equity)[-1])
    if drawdown > max_drawdown:
        return f"drawdown {drawdown:.4%} beyond the {max_drawdown:.4%} allowed"
    if len(equity) >= 3:
        variance = float(np.var(np.diff(equity) / equity[:-1], ddof=1))
        if variance > max_return_variance:
            return f"variance of 1-minute returns {variance:.3g} beyond the {max_return_variance:.3g} allowed"
    return None


def deployment_now(run: DeploymentRun) -> datetime:
    return run.bar_at or timezone.now()
