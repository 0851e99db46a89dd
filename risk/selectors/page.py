"""What the `/risk/leverage` page shows, read in one place (templates never query).

The subject comes from the query string (`subject=bankroll|cohort|campaign|deployment&id=N`; the house bankroll, else
the latest completed cohort, by default). Its tier and the next ones come from the default ladder and its latest
decisions; its VaR from `risk.selectors.var` (a campaign: its latest day's cohort). The live parts (tier, kill
switch, deployments, breakers, decisions, alerts) are what the page's websocket refreshes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Max, Q, QuerySet
from django.http import QueryDict

from cohorts.models import Bankroll, CohortStatus
from cohorts.selectors.cohorts import cohort_visible
from knowledge.models import CampaignDay
from knowledge.selectors import campaign_visible
from neolight import formats
from neolight.errors import ApplicationError
from promotions.models import DEPLOYMENT_ENDED, Deployment, LogKind, PromotionLog
from risk.models import (
    Alert,
    Breaker,
    DecisionStatus,
    KillSwitch,
    KillSwitchEvent,
    LeverageDecision,
    SubjectKind,
)
from risk.selectors.leverage import current_tier, ladder_default
from risk.selectors.var import var_report, var_subject

DECISIONS_PER_PAGE = 20
SHOWN = 20  # rows of the short lists (alerts, deployments, rollback log)
ROLLBACK_KINDS = (LogKind.ROLLED_BACK, LogKind.PAUSED, LogKind.RESUMED, LogKind.COMPLETED)
KILL_SWITCH_PERMISSION = "risk.operate_kill_switch"
INPUT_LABELS = {"rolling_sharpe": "rolling Sharpe", "drawdown": "drawdown", "max_drawdown": "window's max drawdown",
                "consecutive_losses": "losses in a row", "observations": "observations"}
INPUTS = {"rolling_sharpe": formats.number, "drawdown": lambda v: formats.percent(v, 1),
          "max_drawdown": lambda v: formats.percent(v, 1), "consecutive_losses": str, "observations": str}


@dataclass(frozen=True)
class Subject:
    kind: str
    id: int
    label: str
    row: object


def tier_text(value) -> str:
    """A leverage multiple as a trader reads it: 3 → '3×', 2.5 → '2.5×'."""
    number = Decimal(value).normalize()
    return f"{number:f}×"


# --- the subject -----------------------------------------------------------------------------------------
def page_subject(*, user, params: QueryDict) -> tuple[Subject | None, str]:
    """The subject the query string names (or the default), and an error in words when it names a wrong one."""
    kind, raw = params.get("subject", ""), params.get("id", "")
    if not kind:
        return _default_subject(user), ""
    if kind not in SubjectKind.values:
        return None, f"Choose a subject: {', '.join(SubjectKind.values)}."
    if not raw.isdigit():
        return None, f"Give the {kind}'s number."
    subject_id = int(raw)
    if kind == "campaign":
        campaign = campaign_visible(user).filter(pk=subject_id).first()
        if campaign is None:
            return None, f"There is no campaign {subject_id} you may see."
        return Subject("campaign", campaign.pk, f"Campaign {campaign.pk}{' · ' + campaign.name if campaign.name else ''}",
                       campaign), ""
    try:
        row = var_subject(user=user, kind=kind, subject_id=subject_id)
    except ApplicationError as exc:
        return None, exc.message
    label = f"Bankroll {row.name}" if kind == "bankroll" else f"{kind.title()} {row.pk}"
    return Subject(kind, row.pk, label, row), ""


def _default_subject(user) -> Subject | None:
    if user.has_perm("cohorts.view_cohort"):
        bankroll = Bankroll.objects.filter(name=settings.HOUSE_BANKROLL_NAME).first()
        if bankroll is not None:
            return Subject("bankroll", bankroll.pk, f"Bankroll {bankroll.name}", bankroll)
    cohort = cohort_visible(user).filter(status=CohortStatus.COMPLETED).order_by("-finished_at", "-id").first()
    return Subject("cohort", cohort.pk, f"Cohort {cohort.pk}", cohort) if cohort else None


def subject_choices(user) -> dict[str, list[tuple[int, str]]]:
    """What the picker offers: the latest subjects of each kind `user` may see."""
    cohorts = cohort_visible(user).order_by("-created_at", "-id")[:SHOWN]
    deployments = Deployment.objects.filter(run__cohort__in=cohort_visible(user)).order_by("-id")[:SHOWN]
    bankrolls = Bankroll.objects.order_by("name") if user.has_perm("cohorts.view_cohort") else Bankroll.objects.none()
    return {"bankroll": [(b.pk, b.name) for b in bankrolls[:SHOWN]],
            "cohort": [(c.pk, f"Cohort {c.pk} ({c.status})") for c in cohorts],
            "campaign": [(c.pk, f"Campaign {c.pk}{' · ' + c.name if c.name else ''}")
                         for c in campaign_visible(user).order_by("-id")[:SHOWN]],
            "deployment": [(d.pk, f"Deployment {d.pk} ({d.get_status_display().lower()})") for d in deployments]}


# --- the ladder --------------------------------------------------------------------------------------------
def tier_summary(subject: Subject | None) -> dict:
    """The subject's tier, the next tier up and down and what triggers each, and its latest decision."""
    ladder = ladder_default()
    base = {"ladder": ladder.name, "cap": tier_text(ladder.cap), "floor": tier_text(ladder.floor)}
    if subject is None:
        return {**base, "current": tier_text(ladder.start), "latest": None}
    current = current_tier(**{subject.kind: subject.id})
    up, down = min(current + ladder.step_up, ladder.cap), max(current - ladder.step_down, ladder.floor)
    latest = (LeverageDecision.objects.filter(subject_kind=subject.kind, **{f"{subject.kind}_id": subject.id})
              .order_by("-created_at", "-id").first())
    up_trigger = (f"At the cap ({tier_text(ladder.cap)}): no step up." if current >= ladder.cap else
                  f"Rolling Sharpe over {ladder.window} observations above {formats.number(ladder.up_sharpe)} and the "
                  f"window's drawdown below {formats.percent(ladder.up_max_drawdown, 1)}.")
    down_trigger = (f"At the floor ({tier_text(ladder.floor)}): no step down." if current <= ladder.floor else
                    f"A drawdown of {formats.percent(ladder.down_drawdown, 1)} from the peak, or "
                    f"{ladder.down_consecutive_losses} losses in a row.")
    return {**base, "current": tier_text(current), "next_up": tier_text(up), "next_down": tier_text(down),
            "up_trigger": up_trigger, "down_trigger": down_trigger,
            "latest": _decision_row(latest) if latest else None}


def _decision_row(decision: LeverageDecision) -> dict:
    inputs = decision.inputs or {}
    shown = {label: INPUTS[name](inputs[name]) for name, label in INPUT_LABELS.items() if inputs.get(name) is not None}
    return {"id": decision.pk, "at": decision.created_at, "subject": decision.subject_label, "rule": decision.rule,
            "move": f"{tier_text(decision.from_tier)} → {tier_text(decision.to_tier)}",
            "status": decision.get_status_display(), "rationale": decision.rationale, "inputs": shown,
            "actor": decision.actor.get_username() if decision.actor_id else "scheduled"}


# --- the decision log ------------------------------------------------------------------------------------
def decision_log(*, user, params: QueryDict):
    """Leverage decisions, newest first, narrowed by kind, rule, status and dates (UTC); a page of rows and the
    filters as read (an unreadable date is ignored and said so)."""
    decisions: QuerySet = LeverageDecision.objects.select_related("actor")
    if not user.has_perm("cohorts.view_cohort"):  # cohorts they may not see stay out of their log
        decisions = decisions.filter(~Q(subject_kind=SubjectKind.COHORT) | Q(cohort__in=cohort_visible(user)))
    filters, problems = {}, []
    if params.get("kind") in SubjectKind.values:
        filters["kind"] = params["kind"]
        decisions = decisions.filter(subject_kind=params["kind"])
    if params.get("rule"):
        filters["rule"] = params["rule"][:32]
        decisions = decisions.filter(rule=filters["rule"])
    if params.get("status") in DecisionStatus.values:
        filters["status"] = params["status"]
        decisions = decisions.filter(status=params["status"])
    for name, lookup in (("from", "created_at__date__gte"), ("to", "created_at__date__lte")):
        if params.get(name):
            try:
                filters[name] = date.fromisoformat(params[name]).isoformat()
            except ValueError:
                problems.append(f"“{params[name]}” is not a date (YYYY-MM-DD): the {name} filter is ignored.")
                continue
            decisions = decisions.filter(**{lookup: filters[name]})
    page = Paginator(decisions.order_by("-created_at", "-id"), DECISIONS_PER_PAGE).get_page(params.get("page"))
    rules = sorted(set(LeverageDecision.objects.values_list("rule", flat=True).distinct()))
    return {"page": page, "rows": [_decision_row(d) for d in page.object_list], "filters": filters,
            "problems": problems, "rules": rules, "kinds": SubjectKind.choices, "statuses": DecisionStatus.choices}


# --- the guardian ----------------------------------------------------------------------------------------
def kill_switch_view(user) -> dict:
    """The switch's state, who moved it when and why, and whether `user` may move it (and if not, why)."""
    switch = KillSwitch.objects.select_related("changed_by").filter(pk=1).first() or KillSwitch(pk=1)
    may = user.has_perm(KILL_SWITCH_PERMISSION)
    events = list(KillSwitchEvent.objects.select_related("actor")[:5])
    return {"engaged": switch.engaged, "reason": switch.reason, "at": switch.changed_at,
            "by": switch.changed_by.get_username() if switch.changed_by_id else None, "may_operate": may,
            "why_not": "" if may else "You need the permission “Can engage and release the kill switch”.",
            "events": [{"engaged": e.engaged, "reason": e.reason, "at": e.created_at,
                        "by": e.actor.get_username() if e.actor_id else "system",
                        "paused": (e.data or {}).get("paused_deployments", [])} for e in events]}


def breaker_rows() -> list[dict]:
    return [{"rule": b.get_rule_display(), "subject": b.subject_label, "state": b.get_state_display(),
             "state_code": b.state, "since": b.opened_at, "recovers_at": b.recovers_at, "reason": b.reason}
            for b in Breaker.objects.all()[:100]]


def deployment_rows() -> dict:
    """Deployments under way first, then the latest ended; the latest rollback, pause and resume log rows."""
    deployments = sorted(Deployment.objects.select_related("run").order_by("-id")[:SHOWN],
                         key=lambda d: (d.status in DEPLOYMENT_ENDED, -d.pk))
    log = PromotionLog.objects.filter(kind__in=ROLLBACK_KINDS, deployment__isnull=False).select_related("actor")
    return {"deployments": [{"id": d.pk, "status": d.get_status_display(), "status_code": d.status,
                             "mode": d.trading_mode, "family": d.family, "capital": d.capital,
                             "reason": d.status_reason, "ends_at": d.ends_at} for d in deployments],
            "log": [{"at": row.created_at, "deployment": row.deployment_id, "kind": row.get_kind_display(),
                     "message": row.message, "by": row.actor.get_username() if row.actor_id else "system"}
                    for row in log[:SHOWN]]}


def alert_rows() -> list[dict]:
    return [{"at": a.raised_at, "kind": a.get_kind_display(), "mode": a.trading_mode, "message": a.message,
             "status": a.get_status_display(), "resolved_at": a.resolved_at} for a in Alert.objects.all()[:SHOWN]]


# --- the page --------------------------------------------------------------------------------------------
def risk_live(*, user, params: QueryDict, subject: Subject | None) -> dict:
    """The parts the websocket refreshes."""
    return {"tier": tier_summary(subject), "kill_switch": kill_switch_view(user), "breakers": breaker_rows(),
            **deployment_rows(), "decisions": decision_log(user=user, params=params), "alerts": alert_rows()}


def risk_page(*, user, params: QueryDict) -> dict:
    """Everything the page shows (module docstring)."""
    subject, problem = page_subject(user=user, params=params)
    return {"subject": subject, "subject_problem": problem, "choices": subject_choices(user),
            "var": subject_var(subject, horizon=page_horizon(params)), "horizon": page_horizon(params),
            **risk_live(user=user, params=params, subject=subject),
            "query": page_query(params), "rendered": time.time()}


def risk_changed_at() -> float:
    """When a live part last moved (epoch seconds; 0 when nothing ever did): the kill switch, a decision, a breaker,
    an alert or a deployment's log."""
    moments = [KillSwitch.objects.filter(pk=1).values_list("changed_at", flat=True).first(),
               LeverageDecision.objects.aggregate(at=Max("created_at"))["at"],
               Breaker.objects.aggregate(at=Max("updated_at"))["at"],
               Alert.objects.aggregate(at=Max("raised_at"))["at"],
               PromotionLog.objects.filter(kind__in=ROLLBACK_KINDS).aggregate(at=Max("created_at"))["at"]]
    return max((m.timestamp() for m in moments if m is not None), default=0.0)


def page_query(params: QueryDict) -> str:
    """The page's query string without its page number (links add theirs) nor the live part's flag."""
    kept = params.copy()
    for name in ("page", "part", "rendered"):
        kept.pop(name, None)
    return kept.urlencode()


def page_horizon(params: QueryDict) -> int:
    """The VaR horizon the query string asks for (1-minute steps), within bounds; the default otherwise."""
    raw = params.get("horizon", "")
    if raw.isdigit() and 1 <= int(raw) <= settings.RISK_VAR_MAX_HORIZON:
        return int(raw)
    return settings.RISK_VAR_HORIZON


def subject_var(subject: Subject | None, *, horizon: int | None = None) -> dict | None:
    """The subject's VaR report; a campaign's is its latest day's cohort's."""
    if subject is None:
        return None
    row = subject.row
    if subject.kind == "campaign":
        day = CampaignDay.objects.filter(campaign=row).select_related("cohort").order_by("-number").first()
        if day is None:
            return {"explanation": f"{subject.label} has no day yet: its VaR is its latest day's cohort's."}
        row = day.cohort
    report = var_report(row, horizon=horizon)
    if subject.kind == "campaign":
        report = {**report, "notes": [f"The campaign's latest day: cohort {row.pk}.", *report["notes"]]}
    return report



