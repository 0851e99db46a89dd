"""Seeded synthetic 1-minute bars for scale tests: GBM with an intraday volatility profile,
optional volatility regimes and jumps. Pure numpy; valid OHLC by construction, at 8 decimals.

Two modes: 24/7 (crypto-like, every minute of every day) and equity (US-equity-like on the XNYS
calendar: every regular-session minute, a sparse ~15% of pre- and after-market minutes per symbol,
nothing overnight, at weekends or on holidays, and an overnight gap at each day's first bar)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from cohorts import calendars

MINUTES_PER_DAY = 1440
MINUTES_PER_YEAR = 365 * MINUTES_PER_DAY
DECIMALS = 8
EQUITY_CALENDAR = "XNYS"
EXTENDED_HOURS_SHARE = 0.15  # share of pre- and after-market minutes in which an equity symbol trades
OVERNIGHT_GAP_VOL = 0.01  # volatility of the log-price move from one session day to the next
REVERSION_HALF_LIFE = 10  # minutes in which the planted mean-reverting component loses half its deviation


@dataclass(frozen=True)
class SyntheticBars:
    """(T, S) float64 arrays; `minutes` are offsets in minutes from the series' start. `present` (T, S)
    says which symbol traded at which minute (None: all of them, every minute)."""

    minutes: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    present: np.ndarray | None = None


def intraday_profile(minutes: np.ndarray) -> np.ndarray:
    """Volatility multiplier per minute of the day: 0.5 at 02:00 UTC up to 1.5 at 14:00 UTC."""
    return 1 + 0.5 * np.cos(2 * np.pi * ((minutes % MINUTES_PER_DAY) - 840) / MINUTES_PER_DAY)


def generate(
    *, symbols: int, days: int, seed: int, regimes: bool = False, jumps: bool = False,
    equity_start: datetime | None = None, reversion_bps: float = 0.0,
) -> SyntheticBars:
    """Bars for `symbols` × `days`·1440 minutes; same arguments, same bars.

    With `equity_start` (a naive or UTC datetime), the equity mode over the `days` calendar days from it.
    `reversion_bps` > 0 plants a persistent edge for mean-reversion strategies: the log price gets an
    Ornstein–Uhlenbeck deviation of stationary standard deviation `reversion_bps` bps with a half-life of
    REVERSION_HALF_LIFE minutes, so a deviation d is pulled back by about 6.7% of d a minute (13 bps a minute
    at one standard deviation of 200 bps). Drawn from its own generator: the other bars of a seed are unchanged.
    """
    if symbols < 1 or days < 1:
        raise ValueError("symbols and days must be at least 1")
    rng = np.random.default_rng(seed)
    minutes = np.arange(days * MINUTES_PER_DAY)
    regular = None
    if equity_start is not None:
        stamps = np.datetime64(equity_start.replace(tzinfo=None), "m") + minutes.astype("timedelta64[m]")
        extended = calendars.tradable(stamps, EQUITY_CALENDAR, "extended")
        regular = calendars.tradable(stamps, EQUITY_CALENDAR, "regular")[extended]
        day = calendars.day_numbers(stamps[extended], EQUITY_CALENDAR)
        minutes = minutes[extended]
        if not len(minutes):
            raise ValueError("no trading day in the equity window")
    t_count = len(minutes)
    p0 = 10 ** rng.uniform(0, 4, symbols)
    annual_vol = rng.uniform(0.4, 1.2, symbols)
    sigma = annual_vol / np.sqrt(MINUTES_PER_YEAR) * intraday_profile(minutes)[:, None]
    if regimes:
        sigma = sigma * _regime_multiplier(rng, t_count, symbols)
    log_returns = sigma * rng.standard_normal((t_count, symbols)) - sigma**2 / 2
    if jumps:
        hits = rng.random((t_count, symbols)) < 1 / MINUTES_PER_DAY  # about one jump a day per symbol
        log_returns += hits * rng.normal(0.0, 0.02, (t_count, symbols))
    if regular is not None:
        first_of_day = np.r_[True, np.diff(day) != 0]
        log_returns[first_of_day] += rng.normal(0.0, OVERNIGHT_GAP_VOL, (int(first_of_day.sum()), symbols))
    close = p0 * np.exp(np.cumsum(log_returns, axis=0) + _reversion(seed, t_count, symbols, reversion_bps))
    prev = np.vstack([p0, close[:-1]])
    open_ = prev * np.exp(0.1 * sigma * rng.standard_normal((t_count, symbols)))
    wick_up = np.exp(0.5 * sigma * np.abs(rng.standard_normal((t_count, symbols))))
    wick_down = np.exp(-0.5 * sigma * np.abs(rng.standard_normal((t_count, symbols))))
    volume = rng.lognormal(0, 0.5, (t_count, symbols)) * intraday_profile(minutes)[:, None] * 1e6 / p0
    open_, close = _round(open_), _round(close)
    high = np.maximum(_round(np.maximum(open_, close) * wick_up), np.maximum(open_, close))
    low = np.minimum(_round(np.minimum(open_, close) * wick_down), np.minimum(open_, close))
    low = np.maximum(low, 10.0**-DECIMALS)  # never zero after rounding
    present = None
    if regular is not None:
        present = regular[:, None] | (rng.random((t_count, symbols)) < EXTENDED_HOURS_SHARE)
        volume = np.where(regular[:, None], volume, volume * 0.05)
    return SyntheticBars(minutes, open_, high, low, close, _round(volume), present)


def _regime_multiplier(rng: np.random.Generator, t_count: int, symbols: int) -> np.ndarray:
    """A two-state (calm ×1, stressed ×2.5) Markov chain per symbol, switching every ~6 hours on average."""
    switches = rng.random((t_count, symbols)) < 1 / 360
    stressed = np.cumsum(switches, axis=0) % 2 == 1
    return np.where(stressed, 2.5, 1.0)


def _reversion(seed: int, t_count: int, symbols: int, bps: float) -> np.ndarray:
    """(T, S) Ornstein–Uhlenbeck log-price deviations, stationary std `bps`/10,000 (zeros when `bps` is 0)."""
    deviation = np.zeros((t_count, symbols))
    if bps <= 0:
        return deviation
    rng = np.random.default_rng([seed, 1])
    keep = 0.5 ** (1 / REVERSION_HALF_LIFE)
    shocks = rng.standard_normal((t_count, symbols)) * bps / 1e4 * np.sqrt(1 - keep**2)
    deviation[0] = rng.standard_normal(symbols) * bps / 1e4
    for t in range(1, t_count):
        deviation[t] = keep * deviation[t - 1] + shocks[t]
    return deviation


def _round(values: np.ndarray) -> np.ndarray:
    return np.round(values, DECIMALS)
