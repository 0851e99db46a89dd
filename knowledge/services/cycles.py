"""Learning cycles: claim a slot once, read bars and the population, run the pure cycle, persist the outcome.

A cycle is unique per (campaign, kind, slot): a second run of the same slot finds the row and
does nothing, unless the first failed or has been running past LEARNING_CYCLE_TIMEOUT_SECONDS
(its worker died), in which case it is redone.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from cohorts import engine
from cohorts.models import Cohort
from cohorts.selectors.market import symbols_minutes_per_year, trading_hours_start
from knowledge import learning
from knowledge.models import (
    CAMPAIGN_STATES,
    CYCLE_STATES,
    Campaign,
    CampaignStatus,
    CycleKind,
    CycleStatus,
    EntryKind,
    LearningCycle,
)
from knowledge.selectors import campaign_latest_day, cohort_population, genomes_from_json, learning_market
from knowledge.services.entries import entry_create
from knowledge.services.live import campaign_announce
from neolight.celery import task_named
from neolight.errors import ApplicationError

log = logging.getLogger(__name__)


def cycle_config(*, campaign: Campaign, kind: str, seed: int, cycle_id: int | None = None) -> learning.CycleConfig:
    """The pure cycle's knobs from the settings and the campaign (costs as its cohorts pay them)."""
    defaults = settings.COHORT_DEFAULTS
    storage = settings.LEARNING_STUDY_STORAGE or None
    return learning.CycleConfig(
        mode=kind, trials=campaign.trials, seed=seed,
        objective=learning.Objective(min_trades=settings.LEARNING_MIN_TRADES,
                                     drawdown_penalty=settings.LEARNING_DRAWDOWN_PENALTY),
        setup=learning.Setup(capital=float(campaign.bankroll) / campaign.agents, fee_bps=defaults["fee_bps"],
                             slippage_bps=defaults["slippage_bps"], max_volume_pct=defaults["max_volume_pct"],
                             periods_per_year=symbols_minutes_per_year(campaign.symbols)),
        breeding=learning.Breeding(keep_fraction=settings.LEARNING_KEEP_FRACTION,
                                   mutation_rate=settings.LEARNING_MUTATION_RATE),
        bandit_floor=settings.LEARNING_BANDIT_FLOOR, storage=storage, study_prefix=f"neolight-cycle-{cycle_id}",
    )


def _claim(*, campaign: Campaign, kind: str, slot: datetime, day_number: int, lookback: int, source: Cohort | None,
           seed: int) -> LearningCycle | None:
    """The cycle row for this slot, set running; None when it exists and is done or still running, or when
    the campaign is no longer running (a cancel under way is seen under the campaign's row lock).

    Its windows count trading hours of the campaign's symbols: the last `lookback` trading hours before
    `slot` are scored, the `lookback` trading hours before those tuned (nights, weekends and holidays
    of an exchange calendar are skipped; 24/7 symbols: wall hours)."""
    score_start = trading_hours_start(symbols=campaign.symbols, end=slot, hours=lookback)
    tune_start = trading_hours_start(symbols=campaign.symbols, end=score_start, hours=lookback)
    tune_end, score_end = score_start, slot
    fields = {"day_number": day_number, "source_cohort": source, "lookback_hours": lookback, "trials": campaign.trials,
              "seed": seed, "tune_start": tune_start, "tune_end": tune_end, "score_start": score_start,
              "score_end": score_end}
    with transaction.atomic():
        if CAMPAIGN_STATES.lock(campaign.pk, status=CampaignStatus.RUNNING) is None:
            return None
        try:
            with transaction.atomic():
                cycle = LearningCycle.objects.create(campaign=campaign, kind=kind, slot=slot, **fields)
        except IntegrityError:
            now = timezone.now()
            stale = now - timedelta(seconds=settings.LEARNING_CYCLE_TIMEOUT_SECONDS)
            pk = LearningCycle.objects.get(campaign=campaign, kind=kind, slot=slot).pk
            cycle = CYCLE_STATES.move(
                pk, CycleStatus.RUNNING, status_reason="", started_at=now, **fields,
                guard=lambda c: c.status == CycleStatus.FAILED or (c.status == CycleStatus.RUNNING and c.started_at < stale))
        if cycle is not None:
            campaign_announce(campaign.pk, "cycle.started")
        return cycle


def cycle_daily_run(*, campaign_id: int, day_number: int) -> LearningCycle | None:
    """The learning cycle after campaign day `day_number`: its cohort's population, tuned on the lookback
    before the day's end and evolved into the next day's genomes and weights. None if already done."""
    campaign = Campaign.objects.get(pk=campaign_id)
    day = campaign.campaign_days.select_related("cohort").get(number=day_number)
    cohort = day.cohort
    seed = (campaign.seed * 1000 + day_number) % 2**31
    cycle = _claim(campaign=campaign, kind=CycleKind.DAILY, slot=cohort.window_end, day_number=day_number,
                   lookback=campaign.lookback_hours, source=cohort, seed=seed)
    if cycle is None:
        return None
    genomes, returns, _ = cohort_population(cohort)
    return _run(cycle, campaign, genomes, returns, None)


def cycle_intraday_run(*, campaign_id: int, slot: datetime) -> LearningCycle | None:
    """An intraday cycle at `slot`: the short-horizon genomes of the campaign's next population are tuned
    on the hours before `slot` and evolved; the rest is carried. None if the slot was done or nothing ran yet."""
    campaign = Campaign.objects.get(pk=campaign_id)
    day = campaign_latest_day(campaign)
    if day is None or day.cohort.status != "completed":
        return None
    genomes, returns, flagged = cohort_population(day.cohort)
    latest = campaign.cycles.filter(status=CycleStatus.COMPLETED).order_by("-slot", "-id").first()
    if latest is not None and latest.genomes:
        history = {g.key(): r for g, r in zip(genomes, returns)}
        genomes = genomes_from_json(latest.genomes)
        returns = [history.get(g.key()) for g in genomes]
        flagged = None
    cycle = _claim(campaign=campaign, kind=CycleKind.INTRADAY, slot=slot, day_number=day.number,
                   lookback=settings.LEARNING_INTRADAY_LOOKBACK_HOURS, source=day.cohort,
                   seed=(campaign.seed * 1000 + int(slot.timestamp()) // 3600) % 2**31)
    if cycle is None:
        return None
    return _run(cycle, campaign, genomes, returns, flagged)


def _run(cycle: LearningCycle, campaign: Campaign, genomes, returns, flagged) -> LearningCycle:
    began = time.perf_counter()
    try:
        tune_market = learning_market(symbols=campaign.symbols, start=cycle.tune_start, end=cycle.tune_end)
        score_market = learning_market(symbols=campaign.symbols, start=cycle.score_start, end=cycle.score_end)
        for name, market, start, end in (("tuning", tune_market, cycle.tune_start, cycle.tune_end),
                                         ("scoring", score_market, cycle.score_start, cycle.score_end)):
            if market is None:
                raise ApplicationError(f"Not enough bars to learn from in the {name} window, "
                                       f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC.")
        config = cycle_config(campaign=campaign, kind=cycle.kind, seed=cycle.seed, cycle_id=cycle.pk)
        _enqueue_helpers(cycle, config, genomes)
        outcome = learning.run_cycle(tune_market=tune_market, score_market=score_market, population=genomes,
                                     returns=returns, config=config, flagged=flagged)
    except Exception as exc:
        log.exception("learning cycle %s failed", cycle.pk)
        reason = exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"
        CYCLE_STATES.move(cycle.pk, CycleStatus.FAILED, guard=lambda c: c.started_at == cycle.started_at,
                          status_reason=reason[:2000], finished_at=timezone.now())
        campaign_announce(campaign.pk, "cycle.failed")
        cycle.refresh_from_db()
        return cycle
    return _persist(cycle, campaign, outcome, time.perf_counter() - began)


def _enqueue_helpers(cycle: LearningCycle, config: learning.CycleConfig, genomes) -> None:
    """With a shared study storage, ask LEARNING_STUDY_HELPERS more workers to join each family's study."""
    if not config.storage or settings.LEARNING_STUDY_HELPERS < 1:
        return
    join = task_named("knowledge.tasks.learning_study_join_task")
    families = dict.fromkeys(g.family for g, m in zip(genomes, learning.mutable_mask(genomes, config.mode)) if m)
    for name in families:
        for _ in range(settings.LEARNING_STUDY_HELPERS):
            join.delay(cycle.pk, name)


def cycle_study_join(*, cycle_id: int, family: str) -> int:
    """Runs trials of a running cycle's shared study for `family` until its budget is spent; returns trials seen."""
    cycle = LearningCycle.objects.select_related("campaign").get(pk=cycle_id)
    config = cycle_config(campaign=cycle.campaign, kind=cycle.kind, seed=cycle.seed, cycle_id=cycle.pk)
    market = learning_market(symbols=cycle.campaign.symbols, start=cycle.tune_start, end=cycle.tune_end)
    if cycle.status != CycleStatus.RUNNING or not config.storage or market is None:
        return 0
    result = learning.tune(market, family, trials=config.trials, seed=config.seed + 10_000, objective=config.objective,
                           setup=config.setup, storage=config.storage, study_name=f"{config.study_prefix}-{family}")
    return len(result.trials)


def _genome_json(g: engine.Genome) -> dict:
    return {"family": g.family, "params": dict(g.params), "side": g.side}


def _family_json(f: learning.FamilyOutcome) -> dict:
    return {"family": f.family, "incumbent": _genome_json(f.incumbent), "tuned": _genome_json(f.tuned),
            "in_sample": round(f.in_sample, 6), "out_of_sample": round(f.out_of_sample, 6),
            "incumbent_in_sample": round(f.incumbent_in_sample, 6) if np.isfinite(f.incumbent_in_sample) else None,
            "family_median": round(f.family_median, 6), "is_adopted": f.is_adopted, "reason": f.reason,
            "trials": [{"n": t.number, "params": dict(t.params), "score": round(t.score, 6)} for t in f.trials]}


@transaction.atomic
def _persist(cycle: LearningCycle, campaign: Campaign, outcome: learning.CycleOutcome, runtime: float) -> LearningCycle:
    claimed = cycle.started_at
    if CYCLE_STATES.lock(cycle.pk, status=CycleStatus.RUNNING, guard=lambda c: c.started_at == claimed) is None:
        log.warning("learning cycle %s was claimed again while it ran; its outcome is dropped", cycle.pk)
        cycle.refresh_from_db()
        return cycle
    cycle.in_sample_score, cycle.out_of_sample_score = outcome.in_sample, outcome.out_of_sample
    cycle.families = [_family_json(f) for f in outcome.families]
    cycle.changes = [{"slot": c.slot, "action": c.action, "genome": _genome_json(c.genome),
                      "replaced": _genome_json(c.replaced) if c.replaced else None, "parents": list(c.parents),
                      "reason": c.reason} for c in outcome.changes]
    cycle.genomes = [_genome_json(g) for g in outcome.genomes]
    cycle.weights = [round(float(w), 8) for w in outcome.allocation.weights]
    cycle.runtime_seconds = round(runtime, 3)
    cycle.save(update_fields=["in_sample_score", "out_of_sample_score", "families", "changes", "genomes", "weights",
                              "runtime_seconds"])
    cycle = CYCLE_STATES.move(cycle.pk, CycleStatus.COMPLETED, finished_at=timezone.now())
    _record(cycle, campaign, outcome)
    campaign_announce(campaign.pk, "cycle.completed")
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("cycle.completed", cycle=cycle)
    return cycle


def _record(cycle: LearningCycle, campaign: Campaign, outcome: learning.CycleOutcome) -> None:
    replaced = [c for c in outcome.changes if c.action in ("child", "immigrant")]
    adopted = [f.family for f in outcome.families if f.is_adopted]
    scores = (f"in-sample {outcome.in_sample:.3f}, out-of-sample {outcome.out_of_sample:.3f}"
              if outcome.families else "nothing to tune")
    body = "\n".join([
        f"Tuned {len(outcome.families)} families × {cycle.trials} trials on {cycle.tune_start:%Y-%m-%d %H:%M}–"
        f"{cycle.tune_end:%H:%M} UTC, scored on the {cycle.lookback_hours} h after; {scores}.",
        f"Adopted tuned genomes: {', '.join(adopted) or 'none'}. Replaced {len(replaced)} of "
        f"{len(outcome.changes)} agents; kept the rest.",
        *(f"- {f.family}: in-sample {f.in_sample:.3f} → out-of-sample {f.out_of_sample:.3f}; {f.reason}."
          for f in outcome.families),
    ])
    data = {"in_sample": cycle.in_sample_score, "out_of_sample": cycle.out_of_sample_score,
            "best_params": {f["family"]: f["tuned"]["params"] for f in cycle.families},
            "trials": sum(len(f["trials"]) for f in cycle.families), "adopted": adopted, "replaced": len(replaced)}
    entry_create(kind=EntryKind.LEARNING_CYCLE, campaign=campaign, cycle=cycle, cohort=cycle.source_cohort, data=data,
                 title=f"{cycle.get_kind_display().split(' (')[0]} cycle after day {cycle.day_number}: "
                       f"{len(adopted)} tuned genomes adopted, {len(replaced)} agents replaced", body=body)
    for f in outcome.families:
        verb = "adopted" if f.is_adopted else "kept the population's"
        entry_create(kind=EntryKind.DECISION, campaign=campaign, cycle=cycle, cohort=cycle.source_cohort,
                     title=f"{f.family}: {verb} parameters (day {cycle.day_number}, {cycle.kind})",
                     body=f"{f.reason}.", data={"family": f.family, "tuned": dict(f.tuned.params),
                                                "in_sample": f.in_sample, "out_of_sample": f.out_of_sample,
                                                "is_adopted": f.is_adopted})


def cycle_recover_orphaned() -> list[int]:
    """Fails every learning cycle left running, with the reason: for the embedded server's start-up, when no
    worker of an earlier start can still be running one. A live campaign's next step redoes it. Returns their ids."""
    reason = "The server stopped while this learning cycle ran."
    running = LearningCycle.objects.filter(status=CycleStatus.RUNNING).order_by("pk").values_list("pk", flat=True)
    return [pk for pk in list(running)
            if CYCLE_STATES.move(pk, CycleStatus.FAILED, status_reason=reason, finished_at=timezone.now())]
