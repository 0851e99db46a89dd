"""Post-mortems: after a rollback, the kill switch engaging, or a breaker halting a subject, one knowledge entry
(kind `post_mortem`) says what happened — the timeline of events around it (promotion log rows, orders, breaker
events, alerts), the figures before and after (equity, drawdown, capital returned), the decisions and who made
them (signatures, overrides), and links — and is narrated.

Written once per incident: the entry's data carries the incident's key, checked under the lock of the incident's
subject row (the deployment, the kill switch, the breaker), so a trigger that runs twice finds the first one.
The narration of the incident calls these writers after its commit (narration.py); nothing here undoes it.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse

from assistant.selectors.narration import capital_returned, money, percent, rollback_why
from assistant.services.narration import narrate_on_commit
from knowledge.models import EntryKind, KnowledgeEntry
from knowledge.services.entries import entry_create
from promotions.models import Deployment, DeploymentOrder, DeploymentRun, LogKind, PromotionLog, Signature
from risk.models import Alert, Breaker, BreakerEvent, KillSwitch, KillSwitchEvent, TradingState

TIMELINE_ROWS = 40  # at most this many lines of timeline; the oldest orders give way first
OVERRIDES = (LogKind.PAUSED, LogKind.RESUMED, LogKind.ROLLED_BACK, LogKind.RENEWED, LogKind.MODE, LogKind.RESIZED)

Line = tuple[datetime, str]


def postmortem_rollback(*, deployment, **_) -> KnowledgeEntry:
    """The post-mortem of deployment `deployment`'s rollback (once)."""
    deployment_id = getattr(deployment, "pk", deployment)
    with transaction.atomic():
        row = Deployment.objects.select_for_update(of=("self",)).select_related("request__requested_by").get(pk=deployment_id)
        key = f"rollback:deployment:{row.pk}"
        done = _written(key)
        if done is not None:
            return done
        run = DeploymentRun.objects.select_related("cohort").get(deployment=row)
        rolled = (PromotionLog.objects.select_related("actor").filter(deployment=row, kind=LogKind.ROLLED_BACK)
                  .order_by("-id").first())
        data = rolled.data if rolled else {}
        returned = capital_returned(row)
        figures = [f"Capital drawn: {money(row.capital)}"]
        if data.get("peak") and data.get("equity") is not None:
            drawdown = 1 - float(data["equity"]) / float(data["peak"])
            figures.append(f"Peak equity {money(data['peak'])}; equity at the rollback {money(data['equity'])} "
                           f"(drawdown {percent(drawdown, sign=False)}, limit "
                           f"{percent(row.max_drawdown, sign=False)})")
        if returned is not None:
            figures.append(f"Capital returned: {money(returned)} ({money(returned - row.capital)} on the capital)")
        orders = DeploymentOrder.objects.filter(deployment=row)
        figures.append(f"Orders: {orders.count()} sent, {orders.filter(status='filled').count()} filled, "
                       f"{orders.exclude(error='').count()} with an error")
        who = (f"{rolled.actor.get_username()} rolled it back by hand" if rolled and rolled.actor
               else "the deployment's signed limits rolled it back automatically")
        decisions = [*_request_decisions(row), *_overrides(row), f"The rollback: {who}."]
        timeline = [*_log_lines(row), *_breaker_lines(deployment=row), *_alert_lines(deployment=row)]
        when = row.finished_at or rolled.created_at
        incident = f"deployment {row.pk}'s rollback"
        body = _body(f"Deployment {row.pk} ({row.family} on {', '.join(row.symbols)}, {row.trading_mode} on the "
                     f"{row.broker} broker) was rolled back at {when:%Y-%m-%d %H:%M} UTC: {rollback_why(row)}.",
                     figures, decisions, timeline, [
                         f"Promotion request {row.request_id}: {reverse('promotion-request', args=[row.request_id])}",
                         f"Cohort {run.cohort_id} (its live run): {reverse('cohort-detail', args=[run.cohort_id])}"])
        return _write(key, incident, f"Post-mortem: deployment {row.pk} rolled back", body,
                      {"deployment": row.pk, "request": row.request_id, "cohort": run.cohort_id},
                      {"capital": str(row.capital), "returned": None if returned is None else str(returned),
                       "equity": data.get("equity"), "peak": data.get("peak")}, cohort=run.cohort)


def postmortem_kill_switch(*, event, **_) -> KnowledgeEntry | None:
    """The post-mortem of the kill switch engaging (`event`, a KillSwitchEvent), once; None for a release."""
    with transaction.atomic():
        KillSwitch.objects.select_for_update().filter(pk=1).first()
        row = KillSwitchEvent.objects.select_related("actor").get(pk=getattr(event, "pk", event))
        if not row.engaged:
            return None
        key = f"kill_switch:{row.pk}"
        done = _written(key)
        if done is not None:
            return done
        paused = list(Deployment.objects.filter(pk__in=row.data.get("paused_deployments", [])).select_related("run"))
        halted = row.data.get("halted_cohorts", [])
        since = row.created_at - timedelta(hours=1)
        figures = [f"Deployments paused: {len(paused)}, with {money(sum((d.capital for d in paused), 0))} at work",
                   *(f"Deployment {d.pk}: {money(d.capital)} drawn, {d.trading_mode} on the {d.broker} broker"
                     for d in paused),
                   f"Live cohorts halted at their next bar (settled then): {len(halted)}"
                   + (f" ({', '.join(map(str, halted))})" if halted else "")]
        who = row.actor.get_username() if row.actor else "the system"
        decisions = [f"{who} engaged the kill switch at {row.created_at:%H:%M:%S} UTC: {row.reason}",
                     *(f"{e.actor.get_username() if e.actor else 'the system'} "
                       f"{'engaged' if e.engaged else 'released'} it at {e.created_at:%Y-%m-%d %H:%M} UTC: {e.reason}"
                       for e in KillSwitchEvent.objects.select_related("actor").filter(
                           created_at__gte=row.created_at - timedelta(days=1)).exclude(pk=row.pk).order_by("id"))]
        timeline = [*_breaker_lines(since=since), *_alert_lines(since=since),
                    *((e.created_at, f"Kill switch {'engaged' if e.engaged else 'released'}: {e.reason}")
                      for e in KillSwitchEvent.objects.filter(created_at__gte=since, pk__lte=row.pk)),
                    *((r.created_at, f"Deployment {r.deployment_id}: {r.message}")
                      for r in PromotionLog.objects.filter(deployment__in=paused, created_at__gte=since)
                      .exclude(kind=LogKind.ORDER))]
        links = [f"Risk page: {reverse('risk-leverage')}",
                 *(f"Deployment {d.pk}'s request: {reverse('promotion-request', args=[d.request_id])}" for d in paused),
                 *(f"Cohort {c}: {reverse('cohort-detail', args=[c])}" for c in halted)]
        body = _body(f"The kill switch was engaged by {who} at {row.created_at:%Y-%m-%d %H:%M} UTC: {row.reason}.",
                     figures, decisions, timeline, links)
        return _write(key, f"the kill switch engaged at {row.created_at:%H:%M} UTC",
                      f"Post-mortem: kill switch engaged by {who}", body,
                      {"kill_switch_event": row.pk, "deployments": [d.pk for d in paused], "cohorts": halted},
                      {"capital_at_work": str(sum((d.capital for d in paused), 0))})


def postmortem_halt(*, event, **_) -> KnowledgeEntry | None:
    """The post-mortem of a breaker halting its subject (`event`, the BreakerEvent that opened it), once; None for a
    move that does not halt."""
    with transaction.atomic():
        row = BreakerEvent.objects.select_related("breaker", "actor").get(pk=getattr(event, "pk", event))
        if row.to_state != TradingState.HALTED:
            return None
        breaker = Breaker.objects.select_for_update().get(pk=row.breaker_id)
        key = f"halt:breaker_event:{row.pk}"
        done = _written(key)
        if done is not None:
            return done
        subject = breaker.subject_label.lower()
        figures = []
        if row.data.get("equity") is not None and row.data.get("day_open"):
            loss = 1 - float(row.data["equity"]) / float(row.data["day_open"])
            figures.append(f"Equity at the halt {money(row.data['equity'])}; the day opened at "
                           f"{money(row.data['day_open'])} (loss {percent(loss, sign=False)})")
        recovery = (f"it recovers by itself at {breaker.recovers_at:%Y-%m-%d %H:%M} UTC" if breaker.recovers_at
                    else "a permitted person resets it")
        decisions = [f"The {breaker.get_rule_display().lower()} rule halted {subject} automatically; {recovery}."]
        deployment = breaker.deployment if breaker.deployment_id else None
        timeline = [*_breaker_lines(**({"deployment": deployment} if deployment else {"cohort": breaker.cohort})),
                    *_alert_lines(**({"deployment": deployment} if deployment else {"cohort": breaker.cohort}))]
        links = [f"Risk page: {reverse('risk-leverage')}"]
        if deployment is not None:
            decisions += _overrides(deployment)
            timeline += _log_lines(deployment)
            links.append(f"Deployment {deployment.pk}'s request: "
                         f"{reverse('promotion-request', args=[deployment.request_id])}")
        cohort_id = breaker.cohort_id or (deployment.run.cohort_id if deployment else None)
        if cohort_id:
            links.append(f"Cohort {cohort_id}: {reverse('cohort-detail', args=[cohort_id])}")
        body = _body(f"{breaker.get_rule_display()} halted {subject} at {row.created_at:%Y-%m-%d %H:%M} UTC: "
                     f"{row.reason}.", figures, decisions, timeline, links)
        return _write(key, f"the halt of {subject}", f"Post-mortem: {subject} halted ({breaker.get_rule_display()})",
                      body, {"breaker": breaker.pk, "breaker_event": row.pk,
                             **({"deployment": deployment.pk} if deployment else {}),
                             **({"cohort": cohort_id} if cohort_id else {})},
                      {"equity": row.data.get("equity"), "day_open": row.data.get("day_open")},
                      cohort=breaker.cohort if breaker.cohort_id else None)


# event narrated → its post-mortem (narration.py calls it after the narration)
WRITERS = {"deployment.rolled_back": postmortem_rollback, "kill_switch.engaged": postmortem_kill_switch,
           "breaker.opened": postmortem_halt}


# --- parts ----------------------------------------------------------------------------------------------------------
def _written(key: str) -> KnowledgeEntry | None:
    return KnowledgeEntry.objects.filter(kind=EntryKind.POST_MORTEM, data__incident=key).first()


def _write(key: str, incident: str, title: str, body: str, links: dict, figures: dict, cohort=None) -> KnowledgeEntry:
    entry = entry_create(kind=EntryKind.POST_MORTEM, title=title, body=body, cohort=cohort,
                         data={"incident": key, "links": links, "figures": figures})
    narrate_on_commit("post_mortem.written", entry=entry, incident=incident)
    return entry


def _body(summary: str, figures: list[str], decisions: list[str], timeline: list[Line], links: list[str]) -> str:
    timeline = _trimmed(sorted(timeline, key=lambda line: line[0]))
    parts = [summary, _section("Figures", figures or ["No figures were recorded."]),
             _section("Decisions and who made them", decisions),
             _section("Timeline (UTC)", [f"{at:%Y-%m-%d %H:%M:%S} {text}" for at, text in timeline]
                      or ["Nothing was recorded around it."]),
             _section("Links", links)]
    return "\n\n".join(parts)


def _section(title: str, lines: Iterable[str]) -> str:
    return "\n".join([title, *(f"- {line}" for line in lines)])


def _trimmed(lines: list[Line]) -> list[Line]:
    """At most TIMELINE_ROWS lines: the oldest order lines go first, then the oldest lines."""
    orders = [i for i, (_, text) in enumerate(lines) if text.startswith("Order: ")]
    drop = set(orders[:max(0, len(lines) - TIMELINE_ROWS)])
    kept = [line for i, line in enumerate(lines) if i not in drop][-TIMELINE_ROWS:]
    if len(kept) < len(lines):
        kept.insert(0, (kept[0][0] if kept else datetime.min, f"… {len(lines) - len(kept)} earlier lines not shown"))
    return kept


def _log_lines(deployment: Deployment) -> list[Line]:
    rows = PromotionLog.objects.filter(request_id=deployment.request_id).order_by("id")
    return [(r.created_at, _log_text(r)) for r in rows]


def _log_text(row: PromotionLog) -> str:
    """The log row's message, after its kind unless the message starts with the kind's word already."""
    kind = "Order" if row.kind == LogKind.ORDER else row.get_kind_display()
    return row.message if row.message.split(" ")[0].rstrip(":") == kind.split(" ")[0] else f"{kind}: {row.message}"


def _breaker_lines(*, deployment=None, cohort=None, since=None) -> list[Line]:
    events = BreakerEvent.objects.select_related("breaker")
    if deployment is not None:
        events = events.filter(breaker__deployment=deployment)
    elif cohort is not None:
        events = events.filter(breaker__cohort=cohort)
    if since is not None:
        events = events.filter(created_at__gte=since)
    return [(e.created_at, f"Breaker {e.breaker.get_rule_display().lower()} on {e.breaker.subject_label.lower()}: "
                           f"{e.from_state} → {e.to_state}: {e.reason}") for e in events.order_by("id")[:TIMELINE_ROWS]]


def _alert_lines(*, deployment=None, cohort=None, since=None) -> list[Line]:
    alerts = Alert.objects.all()
    if deployment is not None:
        alerts = alerts.filter(deployment=deployment)
    elif cohort is not None:
        alerts = alerts.filter(cohort=cohort)
    if since is not None:
        alerts = alerts.filter(raised_at__gte=since)
    return [(a.raised_at, f"Alert ({a.get_kind_display().lower()}): {a.message}")
            for a in alerts.order_by("id")[:TIMELINE_ROWS]]


def _request_decisions(deployment: Deployment) -> list[str]:
    request = deployment.request
    asked = request.requested_by.get_username() if request.requested_by else "the Day-3 go/no-go"
    lines = [f"Request {request.pk} asked by {asked} at {request.created_at:%Y-%m-%d %H:%M} UTC"]
    for s in Signature.objects.select_related("user").filter(request=request).order_by("id"):
        lines.append(f"Step {s.step + 1} ({s.role}): {s.get_decision_display().lower()} by {s.user.get_username()} "
                     f"at {s.signed_at:%Y-%m-%d %H:%M} UTC — “{s.note}”")
    return lines


def _overrides(deployment: Deployment) -> list[str]:
    rows = (PromotionLog.objects.select_related("actor").filter(deployment=deployment, kind__in=OVERRIDES,
                                                                 actor__isnull=False).order_by("id"))
    return [f"{r.actor.get_username()} at {r.created_at:%Y-%m-%d %H:%M} UTC: {r.message}" for r in rows]
