"""How a cohort's bankroll is split over its agents: equal, inverse volatility, or by past scores."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from django.conf import settings

from cohorts import engine
from cohorts.models import AllocationPolicy, Cohort, CohortStatus
from cohorts.selectors.cohorts import agent_genome
from cohorts.selectors.market import bar_window, trading_hours_start

MIN_LOOKBACK_BARS = 120
PERFORMANCE_CANDIDATES = 50  # earlier cohorts examined for one that can inform a performance-weighted split


def weights(*, policy: str, genomes: Sequence[engine.Genome], data) -> tuple[np.ndarray, str]:
    """Positive weights, one per genome, and a note for the cohort's compliance record."""
    if policy == AllocationPolicy.RISK_WEIGHTED:
        return _inverse_volatility(genomes, data)
    if policy == AllocationPolicy.PERFORMANCE_WEIGHTED:
        return _previous_scores(genomes, data)
    return np.ones(len(genomes)), "Allocation: equal shares."


def _inverse_volatility(genomes: Sequence[engine.Genome], data) -> tuple[np.ndarray, str]:
    """Each agent's weight is 1 / the volatility of its returns, replayed over the lookback before the window
    (trading hours of the symbols: wall hours for 24/7, an exchange's sessions only)."""
    hours = settings.ALLOCATION_LOOKBACK_HOURS
    start = trading_hours_start(symbols=list(data.symbols), end=data.start, hours=hours)
    window = bar_window(symbols=list(data.symbols), start=start, end=data.start)
    if window.shape[0] < MIN_LOOKBACK_BARS:
        return np.ones(len(genomes)), f"Allocation: equal shares (fewer than {MIN_LOOKBACK_BARS} bars in the " \
                                      f"{hours} trading hours before the window, so no volatility to weigh by)."
    market = window.market()
    spec = engine.cohort(list(genomes), bankroll=float(data.bankroll))
    result = engine.run(market, spec)
    volatility = engine.metrics.returns(result.equity, result.capital).std(axis=1)
    active = volatility > 0
    if not active.any():
        return np.ones(len(genomes)), "Allocation: equal shares (no agent traded in the lookback)."
    floor = np.median(volatility[active])
    weight = 1.0 / np.where(active, np.maximum(volatility, floor * 0.1), floor)
    return weight, f"Allocation: inverse volatility of each agent's returns over the {hours} trading hours before the window."


def _previous_scores(genomes: Sequence[engine.Genome], data) -> tuple[np.ndarray, str]:
    """Weight ∝ exp(Sharpe) of each genome in the latest earlier cohort that can inform this one.

    Only a completed cohort whose window ended at or before this window's start, that ran every genome
    of this one and shares at least one symbol with it, counts; it is the one whose window ended last.
    Nothing later (another cohort, newer bars) can change the weights. Otherwise: equal shares.
    """
    wanted = {g.key() for g in genomes}
    candidates = (Cohort.objects.filter(status=CohortStatus.COMPLETED, window_end__lte=data.start)
                  .order_by("-window_end", "-pk").prefetch_related("agents")[:PERFORMANCE_CANDIDATES])
    for previous in candidates:
        if not set(previous.symbols) & set(data.symbols):
            continue
        scores = {agent_genome(agent).key(): agent.sharpe or 0.0 for agent in previous.agents.all()}
        if not wanted <= set(scores):
            continue
        known = np.array([scores[g.key()] for g in genomes])
        weight = np.exp(np.clip(known, -5.0, 5.0) - np.clip(known, -5.0, 5.0).max())
        return weight, (f"Allocation: weighted by exp(Sharpe) in cohort {previous.pk} (window ended "
                        f"{previous.window_end:%Y-%m-%d %H:%M} UTC, symbols {', '.join(previous.symbols)}).")
    return np.ones(len(genomes)), ("Allocation: equal shares (no completed cohort whose window ended at or before "
                                   f"{data.start:%Y-%m-%d %H:%M} UTC ran these genomes on any of these symbols).")
