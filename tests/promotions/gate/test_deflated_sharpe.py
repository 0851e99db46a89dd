"""The Deflated Sharpe Ratio: its maths against an independent computation, and how it tells skill from luck."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from promotions.engine import gate


def scipy_dsr(returns: np.ndarray, trials: int, variance: float) -> float:
    """Bailey and López de Prado (2014), written out with scipy's normal and moments."""
    sr = returns.mean() / returns.std()
    skew = stats.skew(returns)
    kurt = stats.kurtosis(returns, fisher=False)
    sr0 = math.sqrt(variance) * ((1 - np.euler_gamma) * stats.norm.ppf(1 - 1 / trials)
                                 + np.euler_gamma * stats.norm.ppf(1 - 1 / (trials * math.e)))
    z = (sr - sr0) * math.sqrt(len(returns) - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


@pytest.mark.parametrize(("seed", "trials", "variance"), [(1, 2, 1e-3), (2, 30, 5e-4), (3, 400, 2e-3), (4, 7, 1e-4)])
def test_deflated_sharpe_equals_an_independent_computation(seed, trials, variance):
    rng = np.random.default_rng(seed)
    returns = rng.standard_t(4, 1440) * 1e-3 + 1e-4  # fat tails and some skill

    assert gate.deflated_sharpe(returns, trials, variance) == pytest.approx(scipy_dsr(returns, trials, variance),
                                                                            abs=1e-9)


def test_expected_max_sharpe_matches_the_best_of_simulated_lucky_trials():
    rng = np.random.default_rng(5)
    for trials in (10, 100, 1000):
        simulated = rng.normal(0.0, 0.02, (4000, trials)).max(axis=1).mean()
        assert gate.expected_max_sharpe(trials, 0.02**2) == pytest.approx(simulated, rel=0.03)
    assert gate.expected_max_sharpe(1, 0.02**2) == 0.0


def test_more_trials_lower_the_deflated_sharpe():
    returns = np.random.default_rng(6).normal(2e-4, 2e-3, 1440)
    values = [gate.deflated_sharpe(returns, n, 1 / 1439) for n in (1, 10, 100, 1000, 10000)]

    assert values == sorted(values, reverse=True) and values[0] > values[-1] + 0.3


def test_the_best_of_many_lucky_series_is_deflated_below_the_bar_but_skill_clears_it():
    rng = np.random.default_rng(7)
    luck = rng.normal(0.0, 1e-3, (200, 1440))
    best = luck[np.argmax(gate.sharpe_ratios(luck))]
    variance = gate.sharpe_variance(luck, "null")
    skill = rng.normal(2e-4, 1e-3, 1440)  # a true per-bar Sharpe of 0.2: z ≈ 7.6 over a day

    assert gate.deflated_sharpe(best, 1, variance) > 0.99  # alone, the lucky best looks certain
    assert gate.deflated_sharpe(best, 200, variance) < 0.95  # counted with the 199 others it does not
    assert gate.deflated_sharpe(skill, 200, variance) > 0.95


def test_sharpe_variance_by_luck_and_across_trials():
    rng = np.random.default_rng(8)
    noise = rng.normal(0.0, 1e-3, (300, 1000))

    assert gate.sharpe_variance(noise, "null") == pytest.approx(1 / 999, rel=0.02)
    assert gate.sharpe_variance(noise, "cross_section") == pytest.approx(
        np.var(noise.mean(axis=1) / noise.std(axis=1), ddof=1))
    assert gate.sharpe_variance(noise[:1], "cross_section") is None
    with pytest.raises(ValueError):
        gate.sharpe_variance(noise, "median")


@pytest.mark.parametrize("returns", [np.zeros(500), np.array([0.01, -0.01]), np.array([])])
def test_flat_or_too_few_returns_have_no_deflated_sharpe(returns):
    assert gate.deflated_sharpe(returns, 10, 1e-3) is None
