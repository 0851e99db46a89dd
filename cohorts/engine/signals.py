"""Signal builders: one per strategy family, bars -> int8 (T, S) signal codes.

A code is a set of bits read at the close of bar t (the order fills at the open of
t+1). The engine keeps, per agent and symbol, a *target* side in {-1, 0, +1}:

- ``ENTER_LONG`` moves a flat target to long; ``EXIT_LONG`` moves a long one to flat
  (or to short when ``ENTER_SHORT`` is set as well: a reversal);
- ``ENTER_SHORT`` / ``EXIT_SHORT`` mirror them.

An entry while already on that side is ignored, as is an exit while flat. Rows
where a strategy's indicators are not yet defined (at t and t-1) carry no bits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from . import indicators as ind
from .market import Market

ENTER_LONG = 1
EXIT_LONG = 2
ENTER_SHORT = 4
EXIT_SHORT = 8

Builder = Callable[[Market, Mapping[str, object], dict], np.ndarray]


class Memo:
    """Indicator cache for one signal build: identical (name, args) are computed once."""

    def __init__(self, market: Market) -> None:
        self.market = market
        self._values: dict[tuple, np.ndarray] = {}

    def get(self, key: tuple, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached value for ``key``, computing it on first use."""
        if key not in self._values:
            self._values[key] = compute()
        return self._values[key]


def _codes(bits: list[tuple[np.ndarray, int]], valid_from: int, shape: tuple) -> np.ndarray:
    out = np.zeros(shape, dtype=np.int8)
    for mask, bit in bits:
        out[mask] |= bit
    out[: max(0, valid_from)] = 0
    return out


def _moving_average(memo: Memo, kind: object, n: int) -> np.ndarray:
    close = memo.market.close
    if kind == "ema":
        return memo.get(("ema", n), lambda: ind.ema(close, n))
    return memo.get(("sma", n), lambda: ind.rolling_mean(close, n))


def ma_crossover(market: Market, p: Mapping[str, object], memo: Memo) -> np.ndarray:
    """Momentum: long when the fast average crosses above the slow one, short below."""
    fast, slow = int(p["fast"]), int(p["slow"])
    diff = _moving_average(memo, p["ma"], fast) - _moving_average(memo, p["ma"], slow)
    prev = ind.shift(diff)
    up = (diff > 0) & (prev <= 0)
    down = (diff < 0) & (prev >= 0)
    bits = [(up, ENTER_LONG | EXIT_SHORT), (down, EXIT_LONG | ENTER_SHORT)]
    return _codes(bits, max(fast, slow), diff.shape)


def rsi_reversion(market: Market, p: Mapping[str, object], memo: Memo) -> np.ndarray:
    """Mean reversion: long when RSI is below ``lower``, short when above ``upper``."""
    n = int(p["n"])
    kind = str(p["smoothing"])
    compute = ind.rsi_wilder if kind == "wilder" else ind.rsi_cutler
    rsi = memo.get(("rsi", kind, n), lambda: compute(market.close, n))
    low = rsi < float(p["lower"])  # type: ignore[arg-type]
    high = rsi > float(p["upper"])  # type: ignore[arg-type]
    bits = [(low, ENTER_LONG | EXIT_SHORT), (high, EXIT_LONG | ENTER_SHORT)]
    return _codes(bits, n + 1, rsi.shape)


def bollinger_reversion(market: Market, p: Mapping[str, object], memo: Memo) -> np.ndarray:
    """Reversion to the mean: enter outside the k-sigma band, leave at the middle line."""
    n, k = int(p["n"]), float(p["k"])  # type: ignore[arg-type]
    close = market.close
    mid = _moving_average(memo, "sma", n)
    std = memo.get(("std", n), lambda: ind.rolling_std(close, n))
    bits = [
        (close < mid - k * std, ENTER_LONG),
        (close > mid + k * std, ENTER_SHORT),
        (close >= mid, EXIT_LONG),
        (close <= mid, EXIT_SHORT),
    ]
    return _codes(bits, n, close.shape)


def donchian_breakout(market: Market, p: Mapping[str, object], memo: Memo) -> np.ndarray:
    """Breakout: long above the n-bar high, out below the exit_n-bar low (shorts mirror)."""
    n, m = int(p["n"]), int(p["exit_n"])
    close = market.close
    hh_n = memo.get(("hh", n), lambda: ind.highest_before(market.high, n))
    ll_n = memo.get(("ll", n), lambda: ind.lowest_before(market.low, n))
    hh_m = memo.get(("hh", m), lambda: ind.highest_before(market.high, m))
    ll_m = memo.get(("ll", m), lambda: ind.lowest_before(market.low, m))
    bits = [
        (close > hh_n, ENTER_LONG),
        (close < ll_m, EXIT_LONG),
        (close < ll_n, ENTER_SHORT),
        (close > hh_m, EXIT_SHORT),
    ]
    return _codes(bits, max(n, m) + 1, close.shape)


def vwap_scalper(market: Market, p: Mapping[str, object], memo: Memo) -> np.ndarray:
    """Scalp deviations from the rolling VWAP: enter beyond ``band_bps``, leave at VWAP."""
    n, band = int(p["n"]), float(p["band_bps"]) / 1e4  # type: ignore[arg-type]
    m = market
    vwap = memo.get(("vwap", n), lambda: ind.rolling_vwap(m.high, m.low, m.close, m.volume, n))
    close = m.close
    bits = [
        (close < vwap * (1.0 - band), ENTER_LONG),
        (close > vwap * (1.0 + band), ENTER_SHORT),
        (close >= vwap, EXIT_LONG),
        (close <= vwap, EXIT_SHORT),
    ]
    return _codes(bits, n, close.shape)


def pairs_zscore(market: Market, p: Mapping[str, object], memo: Memo) -> np.ndarray:
    """Pairs on consecutive columns (0,1), (2,3), ...: trade the z-score of log(a/b).

    Cohorts order their columns canonically (sorted symbols), so the pairs are the 1st and 2nd
    symbol in that order, the 3rd and 4th, and so on.

    z > entry_z: short a, long b; z < -entry_z: long a, short b; |z| < exit_z: flat.
    With an odd number of symbols the last one is not traded.
    """
    n = int(p["n"])
    entry, exit_ = float(p["entry_z"]), float(p["exit_z"])  # type: ignore[arg-type]
    logc = memo.get(("log",), lambda: np.log(market.close))
    pairs = market.n_symbols // 2
    if pairs == 0:
        return np.zeros(market.close.shape, dtype=np.int8)
    spread = logc[:, 0 : 2 * pairs : 2] - logc[:, 1 : 2 * pairs : 2]
    z = ind.zscore(spread, n)
    out = np.zeros(market.close.shape, dtype=np.int8)
    flat = np.abs(z) < exit_
    first = _codes([(z < -entry, ENTER_LONG), (z > entry, ENTER_SHORT),
                    (flat, EXIT_LONG | EXIT_SHORT)], n, z.shape)
    second = _codes([(z > entry, ENTER_LONG), (z < -entry, ENTER_SHORT),
                     (flat, EXIT_LONG | EXIT_SHORT)], n, z.shape)
    out[:, 0 : 2 * pairs : 2] = first
    out[:, 1 : 2 * pairs : 2] = second
    return out


def side_mask(side: str) -> int:
    """Bits an agent trading ``side`` ('long', 'short' or 'both') may act on."""
    masks = {
        "long": ENTER_LONG | EXIT_LONG | EXIT_SHORT,
        "short": ENTER_SHORT | EXIT_SHORT | EXIT_LONG,
        "both": ENTER_LONG | EXIT_LONG | ENTER_SHORT | EXIT_SHORT,
    }
    if side not in masks:
        raise ValueError(f"side must be one of {sorted(masks)}, not {side!r}")
    return masks[side]
