"""The cohort-day benchmark workload: its market generator, agents and checksum.

Normative text: ``bench/WORKLOAD.md`` of the shared project documents. The
workload runs through the general engine with every parent rule disabled.
"""

from __future__ import annotations

import numpy as np

from .genomes import Genome
from .market import Market
from .metrics import max_drawdown
from .simulation import Result, run
from .spec import AgentSpec, CohortSpec

BANKROLL = 10_000.0
MINUTES_PER_DAY = 1440


def generate_market(n_symbols: int, days: int, seed: int = 42) -> Market:
    """Synthetic 24 h crypto bars: zero-drift GBM with an intraday volatility profile.

    Draws, in this order, from ``np.random.default_rng(seed)``: start prices, annual
    volatilities, then (T, S) blocks for returns, open gaps, upper and lower wicks,
    and volume noise.
    """
    rng = np.random.default_rng(seed)
    t_len, s_len = MINUTES_PER_DAY * days, n_symbols
    p0 = 10 ** rng.uniform(0, 4, s_len)
    vol = rng.uniform(0.4, 1.2, s_len)
    z, zg, zh, zl = (rng.standard_normal((t_len, s_len)) for _ in range(4))
    noise = rng.lognormal(0, 0.5, (t_len, s_len))
    minute = np.arange(t_len) % MINUTES_PER_DAY
    profile = 1 + 0.5 * np.cos(2 * np.pi * (minute - 840) / MINUTES_PER_DAY)
    sig = vol / np.sqrt(365 * MINUTES_PER_DAY) * profile[:, None]
    close = p0 * np.exp(np.cumsum(sig * z - sig**2 / 2, axis=0))
    prev = np.vstack([p0[None, :], close[:-1]])
    open_ = prev * np.exp(0.1 * sig * zg)
    high = np.maximum(open_, close) * np.exp(0.5 * sig * np.abs(zh))
    low = np.minimum(open_, close) * np.exp(-0.5 * sig * np.abs(zl))
    volume = noise * profile[:, None] * 1e6 / p0
    return Market(open_, high, low, close, volume)


def reference_genome(i: int) -> Genome:
    """Agent ``i`` of the workload: family ``i mod 3``, variant ``k = i div 3``."""
    fam, k = i % 3, i // 3
    if fam == 0:
        fast = 5 + 5 * (k % 6)
        slow = 2 * fast + 10 * ((k // 6) % 5)
        return Genome("ma_crossover", {"fast": fast, "slow": slow, "ma": "sma"})
    if fam == 1:
        lower = 20 + 5 * ((k // 4) % 3)
        return Genome("rsi_reversion", {"n": 7 + 7 * (k % 4), "lower": float(lower),
                                        "upper": float(100 - lower), "smoothing": "cutler"})
    n = 20 + 10 * (k % 10)
    return Genome("donchian_breakout", {"n": n, "exit_n": n // 2})


def reference_spec(n_agents: int) -> CohortSpec:
    """The workload's cohort: equal capital, sleeves, 10 bps fees, 5 bps slippage,
    long only, no leverage, and every parent rule disabled (non-binding)."""
    capital = BANKROLL / n_agents
    agents = tuple(AgentSpec(reference_genome(i), capital) for i in range(n_agents))
    return CohortSpec(agents=agents, fee_bps=10.0, slippage_bps=5.0, sizing="sleeve",
                      parent_capital=BANKROLL)


def summarise(result: Result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The workload's outputs per agent: final equity, trades (entry fills), max drawdown."""
    n_agents = result.equity.shape[0]
    return (result.final_equity, result.fills.entries_per_agent(n_agents),
            max_drawdown(result.equity))


def checksum(final: np.ndarray, trades: np.ndarray, mdd: np.ndarray) -> str:
    """``eq=Σ final;trades=Σ trades;mdd=Σ mdd`` in the workload's format."""
    return f"eq={final.sum():.4f};trades={int(trades.sum())};mdd={mdd.sum():.6f}"


def run_workload(market: Market, n_agents: int) -> str:
    """Run the workload on ``market`` through the engine; returns its checksum."""
    return checksum(*summarise(run(market, reference_spec(n_agents))))
