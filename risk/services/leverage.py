"""The leverage ladder at work: evaluate a subject, persist the decision, and carry a LIVE step up through the
approval chain.

`leverage_evaluate` takes exactly one subject (a cohort, a campaign, a deployment or a bankroll), locks its row
so that evaluations of one subject run one after the other, reads the subject's return series
(risk/selectors/leverage.py), asks the pure ladder (`risk.engine.leverage_decide`) with the subject's current
tier, and writes one `LeverageDecision` with the inputs the ladder saw and its sentence.

When each subject is evaluated, and how a year of its observations is counted (`periods_per_year`, the
annualisation of the rolling Sharpe: the number of such observations the subject's markets give in a year):
- a cohort once, when it has completed: hourly parent returns, periods_per_year = its symbols' trading minutes
  per year / 60 (8,760 for anything 24/7, 1,638 for XNYS regular hours);
- a campaign once per completed day, in day order: daily returns, periods_per_year = 365 for 24/7 symbols, else
  252;
- a deployment on the schedule (every RISK_LEVERAGE_DEPLOYMENT_MINUTES while it runs or is paused, and whenever
  asked): one equity sample per evaluation, periods_per_year = its symbols' trading minutes per year / the
  schedule's minutes (8,760 for 24/7 at the default 60);
- a bankroll once per whole UTC day on which its cohorts settled: daily returns, periods_per_year = 365 (its
  cash lives every calendar day, whatever markets its cohorts trade).
A second evaluation of a completed cohort, or of a campaign or bankroll with no new day, returns the decision
already made.

Applying. Every decision applies at once (`applied_at` set; `current_tier` reads the latest applied) except a step
up of a LIVE deployment: it is stored `awaiting` and a promotions request on the deployment's candidate asks the
approval chain (`promotion_leverage_request`); the final approval applies it (`leverage_step_approved`), a
rejection, expiry or cancellation refuses it (`leverage_step_refused`). While a step up waits, a further step up
is held (rule `hold_awaiting_approval`); a step down never waits, and withdraws the step up it overtakes. A tier
the ladder no longer allows (its cap or floor changed since) is read as the nearest allowed tier.

Every decision is broadcast to the risk page after commit; a tier set above the ladder's cap (only an approval
signed before the cap was lowered can do it) raises a leverage-breach alert.
"""
from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cohorts.models import Bankroll, Cohort, CohortStatus
from knowledge.models import Campaign
from neolight.errors import ApplicationError
from neolight.realtime import RISK, broadcast_on_commit
from promotions.models import DEPLOYMENT_ENDED, Deployment, DeploymentRun, PromotionRequest, TradingMode
from promotions.services.requests import promotion_leverage_request, promotion_withdraw
from risk.engine import Rule, leverage_decide, tier
from risk.models import AlertKind, DecisionStatus, LeverageDecision, LeverageLadder, SubjectKind
from risk.selectors.leverage import (
    SUBJECTS,
    Series,
    awaiting_decision,
    bankroll_day_due,
    bankroll_series,
    bankrolls_due,
    campaign_day_due,
    campaign_series,
    campaigns_due,
    cohort_series,
    cohorts_due,
    current_tier,
    deployment_equity,
    deployment_series,
    deployments_due,
    ladder_default,
)
from risk.services.alerts import alert_raise

log = logging.getLogger(__name__)
HOLD_AWAITING = "hold_awaiting_approval"  # a step up while another waits for the chain: held, not asked twice
TIER_PLACES = Decimal("0.01")
STEP_DOWNS = (Rule.STEP_DOWN_DRAWDOWN, Rule.STEP_DOWN_LOSSES)


def leverage_ladder_ensure() -> LeverageLadder:
    """The default ladder, kept (created with the documented defaults the first time a decision needs one)."""
    ladder = ladder_default()
    if ladder.pk is not None:
        return ladder
    try:
        with transaction.atomic():
            ladder.save()
    except IntegrityError:  # another evaluation kept it first
        return LeverageLadder.objects.get(is_default=True)
    return ladder


@transaction.atomic
def leverage_evaluate(*, cohort=None, campaign=None, deployment=None, bankroll=None, actor=None) -> LeverageDecision:
    """Evaluates the ladder for exactly one subject (a row or its id) under its row lock and persists the decision
    (module docstring); returns it, or the decision already made for a completed cohort or the last day done."""
    given = {k: v for k, v in {"bankroll": bankroll, "cohort": cohort, "campaign": campaign,
                               "deployment": deployment}.items() if v is not None}
    if len(given) != 1:
        raise ApplicationError(f"Evaluate exactly one of {', '.join(SUBJECTS)} (got {', '.join(given) or 'none'}).",
                               field="subject")
    (kind, value), = given.items()
    return EVALUATORS[kind](getattr(value, "pk", value), actor)


def _evaluate_cohort(cohort_id: int, actor) -> LeverageDecision:
    cohort = _locked(Cohort, cohort_id, "cohort")
    done = LeverageDecision.objects.filter(cohort=cohort).order_by("created_at", "id").first()
    if done is not None:
        return done
    if cohort.status != CohortStatus.COMPLETED:
        raise ApplicationError(f"Cohort {cohort.pk} is {cohort.status}: the ladder reads completed cohorts.",
                               field="cohort")
    series = cohort_series(cohort)
    if series is None:
        raise ApplicationError(f"Cohort {cohort.pk} has no stored equity curve to read.", field="cohort")
    return _decide(SubjectKind.COHORT, cohort, series, actor)


def _evaluate_campaign(campaign_id: int, actor) -> LeverageDecision:
    campaign = _locked(Campaign, campaign_id, "campaign")
    day = campaign_day_due(campaign.pk)
    if day is None:
        done = LeverageDecision.objects.filter(campaign=campaign).order_by("-created_at", "-id").first()
        if done is not None:
            return done
        raise ApplicationError(f"Campaign {campaign.pk} has no completed day to evaluate yet.", field="campaign")
    return _decide(SubjectKind.CAMPAIGN, campaign, campaign_series(day), actor)


def _evaluate_bankroll(bankroll_id: int, actor) -> LeverageDecision:
    bankroll = _locked(Bankroll, bankroll_id, "bankroll")
    day = bankroll_day_due(bankroll.pk, timezone.now().date())
    if day is None:
        done = LeverageDecision.objects.filter(bankroll=bankroll).order_by("-created_at", "-id").first()
        if done is not None:
            return done
        raise ApplicationError(f"Bankroll {bankroll.pk} has no whole day of settled cohorts to evaluate yet.",
                               field="bankroll")
    return _decide(SubjectKind.BANKROLL, bankroll, bankroll_series(bankroll.pk, day), actor)


def _evaluate_deployment(deployment_id: int, actor) -> LeverageDecision:
    deployment = _locked(Deployment, deployment_id, "deployment")
    if deployment.status in DEPLOYMENT_ENDED:
        raise ApplicationError(f"Deployment {deployment.pk} has ended ({deployment.status}): its leverage no longer "
                               f"moves.", field="deployment")
    if not DeploymentRun.objects.filter(deployment=deployment).exists():
        raise ApplicationError(f"Deployment {deployment.pk} has no live run to read yet.", field="deployment")
    series = deployment_series(deployment, deployment_equity(deployment))
    return _decide(SubjectKind.DEPLOYMENT, deployment, series, actor)


EVALUATORS = {"cohort": _evaluate_cohort, "campaign": _evaluate_campaign, "deployment": _evaluate_deployment,
              "bankroll": _evaluate_bankroll}


def _locked(model, pk, field: str):
    row = model.objects.select_for_update(of=("self",)).filter(pk=pk).first()
    if row is None:
        raise ApplicationError(f"There is no {field} {pk}.", field=field)
    return row


# --- deciding ---------------------------------------------------------------------------------------------

def _decide(kind: str, subject, series: Series, actor) -> LeverageDecision:
    """Asks the ladder with the subject's current tier, writes the decision and applies it (or asks the chain)."""
    ladder = leverage_ladder_ensure()
    policy = ladder.policy()
    current = current_tier(**{kind: subject.pk})
    seen = min(max(float(current), policy.floor), policy.cap)  # a cap or floor changed since: the nearest tier
    outcome = leverage_decide(policy, seen, series.returns, periods_per_year=series.periods_per_year)
    rationale = outcome.rationale if seen == float(current) else (
        f"Tier {tier(float(current))} is outside the ladder's {tier(policy.floor)}–{tier(policy.cap)}, read as "
        f"{tier(seen)}. {outcome.rationale}")
    inputs = {"rolling_sharpe": outcome.rolling_sharpe, "drawdown": outcome.drawdown,
              "max_drawdown": outcome.max_drawdown, "consecutive_losses": outcome.consecutive_losses,
              "observations": outcome.observations, "periods_per_year": outcome.periods_per_year, **series.notes}
    to_tier = _tier(outcome.to_tier)
    rule = str(outcome.rule)
    step_up = to_tier > current
    pending = awaiting_decision(subject.pk) if kind == SubjectKind.DEPLOYMENT else None
    if step_up and pending is not None:
        rule, to_tier = HOLD_AWAITING, current
        rationale = f"{rationale}; held: the step up to {tier(float(pending.to_tier))} awaits request {pending.request_id}"
    live_step_up = step_up and pending is None and kind == SubjectKind.DEPLOYMENT and \
        subject.trading_mode == TradingMode.LIVE
    decision = LeverageDecision.objects.create(
        subject_kind=kind, **{kind: subject}, ladder=ladder, rule=rule, from_tier=current, to_tier=to_tier,
        status=DecisionStatus.AWAITING_APPROVAL if live_step_up else DecisionStatus.APPLIED,
        applied_at=None if live_step_up else timezone.now(), inputs=inputs, rationale=rationale[:300], actor=actor)
    if live_step_up:
        _ask_chain(decision)
    elif outcome.rule in STEP_DOWNS and pending is not None:
        _overtake(pending, decision)
    _announce(decision)
    log.info("leverage %s: %s", decision.subject_label, decision.rationale)
    return decision


def _tier(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(TIER_PLACES)


def _ask_chain(decision: LeverageDecision) -> None:
    """Opens the approval request a LIVE step up waits for; if the chain cannot be asked (another request of the
    deployment's candidate is open, the chain's groups are missing), the step up is refused, saying why."""
    try:
        request = promotion_leverage_request(deployment_id=decision.deployment_id, decision_id=decision.pk,
                                             to_tier=str(decision.to_tier))
    except ApplicationError as exc:
        decision.status = DecisionStatus.REFUSED
        decision.rationale = f"{decision.rationale}; the approval chain could not be asked: {exc.message}"[:300]
        decision.save(update_fields=["status", "rationale"])
        return
    decision.request = request
    decision.save(update_fields=["request"])


def _overtake(pending: LeverageDecision, step_down: LeverageDecision) -> None:
    """A step down (or one at the floor) while a step up waited: the step up no longer applies, its request is
    withdrawn."""
    _refuse(pending, f"overtaken by the step down of decision {step_down.pk}")
    if pending.request_id is not None:
        promotion_withdraw(request_id=pending.request_id,
                           reason=f"the leverage ladder stepped down (decision {step_down.pk}) before it was signed")


def _refuse(decision: LeverageDecision, reason: str) -> None:
    decision.status = DecisionStatus.REFUSED
    decision.rationale = f"{decision.rationale}; refused: {reason}"[:300]
    decision.save(update_fields=["status", "rationale"])
    _announce(decision)


def _announce(decision: LeverageDecision) -> None:
    subject_id = getattr(decision, f"{decision.subject_kind}_id")
    broadcast_on_commit(RISK, "leverage", {"decision": decision.pk, "subject_kind": decision.subject_kind,
                                           "subject": subject_id, "status": decision.status,
                                           "from_tier": str(decision.from_tier), "to_tier": str(decision.to_tier)})
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("leverage.changed", decision=decision)  # said only when an applied decision moves the tier
    if decision.status == DecisionStatus.APPLIED and decision.to_tier != decision.from_tier \
            and decision.to_tier > decision.ladder.cap:
        deployment = decision.deployment if decision.subject_kind == SubjectKind.DEPLOYMENT else None
        alert_raise(AlertKind.LEVERAGE_BREACH, f"leverage:{decision.subject_kind}:{subject_id}",
                    f"{decision.subject_label} is at {tier(float(decision.to_tier))}, above the ladder "
                    f"{decision.ladder.name}'s cap {tier(float(decision.ladder.cap))}",
                    deployment=deployment, data=_ids(decision))


def _ids(decision: LeverageDecision) -> dict[str, Any]:
    return {"decision": decision.pk, "ladder": decision.ladder_id, "to_tier": str(decision.to_tier)}


# --- the approval chain's answers ---------------------------------------------------------------------------

@transaction.atomic
def leverage_step_approved(*, request_id: int) -> LeverageDecision | None:
    """The chain approved a LIVE step up: its decision applies from now (`current_tier` returns its tier). A
    decision no longer awaiting (overtaken, refused) stays as it is. Idempotent."""
    decision = _awaiting_of(request_id)
    if decision is None:
        return None
    decision.status, decision.applied_at = DecisionStatus.APPLIED, timezone.now()
    decision.rationale = f"{decision.rationale}; approved through request {request_id}"[:300]
    decision.save(update_fields=["status", "applied_at", "rationale"])
    _announce(decision)
    return decision


@transaction.atomic
def leverage_step_refused(*, request_id: int, reason: str) -> LeverageDecision | None:
    """The chain rejected the step up, or its request expired or was cancelled: the decision is refused."""
    decision = _awaiting_of(request_id)
    if decision is None:
        return None
    _refuse(decision, reason)
    return decision


def _awaiting_of(request_id: int) -> LeverageDecision | None:
    request = PromotionRequest.objects.filter(pk=request_id).values_list("payload", flat=True).first() or {}
    decision_id = (request.get("leverage_step") or {}).get("decision")
    if decision_id is None:
        return None
    decision = (LeverageDecision.objects.select_for_update(of=("self",)).select_related("ladder")
                .filter(pk=decision_id).first())
    if decision is None or decision.status != DecisionStatus.AWAITING_APPROVAL:
        return None
    return decision


# --- the schedule -------------------------------------------------------------------------------------------

def leverage_evaluate_due(*, now=None, limit: int | None = None) -> dict[str, list[int]]:
    """Evaluates what is due, at most `limit` (RISK_LEVERAGE_BATCH) evaluations in all: completed cohorts never
    evaluated, completed campaign days and whole bankroll days not yet evaluated (in order), and running or paused
    deployments whose last decision is older than RISK_LEVERAGE_DEPLOYMENT_MINUTES. Each evaluation commits on
    its own; one that is refused is logged and the sweep goes on. Returns the decision ids by subject kind."""
    now = now or timezone.now()
    budget = settings.RISK_LEVERAGE_BATCH if limit is None else limit
    done: dict[str, list[int]] = {kind: [] for kind in SUBJECTS}
    sweeps = [("deployment", lambda n: deployments_due(now, n)), ("cohort", cohorts_due),
              ("campaign", campaigns_due), ("bankroll", lambda n: bankrolls_due(now.date(), n))]
    more = {"campaign": campaign_day_due, "bankroll": lambda pk: bankroll_day_due(pk, now.date())}
    for kind, due in sweeps:
        for subject_id in due(budget):
            while budget > 0:
                try:
                    decision = leverage_evaluate(**{kind: subject_id})
                except ApplicationError as exc:
                    log.warning("leverage: %s %s not evaluated: %s", kind, subject_id, exc.message)
                    break
                budget -= 1
                done[kind].append(decision.pk)
                if kind not in more or more[kind](subject_id) is None:
                    break  # one evaluation per cohort and deployment; days until none is left
    return done
