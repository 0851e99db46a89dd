"""The score a genome is tuned and ranked by: a risk-adjusted return with a trade floor.

    score = clip(Sharpe, -sharpe_cap, sharpe_cap) - drawdown_penalty · 100 · max_drawdown
                                                          when trades >= min_trades
    score = -sharpe_cap - (min_trades - trades)           otherwise

Sharpe is the engine's annualised per-minute Sharpe (``cohorts.engine.metrics``), max
drawdown a fraction of the agent's peak equity (so a 3% drawdown costs 3 points at a
penalty of 1). The cap keeps one lucky trade from dominating a study; the floor ranks a
genome that barely trades below every genome that does, and still rewards getting
closer to the floor, so the tuner is pushed towards parameters that trade.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cohorts import engine


@dataclass(frozen=True)
class Objective:
    """The scoring knobs (see the module docstring for the formula)."""

    min_trades: int = 5
    drawdown_penalty: float = 1.0
    sharpe_cap: float = 30.0

    def scores(self, metrics: engine.Metrics) -> np.ndarray:
        """One score per agent of ``metrics``, (A,) float64, finite."""
        sharpe = np.clip(np.nan_to_num(metrics.sharpe), -self.sharpe_cap, self.sharpe_cap)
        risk_adjusted = sharpe - self.drawdown_penalty * 100.0 * np.nan_to_num(metrics.max_drawdown)
        shortfall = np.maximum(self.min_trades - metrics.trades, 0)
        return np.where(shortfall > 0, -self.sharpe_cap - shortfall, risk_adjusted).astype(np.float64)


@dataclass(frozen=True)
class Setup:
    """How a genome is replayed for scoring: alone on ``capital``, with the cohort's costs,
    without the parent-wallet rules (they depend on the other agents); Sharpe annualised by
    ``periods_per_year`` (the bars' trading minutes per year)."""

    capital: float = 1000.0
    fee_bps: float = 10.0
    slippage_bps: float = 5.0
    max_volume_pct: float | None = 5.0
    periods_per_year: float = engine.PERIODS_PER_YEAR


DEFAULT_OBJECTIVE = Objective()
DEFAULT_SETUP = Setup()


def evaluate(market: engine.Market, genomes: list[engine.Genome], *, objective: Objective = DEFAULT_OBJECTIVE,
             setup: Setup = DEFAULT_SETUP) -> np.ndarray:
    """Scores of ``genomes`` replayed side by side over ``market`` (one engine run), (G,)."""
    if not genomes:
        return np.zeros(0)
    spec = engine.cohort(list(genomes), bankroll=setup.capital * len(genomes), fee_bps=setup.fee_bps,
                         slippage_bps=setup.slippage_bps, max_volume_pct=setup.max_volume_pct,
                         flatten_at_end=True)
    return objective.scores(engine.compute_metrics(engine.run(market, spec), periods_per_year=setup.periods_per_year))
