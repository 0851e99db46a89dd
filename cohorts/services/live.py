"""Live-paper cohorts: the engine steps bar by bar as a clock delivers the window's minutes.

Each bar is one database transaction: its new fills and their ledger postings (keys `cohort:C:fill:N`,
as a replay's), the checkpoint row (bars done, fills posted), the cohort's progress and, every
COHORT_LIVE_SCORES_EVERY_BARS bars, the agents' running equity, ROI and trades (so a page read mid-run
shows them), written only while the run's lease token holds the cohort's row lock. The engine's state
itself goes onto the checkpoint row every CHECKPOINT_EVERY_BARS bars, in its own fenced transaction after
the bar's broadcast. A run killed between bars is resumed from its checkpoint by the next run
(recovery queues it once the lease lapses): the engine, deterministic, steps again from its saved state
to the last bar done, and the run posts only the fills after those already in the ledger. At the
window's end the positions are closed and the run is scored, reconciled and settled by the replay's
own `_persist`, so the summary, reconciliation and capital return are a replay's.

`on_bar(cohort, window, t, result)`, when given, runs inside each bar's transaction after its writes
(a micro-live deployment sends the bar's new fills to its broker there, so its orders commit with the
fills); returning True ends the run at that bar, closed, scored and settled as at the window's end. A live
cohort without such a hook gets the guardian's (COHORT_LIVE_GUARD, a dotted path of `factory(cohort) -> guard`):
`guard(cohort, window, t, latest)` reads the bar's progress (cheap: no history is copied) and returns why the run
must stop — a halt by a circuit breaker or the kill switch — which ends the run at that bar the same way, the
reason kept as the cohort's status reason.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from cohorts import calendars, engine
from cohorts.models import (
    COHORT_STATES,
    Agent,
    Cohort,
    CohortCheckpoint,
    CohortMode,
    CohortStatus,
    SettlementKind,
)
from cohorts.selectors.market import FIELDS, BarWindow, bar_window
from cohorts.services.clocks import ReplayClock, WallClock, window_head
from cohorts.services.cohorts import _announce, _persist, engine_spec, run_fenced
from cohorts.services.lease import Heartbeat, LeaseLost, lease_expiry
from cohorts.services.ledger import bankroll_cash_account
from cohorts.services.ledger_postings import (
    CohortAccounts,
    OpenCosts,
    cohort_accounts_create,
    cohort_post_new_fills,
    cohort_settle,
    fill_amounts,
)
from neolight import faults
from neolight.errors import ApplicationError
from neolight.money import CENT, money_from_float

log = logging.getLogger(__name__)
LIVE_SHARE = 99  # percent of the progress bar for the bars; the last percent is closing, scoring and settling
# The engine's state is saved every this many bars (and with the first): saving it costs more than a bar's
# postings with hundreds of agents (and grows with the day), and a resumed run steps again over at most this
# many bars.
CHECKPOINT_EVERY_BARS = 10


OnBar = Callable[[Cohort, BarWindow, int, engine.Result], bool]
Guard = Callable[[Cohort, BarWindow, int, engine.Progress], "str | None"]


def _guard_of(cohort: Cohort) -> Guard | None:
    """The guardian's per-bar guard of the cohort's run (COHORT_LIVE_GUARD; empty: none)."""
    path = settings.COHORT_LIVE_GUARD
    return import_string(path)(cohort) if path else None


def cohort_run_live(*, cohort_id: int, clock: ReplayClock | WallClock,
                    progress: Callable[[int], None] | None = None, on_bar: OnBar | None = None) -> Cohort:
    """Runs a live cohort bar by bar as `clock` delivers its window, to completion.

    Takes a pending live cohort, or resumes a running one whose lease has lapsed (its worker died)
    from its checkpoint; any other cohort is returned untouched. On an error the cohort fails and
    its capital is settled once (`cohort_fail`).
    """
    began = time.perf_counter()
    token = uuid.uuid4()
    cohort, resumed = _take_lease(cohort_id, token)
    if cohort is None:
        return Cohort.objects.get(pk=cohort_id)
    _announce(cohort, "cohort.started", progress=cohort.progress, mode=CohortMode.LIVE, resumed=resumed)
    from assistant.services.narration import narrate_on_commit  # late: the assistant builds on this app
    narrate_on_commit("cohort.resumed" if resumed else "cohort.started", cohort=cohort)
    remaining = max(0.0, (cohort.window_end - timezone.now()).total_seconds())

    def work() -> None:
        window, result = _run_bars(cohort, clock, token, progress, on_bar)
        _persist(cohort, window, result, began, token)

    with Heartbeat(cohort_id=cohort_id, token=token, run_timeout=remaining + settings.COHORT_RUN_TIMEOUT_SECONDS):
        return run_fenced(cohort, token, work)


def _take_lease(cohort_id: int, token: uuid.UUID) -> tuple[Cohort | None, bool]:
    """(the cohort, whether it resumes): a pending live cohort moves to running under `token`; a running
    live one whose lease has lapsed is taken over. (None, False) for anything else."""
    cohort = COHORT_STATES.move(cohort_id, CohortStatus.RUNNING, guard=lambda c: c.mode == CohortMode.LIVE,
                                started_at=timezone.now(), lease_token=token, lease_expires_at=lease_expiry())
    if cohort is not None:
        return cohort, False
    taken = Cohort.objects.filter(pk=cohort_id, mode=CohortMode.LIVE, status=CohortStatus.RUNNING,
                                  lease_expires_at__lt=timezone.now()).update(lease_token=token,
                                                                              lease_expires_at=lease_expiry())
    if not taken:
        return None, False
    log.info("cohort %s: resuming the live run from its checkpoint", cohort_id)
    return Cohort.objects.get(pk=cohort_id), True


def _bar_of(window: BarWindow, t: int) -> dict[str, np.ndarray]:
    """Bar t of `window` as `Simulation.step` takes it: OHLCV, which symbols traded, its session day."""
    row = {f: getattr(window, f)[t] for f in FIELDS}
    row["tradable"] = window.present[t]
    row["day"] = calendars.day_numbers(window.timestamps[t : t + 1], window.day_calendar)[0]
    return row


def _run_bars(cohort: Cohort, clock, token: uuid.UUID, progress,
              on_bar: OnBar | None = None) -> tuple[BarWindow, engine.Result]:
    """Steps the window's bars from the checkpoint (or the first bar), one transaction per bar; returns the
    bars and the result with every position closed at the window's end.

    A bar's work grows with its new fills and the agents, not with the bars and fills before it: the engine
    hands over only the fills after those posted (`Simulation.progress`), and the positions' average costs
    and the agents' trade counts are carried from bar to bar."""
    spec = engine_spec(cohort)
    feed = clock.feed(symbols=list(cohort.symbols), start=cohort.window_start, end=cohort.window_end)
    agents = list(cohort.agents.order_by("index"))
    accounts = cohort_accounts_create(cohort=cohort, agents=agents, symbols=cohort.symbols)
    checkpoint = CohortCheckpoint.objects.filter(cohort=cohort).first()
    if checkpoint is not None:
        window = feed.window(checkpoint.bar)
        simulation = _restored(checkpoint, spec, window)
        posted, saved = checkpoint.fills, checkpoint.data_bar
    else:
        window = feed.window(0)
        simulation = engine.Simulation(engine.Market.empty(tuple(window.symbols)), spec)
        posted, saved = 0, None
    earlier = simulation.progress(0).fills.part(0, posted)  # once: what a resumed run had posted before
    costs, trades = OpenCosts(), earlier.entries_per_agent(len(agents))
    fill_amounts(earlier, costs)
    every = max(1, settings.COHORT_LIVE_SCORES_EVERY_BARS)
    guard = _guard_of(cohort) if on_bar is None else None  # a deployment's hook guards its own run
    for t in feed.arrivals(simulation.bar):
        window = feed.window(t + 1)
        simulation.step(_bar_of(window, t))
        latest = simulation.progress(posted)
        trades += latest.fills.entries_per_agent(len(agents))
        percent = min(LIVE_SHARE, int(LIVE_SHARE * simulation.bar / max(feed.expected, 1)))
        data = simulation.checkpoint_bytes() if saved is None else None  # the row is created with a state
        scores = trades if simulation.bar % every == 0 else None
        moved = percent if percent != cohort.progress else None
        with transaction.atomic():
            _bar_commit(cohort, agents, accounts, window, simulation.bar, latest, costs, data, moved, token, scores)
            # the hook reads the whole result (every fill and curve so far): only a deployment's run pays for it
            stop = on_bar is not None and on_bar(cohort, window, t, simulation.result())
            halt = guard(cohort, window, t, latest) if guard is not None else None
            if halt:
                Cohort.objects.filter(pk=cohort.pk).update(status_reason=f"Ended early: {halt}"[:2000])
                stop = True
        cohort.progress = percent
        saved = simulation.bar if saved is None else saved
        faults.point("live.after_bar")
        posted = latest.n_fills
        _announce(cohort, "cohort.progress", progress=percent, bar=t, fills=posted,
                  ts=str(np.datetime_as_string(window.timestamps[t], unit="m")), **live_figures(latest, spec))
        if progress:
            progress(percent)
        if stop:
            break
        if simulation.bar - saved >= CHECKPOINT_EVERY_BARS:
            _state_save(cohort, simulation, token)
            saved = simulation.bar
    if simulation.bar < 2:
        raise ApplicationError("The window holds fewer than two bars; nothing can be traded.", field="start")
    simulation.close_out()
    return window, simulation.result()


LEADERS_SHOWN = 3


def live_figures(latest: engine.Progress, spec: engine.CohortSpec) -> dict:
    """What a live cohort's page shows after each bar: the parent's equity (a decimal string, whole cents) and
    ROI so far, and the agents leading by ROI (index, ROI as a fraction). Engine floats, read for display."""
    roi = _roi(latest.equity, spec.capital())
    leaders = np.argsort(-roi, kind="stable")[:LEADERS_SHOWN]
    parent = latest.parent_equity
    return {"equity": str(money_from_float(parent).quantize(CENT)), "roi": round(parent / spec.bankroll - 1.0, 6),
            "leaders": [{"agent": int(i), "roi": round(float(roi[i]), 6)} for i in leaders]}


def _roi(equity: np.ndarray, capital: np.ndarray) -> np.ndarray:
    return np.divide(equity, capital, out=np.zeros_like(equity), where=capital > 0) - 1.0


def _bar_commit(cohort: Cohort, agents, accounts: CohortAccounts, window: BarWindow, bar: int,
                latest: engine.Progress, costs: OpenCosts, data: bytes | None, percent: int | None,
                token: uuid.UUID, trades: np.ndarray | None) -> None:
    """One bar's writes, in the caller's transaction, fenced by the lease token under the row lock: the new
    fills, the checkpoint row (with the engine's state when `data` is given), the progress when it moved, and
    with `trades` the agents' running scores."""
    if COHORT_STATES.lock(cohort.pk, status=CohortStatus.RUNNING, guard=lambda c: c.lease_token == token) is None:
        raise LeaseLost
    cohort_post_new_fills(cohort=cohort, agents=agents, accounts=accounts, window=window, fills=latest.fills,
                          start=latest.first, costs=costs)
    values = {"bar": bar, "fills": latest.n_fills} | ({} if data is None else {"data": data, "data_bar": bar})
    if not CohortCheckpoint.objects.filter(cohort=cohort).update(**values):  # the first bar creates the row
        CohortCheckpoint.objects.create(cohort=cohort, **values)
    if percent is not None:
        Cohort.objects.filter(pk=cohort.pk).update(progress=percent)
    if trades is not None:
        _running_scores_save(agents, latest.equity, trades)


def _running_scores_save(agents, equity: np.ndarray, trades: np.ndarray) -> None:
    """The agents' equity at the last close, ROI on capital and trades so far, so a page read mid-run shows
    them; the final scoring overwrites them with a replay's scores.

    On PostgreSQL one UPDATE … FROM a VALUES list; on SQLite (in-process, no round trips) one UPDATE per agent
    through executemany (UPDATE … FROM needs SQLite 3.33, newer than Django asks for). Not the ORM's
    bulk_update: it builds a CASE per row and field, which costs far more than a bar's postings."""
    field = Agent._meta.get_field
    money, ratio, count = field("final_equity"), field("roi"), field("trades")
    roi = _roi(equity, np.array([float(agent.capital) for agent in agents]))
    rows = [(agent.pk, money.get_db_prep_value(money_from_float(value), connection), share, n)
            for agent, value, share, n in zip(agents, equity.tolist(), roi.tolist(), trades.tolist(), strict=True)]
    name = connection.ops.quote_name
    table, key = name(Agent._meta.db_table), name(Agent._meta.pk.column)
    columns = [name(f.column) for f in (money, ratio, count)]
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            cursor.executemany(f"UPDATE {table} SET {columns[0]} = %s, {columns[1]} = %s, {columns[2]} = %s "
                               f"WHERE {key} = %s", [(*row[1:], row[0]) for row in rows])
            return
        values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
        cursor.execute(f"WITH v(id, equity, roi, trades) AS (VALUES {values}) UPDATE {table} SET {columns[0]} = "
                       f"v.equity, {columns[1]} = v.roi, {columns[2]} = v.trades FROM v WHERE {table}.{key} = v.id",
                       [x for row in rows for x in row])


def _state_save(cohort: Cohort, simulation: engine.Simulation, token: uuid.UUID) -> None:
    """The engine's state after the bars done, onto the checkpoint row, in its own transaction after the bar's
    broadcast: its cost grows with the run's history, so no bar's fills wait for it. A run stopped before it
    commits resumes from the state saved before and steps again over the bars since."""
    data = simulation.checkpoint_bytes()
    with transaction.atomic():
        if COHORT_STATES.lock(cohort.pk, status=CohortStatus.RUNNING, guard=lambda c: c.lease_token == token) is None:
            raise LeaseLost
        CohortCheckpoint.objects.filter(cohort=cohort).update(data=data, data_bar=simulation.bar)


def _restored(checkpoint: CohortCheckpoint, spec: engine.CohortSpec, window: BarWindow) -> engine.Simulation:
    """The simulation where `checkpoint` stands: the engine's saved state, stepped again over the bars done
    since (`window` holds at least those); its fills then match the ledger's."""
    simulation = engine.Simulation.from_checkpoint(window_head(window, checkpoint.data_bar).market(), spec,
                                                   bytes(checkpoint.data))
    for t in range(checkpoint.data_bar, checkpoint.bar):
        simulation.step(_bar_of(window, t))
    if simulation.n_fills != checkpoint.fills:
        raise engine.CheckpointError(f"the resumed run made {simulation.n_fills} fills over "
                                     f"{checkpoint.bar} bars; the ledger holds {checkpoint.fills}")
    return simulation


def live_settle_failed(*, cohort: Cohort) -> None:
    """Settles a failed live cohort that has posted fills (call inside `cohort_fail`'s transaction): its
    positions are closed at the last bar it saw, those fills posted, and what its agents hold goes back
    to the bankroll (a return: the fills already in the ledger cannot be refunded away)."""
    checkpoint = CohortCheckpoint.objects.get(cohort=cohort)
    window = window_head(bar_window(symbols=list(cohort.symbols), start=cohort.window_start, end=cohort.window_end),
                         checkpoint.bar)
    simulation = _restored(checkpoint, engine_spec(cohort), window)
    simulation.close_out()
    agents = list(cohort.agents.order_by("index"))
    accounts = cohort_accounts_create(cohort=cohort, agents=agents, symbols=cohort.symbols)
    fills = simulation.progress(0).fills
    costs = OpenCosts()
    fill_amounts(fills.part(0, checkpoint.fills), costs)
    cohort_post_new_fills(cohort=cohort, agents=agents, accounts=accounts, window=window,
                          fills=fills.part(checkpoint.fills), start=checkpoint.fills, costs=costs)
    cohort_settle(cohort=cohort, accounts=accounts, source_cash=bankroll_cash_account(cohort.source),
                  kind=SettlementKind.RETURN)


def has_live_fills(cohort: Cohort) -> bool:
    return cohort.mode == CohortMode.LIVE and CohortCheckpoint.objects.filter(cohort=cohort, fills__gt=0).exists()
