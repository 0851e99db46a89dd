"""Monte Carlo VaR of a wallet of components (agents, deployments) and the capital governor's weights (numpy; no Django).

Monte Carlo of a wallet. The components' per-step log returns log(1 + r) are fitted by one multivariate normal
law (mean vector m, covariance S with ddof=1). Over a horizon of h independent steps each component's log return
is then exactly N(h·m, h·S), so a path is one correlated draw of A numbers (no loop over steps): each component
compounds its own return over the horizon and the wallet's return is the weighted sum of the components' simple
returns (weights: shares of the wallet's value; what is not allocated is cash and returns 0). With one component
of weight 1 this is `risk.engine.var.monte_carlo_var`'s normal model. VaR and CVaR of the simulated horizon returns
follow the conventions of `risk.engine.var` (the same percentile and worst-k mean, the same money conversion).

Governor. Each component's raw weight is its performance (its Sharpe when both Sharpe and ROI are positive, else
nothing) divided by its volatility (inverse-volatility scaling); components whose returns correlate above
`max_correlation` (directly or through others) form one group, and a group's share of the total is at most
`group_cap` (a single component's too); what a cap takes off goes to the uncapped groups in proportion to their raw
weights, and what no group may take stays in cash.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from .var import VarResult, _result  # one home for the VaR/CVaR conventions and the money conversion

LEVELS = (0.95, 0.99)


def portfolio_monte_carlo(returns: np.ndarray, weights: np.ndarray, *, seed: int | np.random.Generator,
                          horizon: int = 1, n_paths: int = 100_000, levels: tuple[float, ...] = LEVELS,
                          portfolio_value: Decimal | None = None) -> dict[float, VarResult]:
    """VaR/CVaR at each level of a wallet whose components have per-step `returns` (T, A) and `weights` (A,).

    One set of `n_paths` correlated draws serves every level. Deterministic for a seed."""
    values = np.asarray(returns, dtype=np.float64)
    shares = np.asarray(weights, dtype=np.float64)
    if values.ndim != 2 or shares.shape != (values.shape[1],):
        raise ValueError(f"returns must be (T, A) and weights (A,), got {values.shape} and {shares.shape}")
    if values.shape[0] < 2:
        raise ValueError("the normal model needs at least 2 returns to fit a covariance")
    if not np.isfinite(values).all() or (values <= -1).any():
        raise ValueError("returns must be finite and above -100%")
    if not np.isfinite(shares).all() or (shares < 0).any() or shares.sum() > 1 + 1e-9:
        raise ValueError("weights must be non-negative shares of the wallet summing to at most 1")
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer of steps, got {horizon!r}")
    if not isinstance(n_paths, int) or n_paths < 2:
        raise ValueError(f"n_paths must be an integer of at least 2, got {n_paths!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    logs = np.log1p(values)
    mean = logs.mean(axis=0) * horizon
    covariance = np.atleast_2d(np.cov(logs, rowvar=False, ddof=1)) * horizon
    factor = _factor(covariance)
    draws = rng.standard_normal((n_paths, len(mean))) @ factor.T + mean
    outcomes = np.expm1(draws) @ shares
    return {level: _result("monte_carlo_portfolio", outcomes, level, horizon, values.shape[0], portfolio_value)
            for level in levels}


def _factor(covariance: np.ndarray) -> np.ndarray:
    """A matrix L with L Lᵀ = covariance (Cholesky, or the symmetric root when it is only semi-definite)."""
    try:
        return np.linalg.cholesky(covariance)
    except np.linalg.LinAlgError:
        eigenvalues, vectors = np.linalg.eigh(covariance)
        return vectors * np.sqrt(np.clip(eigenvalues, 0.0, None))


@dataclass(frozen=True)
class GovernorWeights:
    """Proposed shares of the total (A,), their sum at most 1 (the rest is cash), and why."""

    weights: np.ndarray
    raw: np.ndarray  # performance / volatility, before the caps (0: no allocation)
    volatility: np.ndarray  # per-step standard deviation of each component's returns
    groups: tuple[tuple[int, ...], ...]  # components sharing one cap (correlated above the threshold)
    capped: tuple[int, ...]  # indexes of the groups whose cap bound


def governor_weights(returns: np.ndarray, sharpe: np.ndarray, roi: np.ndarray, *, max_correlation: float,
                     group_cap: float) -> GovernorWeights:
    """Performance-weighted, volatility-scaled, correlation-capped shares of the components (module docstring).

    `returns` (T, A) per-step returns; `sharpe`, `roi` (A,) (NaN: unknown, no allocation)."""
    values = np.asarray(returns, dtype=np.float64)
    sharpe, roi = np.asarray(sharpe, dtype=np.float64), np.asarray(roi, dtype=np.float64)
    if values.ndim != 2 or sharpe.shape != (values.shape[1],) or roi.shape != sharpe.shape:
        raise ValueError("returns must be (T, A) and sharpe, roi (A,)")
    if not 0 < group_cap <= 1 or not -1 <= max_correlation <= 1:
        raise ValueError("group_cap must lie in (0, 1] and max_correlation in [-1, 1]")
    volatility = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros(values.shape[1])
    earning = np.isfinite(sharpe) & np.isfinite(roi) & (sharpe > 0) & (roi > 0) & (volatility > 0)
    raw = np.where(earning, np.where(earning, sharpe, 0.0) / np.where(volatility > 0, volatility, 1.0), 0.0)
    groups = _groups(values, earning, max_correlation)
    weights, capped = _capped(raw, groups, group_cap)
    return GovernorWeights(weights=weights, raw=raw, volatility=volatility, groups=groups, capped=capped)


def _groups(values: np.ndarray, members: np.ndarray, max_correlation: float) -> tuple[tuple[int, ...], ...]:
    """Connected components of "correlates above the threshold" among `members`; the others alone."""
    count = values.shape[1]
    parent = list(range(count))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    chosen = np.flatnonzero(members)
    if chosen.size > 1 and values.shape[0] > 2:
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = np.corrcoef(values[:, chosen], rowvar=False)
        for i, j in zip(*np.nonzero(np.triu(np.nan_to_num(correlation, nan=0.0) > max_correlation, k=1)), strict=True):
            parent[root(int(chosen[i]))] = root(int(chosen[j]))
    found: dict[int, list[int]] = {}
    for i in range(count):
        found.setdefault(root(i), []).append(i)
    return tuple(tuple(g) for g in found.values())


def _capped(raw: np.ndarray, groups: tuple[tuple[int, ...], ...], cap: float) -> tuple[np.ndarray, tuple[int, ...]]:
    """Shares proportional to `raw`, each group at most `cap`; the excess goes to the uncapped groups (water-filling)."""
    weights = np.zeros_like(raw)
    totals = np.array([raw[list(g)].sum() for g in groups])
    free = [k for k in range(len(groups)) if totals[k] > 0]
    capped: list[int] = []
    remaining = 1.0
    while free and remaining > 1e-15:
        scale = remaining / totals[free].sum()
        over = [k for k in free if totals[k] * scale > cap + 1e-12]
        if not over:
            for k in free:
                weights[list(groups[k])] = raw[list(groups[k])] * scale
            break
        for k in over:
            weights[list(groups[k])] = raw[list(groups[k])] / totals[k] * cap
            remaining -= cap
            capped.append(k)
            free.remove(k)
    return weights, tuple(sorted(capped))
