"""What a narration says about an event: the figures its sentence needs, read back after the commit, formatted as
a trader reads them ($5,120.40, +2.4 %, 3×), and the ids of what it is about (links for the pages).

`event_facts(event, **context)` returns None for an event that is said elsewhere (a deployment's own cohort, an
alert that repeats a rollback, a breaker or the kill switch; a leverage decision that moved nothing).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from cohorts.models import Cohort, CohortSettlement, Entry
from knowledge.models import Campaign, CampaignDay, EntryKind, KnowledgeEntry, LearningCycle
from promotions.models import Deployment, DeploymentRun, PromotionLog, PromotionRequest
from risk.engine import tier
from risk.models import Alert, AlertKind, BreakerEvent, DecisionStatus, KillSwitchEvent, LeverageDecision, ModeChange

# alerts whose event has a sentence of its own: the alert would say it twice
ALERTS_SAID_ELSEWHERE = (AlertKind.ROLLBACK, AlertKind.BREAKER_OPENED, AlertKind.KILL_SWITCH)


@dataclass(frozen=True)
class Facts:
    """The sentence's fields, the ids it links to, and the cohort and campaign the entry belongs to."""

    fields: dict[str, Any]
    links: dict[str, int] = field(default_factory=dict)
    cohort: Cohort | None = None
    campaign: Campaign | None = None


def money(value: Decimal | float | None) -> str:
    """$5,120.40 (−$12.00 below zero)."""
    value = Decimal(str(value or 0))
    return f"-${-value:,.2f}" if value < 0 else f"${value:,.2f}"


def percent(fraction: float | None, *, sign: bool = True) -> str:
    """+2.4 % (a fraction 0.024): one decimal, as a trader writes it; two below one per cent (+0.31 %)."""
    value = 100 * float(fraction or 0)
    places = 2 if abs(value) < 1 else 1
    return f"{value:+.{places}f} %" if sign else f"{value:.{places}f} %"


def days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def pk(value) -> int | None:
    return getattr(value, "pk", value)


def _name(user) -> str:
    return user.get_username() if user is not None else "the system"


# --- cohorts and campaigns ---------------------------------------------------------------------------------------
def _cohort(cohort) -> tuple[Cohort, Campaign | None, dict[str, str]] | None:
    """The cohort, its campaign and the sentence's `where` ("Campaign 2, day 1: " for a campaign day's cohort); None
    for a deployment's own cohort (the deployment's sentences say it)."""
    row = Cohort.objects.select_related("wallet").get(pk=pk(cohort))
    if DeploymentRun.objects.filter(cohort=row).exists():
        return None
    day = CampaignDay.objects.select_related("campaign").filter(cohort=row).first()
    if day is None:
        return row, None, {"where": ""}
    return row, day.campaign, {"where": f"Campaign {day.campaign_id}, day {day.number}: "}


def _best(cohort: Cohort) -> dict[str, Any]:
    best = ((cohort.summary or {}).get("leaderboard") or [{}])[0]
    return {"best_agent": best.get("agent", "?"), "best_family": best.get("family", "?")}


def cohort_started(*, cohort, **_) -> Facts | None:
    found = _cohort(cohort)
    if found is None:
        return None
    row, campaign, where = found
    return Facts({**where, "agents": row.agent_count, "bankroll": money(row.wallet.bankroll)}, {"cohort": row.pk},
                 cohort=row, campaign=campaign)


def cohort_finished(*, cohort, **_) -> Facts | None:
    found = _cohort(cohort)
    if found is None:
        return None
    row, campaign, where = found
    return Facts({**where, "equity": money(row.final_equity), "roi": percent(row.roi), **_best(row)}, {"cohort": row.pk},
                 cohort=row, campaign=campaign)


def cohort_failed(*, cohort, **_) -> Facts | None:
    found = _cohort(cohort)
    if found is None:
        return None
    row, campaign, where = found
    settled = CohortSettlement.objects.filter(cohort=row).values_list("settled", flat=True).first()
    return Facts({**where, "reason": row.status_reason.splitlines()[0][:160] if row.status_reason else "no reason given",
                  "returned": money(settled)}, {"cohort": row.pk}, cohort=row, campaign=campaign)


def _campaign(campaign) -> Campaign:
    return Campaign.objects.select_related("created_by", "cancelled_by").get(pk=pk(campaign))


def campaign_started(*, campaign, **_) -> Facts:
    row = _campaign(campaign)
    return Facts({"bankroll": money(row.bankroll), "days": days(row.days)}, {"campaign": row.pk}, campaign=row)


def campaign_day_finished(*, campaign, day, **_) -> Facts:
    row = _campaign(campaign)
    cohort = CampaignDay.objects.select_related("cohort").get(campaign=row, number=day).cohort
    return Facts({"day": day, "total": row.days, "equity": money(cohort.final_equity), "roi": percent(cohort.roi),
                  **_best(cohort)}, {"campaign": row.pk, "cohort": cohort.pk}, cohort=cohort, campaign=row)


def campaign_ended(*, campaign, **_) -> Facts:
    row = _campaign(campaign)
    last = CampaignDay.objects.select_related("cohort").filter(campaign=row).order_by("-number").first()
    equity = last.cohort.final_equity if last and last.cohort.final_equity is not None else row.bankroll
    reason = (row.status_reason or "no reason given").splitlines()[0][:160]
    return Facts({"bankroll": money(row.bankroll), "equity": money(equity), "days": days(row.days), "reason": reason,
                  "roi": percent(float(equity / row.bankroll) - 1), "who": _name(row.cancelled_by)},
                 {"campaign": row.pk}, campaign=row)


def cycle_completed(*, cycle, **_) -> Facts:
    row = LearningCycle.objects.select_related("campaign").get(pk=pk(cycle))
    adopted = sum(1 for f in row.families if f.get("is_adopted"))
    replaced = sum(1 for c in row.changes if c.get("action") in ("child", "immigrant"))
    score = "n/a" if row.out_of_sample_score is None else f"{row.out_of_sample_score:.2f}"
    return Facts({"day": row.day_number, "adopted": adopted, "replaced": replaced, "score": score},
                 {"campaign": row.campaign_id, "cycle": row.pk}, campaign=row.campaign)


# --- promotions and deployments -------------------------------------------------------------------------------------
def _what(request: PromotionRequest) -> str:
    payload = request.payload or {}
    if payload.get("renews") is not None:
        return f"renew deployment {payload['renews']} for {payload.get('limits', {}).get('hours', '?')} h"
    if payload.get("resizes") is not None:
        resize = payload["resizes"]
        return f"step deployment {resize.get('deployment')}'s capital to {money(resize.get('to', 0))}"
    if "leverage_step" in payload:
        step = payload["leverage_step"] or {}
        return f"raise deployment {step.get('deployment')}'s leverage to {tier(float(step.get('to') or 0))}"
    return (f"promote agent #{payload.get('agent', '?')} ({payload.get('family', '?')}) of cohort "
            f"{request.candidate.cohort_id} with {money(payload.get('allocation'))}")


def _request(request) -> PromotionRequest:
    return PromotionRequest.objects.select_related("candidate", "requested_by").get(pk=pk(request))


def request_facts(*, request, signature=None, **_) -> Facts:
    """The request's facts; a signature's (`signature`: the one the event is about, the latest if not given)."""
    row = _request(request)
    signatures = row.signatures.select_related("user")
    signature = signatures.filter(pk=pk(signature)).first() if signature is not None else signatures.order_by("-id").first()
    fields = {"what": _what(row), "who": _name(row.requested_by) if row.requested_by else "the Day-3 go/no-go",
              "roles": " then ".join(row.roles), "steps": len(row.roles), "reason": row.status_reason[:160]}
    if signature is not None:
        fields |= {"signer": signature.user.get_username(), "role": signature.role, "step": signature.step + 1,
                   "note": signature.note[:160]}
    return Facts(fields, {"request": row.pk, "cohort": row.candidate.cohort_id})


def _deployment(deployment) -> Deployment:
    return Deployment.objects.select_related("run").get(pk=pk(deployment))


def capital_returned(deployment: Deployment) -> Decimal | None:
    """What went back to the bankroll when the deployment ended: its cohort's settlement plus the execution cash
    left at the broker beyond the model's; None before it is settled."""
    run = DeploymentRun.objects.filter(deployment=deployment).first()
    settled = CohortSettlement.objects.filter(cohort_id=run.cohort_id).values_list("settled", flat=True).first() \
        if run else None
    if settled is None:
        return None
    execution = Entry.objects.filter(transaction__idempotency_key=f"deployment:{deployment.pk}:execution:settle",
                                     account__bankroll_id=deployment.bankroll_id)
    return settled + sum(execution.values_list("amount", flat=True), Decimal(0))


def _last_log(deployment: Deployment, *kinds: str) -> PromotionLog | None:
    return (PromotionLog.objects.select_related("actor").filter(deployment=deployment, kind__in=kinds)
            .order_by("-id").first())


def rollback_why(deployment: Deployment) -> str:
    """"drawdown 5.2 % ≥ 5.0 %" for an automatic drawdown rollback; else its reason, with who when a person did it."""
    log = _last_log(deployment, "rolled_back")
    data = log.data if log else {}
    if data.get("peak") and data.get("equity") is not None and "drawdown" in data.get("reason", ""):
        drawdown = 1 - float(data["equity"]) / float(data["peak"])
        return f"drawdown {percent(drawdown, sign=False)} ≥ {percent(deployment.max_drawdown, sign=False)}"
    reason = deployment.status_reason.removeprefix("Automatic: ").splitlines()[0] if deployment.status_reason else ""
    who = f" by {log.actor.get_username()}" if log is not None and log.actor is not None else ""
    return f"{reason}{who}" if who else reason


def deployment_facts(*, deployment, **_) -> Facts:
    row = _deployment(deployment)
    returned = capital_returned(row)
    log = _last_log(row, "paused", "resumed", "mismatch")
    reason = (log.data.get("reason") or log.message) if log else row.status_reason
    return Facts({"family": row.family, "capital": money(row.capital), "broker": row.broker, "mode": row.trading_mode,
                  "ends_at": f"{row.ends_at:%Y-%m-%d %H:%M}", "why": rollback_why(row),
                  "reason": (reason or "").splitlines()[0][:160] if reason else "no reason given",
                  "returned": money(returned) if returned is not None else "not yet settled",
                  "pnl": money((returned or row.capital) - row.capital)},
                 {"deployment": row.pk, "request": row.request_id, "cohort": row.run.cohort_id})


def capital_stepped(*, deployment, **_) -> Facts:
    successor = _deployment(deployment)
    before = successor.predecessor
    log = _last_log(before, "resized")
    return Facts({"predecessor": before.pk, "from": money(before.capital), "to": money(successor.capital),
                  "reason": (log.data.get("reason") if log else "") or "no reason given"},
                 {"deployment": successor.pk, "predecessor": before.pk, "request": successor.request_id})


# --- risk ------------------------------------------------------------------------------------------------------------
def _subject(row) -> str:
    return row.subject_label.lower().replace("_", " ")


def leverage_changed(*, decision, **_) -> Facts | None:
    row = LeverageDecision.objects.get(pk=pk(decision))
    if row.status != DecisionStatus.APPLIED or row.to_tier == row.from_tier:
        return None
    why = row.rationale.split(": ")[0]
    why = why[:1].lower() + why[1:]
    subject_id = getattr(row, f"{row.subject_kind}_id")
    return Facts({"subject": _subject(row), "from": tier(float(row.from_tier)), "to": tier(float(row.to_tier)),
                  "why": why[:160].replace("%", " %")},
                 {"decision": row.pk, row.subject_kind: subject_id},
                 campaign=row.campaign if row.subject_kind == "campaign" else None)


def alert_raised(*, alert, **_) -> Facts | None:
    row = Alert.objects.get(pk=pk(alert))
    if row.kind in ALERTS_SAID_ELSEWHERE:
        return None
    links = {"alert": row.pk, **({"cohort": row.cohort_id} if row.cohort_id else {}),
             **({"deployment": row.deployment_id} if row.deployment_id else {})}
    return Facts({"kind": row.get_kind_display(), "mode": row.trading_mode, "message": row.message[:160]}, links)


def breaker_moved(*, event, **_) -> Facts:
    row = BreakerEvent.objects.select_related("breaker", "actor").get(pk=pk(event))
    breaker = row.breaker
    subject_id = getattr(breaker, f"{breaker.subject_kind}_id")
    return Facts({"rule": breaker.get_rule_display(), "subject": _subject(breaker), "state": row.to_state,
                  "reason": row.reason[:160]}, {"breaker": breaker.pk, breaker.subject_kind: subject_id})


def kill_switch(*, event, **_) -> Facts:
    row = KillSwitchEvent.objects.select_related("actor").get(pk=pk(event))
    paused, halted = row.data.get("paused_deployments", []), row.data.get("halted_cohorts", [])
    return Facts({"who": _name(row.actor), "reason": row.reason[:160], "paused": len(paused), "halted": len(halted)},
                 {"kill_switch_event": row.pk})


def mode_changed(*, change, **_) -> Facts:
    row = ModeChange.objects.get(pk=pk(change))
    return Facts({"deployment": row.deployment_id, "from": row.from_mode, "to": row.to_mode,
                  "how": "automatic" if row.automatic else "by hand", "reason": row.reason[:160]},
                 {"deployment": row.deployment_id, **({"request": row.request_id} if row.request_id else {})})


def post_mortem(*, entry, incident, **_) -> Facts:
    return Facts({"incident": incident}, {"post_mortem": pk(entry)})


FACTS: dict[str, Callable[..., Facts | None]] = {
    "cohort.started": cohort_started, "cohort.resumed": cohort_started, "cohort.finished": cohort_finished,
    "cohort.failed": cohort_failed,
    "campaign.started": campaign_started, "campaign.day_finished": campaign_day_finished,
    "campaign.completed": campaign_ended, "campaign.failed": campaign_ended, "campaign.cancelled": campaign_ended,
    "cycle.completed": cycle_completed,
    **{f"promotion.{verb}": request_facts for verb in ("requested", "signed", "approved", "rejected", "expired",
                                                        "cancelled")},
    **{f"deployment.{verb}": deployment_facts for verb in ("started", "paused", "resumed", "rolled_back", "completed",
                                                           "failed")},
    "deployment.capital_stepped": capital_stepped,
    "leverage.changed": leverage_changed, "alert.raised": alert_raised,
    "breaker.opened": breaker_moved, "breaker.recovered": breaker_moved,
    "kill_switch.engaged": kill_switch, "kill_switch.released": kill_switch,
    "mode.changed": mode_changed, "post_mortem.written": post_mortem,
}


def event_facts(name: str, /, **context: Any) -> Facts | None:
    """The facts of event `name` read from the database (None: nothing to say); Facts({}) for an event without a reader."""
    reader = FACTS.get(name)
    return reader(**context) if reader is not None else Facts({})


def postmortems_since(since: date | datetime) -> list[KnowledgeEntry]:
    """The post-mortems written since `since` (a date: from its UTC midnight), oldest first: for the daily report.
    Each has its title, body (summary, figures, decisions, timeline, links) and data (incident, links, figures)."""
    if not isinstance(since, datetime):
        since = datetime(since.year, since.month, since.day, tzinfo=UTC)
    return list(KnowledgeEntry.objects.filter(kind=EntryKind.POST_MORTEM, created_at__gte=since)
                .select_related("cohort", "campaign").order_by("created_at", "id"))
