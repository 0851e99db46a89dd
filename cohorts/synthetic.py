"""Seeded synthetic 1-minute bars for scale tests: GBM with an intraday volatility profile,
optional volatility regimes and jumps. Pure numpy; valid OHLC by construction, at 8 decimals."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MINUTES_PER_DAY = 1440
MINUTES_PER_YEAR = 365 * MINUTES_PER_DAY
DECIMALS = 8


@dataclass(frozen=True)
class SyntheticBars:
    """(T, S) float64 arrays; `minutes` are offsets in minutes from the series' start."""

    minutes: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


def intraday_profile(minutes: np.ndarray) -> np.ndarray:
    """Volatility multiplier per minute of the day: 0.5 at 02:00 UTC up to 1.5 at 14:00 UTC."""
    return 1 + 0.5 * np.cos(2 * np.pi * ((minutes % MINUTES_PER_DAY) - 840) / MINUTES_PER_DAY)


def generate(
    *, symbols: int, days: int, seed: int, regimes: bool = False, jumps: bool = False
) -> SyntheticBars:
    """Bars for `symbols` × `days`·1440 minutes; same arguments, same bars."""
    if symbols < 1 or days < 1:
        raise ValueError("symbols and days must be at least 1")
    rng = np.random.default_rng(seed)
    t_count = days * MINUTES_PER_DAY
    minutes = np.arange(t_count)
    p0 = 10 ** rng.uniform(0, 4, symbols)
    annual_vol = rng.uniform(0.4, 1.2, symbols)
    sigma = annual_vol / np.sqrt(MINUTES_PER_YEAR) * intraday_profile(minutes)[:, None]
    if regimes:
        sigma = sigma * _regime_multiplier(rng, t_count, symbols)
    log_returns = sigma * rng.standard_normal((t_count, symbols)) - sigma**2 / 2
    if jumps:
        hits = rng.random((t_count, symbols)) < 1 / MINUTES_PER_DAY  # about one jump a day per symbol
        log_returns += hits * rng.normal(0.0, 0.02, (t_count, symbols))
    close = p0 * np.exp(np.cumsum(log_returns, axis=0))
    prev = np.vstack([p0, close[:-1]])
    open_ = prev * np.exp(0.1 * sigma * rng.standard_normal((t_count, symbols)))
    wick_up = np.exp(0.5 * sigma * np.abs(rng.standard_normal((t_count, symbols))))
    wick_down = np.exp(-0.5 * sigma * np.abs(rng.standard_normal((t_count, symbols))))
    volume = rng.lognormal(0, 0.5, (t_count, symbols)) * intraday_profile(minutes)[:, None] * 1e6 / p0
    open_, close = _round(open_), _round(close)
    high = np.maximum(_round(np.maximum(open_, close) * wick_up), np.maximum(open_, close))
    low = np.minimum(_round(np.minimum(open_, close) * wick_down), np.minimum(open_, close))
    low = np.maximum(low, 10.0**-DECIMALS)  # never zero after rounding
    return SyntheticBars(minutes, open_, high, low, close, _round(volume))


def _regime_multiplier(rng: np.random.Generator, t_count: int, symbols: int) -> np.ndarray:
    """A two-state (calm ×1, stressed ×2.5) Markov chain per symbol, switching every ~6 hours on average."""
    switches = rng.random((t_count, symbols)) < 1 / 360
    stressed = np.cumsum(switches, axis=0) % 2 == 1
    return np.where(stressed, 2.5, 1.0)


def _round(values: np.ndarray) -> np.ndarray:
    return np.round(values, DECIMALS)
