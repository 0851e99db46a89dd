"""Reads of the guardian: a subject's trading state (its breakers and the kill switch), its breakers, the trails."""
from __future__ import annotations

from django.db.models import QuerySet

from risk.models import STATE_SEVERITY, Breaker, BreakerEvent, KillSwitch, ModeChange, SubjectKind, TradingState


def subject_of(*, deployment=None, cohort=None) -> tuple[str, dict]:
    """(subject kind, the filter naming it) for one of a deployment or a cohort (a row or its id)."""
    if (deployment is None) == (cohort is None):
        raise TypeError("name exactly one of deployment or cohort")
    if deployment is not None:
        return SubjectKind.DEPLOYMENT, {"subject_kind": SubjectKind.DEPLOYMENT,
                                        "deployment_id": getattr(deployment, "pk", deployment)}
    return SubjectKind.COHORT, {"subject_kind": SubjectKind.COHORT, "cohort_id": getattr(cohort, "pk", cohort)}


def is_kill_switch_engaged() -> bool:
    return KillSwitch.objects.filter(pk=1, engaged=True).exists()


def most_severe(states) -> TradingState:
    """The most severe of `states` (active when there is none)."""
    return max((TradingState(s) for s in states), key=STATE_SEVERITY.__getitem__, default=TradingState.ACTIVE)


def trading_state(*, deployment=None, cohort=None) -> TradingState:
    """The subject's state: halted while the kill switch is engaged, else the most severe of its breakers. Two
    indexed queries."""
    _, subject = subject_of(deployment=deployment, cohort=cohort)
    if is_kill_switch_engaged():
        return TradingState.HALTED
    return most_severe(Breaker.objects.filter(**subject).exclude(state=TradingState.ACTIVE)
                       .values_list("state", flat=True))


def breaker_list(*, deployment=None, cohort=None) -> QuerySet[Breaker]:
    """The subject's breakers (one per rule it has met), by rule."""
    _, subject = subject_of(deployment=deployment, cohort=cohort)
    return Breaker.objects.filter(**subject).order_by("rule")


def breakers_open() -> QuerySet[Breaker]:
    """Every breaker that is not active, with its subject, most recently opened first."""
    return (Breaker.objects.exclude(state=TradingState.ACTIVE).select_related("deployment", "cohort")
            .order_by("-opened_at", "-id"))


def breaker_events(*, breaker_id: int) -> QuerySet[BreakerEvent]:
    return BreakerEvent.objects.filter(breaker_id=breaker_id).select_related("actor").order_by("-created_at", "-id")


def mode_changes(*, deployment_id: int) -> QuerySet[ModeChange]:
    return ModeChange.objects.filter(deployment_id=deployment_id).select_related("actor", "request")
