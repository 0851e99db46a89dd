"""Gradual rollout of a deployment's capital: a small slice of its approved allocation first, larger slices
after RISK_ROLLOUT_DAYS without a breach, each step up through the approval chain, any step down at once.

A step is a `RolloutStep` (from → to, awaiting / applied / refused, why, who, the request it waits for). The
engine cannot change an agent's capital during a run, so applying a step ends the deployment and starts its
successor with the new capital (`deployment_succeed`: one transaction, the old capital settled once and the
new drawn once). Money safety rests on the deployment services' lock order — the cohort's row, then the
deployment's — which `rollout_apply` and `rollout_step_down` take first, then the step's: a rollback and a step
at the same moment serialise, and the second finds the deployment ended and does nothing. An approved step that
a crash left unapplied is applied by the schedule (`rollout_propose_due`), once: the step's status and the
successor's unique `predecessor` both say whether it already happened.

The ceiling is the approved allocation × RISK_ROLLOUT_MAX, never above PROMOTION_MICRO_LIVE_CAP. With
RISK_ROLLOUT_FIRST_FRACTION at 1 (the default) a deployment starts with its whole allocation: no rollout.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from neolight.errors import ApplicationError
from neolight.money import CENT
from promotions.models import (
    DEPLOYMENT_ENDED,
    Deployment,
    DeploymentStatus,
    LogKind,
    PromotionLog,
    PromotionRequest,
    RequestStatus,
)
from promotions.services.deployments import (
    deployment_cohort_lock,
    deployment_succeed,
    deployment_terms,
    override_check,
)
from promotions.services.requests import promotion_resize_request, promotion_withdraw
from risk.models import DecisionStatus, RolloutStep

log = logging.getLogger(__name__)
BREACHES = (LogKind.PAUSED, LogKind.MISMATCH, LogKind.ROLLED_BACK)  # a slice that saw one of these waits again


# --- the slices --------------------------------------------------------------------------------------------
def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_DOWN)


def rollout_ceiling(allocation: Decimal) -> Decimal:
    """The most a deployment of `allocation` may step up to: allocation × RISK_ROLLOUT_MAX (at most 1), never
    above PROMOTION_MICRO_LIVE_CAP."""
    fraction = min(Decimal(str(settings.RISK_ROLLOUT_MAX)), Decimal(1))
    return min(_cents(allocation * fraction), Decimal(settings.PROMOTION_MICRO_LIVE_CAP))


def rollout_first_capital(allocation: Decimal) -> Decimal:
    """The capital a new deployment of `allocation` starts with: the whole allocation when the rollout is off
    (RISK_ROLLOUT_FIRST_FRACTION ≥ 1), else that fraction of it (whole cents, at least one, within the ceiling)."""
    fraction = Decimal(str(settings.RISK_ROLLOUT_FIRST_FRACTION))
    if fraction >= 1:
        return allocation
    return max(min(_cents(allocation * fraction), rollout_ceiling(allocation)), CENT)


def rollout_first_step(*, deployment: Deployment, allocation: Decimal) -> RolloutStep:
    """Records a new deployment's first slice (0 → its capital, applied); `deployment_start` calls it."""
    share = deployment.capital / allocation
    return RolloutStep.objects.create(
        deployment=deployment, from_capital=0, to_capital=deployment.capital, status=DecisionStatus.APPLIED,
        rationale=f"first slice: {share:.0%} of the approved ${allocation:,.2f}")


def rollout_allocation(deployment: Deployment) -> Decimal:
    """The allocation the deployment's request approved (the rollout's reference)."""
    return deployment_terms(deployment.request.payload).capital


def rollout_next_capital(deployment: Deployment) -> Decimal:
    """The next slice: the current capital plus RISK_ROLLOUT_STEP_FRACTION of the allocation, within the ceiling."""
    allocation = rollout_allocation(deployment)
    step = max(_cents(allocation * Decimal(str(settings.RISK_ROLLOUT_STEP_FRACTION))), CENT)
    return _cents(min(deployment.capital + step, rollout_ceiling(allocation)))


def _amount(value, field: str = "to_capital") -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not (amount.is_finite() and amount > 0) or amount != _cents(amount):
        raise ApplicationError(f"{value!r} is not an amount in whole cents above zero.", field=field)
    return amount


# --- step up: through the approval chain ---------------------------------------------------------------------
@transaction.atomic
def rollout_step_up_request(*, deployment_id: int, user, to_capital=None) -> PromotionRequest:
    """Asks the deployment's approval chain to step its capital up to `to_capital` (the next slice by default),
    within the ceiling, while it runs: a `RolloutStep` awaiting a request over the signed payload plus
    `resizes` = {"deployment", "to", "step"}. `user` is ops or an approver; None is the schedule. Returns the
    request; ApplicationError, nothing written, otherwise."""
    deployment = Deployment.objects.select_related("request").filter(pk=deployment_id).first()
    if deployment is None:
        raise ApplicationError(f"There is no deployment {deployment_id}.", field="deployment")
    if deployment.status != DeploymentStatus.RUNNING:
        raise ApplicationError(f"Deployment {deployment.pk} is {deployment.get_status_display().lower()}; only a "
                               "running deployment steps up.", field="deployment")
    current, allocation = deployment.capital, rollout_allocation(deployment)
    ceiling = rollout_ceiling(allocation)
    to = rollout_next_capital(deployment) if to_capital is None else _amount(to_capital)
    if to > ceiling:
        raise ApplicationError(f"${to:,.2f} is above the rollout's ceiling of ${ceiling:,.2f} (the approved "
                               f"allocation ${allocation:,.2f}, at most ${settings.PROMOTION_MICRO_LIVE_CAP:,}).",
                               field="to_capital")
    if to <= current:
        raise ApplicationError(f"Deployment {deployment.pk} already trades ${current:,.2f}"
                               + (", its ceiling." if current >= ceiling else "; a step up goes above it."),
                               field="to_capital")
    if RolloutStep.objects.filter(deployment=deployment, status=DecisionStatus.AWAITING_APPROVAL).exists():
        raise ApplicationError(f"Deployment {deployment.pk} already has a capital step awaiting approval.",
                               field="deployment")
    share = to / allocation
    try:
        with transaction.atomic():
            step = RolloutStep.objects.create(
                deployment=deployment, from_capital=current, to_capital=to, status=DecisionStatus.AWAITING_APPROVAL,
                actor=user, rationale=f"step up to {share:.0%} of the approved ${allocation:,.2f}"
                                      + (" after a slice without a breach" if user is None else ""))
    except IntegrityError as exc:  # another step of this deployment was written at the same moment
        raise ApplicationError(f"Deployment {deployment.pk} already has a capital step awaiting approval.",
                               field="deployment") from exc
    who = user.get_username() if user is not None else "the rollout schedule"
    request = promotion_resize_request(
        deployment=deployment, user=user, resizes={"deployment": deployment.pk, "to": f"{to:.2f}", "step": step.pk},
        message=f"Capital step of deployment {deployment.pk} from ${current:,.2f} to ${to:,.2f} requested by {who}; "
                f"signed by {' then '.join(deployment.request.roles)}")
    RolloutStep.objects.filter(pk=step.pk).update(request=request)
    return request


def rollout_apply(*, step_id: int, clock: str = "wall", run: bool = True) -> Deployment:
    """Applies an approved step up, once: the deployment's successor with the new capital (`deployment_succeed`),
    the step applied. A second call returns the same successor. ApplicationError when it cannot be applied
    (the deployment ended or is paused, the step was refused, the bankroll is short): the step is then refused."""
    step = RolloutStep.objects.select_related("request").get(pk=step_id)
    if step.status == DecisionStatus.APPLIED:
        return Deployment.objects.get(predecessor_id=step.deployment_id)
    if step.status == DecisionStatus.REFUSED:
        raise ApplicationError(f"Capital step {step.pk} was refused: {step.rationale}", field="step")
    if step.request is None or step.request.status != RequestStatus.APPROVED:
        raise ApplicationError(f"Capital step {step.pk} awaits its approval.", field="step")
    signed = step.request.payload.get("resizes") or {}
    if not _is_signed_step(signed, step):
        _refuse(step_id, f"the approved payload's resizes {signed} is not this step")
        raise ApplicationError(f"Request {step.request_id} approved {signed}, not capital step {step.pk} to "
                               f"${step.to_capital:,.2f}.", field="step")
    try:
        with transaction.atomic():
            deployment_cohort_lock(step.deployment_id)  # the lock order of every deployment service
            deployment = Deployment.objects.select_for_update().get(pk=step.deployment_id)
            step = RolloutStep.objects.select_for_update().get(pk=step_id)
            if step.status == DecisionStatus.APPLIED:
                return Deployment.objects.get(predecessor=deployment)
            if step.status == DecisionStatus.REFUSED:
                raise ApplicationError(f"Capital step {step.pk} was refused: {step.rationale}", field="step")
            if deployment.status != DeploymentStatus.RUNNING:
                why = "had ended" if deployment.status in DEPLOYMENT_ENDED else f"is {deployment.status}"
                raise ApplicationError(f"Deployment {deployment.pk} {why} when its capital step was approved.",
                                       field="deployment")
            ceiling = rollout_ceiling(rollout_allocation(deployment))
            if step.to_capital > ceiling:
                raise ApplicationError(f"${step.to_capital:,.2f} is now above the rollout's ceiling of "
                                       f"${ceiling:,.2f}.", field="to_capital")
            successor = deployment_succeed(
                deployment_id=deployment.pk, capital=step.to_capital, clock=clock, run=run,
                reason=f"step up approved through request {step.request_id}")
            step.status = DecisionStatus.APPLIED
            step.save(update_fields=["status"])
    except ApplicationError as exc:
        _refuse(step_id, exc.message)
        raise
    return successor


def _is_signed_step(signed: dict, step: RolloutStep) -> bool:
    """The approved payload's `resizes` names this step, its deployment and its capital (a payload changed
    after the step was written cannot apply another amount)."""
    try:
        to = Decimal(str(signed.get("to")))
    except InvalidOperation:
        return False
    return str(signed.get("step")) == str(step.pk) and str(signed.get("deployment")) == str(step.deployment_id) \
        and to == step.to_capital


def rollout_refuse(*, request_id: int, reason: str) -> list[int]:
    """Refuses the steps awaiting request `request_id`, which ended unapproved (rejected, expired, cancelled);
    called inside the request's transaction. Returns their ids."""
    refused = []
    for step_id in RolloutStep.objects.filter(request_id=request_id, status=DecisionStatus.AWAITING_APPROVAL
                                              ).values_list("pk", flat=True):
        if _refuse(step_id, reason):
            refused.append(step_id)
    return refused


def _refuse(step_id: int, reason: str) -> bool:
    with transaction.atomic():
        step = RolloutStep.objects.select_for_update().get(pk=step_id)
        if step.status != DecisionStatus.AWAITING_APPROVAL:
            return False
        step.status = DecisionStatus.REFUSED
        step.rationale = f"{step.rationale} — refused: {reason}"[:300]
        step.save(update_fields=["status", "rationale"])
    log.info("capital step %s of deployment %s refused: %s", step_id, step.deployment_id, reason)
    return True


# --- step down: at once --------------------------------------------------------------------------------------
def rollout_step_down(*, deployment_id: int, to_capital, reason: str, user=None, clock: str = "wall",
                      run: bool = True) -> Deployment:
    """Steps a running, paused or starting deployment's capital down to `to_capital` at once, with no approval:
    its successor trades the smaller capital (`deployment_succeed`), a step applied, any step up still awaiting
    refused and its request withdrawn. `user` may override deployments (ops or an approval role); None is the system (the guardian)."""
    reason = override_check(user=user, reason=reason)
    to = _amount(to_capital)
    with transaction.atomic():
        deployment_cohort_lock(deployment_id)
        deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
        if deployment.status in DEPLOYMENT_ENDED:
            raise ApplicationError(f"Deployment {deployment.pk} has ended; its capital can no longer be stepped.",
                                   field="deployment")
        if to >= deployment.capital:
            raise ApplicationError(f"Deployment {deployment.pk} trades ${deployment.capital:,.2f}; a step down goes "
                                   "below it.", field="to_capital")
        successor = deployment_succeed(deployment_id=deployment.pk, capital=to, reason=f"step down: {reason}",
                                       user=user, clock=clock, run=run)
        RolloutStep.objects.create(deployment=deployment, from_capital=deployment.capital, to_capital=to,
                                   status=DecisionStatus.APPLIED, rationale=f"step down: {reason}"[:300], actor=user)
        overtaken = f"deployment {deployment.pk} was stepped down first"
        for step in RolloutStep.objects.filter(deployment=deployment, status=DecisionStatus.AWAITING_APPROVAL
                                               ).select_related("request"):
            if step.request is not None and step.request.status == RequestStatus.PENDING:
                promotion_withdraw(request_id=step.request_id, reason=overtaken)  # refuses the step with it
            _refuse(step.pk, overtaken)
    return successor


# --- the schedule --------------------------------------------------------------------------------------------
def rollout_propose_due(*, now: datetime | None = None) -> dict[str, list[int]]:
    """The schedule: applies the approved steps a crash left unapplied, then opens one step-up request for each
    running deployment below its ceiling whose slice has run RISK_ROLLOUT_DAYS with no pause, mismatch or
    rollback since it began, and which has no request open. Returns the successors started and the requests
    opened."""
    now = now or timezone.now()
    applied = []
    for step_id in RolloutStep.objects.filter(status=DecisionStatus.AWAITING_APPROVAL,
                                              request__status=RequestStatus.APPROVED).values_list("pk", flat=True):
        try:
            applied.append(rollout_apply(step_id=step_id).pk)
        except ApplicationError as exc:
            log.warning("capital step %s could not be applied: %s", step_id, exc.message)
    proposed = []
    since = now - timedelta(days=settings.RISK_ROLLOUT_DAYS)
    for deployment in Deployment.objects.filter(status=DeploymentStatus.RUNNING, created_at__lte=since
                                                ).select_related("request"):
        if not _is_due(deployment):
            continue
        try:
            proposed.append(rollout_step_up_request(deployment_id=deployment.pk, user=None).pk)
        except ApplicationError as exc:  # another request of the candidate is open, the deployment just ended, …
            log.info("deployment %s: no capital step proposed: %s", deployment.pk, exc.message)
    return {"applied": applied, "proposed": proposed}


def _is_due(deployment: Deployment) -> bool:
    """Below its ceiling, no step awaiting, no breach logged since its slice began."""
    if deployment.capital >= rollout_ceiling(rollout_allocation(deployment)):
        return False
    if RolloutStep.objects.filter(deployment=deployment, status=DecisionStatus.AWAITING_APPROVAL).exists():
        return False
    return not PromotionLog.objects.filter(deployment=deployment, kind__in=BREACHES,
                                           created_at__gte=deployment.created_at).exists()
