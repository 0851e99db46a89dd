"""Causal indicators over (T, S) bar arrays, whole-array along time.

Every value at row ``t`` depends only on rows ``<= t`` and is computed the same way
whatever the array's length, so a prefix of the data (what a live run has seen)
yields exactly the prefix of the indicators. Undefined leading rows are NaN.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def _window_sums(x: np.ndarray, w: int) -> np.ndarray:
    """Sums of ``x[t-w+1 .. t]`` for ``t >= w-1`` (NaN before), via a running sum."""
    out = np.full(x.shape, np.nan)
    if w < 1 or w > x.shape[0]:
        return out
    csum = np.cumsum(x, axis=0)
    out[w - 1] = csum[w - 1]
    out[w:] = csum[w:] - csum[:-w]
    return out


def rolling_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Simple moving average over the last ``w`` rows, defined for ``t >= w-1``.

    Sums run on values centred on row 0, which keeps the running sum small and
    makes a constant series give its constant exactly.
    """
    base = x[:1]
    return _window_sums(x - base, w) / w + base


@njit(cache=True)
def _exact_window(x, t, s, w):
    mean = 0.0
    for u in range(t - w + 1, t + 1):
        mean += x[u, s]
    mean /= w
    m2 = 0.0
    for u in range(t - w + 1, t + 1):
        m2 += (x[u, s] - mean) ** 2
    return mean, m2


@njit(cache=True)
def _var_update(x, i, s, w, restart, mean, m2):
    """(mean, m2) of the window ending at row ``i`` of ``x`` from those of the window before: Welford's
    sliding update, or the exact two-pass sums when ``restart`` (every ``w`` rows of the series)."""
    if restart:  # exact two-pass restart bounds the sliding error
        return _exact_window(x, i, s, w)
    x_in, x_out = x[i, s], x[i - w, s]
    new_mean = mean + (x_in - x_out) / w
    m2 += (x_in - x_out) * (x_in - new_mean + x_out - mean)
    return new_mean, m2


def var_restarts(t: int, w: int) -> bool:
    """True at the rows where the sliding variance restarts exactly (row ``w-1`` and every ``w`` after)."""
    return (t - w + 1) % w == 0


@njit(cache=True)
def _rolling_var_kernel(x: np.ndarray, w: int) -> np.ndarray:
    t_len, s_len = x.shape
    out = np.full(x.shape, np.nan)
    for s in range(s_len):
        mean, m2 = 0.0, 0.0
        for t in range(w - 1, t_len):
            mean, m2 = _var_update(x, t, s, w, (t - w + 1) % w == 0, mean, m2)
            out[t, s] = max(m2, 0.0) / w
    return out


@njit(cache=True)
def rolling_var_step(window, w, restart, mean, m2, var):
    """One row of ``_rolling_var_kernel`` for every column: ``window`` holds the series' last rows (the
    newest last; ``w`` of them at a restart, ``w + 1`` otherwise). Updates ``mean``/``m2`` in place
    and writes the variance of the newest window into ``var``."""
    i = window.shape[0] - 1
    for s in range(window.shape[1]):
        mean[s], m2[s] = _var_update(window, i, s, w, restart, mean[s], m2[s])
        var[s] = max(m2[s], 0.0) / w


def rolling_std(x: np.ndarray, w: int) -> np.ndarray:
    """Population standard deviation (ddof=0) over the last ``w`` rows; exactly 0 on flat
    windows. Welford's sliding update, restarted exactly every ``w`` rows."""
    if w < 1 or w > x.shape[0]:
        return np.full(x.shape, np.nan)
    var = _rolling_var_kernel(np.ascontiguousarray(x, dtype=np.float64), int(w))
    flat = rolling_max(x, w) == rolling_min(x, w)
    return np.where(flat, 0.0, np.sqrt(var))


def _block_extreme(x: np.ndarray, w: int, ufunc: np.ufunc, pad: float) -> np.ndarray:
    """Rolling ``ufunc`` (maximum or minimum) over the last ``w`` rows (van Herk / Gil-Werman)."""
    t_len, s_len = x.shape
    out = np.full(x.shape, np.nan)
    if w < 1 or w > t_len or s_len == 0:
        return out
    n_blocks = -(-t_len // w)
    padded = np.full((n_blocks * w, s_len), pad)
    padded[:t_len] = x
    blocks = padded.reshape(n_blocks, w, s_len)
    prefix = ufunc.accumulate(blocks, axis=1).reshape(-1, s_len)
    suffix = ufunc.accumulate(blocks[:, ::-1], axis=1)[:, ::-1].reshape(-1, s_len)
    # window [t-w+1, t] = suffix from t-w+1 to its block end, then prefix up to t
    out[w - 1 :] = ufunc(suffix[: t_len - w + 1], prefix[w - 1 : t_len])
    return out


def rolling_max(x: np.ndarray, w: int) -> np.ndarray:
    """Maximum of ``x[t-w+1 .. t]``, defined for ``t >= w-1``."""
    return _block_extreme(x, w, np.maximum, -np.inf)


def rolling_min(x: np.ndarray, w: int) -> np.ndarray:
    """Minimum of ``x[t-w+1 .. t]``, defined for ``t >= w-1``."""
    return _block_extreme(x, w, np.minimum, np.inf)


def shift(x: np.ndarray, k: int = 1) -> np.ndarray:
    """``x`` moved ``k`` rows later (row t holds x[t-k]); the first k rows are NaN."""
    out = np.full(x.shape, np.nan)
    if k < x.shape[0]:
        out[k:] = x[: x.shape[0] - k]
    return out


def highest_before(high: np.ndarray, n: int) -> np.ndarray:
    """``max(high[t-n .. t-1])``: the Donchian upper band, current bar excluded; t >= n."""
    return shift(rolling_max(high, n))


def lowest_before(low: np.ndarray, n: int) -> np.ndarray:
    """``min(low[t-n .. t-1])``: the Donchian lower band, current bar excluded; t >= n."""
    return shift(rolling_min(low, n))


@njit(cache=True)
def _ema_kernel(x: np.ndarray, n: int, alpha: float) -> np.ndarray:
    t_len, s_len = x.shape
    out = np.full(x.shape, np.nan)
    if n > t_len:
        return out
    for s in range(s_len):
        acc = 0.0
        for t in range(n):
            acc += x[t, s]
        value = acc / n
        out[n - 1, s] = value
        for t in range(n, t_len):
            value = value + alpha * (x[t, s] - value)
            out[t, s] = value
    return out


def ema(x: np.ndarray, n: int) -> np.ndarray:
    """Exponential moving average, alpha = 2/(n+1), seeded with the SMA at t = n-1."""
    return _ema_kernel(np.ascontiguousarray(x), int(n), 2.0 / (n + 1.0))


def _gains_losses(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    diff = np.zeros(close.shape)
    diff[1:] = close[1:] - close[:-1]
    return np.maximum(diff, 0.0), np.maximum(-diff, 0.0)


def _rsi_from(avg_gain: np.ndarray, avg_loss: np.ndarray) -> np.ndarray:
    total = avg_gain + avg_loss
    with np.errstate(invalid="ignore", divide="ignore"):
        rsi = np.where(total > 0.0, 100.0 * avg_gain / total, 50.0)
    return np.where(np.isnan(total), np.nan, rsi)


def rsi_cutler(close: np.ndarray, n: int) -> np.ndarray:
    """Cutler's RSI: simple means of gains and losses over the last n changes; t >= n."""
    gains, losses = _gains_losses(close)
    avg_gain = _window_sums(gains[1:], n) / n
    avg_loss = _window_sums(losses[1:], n) / n
    # a window with no move up (down) has an average of exactly zero, not running-sum dust
    avg_gain[_window_sums((gains[1:] > 0).astype(np.float64), n) == 0] = 0.0
    avg_loss[_window_sums((losses[1:] > 0).astype(np.float64), n) == 0] = 0.0
    out = np.full(close.shape, np.nan)
    out[1:] = _rsi_from(avg_gain, avg_loss)
    return out


@njit(cache=True)
def _wilder_kernel(x: np.ndarray, n: int) -> np.ndarray:
    t_len, s_len = x.shape
    out = np.full(x.shape, np.nan)
    if n >= t_len:
        return out
    for s in range(s_len):
        acc = 0.0
        for t in range(1, n + 1):
            acc += x[t, s]
        value = acc / n
        out[n, s] = value
        for t in range(n + 1, t_len):
            value = (value * (n - 1) + x[t, s]) / n
            out[t, s] = value
    return out


def rsi_wilder(close: np.ndarray, n: int) -> np.ndarray:
    """Wilder's RSI: smoothed averages (seeded with the simple mean at t = n); t >= n."""
    gains, losses = _gains_losses(close)
    return _rsi_from(_wilder_kernel(gains, int(n)), _wilder_kernel(losses, int(n)))


def rolling_vwap(high: np.ndarray, low: np.ndarray, close: np.ndarray,
                 volume: np.ndarray, n: int) -> np.ndarray:
    """Volume-weighted typical price ``(h+l+c)/3`` over the last n bars; t >= n-1."""
    typical = (high + low + close) / 3.0
    weight = _window_sums(volume, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = _window_sums(typical * volume, n) / weight
    return np.where(weight > 0.0, vwap, rolling_mean(typical, n))


def zscore(x: np.ndarray, n: int) -> np.ndarray:
    """``(x - mean_n) / std_n`` over the last n rows (0 where the window is flat)."""
    mean = rolling_mean(x, n)
    std = rolling_std(x, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x - mean) / std
    return np.where(std > 0.0, z, np.where(np.isnan(std), np.nan, 0.0))
