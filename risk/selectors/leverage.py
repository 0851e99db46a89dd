"""Reads of the leverage ladder: the ladder that applies and a subject's current tier."""
from __future__ import annotations

from decimal import Decimal

from risk.models import DecisionStatus, LeverageDecision, LeverageLadder

SUBJECTS = ("bankroll", "cohort", "campaign", "deployment")


def ladder_default() -> LeverageLadder:
    """The default ladder; an unsaved one with the documented defaults (2× start, +1×, cap 10×) while none is kept."""
    return LeverageLadder.objects.filter(is_default=True).first() or LeverageLadder(name="default", is_default=True)


def current_tier(**subject) -> Decimal:
    """The subject's tier (one keyword of bankroll, cohort, campaign, deployment: a row or its id): the `to_tier` of
    its latest applied decision, else the default ladder's start."""
    (kind, value), = subject.items()
    if kind not in SUBJECTS:
        raise TypeError(f"current_tier() takes one of {', '.join(SUBJECTS)}, not {kind!r}")
    latest = (LeverageDecision.objects.filter(subject_kind=kind, status=DecisionStatus.APPLIED,
                                              **{f"{kind}_id": getattr(value, "pk", value)})
              .order_by("-created_at", "-id").values_list("to_tier", flat=True).first())
    return latest if latest is not None else Decimal(ladder_default().start)
