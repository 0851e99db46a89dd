"""Small hand-made markets and cohorts for the engine tests."""

from __future__ import annotations

import numpy as np

from cohorts.engine import AgentSpec, CohortSpec, Genome, Market, ParentRules, run


def market_from_closes(closes, opens=None, volume: float = 1_000.0) -> Market:
    """Bars whose open is the previous close (or ``opens``), wicks at the body."""
    close = np.asarray(closes, dtype=np.float64)
    if close.ndim == 1:
        close = close[:, None]
    if opens is None:
        opens = np.vstack([close[:1], close[:-1]])
    open_ = np.asarray(opens, dtype=np.float64).reshape(close.shape)
    return Market(open_, np.maximum(open_, close), np.minimum(open_, close), close,
                  np.full(close.shape, volume))


def free_spec(genomes, capital: float = 1_000.0, rules: ParentRules | None = None,
              **kwargs) -> CohortSpec:
    """One agent per genome, no fees, no slippage, rules off unless given."""
    agents = tuple(AgentSpec(g, capital) for g in genomes)
    return CohortSpec(agents=agents, fee_bps=0.0, slippage_bps=0.0,
                      rules=rules or ParentRules(), **kwargs)


def trades(genome: Genome, market: Market) -> list[tuple[int, int, int, int]]:
    """(bar, symbol, side, kind) of every fill of a single frictionless agent."""
    f = run(market, free_spec([genome])).fills
    return list(zip(f.bar.tolist(), f.symbol.tolist(), f.side.tolist(), f.kind.tolist(), strict=True))
