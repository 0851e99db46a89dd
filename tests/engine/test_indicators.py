"""Indicators against plain loops, and their causality (a prefix gives a prefix)."""

import numpy as np
import pytest

from cohorts.engine import build_signals, default_roster, generate_market
from cohorts.engine import indicators as ind


@pytest.fixture(scope="module")
def prices():
    rng = np.random.default_rng(5)
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (300, 3)), axis=0))


def _naive(x, w, fn):
    out = np.full(x.shape, np.nan)
    for t in range(w - 1, x.shape[0]):
        out[t] = fn(x[t - w + 1 : t + 1], axis=0)
    return out


@pytest.mark.parametrize("w", [1, 2, 7, 50])
def test_rolling_windows_match_loops(prices, w):
    np.testing.assert_allclose(ind.rolling_mean(prices, w), _naive(prices, w, np.mean), rtol=1e-12)
    np.testing.assert_allclose(ind.rolling_std(prices, w), _naive(prices, w, np.std),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(ind.rolling_max(prices, w), _naive(prices, w, np.max))
    np.testing.assert_array_equal(ind.rolling_min(prices, w), _naive(prices, w, np.min))


def test_donchian_bands_exclude_the_current_bar(prices):
    hh = ind.highest_before(prices, 5)
    assert np.isnan(hh[:5]).all()
    np.testing.assert_array_equal(hh[5:], _naive(prices, 5, np.max)[4:-1])


def test_rsi_cutler_matches_definition(prices):
    n = 14
    rsi = ind.rsi_cutler(prices, n)
    d = np.diff(prices, axis=0)
    for t in (n, n + 1, 200):
        window = d[t - n : t]
        gain, loss = np.maximum(window, 0).mean(0), np.maximum(-window, 0).mean(0)
        np.testing.assert_allclose(rsi[t], 100 * gain / (gain + loss), rtol=1e-10)
    assert np.isnan(rsi[:n]).all()


def test_rsi_wilder_and_ema_follow_their_recursions(prices):
    n = 5
    d = np.diff(prices[:, 0])
    gain, loss = np.maximum(d, 0), np.maximum(-d, 0)
    ag, al = gain[:n].mean(), loss[:n].mean()
    for t in range(n + 1, 40):
        ag, al = (ag * (n - 1) + gain[t - 1]) / n, (al * (n - 1) + loss[t - 1]) / n
    assert ind.rsi_wilder(prices, n)[39, 0] == pytest.approx(100 * ag / (ag + al), rel=1e-12)
    e = prices[:n, 0].mean()
    for t in range(n, 40):
        e += 2 / (n + 1) * (prices[t, 0] - e)
    assert ind.ema(prices, n)[39, 0] == pytest.approx(e, rel=1e-12)


def test_flat_windows_give_neutral_values():
    flat = np.full((20, 1), 7.0)
    assert (ind.rsi_cutler(flat, 3)[3:] == 50.0).all()
    assert (ind.rolling_std(flat, 4)[3:] == 0.0).all()
    assert (ind.zscore(flat, 4)[3:] == 0.0).all()


def test_signals_of_a_prefix_are_the_prefix_of_the_signals():
    market = generate_market(4, 1, seed=11)
    genomes = default_roster(24, seed=2, side="both")
    full, index = build_signals(market, genomes)
    for cut in (1, 37, 500):
        head, head_index = build_signals(market.head(cut), genomes)
        np.testing.assert_array_equal(head_index, index)
        np.testing.assert_array_equal(head, full[:, :cut])
