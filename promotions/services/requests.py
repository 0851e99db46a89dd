"""The approval chain of a promotion: request, sign, reject, cancel, expire and change the payload.

One service per verb, each atomic under the request's row lock: guard the state, check who is asking (group
membership and the object permission, explicitly: superusers get no bypass), stamp, move the status through
`REQUEST_STATES`, and write a `PromotionLog` row. A refusal raises `ApplicationError` (`PromotionForbidden`
when it is about who asks) and leaves nothing but a `refused` log row, written in its own transaction after
the action's rolled back. On PostgreSQL migration 0003's triggers refuse the same signatures again.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone
from guardian.shortcuts import assign_perm

from neolight.celery import enqueue
from neolight.errors import ApplicationError
from promotions.canonical import GENESIS, payload_digest, payload_normalise, signature_hash
from promotions.models import (
    DEPLOYMENT_ENDED,
    REQUEST_STATES,
    CheckKind,
    Decision,
    Deployment,
    LogKind,
    PromotionCandidate,
    PromotionLog,
    PromotionPolicy,
    PromotionRequest,
    RequestStatus,
    Signature,
)
from promotions.permissions import (
    SIGN_PERMISSION,
    PromotionForbidden,
    PromotionNotFound,
    holds_sign_permission,
    in_group,
    is_approver,
)
from promotions.services.deployments import deployment_renew, deployment_start

log = logging.getLogger(__name__)
Result = TypeVar("Result")


def refusals_logged(action: str) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Wraps an atomic service: a refusal it raises is logged as a `refused` row in a transaction of its own,
    after the service's has rolled back, then raised again."""
    def wrap(service: Callable[..., Result]) -> Callable[..., Result]:
        @functools.wraps(service)
        def run(**kwargs: Any) -> Result:
            try:
                return service(**kwargs)
            except ApplicationError as refusal:
                _refusal_log(action=action, refusal=refusal, **kwargs)
                raise
        return run
    return wrap


def _refusal_log(*, action: str, refusal: ApplicationError, request_id: int | None = None, user=None,
                 candidate: PromotionCandidate | None = None, **_: Any) -> None:
    with transaction.atomic():
        request_id = request_id if request_id and PromotionRequest.objects.filter(pk=request_id).exists() else None
        actor = user if user is not None and getattr(user, "pk", None) else None
        PromotionLog.objects.create(
            kind=LogKind.REFUSED, request_id=request_id, actor=actor,
            cohort_id=candidate.cohort_id if candidate is not None else None,
            message=f"{action} refused: {refusal.message}"[:300],
            data={"action": action, "errors": refusal.errors, "status": refusal.status_code,
                  "candidate": candidate.pk if candidate is not None else None})
    log.info("promotion %s refused (request %s, user %s): %s", action, request_id, getattr(actor, "pk", None),
             refusal.message)


# --- request -----------------------------------------------------------------------------------------------

@refusals_logged("request")
@transaction.atomic
def promotion_request_create(*, candidate: PromotionCandidate, user=None,
                             policy: PromotionPolicy | None = None) -> PromotionRequest:
    """Opens a request to deploy an eligible `candidate`, bound to its payload snapshot and the ordered roles of
    `policy` (the candidate's, the default one, else PROMOTION_APPROVAL_ROLES); `user` None is the Day-3 go/no-go.
    Grants each role's group the permission to sign it. Refuses a failed guard rail (one error per failed check),
    a second open request, or a user outside ops and the approval roles."""
    candidate = (PromotionCandidate.objects.select_for_update(of=("self",)).select_related("cohort__source", "agent", "policy")
                 .get(pk=candidate.pk))
    policy = policy or candidate.policy or PromotionPolicy.objects.filter(is_default=True).first()
    roles = _roles(policy)
    if user is not None:
        user = _actor(user)
        if not is_approver(user, roles):
            raise PromotionForbidden(f"{user.get_username()} may not request promotions: only members of "
                                     f"{settings.PROMOTION_OPS_GROUP} or of an approval role ({', '.join(roles)}) may.")
    _check_eligible(candidate)
    return _request_open(candidate=candidate, payload=promotion_payload(candidate), roles=roles, user=user,
                         message=f"Promotion of agent {candidate.agent.index} of cohort {candidate.cohort_id} "
                                 f"requested by {_name(user)}; signed by {' then '.join(roles)}")


def _request_open(*, candidate: PromotionCandidate, payload: dict, roles: list[str], user, message: str) -> PromotionRequest:
    """Writes a pending request over `payload` (normalised), grants each role's group the permission to sign it,
    logs it and tells the first signers after commit. The caller holds the candidate's row lock."""
    open_request = candidate.requests.filter(status=RequestStatus.PENDING).first()
    if open_request is not None:
        raise ApplicationError(f"Candidate {candidate.pk} already has an open request ({open_request.pk}).",
                               field="candidate")
    payload = payload_normalise(payload)
    now = timezone.now()
    try:
        with transaction.atomic():
            request = PromotionRequest.objects.create(
                candidate=candidate, payload=payload, payload_digest=payload_digest(payload), roles=roles,
                requested_by=user, expires_at=now + timedelta(hours=settings.PROMOTION_REQUEST_TTL_HOURS))
    except IntegrityError as exc:  # another request for this candidate committed between our check and insert
        raise ApplicationError(f"Candidate {candidate.pk} already has an open request (made at the same moment).",
                               field="candidate") from exc
    for role in roles:
        assign_perm(SIGN_PERMISSION, Group.objects.get(name=role), request)
    _log(LogKind.REQUESTED, request, user, message, digest=request.payload_digest, roles=roles,
         expires_at=request.expires_at.isoformat())
    _notify_next_signers(request)
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("promotion.requested", request=request)
    return request


@refusals_logged("renewal")
@transaction.atomic
def promotion_renewal_request(*, deployment_id: int, user, hours: int | None = None) -> PromotionRequest:
    """Asks the deployment's approval chain to push its timer out by `hours` (its approved duration by default):
    a request on the same candidate over the deployment's signed payload plus `renews`; its last approval moves
    the timer (`deployment_renew`). Only while the deployment runs or is paused, asked by ops or an approver."""
    user = _actor(user)
    deployment = _deployment_open(deployment_id, "it cannot be renewed")
    signed = deployment.request
    if not is_approver(user, signed.roles):
        raise PromotionForbidden(f"{user.get_username()} may not ask for renewals: only members of "
                                 f"{settings.PROMOTION_OPS_GROUP} or of an approval role ({', '.join(signed.roles)}) may.")
    limits = dict(signed.payload.get("limits") or {})
    hours = int(hours if hours is not None else limits.get("hours", settings.DEPLOYMENT_HOURS))
    if hours < 1:
        raise ApplicationError("A renewal adds at least one hour.", field="hours")
    candidate = PromotionCandidate.objects.select_for_update(of=("self",)).select_related("agent").get(
        pk=signed.candidate_id)
    payload = {**_step_payload(signed, "renews", deployment.pk), "limits": {**limits, "hours": hours}}
    return _request_open(candidate=candidate, payload=payload, roles=list(signed.roles), user=user,
                         message=f"Renewal of deployment {deployment.pk} by {hours} h requested by {_name(user)}; "
                                 f"signed by {' then '.join(signed.roles)}")


@transaction.atomic
def promotion_resize_request(*, deployment: Deployment, user, resizes: dict, message: str) -> PromotionRequest:
    """Opens a request for a capital step of `deployment` (the gradual rollout, risk/services/rollout.py): on the
    same candidate, over its signed payload plus `resizes`, signed by the same roles; its last approval applies the
    step. `user` is ops or an approver, None the rollout's schedule."""
    if user is not None:
        user = _actor(user)
        if not is_approver(user, deployment.request.roles):
            raise PromotionForbidden(f"{user.get_username()} may not ask for capital steps: only members of "
                                     f"{settings.PROMOTION_OPS_GROUP} or of an approval role "
                                     f"({', '.join(deployment.request.roles)}) may.")
    signed = deployment.request
    candidate = PromotionCandidate.objects.select_for_update(of=("self",)).get(pk=signed.candidate_id)
    return _request_open(candidate=candidate, payload=_step_payload(signed, "resizes", resizes), roles=list(signed.roles),
                         user=user, message=message)


STEP_KEYS = ("renews", "resizes", "leverage_step")  # what a request on a running deployment asks for


def _step_payload(signed: PromotionRequest, key: str, value: Any) -> dict[str, Any]:
    """The deployment's signed payload asking for one step (`key`: one of STEP_KEYS) and nothing else."""
    return {**{k: v for k, v in signed.payload.items() if k not in STEP_KEYS}, key: value}


def _deployment_open(deployment_id: int, refused: str) -> Deployment:
    """Deployment `deployment_id` while it runs or is paused; ApplicationError saying what an ended one `refused`."""
    deployment = Deployment.objects.select_related("request").filter(pk=deployment_id).first()
    if deployment is None:
        raise ApplicationError(f"There is no deployment {deployment_id}.", field="deployment")
    if deployment.status in DEPLOYMENT_ENDED:
        raise ApplicationError(f"Deployment {deployment.pk} has ended; {refused}.", field="deployment")
    return deployment


@refusals_logged("leverage_step")
@transaction.atomic
def promotion_leverage_request(*, deployment_id: int, decision_id: int, to_tier: str) -> PromotionRequest:
    """Asks the deployment's approval chain to raise its leverage tier (risk's ladder): a request on the same
    candidate over the deployment's signed payload plus `leverage_step`; its last approval applies the decision
    (`leverage_step_approved`). Opened by the system (no requester), only while the deployment runs or is paused."""
    deployment = _deployment_open(deployment_id, "its leverage cannot change")
    signed = deployment.request
    missing = sorted(set(signed.roles) - set(Group.objects.filter(name__in=signed.roles).values_list("name", flat=True)))
    if missing:
        raise ApplicationError(f"The approval chain names groups that do not exist: {', '.join(missing)}.",
                               field="policy")
    candidate = PromotionCandidate.objects.select_for_update(of=("self",)).select_related("agent").get(
        pk=signed.candidate_id)
    step = {"deployment": deployment.pk, "decision": decision_id, "to": to_tier}
    return _request_open(candidate=candidate, payload=_step_payload(signed, "leverage_step", step), roles=list(signed.roles),
                         user=None, message=f"Leverage step up of deployment {deployment.pk} to {to_tier}× requested "
                                            f"by the leverage ladder; signed by {' then '.join(signed.roles)}")


@transaction.atomic
def promotion_withdraw(*, request_id: int, reason: str) -> PromotionRequest | None:
    """Cancels pending request `request_id` on the system's behalf (what it asked no longer applies, e.g. a step
    up overtaken by a step down); None when it is no longer pending."""
    row = REQUEST_STATES.move(request_id, RequestStatus.CANCELLED, decided_at=timezone.now(), status_reason=reason)
    if row is None:
        return None
    _log(LogKind.CANCELLED, row, None, f"Request {request_id} withdrawn: {reason}")
    _leverage_step_closed(row, reason)
    _request_ended(row, f"withdrawn: {reason}")
    return row


def _leverage_step_closed(request: PromotionRequest, reason: str) -> None:
    """A request that asked for a leverage step and ended unapproved (rejected, expired, cancelled): risk marks
    its decision refused, in the same transaction."""
    if "leverage_step" in request.payload:
        from risk.services.leverage import leverage_step_refused

        leverage_step_refused(request_id=request.pk, reason=reason)


def _notify_next_signers(request: PromotionRequest) -> None:
    """After commit, e-mails the group whose step the request now awaits (promotions/services/notify.py)."""
    transaction.on_commit(functools.partial(enqueue, "promotions.tasks.promotion_notify_task", request.pk))


def promotion_payload(candidate: PromotionCandidate) -> dict[str, Any]:
    """The snapshot a request is signed over: candidate, genome, allocation, symbols, limits, mode and bankroll.
    Stored normalised (money and floats as strings); a deployment reads its genome with `payload_genome`."""
    cohort = candidate.cohort
    return {
        "candidate": candidate.pk, "cohort": cohort.pk, "agent": candidate.agent.index, "rank": candidate.rank,
        "campaign_day": candidate.campaign_day_id, "family": candidate.family, "params": candidate.params,
        "allocation": str(candidate.allocation), "symbols": list(cohort.symbols),
        "limits": {"max_drawdown": settings.DEPLOYMENT_MAX_DRAWDOWN,
                   "max_return_variance": settings.DEPLOYMENT_MAX_RETURN_VARIANCE,
                   "hours": settings.DEPLOYMENT_HOURS},
        "trading_mode": settings.TRADING_MODE,
        "bankroll": {"id": cohort.source_id, "name": cohort.source.name},
    }


def _roles(policy: PromotionPolicy | None) -> list[str]:
    roles = list(policy.approval_roles) if policy is not None and policy.approval_roles else \
        list(settings.PROMOTION_APPROVAL_ROLES)
    if not roles or len(set(roles)) != len(roles):
        raise ApplicationError(f"The approval chain {roles} must name at least one group, each once.", field="policy")
    missing = sorted(set(roles) - set(Group.objects.filter(name__in=roles).values_list("name", flat=True)))
    if missing:
        raise ApplicationError(f"The approval chain names groups that do not exist: {', '.join(missing)}.",
                               field="policy")
    return roles


def _check_eligible(candidate: PromotionCandidate) -> None:
    failed = list(candidate.checks.filter(passed=False))
    if candidate.is_eligible and not any(c.kind == CheckKind.GUARD for c in failed):
        return
    if not failed:
        raise ApplicationError(f"Candidate {candidate.pk} is not eligible for promotion.", field="candidate")
    raise ApplicationError.gather(ApplicationError(_check_failure(c), field=c.name) for c in failed)


def _check_failure(check) -> str:
    value = "not measured" if check.value is None else f"{check.value:g}"
    detail = f" ({check.detail})" if check.detail else ""
    return f"{check.name}: {value}, needs {check.comparison} {check.threshold:g}{detail}."


# --- sign, reject --------------------------------------------------------------------------------------------

@refusals_logged("sign")
@transaction.atomic
def promotion_sign(*, request_id: int, user, note: str, payload_digest: str | None = None) -> PromotionRequest:
    """Approves the next step of request `request_id` as `user`, with `note`; the last approval makes the
    request approved and, after commit, calls `on_final_approval`. `payload_digest`, when given, is the payload
    the signer read: refused if the request's has changed since."""
    return _decide(request_id=request_id, user=user, note=note, decision=Decision.APPROVE, seen=payload_digest)


@refusals_logged("reject")
@transaction.atomic
def promotion_reject(*, request_id: int, user, note: str, payload_digest: str | None = None) -> PromotionRequest:
    """Rejects request `request_id` at its next step as `user`, with `note`: the request ends there
    (`payload_digest` as for `promotion_sign`)."""
    return _decide(request_id=request_id, user=user, note=note, decision=Decision.REJECT, seen=payload_digest)


def _decide(*, request_id: int, user, note: str, decision: str, seen: str | None) -> PromotionRequest:
    note = _required(note, "note", "A note is required to sign.")
    user = _actor(user)
    request = _locked(request_id)
    _check_open(request, "signed")
    if seen is not None and seen != request.payload_digest:
        raise ApplicationError(f"Request {request.pk}'s payload changed since you read it (now {request.payload_digest[:12]}…): "
                               f"read it again before you sign.", field="payload_digest")
    step = request_next_step(request)
    if step >= len(request.roles):  # only rows written behind the services' back can fill the chain of a pending request
        raise ApplicationError(f"Request {request.pk} holds a signature for every step of its payload: nothing left "
                               f"to sign (run verify_signatures).", field="request")
    role = request.roles[step]
    _check_signer(request, user, step, role)
    signature = _signature_append(request, user, step, role, decision, note)
    now = signature.signed_at
    if decision == Decision.REJECT:
        REQUEST_STATES.move(request.pk, RequestStatus.REJECTED, decided_at=now, status_reason=note)
        _request_ended(request, f"rejected by {_name(user)} ({role}): {note}")
        _log(LogKind.REJECTED, request, user, f"Request {request.pk} rejected by {_name(user)} ({role}): {note}",
             signature=signature.pk, step=step, role=role)
        _leverage_step_closed(request, f"rejected by {_name(user)} ({role}): {note}")
        from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
        narrate_on_commit("promotion.rejected", request=request, signature=signature)
    else:
        _log(LogKind.SIGNED, request, user, f"Request {request.pk}: {role} approved by {_name(user)}",
             signature=signature.pk, step=step, role=role)
        if step == len(request.roles) - 1:
            REQUEST_STATES.move(request.pk, RequestStatus.APPROVED, decided_at=now,
                                status_reason=f"approved by {', '.join(request.roles)}")
            transaction.on_commit(functools.partial(on_final_approval, request.pk))
        else:
            _notify_next_signers(request)
            from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
            narrate_on_commit("promotion.signed", request=request, signature=signature)
    return PromotionRequest.objects.get(pk=request.pk)


def request_next_step(request: PromotionRequest) -> int:
    """The 0-based step awaiting a signature: the count of signatures over the request's current payload."""
    return request.signatures.filter(payload_digest=request.payload_digest).count()


def _check_signer(request: PromotionRequest, user, step: int, role: str) -> None:
    who = user.get_username()
    if request.requested_by_id == user.pk:
        raise PromotionForbidden(f"{who} requested promotion {request.pk} and so may not sign it.")
    changed = (PromotionLog.objects.filter(request=request, kind=LogKind.PAYLOAD_CHANGED).order_by("-id")
               .values_list("actor_id", flat=True).first())
    if changed is not None and changed == user.pk:
        raise PromotionForbidden(f"{who} changed request {request.pk}'s payload and so may not sign it.")
    earlier = request.signatures.filter(user=user)
    signed = earlier.filter(payload_digest=request.payload_digest).first() or earlier.exclude(step=step).first()
    if signed is not None:
        raise PromotionForbidden(f"{who} already signed step {signed.step + 1} ({signed.role}) of request "
                                 f"{request.pk}: one person never signs two steps.")
    if not in_group(user, role):
        later = [r for r in request.roles[step + 1:] if in_group(user, r)]
        if later:
            raise PromotionForbidden(f"Steps are signed in order: request {request.pk} awaits step {step + 1} "
                                     f"({role}), not {later[0]}.")
        bypass = " Superusers get no bypass." if user.is_superuser else ""
        raise PromotionForbidden(f"{who} is not a member of {role}, which signs step {step + 1} of request "
                                 f"{request.pk}.{bypass}")
    if not holds_sign_permission(user, request):
        raise PromotionForbidden(f"{who} holds no permission to sign request {request.pk}.")


def _signature_append(request: PromotionRequest, user, step: int, role: str, decision: str, note: str) -> Signature:
    previous = request.signatures.order_by("-id").values_list("hash", flat=True).first() or GENESIS
    signed_at = timezone.now()
    digest = signature_hash(request_id=request.pk, step=step, role=role, user_id=user.pk, decision=decision,
                            note=note, signed_at=signed_at, payload_digest=request.payload_digest,
                            previous_hash=previous)
    try:
        with transaction.atomic():
            return Signature.objects.create(
                request=request, step=step, role=role, user=user, requested_by_id=request.requested_by_id,
                decision=decision, note=note, payload_digest=request.payload_digest, previous_hash=previous,
                hash=digest, signed_at=signed_at)
    except IntegrityError as exc:  # the database's constraints and triggers refuse it too
        raise ApplicationError(f"Step {step + 1} of request {request.pk} could not be signed: {exc}".splitlines()[0],
                               field="request") from exc


def on_final_approval(request_id: int) -> None:
    """Runs once the approval that completes request `request_id`'s chain has committed: records the approval and
    starts the micro-live deployment (`deployment_start`, itself once per request). Idempotent: a second call
    for the same request writes nothing."""
    request = PromotionRequest.objects.get(pk=request_id)
    if request.status != RequestStatus.APPROVED or request.log.filter(kind=LogKind.APPROVED).exists():
        return
    signers = list(request.signatures.filter(payload_digest=request.payload_digest).order_by("step")
                   .values_list("user_id", flat=True))
    _log(LogKind.APPROVED, request, None, f"Request {request_id} approved by every role ({', '.join(request.roles)})",
         signers=signers, digest=request.payload_digest)
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("promotion.approved", request=request)  # its last signature's sentence, before what it starts
    renews, resizes = request.payload.get("renews"), request.payload.get("resizes")
    try:
        if renews is not None:
            deployment_renew(deployment_id=int(renews), hours=int(request.payload["limits"]["hours"]),
                             reason=f"renewal approved through request {request_id}")
        elif resizes is not None:  # a capital step of the gradual rollout: the deployment's successor
            from risk.services.rollout import rollout_apply  # risk builds on promotions

            rollout_apply(step_id=int(resizes["step"]))
        elif "leverage_step" in request.payload:
            from risk.services.leverage import leverage_step_approved

            leverage_step_approved(request_id=request_id)
        else:
            deployment_start(request_id=request_id)
    except ApplicationError as exc:  # the approval stands; why nothing changed is on record and on the page
        what = (f"renewal of deployment {renews}" if renews is not None
                else f"capital step of deployment {resizes['deployment']}" if resizes is not None
                else "leverage step" if "leverage_step" in request.payload
                else f"deployment of request {request_id}")
        log.warning("request %s: the %s did not happen: %s", request_id, what, exc.message)
        _log(LogKind.REFUSED, request, None, f"The {what} did not happen: {exc.message}"[:300])


# --- cancel, expire, payload change ----------------------------------------------------------------------

@refusals_logged("cancel")
@transaction.atomic
def promotion_cancel(*, request_id: int, user, reason: str) -> PromotionRequest:
    """Cancels pending request `request_id`: only its requester or a member of ops, with a reason."""
    reason = _required(reason, "reason", "A reason is required to cancel.")
    user = _actor(user)
    request = _locked(request_id)
    if request.status != RequestStatus.PENDING:
        raise ApplicationError(f"Request {request.pk} is {request.status}: it can no longer be cancelled.",
                               field="request")
    if request.requested_by_id != user.pk and not in_group(user, settings.PROMOTION_OPS_GROUP):
        raise PromotionForbidden(f"{user.get_username()} may not cancel request {request.pk}: only its requester "
                                 f"or a member of {settings.PROMOTION_OPS_GROUP} may.")
    REQUEST_STATES.move(request.pk, RequestStatus.CANCELLED, decided_at=timezone.now(), status_reason=reason)
    _request_ended(request, f"cancelled by {_name(user)}: {reason}")
    _log(LogKind.CANCELLED, request, user, f"Request {request.pk} cancelled by {_name(user)}: {reason}")
    _leverage_step_closed(request, f"cancelled by {_name(user)}: {reason}")
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("promotion.cancelled", request=request)
    return PromotionRequest.objects.get(pk=request.pk)


def promotion_expire_due(now: datetime | None = None) -> list[int]:
    """Marks every pending request whose `expires_at` has passed expired; returns their ids. Idempotent."""
    now = now or timezone.now()
    expired = []
    due = PromotionRequest.objects.filter(status=RequestStatus.PENDING, expires_at__lte=now).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            row = REQUEST_STATES.move(pk, RequestStatus.EXPIRED, guard=lambda r: r.expires_at <= now, decided_at=now,
                                      status_reason="not signed in time")
            if row is not None:
                _log(LogKind.EXPIRED, row, None, f"Request {pk} expired unsigned at {row.expires_at.isoformat()}")
                _request_ended(row, "expired unsigned")
                _leverage_step_closed(row, "not signed in time")
                from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
                narrate_on_commit("promotion.expired", request=row)
                expired.append(pk)
    return expired


@refusals_logged("payload_change")
@transaction.atomic
def promotion_payload_change(*, request_id: int, user, payload: dict, reason: str) -> PromotionRequest:
    """Binds pending request `request_id` to a new payload (its requester or ops, with a reason): the digest
    changes, so the signatures made so far no longer count and the chain starts again at its first step. Whoever
    changed it may not sign it, as a requester may not."""
    reason = _required(reason, "reason", "A reason is required to change a payload.")
    user = _actor(user)
    request = _locked(request_id)
    _check_open(request, "changed")
    if request.requested_by_id != user.pk and not in_group(user, settings.PROMOTION_OPS_GROUP):
        raise PromotionForbidden(f"{user.get_username()} may not change request {request.pk}'s payload: only its "
                                 f"requester or a member of {settings.PROMOTION_OPS_GROUP} may.")
    if not isinstance(payload, dict):
        raise ApplicationError("A payload is a JSON object.", field="payload")
    payload = payload_normalise(payload)
    if payload.get("candidate") != request.candidate_id:
        raise ApplicationError(f"The payload must name the request's candidate {request.candidate_id}.", field="payload")
    digest, previous = payload_digest(payload), request.payload_digest
    if digest == previous:
        raise ApplicationError("The payload is unchanged.", field="payload")
    voided = list(request.signatures.filter(payload_digest=previous).values_list("pk", flat=True))
    request.payload, request.payload_digest = payload, digest
    request.save(update_fields=["payload", "payload_digest"])
    _log(LogKind.PAYLOAD_CHANGED, request, user, f"Request {request.pk}'s payload changed by {_name(user)}: "
         f"{len(voided)} signature(s) voided; {reason}", **{"from": previous, "to": digest, "voided": voided,
                                                            "reason": reason})
    return request


# --- shared guards -------------------------------------------------------------------------------------------

def _request_ended(request: PromotionRequest, why: str) -> None:
    """A capital step awaiting `request`, which ended unapproved, is refused with it (risk/services/rollout.py)."""
    if request.payload.get("resizes") is not None:
        from risk.services.rollout import rollout_refuse  # risk builds on promotions

        rollout_refuse(request_id=request.pk, reason=f"request {request.pk} {why}")


def _required(text: str | None, field: str, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ApplicationError(message, field=field)
    return text


def _actor(user):
    """`user` reloaded (a stale instance may say active when the account was switched off); refuses inactive."""
    if user is None or not getattr(user, "pk", None):
        raise PromotionForbidden("Sign in to act on promotions.")
    fresh = get_user_model().objects.filter(pk=user.pk).first()
    if fresh is None or not fresh.is_active:
        raise PromotionForbidden(f"{user.get_username()}'s account is inactive.")
    return fresh


def _locked(request_id: int) -> PromotionRequest:
    request = PromotionRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None:
        raise PromotionNotFound(f"No promotion request {request_id}.", field="request")
    return request


def _check_open(request: PromotionRequest, verb: str) -> None:
    if request.status != RequestStatus.PENDING:
        raise ApplicationError(f"Request {request.pk} is {request.status}: it can no longer be {verb}.",
                               field="request")
    if timezone.now() >= request.expires_at:
        raise ApplicationError(f"Request {request.pk} expired at {request.expires_at.isoformat()}: it can no longer "
                               f"be {verb}.", field="request")


def _name(user) -> str:
    return user.get_username() if user is not None else "the Day-3 go/no-go"


def _log(kind: str, request: PromotionRequest, user, message: str, **data: Any) -> PromotionLog:
    return PromotionLog.objects.create(kind=kind, request=request, actor=user, cohort_id=request.candidate.cohort_id,
                                       message=message[:300], data=data)
