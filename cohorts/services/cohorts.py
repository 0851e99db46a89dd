"""Cohorts on a shared bankroll: validate and launch (capital drawn under a lock), run through the
engine, then persist fills, ledger, scores and the reconciliation in one transaction."""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cohorts import engine
from cohorts.models import (
    COHORT_STATES,
    Agent,
    Bankroll,
    Cohort,
    CohortMode,
    CohortStatus,
    ParentWallet,
    SettlementKind,
)
from cohorts.selectors.cohorts import agent_genome
from cohorts.selectors.ledger import ledger_unbalanced_transactions
from cohorts.selectors.market import BarWindow, bar_window, canonical_symbols
from cohorts.services import allocation
from cohorts.services.inputs import LaunchInput
from cohorts.services.lease import Heartbeat, LeaseLost, lease_expiry
from cohorts.services.ledger import bankroll_cash_account, bankroll_ensure
from cohorts.services.ledger_postings import (
    cohort_accounts_create,
    cohort_post_draws,
    cohort_post_fills,
    cohort_refund,
    cohort_settle,
)
from cohorts.services.limits import launch_limits_check
from cohorts.services.scoring import cohort_scores_save
from neolight import faults
from neolight.celery import enqueue
from neolight.errors import ApplicationError
from neolight.money import CENT, money_from_float, quantize, to_cents
from neolight.ops.logs import log_context
from neolight.realtime import COHORTS, broadcast, broadcast_on_commit, cohort_group

log = logging.getLogger(__name__)
PROGRESS_CHUNK_BARS = 60
SIMULATION_SHARE = 60  # percent of the progress bar for the simulation; the rest is writing the results


def house_bankroll() -> Bankroll:
    """The desk's default bankroll, funded once with HOUSE_BANKROLL_FUNDING."""
    return bankroll_ensure(name=settings.HOUSE_BANKROLL_NAME, funding=Decimal(settings.HOUSE_BANKROLL_FUNDING))


@transaction.atomic
def cohort_launch(
    *, data: LaunchInput, user=None, source: Bankroll | None = None, day_number: int | None = None,
    genomes: Sequence[engine.Genome] | None = None, weights: Sequence[float] | None = None,
    weights_note: str = "", run: bool = True,
) -> Cohort:
    """Creates a pending cohort and draws its bankroll from `source` (the house bankroll by default).

    The source row is locked while its cash is checked and drawn, so concurrent launches never
    draw more than it holds. `weights` (one per genome) override the policy's split, with
    `weights_note` on the compliance record. The run is queued after commit (`run=False` leaves it
    pending).
    """
    source = source or house_bankroll()
    Bankroll.objects.select_for_update().get(pk=source.pk)
    launch_limits_check(user=user, bankroll=data.bankroll)
    genomes = list(genomes) if genomes is not None else engine.default_roster(data.agents, seed=data.seed)
    if len(genomes) != data.agents:
        raise ApplicationError(f"{len(genomes)} genomes given for {data.agents} agents.", field="agents")
    if weights is None:
        weights, policy_note = allocation.weights(policy=data.policy, genomes=genomes, data=data)
    else:
        weights, policy_note = np.asarray(weights, dtype=np.float64), weights_note
        if weights.shape != (len(genomes),) or not (np.isfinite(weights).all() and (weights > 0).all()):
            raise ApplicationError("Allocation weights must be positive, one per agent.", field="agents")
    cohort = Cohort.objects.create(
        source=source, launched_by=user, symbols=canonical_symbols(data.symbols), window_start=data.start, window_end=data.end,
        seed=data.seed, day_number=day_number, agent_count=len(genomes), mode=data.mode,
        compliance_notes="\n".join(n for n in [data.compliance_notes, policy_note] if n),
    )
    defaults = settings.COHORT_DEFAULTS
    ParentWallet.objects.create(
        cohort=cohort, bankroll=data.bankroll, policy=data.policy, exposure_limit=data.exposure_limit,
        leverage_ceiling=data.leverage_ceiling, daily_stop=data.daily_stop,
        market_exposure_limit=Decimal(str(defaults["market_exposure_limit"])),
        fee_bps=Decimal(str(defaults["fee_bps"])), slippage_bps=Decimal(str(defaults["slippage_bps"])),
    )
    capitals = split_capital(data.bankroll, weights)
    agents = Agent.objects.bulk_create(
        Agent(cohort=cohort, index=i, family=g.family, params={**g.params, "side": g.side},
              is_short_horizon=engine.family(g.family).is_short_horizon, capital=c)
        for i, (g, c) in enumerate(zip(genomes, capitals))
    )
    accounts = cohort_accounts_create(cohort=cohort, agents=agents, symbols=cohort.symbols)
    cohort_post_draws(cohort=cohort, accounts=accounts, source_cash=bankroll_cash_account(source),
                      bankroll=data.bankroll, capitals=capitals)
    _announce(cohort, "cohort.created")  # before the run is queued: lists hear of a cohort before its progress
    if run:
        task = "cohorts.tasks.cohort_run_live_task" if cohort.mode == CohortMode.LIVE else "cohorts.tasks.cohort_run_task"
        transaction.on_commit(lambda: enqueue(task, cohort.pk))
    return cohort


def split_capital(bankroll: Decimal, weights: np.ndarray) -> list[Decimal]:
    """Whole-cent capital per agent, proportional to `weights`, summing exactly to `bankroll`: each share is
    rounded down to the cent (the weights' floats end there) and the cents left go to the heaviest weight."""
    cents = int(bankroll.quantize(CENT, rounding=ROUND_DOWN) * 100)
    shares = np.floor(np.asarray(weights, dtype=np.float64) / np.sum(weights) * cents).astype(np.int64)
    shares[int(np.argmax(weights))] += cents - int(shares.sum())
    return [Decimal(int(c)).scaleb(-2) for c in shares]


def cohort_run(*, cohort_id: int, progress: Callable[[int], None] | None = None) -> Cohort:
    """Runs a pending replay cohort to completion; a cohort in any other state, or a live one
    (`live.cohort_run_live`), is returned untouched.

    The run holds the cohort's lease (renewed by a heartbeat while the worker lives). Everything it
    writes (fills, ledger postings, scores, the settlement of its capital) commits together, and only
    while its lease token still holds the cohort's row lock. On any error nothing of that is kept: the
    cohort is marked failed with the reason and its capital is refunded — once.
    """
    began = time.perf_counter()
    token = uuid.uuid4()
    cohort = COHORT_STATES.move(cohort_id, CohortStatus.RUNNING, guard=lambda c: c.mode == CohortMode.REPLAY,
                                started_at=timezone.now(), lease_token=token, lease_expires_at=lease_expiry())
    if cohort is None:
        return Cohort.objects.get(pk=cohort_id)
    _announce(cohort, "cohort.started", progress=0)
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("cohort.started", cohort=cohort)
    if not engine.is_warm():  # this process skipped its warm-up: the kernel compiles first (tens of seconds)
        _announce(cohort, "cohort.progress", progress=0, stage="preparing the engine")

    def work() -> None:
        window = bar_window(symbols=cohort.symbols, start=cohort.window_start, end=cohort.window_end)
        result = _simulate(cohort, window, progress, token)
        faults.point("cohort.after_simulate")
        _persist(cohort, window, result, began, token)

    with Heartbeat(cohort_id=cohort_id, token=token):
        return run_fenced(cohort, token, work)


def run_fenced(cohort: Cohort, token: uuid.UUID, work: Callable[[], None]) -> Cohort:
    """Does a run's `work` while its lease holds: a lost lease stops it writing (whoever took the cohort over
    decides), any other error fails the cohort with the reason and settles its capital once; a run that ends
    is announced. Returns the cohort as it then is. Every log line of the run carries the cohort's id."""
    with log_context(cohort_id=cohort.pk):
        try:
            work()
        except LeaseLost:
            log.warning("cohort %s: the run lost its lease; it stopped writing", cohort.pk)
            return Cohort.objects.get(pk=cohort.pk)
        except Exception as exc:
            log.exception("cohort %s failed", cohort.pk)
            reason = exc.message if isinstance(exc, ApplicationError) else f"{type(exc).__name__}: {exc}"
            return cohort_fail(cohort_id=cohort.pk, reason=reason, token=token) or Cohort.objects.get(pk=cohort.pk)
        cohort.refresh_from_db()
        log.info("cohort %s %s in %s s", cohort.pk, cohort.status, cohort.runtime_seconds)
        _announce(cohort, "cohort.finished", progress=100, status=cohort.status)
        return cohort


def _announce(cohort: Cohort, event: str, **payload) -> None:
    """Tells the cohort's page and every open list about `event`, whoever called the service.

    A change of state goes out after the commit that made it (consumers re-read the cohort); progress
    is no committed state and goes out at once, even from inside the transaction writing the results.
    """
    body = {"cohort": cohort.pk, **payload}
    send = broadcast if event == "cohort.progress" else broadcast_on_commit
    send(cohort_group(cohort.pk), event, body)
    send(COHORTS, event, body)


def engine_spec(cohort: Cohort) -> engine.CohortSpec:
    """The engine's view of a cohort: its agents, costs and parent-wallet rules (floats from here on)."""
    wallet = cohort.wallet
    defaults = settings.COHORT_DEFAULTS
    agents = [engine.AgentSpec(agent_genome(agent), capital=float(agent.capital))
              for agent in cohort.agents.order_by("index")]
    rules = engine.ParentRules(
        max_gross_exposure=float(wallet.exposure_limit),
        max_market_exposure=float(wallet.market_exposure_limit) if wallet.market_exposure_limit else None,
        max_leverage=float(wallet.leverage_ceiling),
        daily_stop=float(wallet.daily_stop),
        breaker_losses=defaults["breaker_losses"], breaker_loss_limit=defaults["breaker_loss_limit"],
        breaker_cooldown=defaults["breaker_cooldown_bars"],
    )
    return engine.CohortSpec(
        agents=tuple(agents), fee_bps=float(wallet.fee_bps), slippage_bps=float(wallet.slippage_bps),
        max_volume_pct=defaults["max_volume_pct"], rules=rules, parent_capital=float(wallet.bankroll),
        flatten_at_end=True,
    )


def _simulate(cohort: Cohort, window: BarWindow, progress: Callable[[int], None] | None,
              token: uuid.UUID) -> engine.Result:
    if window.shape[0] < 2:
        raise ApplicationError("The window holds fewer than two bars; nothing can be traded.", field="start")
    market = window.market()
    simulation = engine.Simulation(market, engine_spec(cohort))
    reported = 0
    while simulation.advance(PROGRESS_CHUNK_BARS):
        percent = int(SIMULATION_SHARE * simulation.bar / market.n_bars)
        if percent >= reported + 5:
            reported = percent
            if not Cohort.objects.filter(pk=cohort.pk, status=CohortStatus.RUNNING, lease_token=token).update(
                    progress=percent):
                raise LeaseLost
            _announce(cohort, "cohort.progress", progress=percent)
            if progress:
                progress(percent)
    return simulation.result()


@transaction.atomic
def _persist(cohort: Cohort, window: BarWindow, result: engine.Result, began: float, token: uuid.UUID) -> None:
    if COHORT_STATES.lock(cohort.pk, status=CohortStatus.RUNNING, guard=lambda c: c.lease_token == token) is None:
        raise LeaseLost  # recovery failed (and refunded) the cohort while it ran: write nothing
    agents = list(cohort.agents.order_by("index"))
    accounts = cohort_accounts_create(cohort=cohort, agents=agents, symbols=cohort.symbols)
    _announce(cohort, "cohort.progress", progress=SIMULATION_SHARE, stage="posting fills to the ledger")
    ledger_equity = cohort_post_fills(cohort=cohort, agents=agents, accounts=accounts, window=window, fills=result.fills)
    faults.point("cohort.mid_persist")
    engine_equity = [money_from_float(v) for v in result.final_equity]
    differences = [abs(a - b) for a, b in zip(ledger_equity, engine_equity)]
    if not all(to_cents(d) == 0 for d in differences):
        worst = int(np.argmax(differences))
        raise ApplicationError(f"Reconciliation failed: agent {worst} has {ledger_equity[worst]} in the ledger "
                               f"but {engine_equity[worst]} in the engine.")
    _announce(cohort, "cohort.progress", progress=90, stage="scoring agents")
    settlement = cohort_settle(cohort=cohort, accounts=accounts, source_cash=bankroll_cash_account(cohort.source),
                               kind=SettlementKind.RETURN)
    faults.point("cohort.after_returns")
    if settlement.settled != sum(ledger_equity, Decimal(0)):
        raise ApplicationError(f"Reconciliation failed: ${settlement.settled:,.2f} went back to the bankroll but the "
                               f"agents ended with ${sum(ledger_equity, Decimal(0)):,.2f}.")
    cohort_scores_save(cohort=cohort, agents=agents, window=window, result=result,
                       reconciliation={"max_difference": str(quantize(max(differences, default=Decimal(0)))),
                                       "settled": str(settlement.settled)})
    faults.point("cohort.before_completion")
    completed = COHORT_STATES.move(
        cohort.pk, CohortStatus.COMPLETED, guard=lambda c: c.lease_token == token,
        finished_at=timezone.now(), progress=100, runtime_seconds=round(time.perf_counter() - began, 3),
        is_reconciled=True, is_ledger_balanced=not ledger_unbalanced_transactions(cohort=cohort),
    )
    if completed is None:  # cannot happen while the row lock holds; never commit results without completion
        raise LeaseLost
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("cohort.finished", cohort=completed)


def cohort_fail(*, cohort_id: int, reason: str, token: uuid.UUID | None = None, is_stale: bool = False,
                now: datetime | None = None) -> Cohort | None:
    """Marks a pending or running cohort failed and refunds its drawn capital, in one transaction (a live
    cohort that has posted fills closes its positions and returns what its agents hold instead).

    Only the run holding the lease (`token`) fails a running cohort, or recovery once the lease has
    lapsed at `now` (`is_stale`, re-checked under the row lock); None, with nothing written, otherwise.
    """
    now = now or timezone.now()

    def may_fail(cohort: Cohort) -> bool:
        if cohort.status == CohortStatus.PENDING:
            return not is_stale or cohort.created_at < now - timedelta(seconds=settings.COHORT_RUN_TIMEOUT_SECONDS)
        if is_stale:
            return cohort.lease_expires_at < now
        return token is not None and cohort.lease_token == token

    with transaction.atomic():
        cohort = COHORT_STATES.move(cohort_id, CohortStatus.FAILED, guard=may_fail, status_reason=reason[:2000],
                                    finished_at=now)
        if cohort is None:
            return None
        from cohorts.services import live  # live builds on this module

        if live.has_live_fills(cohort):
            live.live_settle_failed(cohort=cohort)
        else:
            cohort_refund(cohort=cohort, source_cash=bankroll_cash_account(cohort.source))
        from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
        narrate_on_commit("cohort.failed", cohort=cohort)
    _announce(cohort, "cohort.failed", status=CohortStatus.FAILED, reason=reason[:200])
    return cohort


def cohort_recover_stale(*, now: datetime | None = None) -> list[int]:
    """Fails, and refunds once, the cohorts whose worker is gone: running with a lapsed lease, or pending
    past COHORT_RUN_TIMEOUT_SECONDS without a run starting. A live lease is never touched. Returns their ids.

    A running live-paper cohort whose lease lapsed is resumed instead (a new run continues from its
    checkpoint) while it is within its time: its window's length from its start (or the window's end,
    whichever is later) plus COHORT_RUN_TIMEOUT_SECONDS."""
    now = now or timezone.now()
    lapsed = Cohort.objects.filter(status=CohortStatus.RUNNING, lease_expires_at__lt=now)
    timeout = timedelta(seconds=settings.COHORT_RUN_TIMEOUT_SECONDS)
    resumable = [pk for pk, start, end, started in lapsed.filter(mode=CohortMode.LIVE).values_list(
        "pk", "window_start", "window_end", "started_at") if max(end, (started or now) + (end - start)) + timeout > now]
    deployed = set(lapsed.filter(deployment_run__isnull=False).values_list("pk", flat=True))
    for pk in resumable:  # a micro-live deployment's cohort is resumed by its deployment (broker on its bars)
        if pk not in deployed:
            log.warning("cohort %s: its live run stopped; queueing a run that resumes it", pk)
            enqueue("cohorts.tasks.cohort_run_live_task", pk)
    stale = list(lapsed.exclude(pk__in=resumable).values_list("pk", flat=True))
    stale += Cohort.objects.filter(
        status=CohortStatus.PENDING, created_at__lt=now - timedelta(seconds=settings.COHORT_RUN_TIMEOUT_SECONDS),
    ).values_list("pk", flat=True)
    reason = "The run stopped: its worker no longer renewed the run's lease."
    return [pk for pk in stale if cohort_fail(cohort_id=pk, reason=reason, is_stale=True, now=now)]


@dataclass(frozen=True)
class OrphanedRuns:
    """What the embedded start-up's recovery did: the cohorts failed (and refunded, or settled) and the live
    cohorts resumed (their runs queued again), by id."""

    failed: list[int]
    resumed: list[int]


def cohort_recover_orphaned(*, resume: bool = True) -> OrphanedRuns:
    """For the embedded server's start-up, when no worker of an earlier start can still be running, whatever
    the leases say: every pending or running replay cohort is failed and refunded, once; every pending or
    running live cohort is resumed instead (its run queued again, continuing from its checkpoint, even when
    its window ended while the server was down: the run then completes over the bars stored).

    `resume=False` only names the live cohorts that a later call will resume: for a process that ends before
    the server starts, since the server's process must run them (its background threads run the tasks). A
    micro-live deployment's cohort is failed as before: only its deployment runs it (with its broker), and
    nothing in the embedded mode resumes a deployment."""
    end_of_time = timezone.now() + timedelta(days=365_000)  # every lease and every wait has lapsed by then
    reason = "The server stopped while this cohort waited or ran; its capital was refunded at the next start."
    orphaned = Cohort.objects.filter(status__in=[CohortStatus.PENDING, CohortStatus.RUNNING]).order_by("pk")
    resumable = orphaned.filter(mode=CohortMode.LIVE, deployment_run__isnull=True)
    live = list(resumable.values_list("pk", flat=True))
    if resume:
        for pk in live:
            _live_run_requeue(pk)
    failed = [pk for pk in list(orphaned.exclude(pk__in=resumable).values_list("pk", flat=True))
              if cohort_fail(cohort_id=pk, reason=reason, is_stale=True, now=end_of_time)]
    return OrphanedRuns(failed=failed, resumed=live)


def _live_run_requeue(cohort_id: int) -> None:
    """Lets a new run take the live cohort over at once (its lease lapsed: no earlier run is alive) and
    queues that run after commit."""
    with transaction.atomic():
        Cohort.objects.filter(pk=cohort_id, status=CohortStatus.RUNNING).update(
            lease_expires_at=timezone.now() - timedelta(seconds=1))
        log.warning("cohort %s: the server stopped before its live run ended; queueing the run again", cohort_id)
        transaction.on_commit(lambda: enqueue("cohorts.tasks.cohort_run_live_task", cohort_id))
