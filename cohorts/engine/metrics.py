"""Per-agent performance metrics and the cohort's return correlations (pure, vectorised).

Returns are simple per-bar returns of each agent's equity, the first one taken
against its capital. Annualisation: by the trading minutes per year of the bars'
calendar (``periods_per_year``): ``365 · 1440`` for crypto, which trades around
the clock (``PERIODS_PER_YEAR``, the default), ``252 · 390`` for XNYS's regular
session. Sharpe = mean / std (ddof=1) · sqrt(periods per year); Sortino = mean /
downside deviation · sqrt(periods per year), where the downside deviation is
sqrt(mean(min(r, 0)²)); no risk-free rate (intraday). Max drawdown counts the
capital as the first peak. VaR and expected shortfall (CVaR) at 95% are historical:
the 5th percentile of the per-bar returns (linear interpolation) and the mean of
the returns at or below it, both as returns (negative = a loss). These are the
definitions of empyrical (and the tests check them against it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PERIODS_PER_YEAR = 365 * 1440
BARS_PER_HOUR = 60
FEW_TRADES = 10  # trades at which the confidence score's trade penalty halves it
TAIL = 0.05  # VaR / expected shortfall cut-off


def max_drawdown(equity: np.ndarray) -> np.ndarray:
    """``max_t (1 - E[t] / max_{u<=t} E[u])`` per row of (A, T) equity; (A,), >= 0."""
    if equity.shape[-1] == 0:
        return np.zeros(equity.shape[:-1])
    peak = np.maximum.accumulate(equity, axis=-1)
    return (1.0 - equity / peak).max(axis=-1)


def max_drawdown_amount(equity: np.ndarray) -> np.ndarray:
    """Largest fall from a running peak, in currency, per row of (A, T); (A,)."""
    if equity.shape[-1] == 0:
        return np.zeros(equity.shape[:-1])
    return (np.maximum.accumulate(equity, axis=-1) - equity).max(axis=-1)


def returns(equity: np.ndarray, capital: np.ndarray) -> np.ndarray:
    """Per-bar simple returns (A, T); the first bar's is against ``capital`` (A,)."""
    prev = np.concatenate([capital[:, None], equity[:, :-1]], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = equity / prev - 1.0
    return np.where(prev > 0, r, 0.0)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return np.array([0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in np.ravel(x)])


def probabilistic_sharpe(r: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
    """Probability that the true per-bar Sharpe ratio exceeds 0 (Bailey and López de Prado):
    ``Φ(SR·sqrt(n-1) / sqrt(1 - γ3·SR + (γ4-1)/4·SR²))`` with SR the per-bar Sharpe,
    γ3 the skewness and γ4 the (non-excess) kurtosis of the n returns. 0.5 if flat.
    Only the bars where ``active`` (T,) is True count as observations: a minute on which
    nothing traded is no evidence of anything."""
    if active is not None:
        r = r[:, np.asarray(active, dtype=bool)]
    n = r.shape[1]
    mean = r.mean(axis=1)
    std = r.std(axis=1)
    safe = np.where(std > 0, std, 1.0)
    sr = np.where(std > 0, mean / safe, 0.0)
    z = (r - mean[:, None]) / safe[:, None]
    skew = (z**3).mean(axis=1)
    kurt = (z**4).mean(axis=1)
    denom = np.sqrt(np.maximum(1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2, 1e-12))
    stat = np.where(std > 0, sr * math.sqrt(max(n - 1, 0)) / denom, 0.0)
    return _normal_cdf(stat)


def confidence(r: np.ndarray, trades: np.ndarray, active: np.ndarray | None = None) -> np.ndarray:
    """Confidence in [0, 1]: the probabilistic Sharpe ratio (over the ``active`` bars) times
    ``trades / (trades + 10)``, so a record of few trades cannot score high however good it looks."""
    return probabilistic_sharpe(r, active) * trades / (trades + FEW_TRADES)


def value_at_risk(r: np.ndarray, cutoff: float = TAIL) -> np.ndarray:
    """Historical VaR per row of (A, T) returns: their ``cutoff`` quantile (a return; (A,))."""
    if r.shape[1] == 0:
        return np.zeros(r.shape[0])
    return np.percentile(r, 100.0 * cutoff, axis=1)


def expected_shortfall(r: np.ndarray, cutoff: float = TAIL) -> np.ndarray:
    """Historical CVaR per row: the mean of the returns at or below the VaR; (A,)."""
    if r.shape[1] == 0:
        return np.zeros(r.shape[0])
    tail = r <= value_at_risk(r, cutoff)[:, None]
    return (r * tail).sum(axis=1) / tail.sum(axis=1)


def correlation(r: np.ndarray) -> np.ndarray:
    """Correlation matrix (A, A) of the agents' returns; 0 off the diagonal for flat agents."""
    centred = r - r.mean(axis=1, keepdims=True)
    norm = np.sqrt((centred**2).sum(axis=1))
    safe = np.where(norm > 0, norm, 1.0)
    corr = (centred @ centred.T) / np.outer(safe, safe)
    corr = np.clip(corr, -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    return corr


@dataclass(frozen=True)
class Metrics:
    """Per-agent arrays (A,) and the cohort's correlation matrix (A, A).

    ``hourly_roi`` is the mean return per hour (the bars' clock hours when given, else
    hours of 60 bars; an incomplete last hour included); ``hourly_returns`` (A, H) holds
    each hour's return. ``utilisation`` is the mean of gross exposure / equity over the
    bars, in percent. ``value_at_risk`` / ``expected_shortfall``: per-bar, at 95%.
    """

    roi: np.ndarray
    hourly_roi: np.ndarray
    hourly_returns: np.ndarray
    realised_pnl: np.ndarray
    unrealised_pnl: np.ndarray
    variance: np.ndarray
    sharpe: np.ndarray
    sortino: np.ndarray
    max_drawdown: np.ndarray
    max_drawdown_vs_parent: np.ndarray
    utilisation: np.ndarray
    leverage_breaches: np.ndarray
    trades: np.ndarray
    win_rate: np.ndarray
    confidence: np.ndarray
    correlation: np.ndarray
    value_at_risk: np.ndarray
    expected_shortfall: np.ndarray


def hour_ends(n_bars: int, hours: np.ndarray | None = None) -> np.ndarray:
    """Index of the last bar of each hour: of each run of equal ``hours`` (T,) (e.g. the bars'
    clock hours), else of every 60 bars; the last bar always ends an hour."""
    if n_bars == 0:
        return np.zeros(0, dtype=np.int64)
    if hours is not None:
        hours = np.asarray(hours)
        return np.append(np.flatnonzero(hours[1:] != hours[:-1]), n_bars - 1)
    ends = np.arange(BARS_PER_HOUR - 1, n_bars, BARS_PER_HOUR)
    if n_bars % BARS_PER_HOUR:
        ends = np.append(ends, n_bars - 1)
    return ends


def _hourly(equity: np.ndarray, capital: np.ndarray, hours: np.ndarray | None = None) -> np.ndarray:
    ends = hour_ends(equity.shape[1], hours)
    marks = np.concatenate([capital[:, None], equity[:, ends]], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(marks[:, :-1] > 0, marks[:, 1:] / marks[:, :-1] - 1.0, 0.0)


def round_trips(fills, n_agents: int) -> tuple[np.ndarray, np.ndarray]:
    """Closed round trips and winning ones (net P&L > 0) per agent, (A,) each."""
    if len(fills) == 0:
        return np.zeros(n_agents, dtype=np.int64), np.zeros(n_agents, dtype=np.int64)
    order = np.lexsort((fills.bar, fills.symbol, fills.agent))
    agent, symbol = fills.agent[order], fills.symbol[order]
    trip = np.cumsum(fills.kind[order] == 1)  # one id per opening fill, in cell order
    closes = fills.kind[order] == -2
    keys, inverse = np.unique(np.stack([agent, symbol, trip]), axis=1, return_inverse=True)
    pnl = np.bincount(inverse.ravel(), weights=fills.pnl[order], minlength=keys.shape[1])
    closed = np.bincount(inverse.ravel()[closes], minlength=keys.shape[1]) > 0
    owners = keys[0]
    done = np.bincount(owners[closed], minlength=n_agents)
    wins = np.bincount(owners[closed & (pnl > 0)], minlength=n_agents)
    return done, wins


def compute_metrics(result, periods_per_year: float = PERIODS_PER_YEAR, active: np.ndarray | None = None,
                    hours: np.ndarray | None = None) -> Metrics:
    """All metrics of a ``Result``; pure (the result is not modified).

    ``active`` (T,) bool: bars at which something traded (the confidence score's observations;
    None: all); ``hours`` (T,): each bar's clock hour, for the hourly returns (None: 60-bar hours).
    """
    equity, capital = result.equity, result.capital
    n_agents = equity.shape[0]
    r = returns(equity, capital)
    final = result.final_equity
    realised = np.bincount(result.fills.agent, weights=result.fills.pnl, minlength=n_agents)
    downside = np.sqrt((np.minimum(r, 0.0) ** 2).mean(axis=1)) if r.shape[1] else np.zeros(n_agents)
    std = r.std(axis=1, ddof=1) if r.shape[1] > 1 else np.zeros(n_agents)
    mean = r.mean(axis=1) if r.shape[1] else np.zeros(n_agents)
    scale = math.sqrt(periods_per_year)
    with np.errstate(invalid="ignore", divide="ignore"):
        sharpe = np.where(std > 0, mean / std * scale, 0.0)
        sortino = np.where(downside > 0, mean / downside * scale, 0.0)
        util = np.where(equity > 0, result.exposure / equity, 0.0).mean(axis=1) * 100.0
    trades = result.fills.entries_per_agent(n_agents)
    done, wins = round_trips(result.fills, n_agents)
    breaches = np.zeros(n_agents, dtype=np.int64)
    for event in result.events:
        if event.rule == "leverage_breach":
            breaches[event.agent] += 1
    hourly = _hourly(equity, capital, hours)
    return Metrics(
        roi=final / capital - 1.0,
        hourly_roi=hourly.mean(axis=1) if hourly.shape[1] else np.zeros(n_agents),
        hourly_returns=hourly,
        realised_pnl=realised,
        unrealised_pnl=final - capital - realised,
        variance=std**2,
        sharpe=sharpe,
        sortino=sortino,
        max_drawdown=max_drawdown(np.concatenate([capital[:, None], equity], axis=1)),
        max_drawdown_vs_parent=max_drawdown_amount(equity) / result.bankroll,
        utilisation=util if equity.shape[1] else np.zeros(n_agents),
        leverage_breaches=breaches,
        trades=trades,
        win_rate=np.where(done > 0, wins / np.maximum(done, 1), 0.0),
        confidence=confidence(r, trades, active) if r.shape[1] else np.zeros(n_agents),
        correlation=correlation(r),
        value_at_risk=value_at_risk(r),
        expected_shortfall=expected_shortfall(r),
    )
