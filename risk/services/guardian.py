"""The guardian: circuit breakers on each deployment and live cohort, graded trading states, the kill switch.

Breakers (one `Breaker` row per subject and rule), evaluated on each bar of the subject's run — a deployment's
`DeploymentBar`, a live cohort's per-bar guard (`cohort_guard`, named by COHORT_LIVE_GUARD) — with a few indexed
reads and writes only when something moves:

    daily loss          the day's loss ≥ RISK_DAILY_LOSS_LIMIT of the day's open equity → reducing; recovers at
                        the next UTC day
    hard capital stop   the day's loss ≥ RISK_CAPITAL_STOP → halted; never by itself: a permitted user resets it
    consecutive losses  RISK_CONSECUTIVE_LOSSES losing round trips in a row → reducing; recovers after
                        RISK_BREAKER_COOLDOWN_MINUTES
    error rate          broker order errors (the deployment's `DeploymentOrder.error`, the last RISK_ERROR_WINDOW)
                        and provider errors (the market-data chain's breaker counters since the window began,
                        at most RISK_ERROR_WINDOW) over max(RISK_ERROR_WINDOW, attempts) above RISK_ERROR_RATE
                        → halted; recovers after the cool-down, and counts afresh from then

The day is the UTC day of the bar's close; its open equity is the equity at the previous day's last bar seen (the
start capital on the first day; a run resumed on a new day opens it at its first bar). Equity is the engine's (the
parent wallet's) at each close. A subject's state is the most severe of its breakers, and halted for everything
while the kill switch is engaged (`risk.selectors.guardian.trading_state`). A bar's time is the subject's clock (a
replay's bars included); the beat task recovers breakers on the wall clock. Each move writes a `BreakerEvent`, is
broadcast on RISK, and an opening raises the "breaker_opened" alert once per breach (resolved when the breaker
recovers or is reset).

Effects. A deployment halted is paused (by the guardian, with the reason); when its breakers recover and it is no
longer halted, the guardian resumes it — one a person paused, or paused for a refused order, stays paused.
Reducing: the broker takes only orders that reduce a position (`GuardedBroker`); an order that would add
exposure is refused and pauses the deployment. A live cohort halted ends its run at that bar (the on_bar
contract: closed, scored and settled once, as at its window's end; the reason in its status reason). A live
cohort reducing is recorded, alerted and shown, and trades on: the simulation's own limits (exposure, leverage,
daily stop) keep a paper cohort's trading bounded, and it sends nothing to a broker.

The kill switch halts everything at once: engaging it pauses every running deployment and ends every running
live cohort's run at its next bar; releasing it restores nothing by itself.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cohorts import engine
from cohorts.engine.codes import CLOSE
from cohorts.models import Cohort, CohortMode, CohortStatus
from cohorts.providers.breaker import CircuitBreaker
from cohorts.selectors.market import BarWindow
from neolight.errors import ApplicationError
from neolight.realtime import RISK, broadcast_on_commit
from promotions.models import Deployment, DeploymentOrder, DeploymentStatus, LogKind, PromotionLog
from promotions.permissions import in_approval_roles
from promotions.services.deployments import deployment_cohort_lock, deployment_pause, deployment_resume
from risk.models import (
    Breaker,
    BreakerEvent,
    BreakerRule,
    KillSwitch,
    KillSwitchEvent,
    SubjectKind,
    TradingState,
)
from risk.selectors.guardian import is_kill_switch_engaged, most_severe, subject_of
from risk.services.alerts import alert_raise, alert_resolve

log = logging.getLogger(__name__)
ACTIVE, REDUCING, HALTED = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED
OPENS_TO = {BreakerRule.DAILY_LOSS: REDUCING, BreakerRule.CAPITAL_STOP: HALTED,
            BreakerRule.CONSECUTIVE_LOSSES: REDUCING, BreakerRule.ERROR_RATE: HALTED}
NOT_BROKER_ERRORS = ("refused", "test")  # refused by the guardian itself, or never sent


class GuardianForbidden(ApplicationError):
    status_code = 403


class KillSwitchForbidden(GuardianForbidden):
    """The user lacks `risk.operate_kill_switch` (403)."""


# --- one bar ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reading:
    """What a bar shows the guardian: its close time, the subject's equity then, and its fills (`fills` holds
    fills `first`, `first`+1, … of the run; those already seen are skipped)."""

    at: datetime
    equity: float
    fills: engine.Fills | None = None
    first: int = 0


@dataclass(frozen=True)
class Verdict:
    """The subject's state after a bar, why, and whether a breaker recovered at it."""

    state: TradingState
    reason: str
    recovered: bool = False


class SubjectGuard:
    """The breakers of one subject (a deployment or a cohort) across one run's bars. `bar(reading)` evaluates them;
    `equity` and `day_open` are the figures the pre-trade check uses on the same bar."""

    def __init__(self, *, deployment=None, cohort=None, start_equity: float):
        self.kind, self.subject = subject_of(deployment=deployment, cohort=cohort)
        self.start_equity = self.equity = self.day_open = float(start_equity)
        self.previous: float | None = None  # the equity at the last bar seen

    def figures(self) -> tuple[float, float]:
        return self.equity, self.day_open

    def bar(self, reading: Reading) -> Verdict:
        """Moves the subject's breakers as the bar requires and returns its state (inside the bar's transaction)."""
        breakers = self._breakers()
        recovered = [b for b in breakers.values() if b.state != ACTIVE and b.recovers_at and b.recovers_at <= reading.at]
        for breaker in recovered:
            breaker_move(breaker, ACTIVE, f"Recovered: {_recovery_words(breaker)}", at=reading.at)
        loss = self._day_loss(breakers, reading)
        streak = self._streak(breakers[BreakerRule.CONSECUTIVE_LOSSES], reading)
        errors, attempts = self._errors(breakers[BreakerRule.ERROR_RATE])
        window = max(settings.RISK_ERROR_WINDOW, attempts)
        cooldown = reading.at + timedelta(minutes=settings.RISK_BREAKER_COOLDOWN_MINUTES)
        checks = [
            (BreakerRule.CAPITAL_STOP, loss[BreakerRule.CAPITAL_STOP] >= settings.RISK_CAPITAL_STOP, None,
             f"the day's loss is {loss[BreakerRule.CAPITAL_STOP]:.2%} of its open equity, at or past the "
             f"{settings.RISK_CAPITAL_STOP:.2%} hard capital stop; a person resets it"),
            (BreakerRule.DAILY_LOSS, loss[BreakerRule.DAILY_LOSS] >= settings.RISK_DAILY_LOSS_LIMIT, _next_day(reading.at),
             f"the day's loss is {loss[BreakerRule.DAILY_LOSS]:.2%} of its open equity, at or past the "
             f"{settings.RISK_DAILY_LOSS_LIMIT:.2%} daily limit: reduce-only until the next UTC day"),
            (BreakerRule.CONSECUTIVE_LOSSES, streak >= settings.RISK_CONSECUTIVE_LOSSES, cooldown,
             f"{streak} losing round trips in a row (limit {settings.RISK_CONSECUTIVE_LOSSES}): reduce-only for "
             f"{settings.RISK_BREAKER_COOLDOWN_MINUTES} minutes"),
            (BreakerRule.ERROR_RATE, errors / window > settings.RISK_ERROR_RATE, cooldown,
             f"{errors} broker or provider errors in {window} attempts, above the {settings.RISK_ERROR_RATE:.0%} "
             f"error rate: halted for {settings.RISK_BREAKER_COOLDOWN_MINUTES} minutes"),
        ]
        for rule, breached, recovers_at, why in checks:
            if breached and breakers[rule].state == ACTIVE:
                breaker_open(breakers[rule], OPENS_TO[rule], why, at=reading.at, recovers_at=recovers_at,
                             data={"equity": round(reading.equity, 2), "day_open": round(self.day_open, 2)})
        self.previous = self.equity = reading.equity
        if is_kill_switch_engaged():
            return Verdict(HALTED, f"Kill switch: {KillSwitch.objects.get(pk=1).reason}", bool(recovered))
        worst = most_severe(b.state for b in breakers.values())
        reasons = [b.reason for b in breakers.values() if b.state == worst and worst != ACTIVE]
        return Verdict(worst, "; ".join(reasons), bool(recovered))

    # --- the rules' figures -------------------------------------------------------------------------------
    def _breakers(self) -> dict[str, Breaker]:
        rows = {b.rule: b for b in Breaker.objects.filter(**self.subject)}
        for rule in BreakerRule.values:
            if rule not in rows:
                rows[rule] = Breaker.objects.get_or_create(**self.subject, rule=rule)[0]
        return rows

    def _day_loss(self, breakers: dict[str, Breaker], reading: Reading) -> dict[str, float]:
        """Each loss rule's loss today, as a fraction of its base: the day's open equity (from the moment of a reset
        by hand, when that came later). A new day opens at the previous bar's equity."""
        day = reading.at.astimezone(UTC).date().isoformat()
        losses = {}
        for rule in (BreakerRule.DAILY_LOSS, BreakerRule.CAPITAL_STOP):
            breaker = breakers[rule]
            if breaker.data.get("day") != day or "open" not in breaker.data:
                opened = self.previous if self.previous is not None else (
                    self.start_equity if "day" not in breaker.data else reading.equity)
                breaker.data = {**breaker.data, "day": day, "open": opened}
                Breaker.objects.filter(pk=breaker.pk).update(data=breaker.data)
            base = float(breaker.data["open"])
            losses[rule] = (base - reading.equity) / base if base > 0 else 0.0
        self.day_open = float(breakers[BreakerRule.DAILY_LOSS].data["open"])
        return losses

    def _streak(self, breaker: Breaker, reading: Reading) -> int:
        """Losing round trips in a row (a close with a negative realised P&L; a winning close ends the streak)."""
        seen, streak = int(breaker.data.get("fills", 0)), int(breaker.data.get("streak", 0))
        fills = reading.fills
        if fills is None or reading.first + len(fills) <= seen:
            return streak
        new = fills.part(max(0, seen - reading.first))
        for pnl in new.pnl[new.kind == CLOSE].tolist():
            streak = streak + 1 if pnl < 0 else 0
        breaker.data = {**breaker.data, "fills": reading.first + len(fills), "streak": streak}
        Breaker.objects.filter(pk=breaker.pk).update(data=breaker.data)
        return streak

    def _errors(self, breaker: Breaker) -> tuple[int, int]:
        """(errors, attempts) since the error window began: the deployment's last broker orders, the providers'
        calls (their counters, shared by every subject, read against this breaker's baseline)."""
        calls, failures = provider_counters()
        if "since" not in breaker.data:
            breaker.data = {**breaker.data, **_error_baseline(calls, failures)}
            Breaker.objects.filter(pk=breaker.pk).update(data=breaker.data)
        window = settings.RISK_ERROR_WINDOW
        new_calls, new_failures = calls - breaker.data["calls"], failures - breaker.data["failures"]
        if new_calls < 0 or new_failures < 0:  # the counters were reset: count from zero
            new_calls, new_failures = calls, failures
        errors, attempts = min(new_failures, window), min(new_calls, window)
        if self.kind == SubjectKind.DEPLOYMENT:
            since = datetime.fromisoformat(breaker.data["since"])
            words = list(DeploymentOrder.objects.filter(deployment_id=self.subject["deployment_id"], created_at__gt=since)
                         .exclude(status__in=NOT_BROKER_ERRORS).order_by("-id").values_list("error", flat=True)[:window])
            errors, attempts = errors + sum(1 for w in words if w), attempts + len(words)
        return errors, attempts


def provider_counters() -> tuple[int, int]:
    """The configured market-data providers' calls and counted failures, summed (their breakers' counters)."""
    calls = failures = 0
    for name in settings.MARKET_DATA_PROVIDERS:
        snapshot = CircuitBreaker(name.strip()).snapshot()
        calls, failures = calls + snapshot.calls, failures + snapshot.failures
    return calls, failures


def _error_baseline(calls: int, failures: int) -> dict:
    return {"since": timezone.now().isoformat(), "calls": calls, "failures": failures}


def _next_day(at: datetime) -> datetime:
    day = at.astimezone(UTC).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _recovery_words(breaker: Breaker) -> str:
    if breaker.rule == BreakerRule.DAILY_LOSS:
        return "a new UTC day"
    return f"the {settings.RISK_BREAKER_COOLDOWN_MINUTES}-minute cool-down has passed"


# --- breaker moves -----------------------------------------------------------------------------------------
def breaker_open(breaker: Breaker, to: str, reason: str, *, at: datetime, recovers_at: datetime | None,
                 data: dict | None = None) -> Breaker:
    """Opens `breaker` (to reducing or halted) and raises its alert, once per breach."""
    breaker_move(breaker, to, reason, at=at, recovers_at=recovers_at, data=data)
    subject = breaker.subject
    alert_raise("breaker_opened", key=f"breaker:{breaker.pk}",
                message=f"{breaker.get_rule_display()} opened on {breaker.subject_label} ({to}): {reason}",
                data={"breaker": breaker.pk, "rule": breaker.rule, "state": to, **(data or {})},
                deployment=subject if breaker.subject_kind == SubjectKind.DEPLOYMENT else None,
                cohort=subject if breaker.subject_kind == SubjectKind.COHORT else None)
    return breaker


def breaker_move(breaker: Breaker, to: str, reason: str, *, at: datetime, recovers_at: datetime | None = None,
                 actor=None, data: dict | None = None) -> Breaker:
    """Writes the move of `breaker` to `to` (its row, one event, a broadcast); call under the subject's lock."""
    before = breaker.state
    breaker.state, breaker.reason = to, reason[:300]
    breaker.opened_at = at if to != ACTIVE else breaker.opened_at
    breaker.recovers_at = recovers_at if to != ACTIVE else None
    if to == ACTIVE:
        breaker.data = _reset_data(breaker)
        alert_resolve("breaker_opened", f"breaker:{breaker.pk}")
    breaker.save(update_fields=["state", "reason", "opened_at", "recovers_at", "data", "updated_at"])
    event = BreakerEvent.objects.create(breaker=breaker, from_state=before, to_state=to, reason=reason[:300],
                                        data=data or {}, actor=actor)
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("breaker.recovered" if to == ACTIVE else "breaker.opened", event=event)
    log.warning("breaker %s (%s on %s): %s → %s: %s", breaker.pk, breaker.rule, breaker.subject_label, before, to, reason)
    broadcast_on_commit(RISK, "breaker", {"breaker": breaker.pk, "rule": breaker.rule, "subject": breaker.subject_label,
                                          "from": before, "to": to, "reason": reason[:300]})
    return breaker


def _reset_data(breaker: Breaker) -> dict:
    """What a breaker carries once it recovers: the loss rules measure from now on; the streak and the error
    window start afresh."""
    data = dict(breaker.data)
    if breaker.rule in (BreakerRule.DAILY_LOSS, BreakerRule.CAPITAL_STOP):
        data.pop("open", None)  # the next bar opens the base at its equity
        data["day"] = data.get("day", "")
    elif breaker.rule == BreakerRule.CONSECUTIVE_LOSSES:
        data["streak"] = 0
    else:
        data.update(_error_baseline(*provider_counters()))
    return data


def breaker_reset(*, breaker_id: int, user, reason: str) -> Breaker:
    """Resets an open breaker to active by hand (the hard capital stop's only way back): a member of the approval
    roles, with a reason. A deployment the guardian paused is resumed if nothing else halts it."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Give a reason for resetting the breaker.", field="reason")
    if not in_approval_roles(user):
        raise GuardianForbidden("Only members of " + " or ".join(settings.PROMOTION_APPROVAL_ROLES)
                                + " may reset a breaker.", field="user")
    with transaction.atomic():
        breaker = _locked_breaker(breaker_id)
        if breaker.state == ACTIVE:
            raise ApplicationError(f"Breaker {breaker.pk} is active already.", field="breaker")
        breaker_move(breaker, ACTIVE, f"Reset by {user.get_username()}: {reason}", at=timezone.now(), actor=user)
        _after_recovery(breaker)
    return breaker


def breakers_recover(*, now: datetime | None = None) -> list[int]:
    """Recovers every breaker whose recovery time has passed on the wall clock (the beat's job); their ids."""
    now = now or timezone.now()
    due = list(Breaker.objects.exclude(state=ACTIVE).filter(recovers_at__lte=now).values_list("pk", flat=True))
    done = []
    for breaker_id in due:
        with transaction.atomic():
            breaker = _locked_breaker(breaker_id)
            if breaker.state == ACTIVE or breaker.recovers_at is None or breaker.recovers_at > now:
                continue
            breaker_move(breaker, ACTIVE, f"Recovered: {_recovery_words(breaker)}", at=now)
            _after_recovery(breaker)
            done.append(breaker_id)
    return done


def _locked_breaker(breaker_id: int) -> Breaker:
    """The breaker's row, locked after its subject's cohort row (the order a bar takes them in)."""
    breaker = Breaker.objects.filter(pk=breaker_id).first()
    if breaker is None:
        raise ApplicationError(f"There is no breaker {breaker_id}.", field="breaker")
    if breaker.subject_kind == SubjectKind.DEPLOYMENT:
        deployment_cohort_lock(breaker.deployment_id)
    elif breaker.subject_kind == SubjectKind.COHORT:
        Cohort.objects.select_for_update().get(pk=breaker.cohort_id)
    return Breaker.objects.select_for_update().get(pk=breaker_id)


def _after_recovery(breaker: Breaker) -> None:
    if breaker.subject_kind == SubjectKind.DEPLOYMENT:
        deployment_guardian_resume(breaker.deployment_id)


# --- effects on a deployment ----------------------------------------------------------------------------------
def deployment_guard_effects(deployment: Deployment, verdict: Verdict) -> Deployment:
    """What the bar's state means for a deployment: halted pauses a running one; a recovery resumes one the guardian
    paused once nothing halts it. Returns the deployment as it now is."""
    if verdict.state == HALTED and deployment.status == DeploymentStatus.RUNNING:
        kill = verdict.reason.startswith("Kill switch")
        paused = deployment_pause(deployment_id=deployment.pk, reason=verdict.reason if kill else f"Guardian: {verdict.reason}",
                                  data={"guardian": not kill, "kill_switch": kill})
        return paused or deployment
    if verdict.recovered and verdict.state != HALTED:
        return deployment_guardian_resume(deployment.pk) or deployment
    return deployment


def deployment_guardian_resume(deployment_id: int) -> Deployment | None:
    """Resumes a deployment the guardian paused (its latest pause says so) once nothing halts it; None otherwise."""
    from risk.selectors.guardian import trading_state

    deployment = Deployment.objects.get(pk=deployment_id)
    if deployment.status != DeploymentStatus.PAUSED or trading_state(deployment=deployment) == HALTED:
        return None
    last = (PromotionLog.objects.filter(deployment_id=deployment_id, kind__in=(LogKind.PAUSED, LogKind.MISMATCH))
            .order_by("-created_at", "-id").values_list("data", flat=True).first())
    if not (last or {}).get("guardian"):
        return None  # a person paused it, or a refused order did: they resume it
    return deployment_resume(deployment_id=deployment_id, reason="Guardian: its breakers recovered")


# --- live cohorts --------------------------------------------------------------------------------------------
class CohortGuard:
    """The per-bar guard of a live cohort without a deployment (`cohort_run_live`): the halt's reason ends the run."""

    def __init__(self, cohort: Cohort):
        self.guard = SubjectGuard(cohort=cohort, start_equity=float(cohort.wallet.bankroll))

    def __call__(self, cohort: Cohort, window: BarWindow, t: int, latest: engine.Progress) -> str | None:
        at = window.timestamps[t].astype("datetime64[s]").astype(datetime).replace(tzinfo=UTC) + timedelta(minutes=1)
        verdict = self.guard.bar(Reading(at=at, equity=float(latest.parent_equity), fills=latest.fills,
                                         first=latest.first))
        return (verdict.reason or "halted") if verdict.state == HALTED else None


def cohort_guard(cohort: Cohort) -> CohortGuard | None:
    """The guard of a live cohort's run (COHORT_LIVE_GUARD names this factory)."""
    return CohortGuard(cohort) if cohort.mode == CohortMode.LIVE else None


# --- the kill switch -------------------------------------------------------------------------------------------
def kill_switch_state() -> KillSwitch:
    return KillSwitch.objects.get_or_create(pk=1)[0]


def kill_switch_engage(*, user, reason: str) -> KillSwitch:
    """Engages the kill switch: every running deployment is paused and every running live cohort's run ends at its
    next bar (settled once); every subject's state reads halted until it is released. Needs
    `risk.operate_kill_switch` and a reason."""
    reason = _checked(user, reason)
    with transaction.atomic():
        switch = _locked()
        switch.engaged, switch.reason, switch.changed_by, switch.changed_at = True, reason, user, timezone.now()
        switch.save()
        paused = []
        for deployment_id in Deployment.objects.filter(status=DeploymentStatus.RUNNING).values_list("pk", flat=True):
            if deployment_pause(deployment_id=deployment_id, reason=f"Kill switch: {reason}",
                                data={"kill_switch": True}) is not None:
                paused.append(deployment_id)
        cohorts = list(Cohort.objects.filter(mode=CohortMode.LIVE, status=CohortStatus.RUNNING,
                                             deployment_run__isnull=True).values_list("pk", flat=True))
        event = KillSwitchEvent.objects.create(engaged=True, reason=reason, actor=user,
                                               data={"paused_deployments": paused, "halted_cohorts": cohorts})
        from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
        narrate_on_commit("kill_switch.engaged", event=event)
        alert_raise("kill_switch", key="kill_switch", message=f"Kill switch engaged by {user.get_username()}: {reason}",
                    data={"paused_deployments": paused, "halted_cohorts": cohorts})
        broadcast_on_commit(RISK, "kill_switch", {"engaged": True, "paused_deployments": paused,
                                                  "halted_cohorts": cohorts})
    return switch


def kill_switch_release(*, user, reason: str) -> KillSwitch:
    """Releases the kill switch; deployments stay paused until someone resumes each, ended runs stay ended."""
    reason = _checked(user, reason)
    with transaction.atomic():
        switch = _locked()
        switch.engaged, switch.reason, switch.changed_by, switch.changed_at = False, reason, user, timezone.now()
        switch.save()
        event = KillSwitchEvent.objects.create(engaged=False, reason=reason, actor=user)
        from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
        narrate_on_commit("kill_switch.released", event=event)
        alert_resolve("kill_switch", "kill_switch")
        broadcast_on_commit(RISK, "kill_switch", {"engaged": False})
    return switch


def _checked(user, reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Give a reason for the kill switch.", field="reason")
    if user is None or not user.has_perm("risk.operate_kill_switch"):
        raise KillSwitchForbidden("You may not operate the kill switch: it needs the permission "
                                "“Can engage and release the kill switch”.", field="user")
    return reason[:300]


def _locked() -> KillSwitch:
    kill_switch_state()
    return KillSwitch.objects.select_for_update().get(pk=1)
