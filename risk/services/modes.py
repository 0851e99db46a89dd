"""A deployment's trading mode, TEST → PAPER → LIVE, as an explicit state machine.

    TEST  → PAPER                      PAPER → LIVE   only on an approved promotion request for this deployment
    PAPER → TEST                       LIVE  → PAPER, LIVE → TEST
                                       (the payload's trading_mode LIVE); the database refuses a LIVE change without one

A TEST deployment sends no order to any broker: its fills are recorded as test orders (status "test") at the
model's prices. An automatic change (a safety action, no user) may only move toward TEST. A move into or out of
TEST changes who keeps the books (the model or a broker), so it is allowed only before the deployment's run
starts; PAPER ⇄ LIVE keep the broker. A mode the deployment's broker cannot honour (NeoLight's paper broker and
Alpaca's paper API refuse LIVE) is refused with the broker's words. Every change writes one `ModeChange` (who,
why, the request), the deployment's `trading_mode`, one promotion log row, and is broadcast to the risk page.
"""
from __future__ import annotations

from django.conf import settings
from django.db import transaction

from neolight.errors import ApplicationError
from neolight.realtime import RISK, broadcast_on_commit
from neolight.transitions import StateMachine
from promotions.models import (
    Deployment,
    DeploymentStatus,
    LogKind,
    PromotionRequest,
    RequestStatus,
    TradingMode,
)
from promotions.permissions import in_approval_roles
from promotions.services.deployments import deployment_broker, deployment_cohort_lock, deployment_log
from risk.models import ModeChange

MODE_TRANSITIONS = {
    TradingMode.TEST: {TradingMode.PAPER},
    TradingMode.PAPER: {TradingMode.LIVE, TradingMode.TEST},
    TradingMode.LIVE: {TradingMode.PAPER, TradingMode.TEST},
}
MODE_STATES = StateMachine(Deployment, MODE_TRANSITIONS, field="trading_mode")
EXPOSURE = {TradingMode.TEST: 0, TradingMode.PAPER: 1, TradingMode.LIVE: 2}  # lower is safer


class ModeChangeForbidden(ApplicationError):
    status_code = 403


def mode_change(*, deployment_id: int, to: str, user, reason: str, request_id: int | None = None,
                automatic: bool = False) -> Deployment:
    """Moves the deployment's trading mode to `to` along MODE_TRANSITIONS; ApplicationError (nothing written) for a
    move not allowed, an automatic move away from TEST, LIVE without its approved request, or a user outside the
    approval roles. `user` None is the system, and only for automatic changes."""
    reason = _permitted(user, reason, automatic)
    if to not in TradingMode.values:
        raise ApplicationError(f"Unknown trading mode {to!r}: one of {', '.join(TradingMode.values)}.", field="to")
    with transaction.atomic():
        deployment_cohort_lock(deployment_id)  # a bar reads the mode under these locks, in this order
        deployment = Deployment.objects.select_for_update().get(pk=deployment_id)
        current = deployment.trading_mode
        _check_move(deployment, current, to, automatic)
        request = _live_approval(deployment, request_id) if to == TradingMode.LIVE else None
        moved = MODE_STATES.move(deployment.pk, to)
        deployment_broker(moved)  # a mode the broker cannot honour is refused here, and everything rolls back
        change = ModeChange.objects.create(deployment=moved, from_mode=current, to_mode=to, automatic=automatic,
                                           reason=reason[:300], request=request, actor=user)
        from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
        narrate_on_commit("mode.changed", change=change)
        how = "Automatic" if automatic else "Mode"
        deployment_log(moved, LogKind.MODE, f"{how}: {current} → {to}: {reason}"[:300], actor=user,
                       data={"from": current, "to": to, "automatic": automatic,
                             "request": request.pk if request else None})
        broadcast_on_commit(RISK, "mode_changed", {"deployment": moved.pk, "from": current, "to": to,
                                                   "automatic": automatic})
    return moved


def _permitted(user, reason: str, automatic: bool) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Give a reason for the change of trading mode.", field="reason")
    if user is None:
        if not automatic:
            raise ModeChangeForbidden("Only an automatic safety action changes a mode without a user.", field="user")
        return reason
    if not in_approval_roles(user):
        raise ModeChangeForbidden("Only members of " + " or ".join(settings.PROMOTION_APPROVAL_ROLES)
                                  + " may change a deployment's trading mode.", field="user")
    return reason


def _check_move(deployment: Deployment, current: str, to: str, automatic: bool) -> None:
    if current == to:
        raise ApplicationError(f"Deployment {deployment.pk} is in {to} already.", field="to")
    if not MODE_STATES.can_move(current, to):
        allowed = " or ".join(sorted(MODE_TRANSITIONS[current]))
        raise ApplicationError(f"{current} → {to} is not a move of the trading mode: from {current}, {allowed}.",
                               field="to")
    if automatic and EXPOSURE[to] >= EXPOSURE[current]:
        raise ApplicationError(f"An automatic change only moves toward TEST: {current} → {to} is refused.", field="to")
    if TradingMode.TEST in (current, to) and deployment.status != DeploymentStatus.PENDING:
        raise ApplicationError(f"Deployment {deployment.pk} is {deployment.status}: it moves into or out of TEST only "
                               "before its run starts (the model and the broker would keep different books). Pause "
                               "or roll it back, and deploy again in the mode wanted.", field="to")


def _live_approval(deployment: Deployment, request_id: int | None) -> PromotionRequest:
    """The approved request a move to LIVE rests on: for this deployment (it names the deployment, or it is a request
    of the same candidate) and with trading_mode LIVE in its signed payload."""
    if request_id is None:
        raise ApplicationError("LIVE needs an approved promotion request whose payload's trading_mode is LIVE: name "
                               "it.", field="request")
    request = PromotionRequest.objects.select_related("candidate").filter(pk=request_id).first()
    if request is None:
        raise ApplicationError(f"There is no promotion request {request_id}.", field="request")
    payload = request.payload if isinstance(request.payload, dict) else {}
    named = payload.get("deployment") == deployment.pk or request.pk == deployment.request_id
    same = request.candidate_id == deployment.request.candidate_id
    if not (named or same):
        raise ApplicationError(f"Request {request.pk} is not about deployment {deployment.pk}.", field="request")
    if request.status != RequestStatus.APPROVED:
        raise ApplicationError(f"Request {request.pk} is {request.status}; LIVE needs it approved.", field="request")
    if payload.get("trading_mode") != TradingMode.LIVE:
        raise ApplicationError(f"Request {request.pk} approved trading_mode {payload.get('trading_mode')!r}, not LIVE.",
                               field="request")
    return request
