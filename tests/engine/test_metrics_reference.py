"""The engine's metrics against an independent, maintained library (empyrical-reloaded) and scipy's
normal distribution, on the same returns; and the confidence score's observations."""

import dataclasses

import empyrical
import numpy as np
import pytest
from scipy import stats

from cohorts.engine import AgentSpec, compute_metrics, default_roster, generate_market, run
from cohorts.engine.metrics import probabilistic_sharpe, returns
from cohorts.engine.workload import reference_spec

XNYS_REGULAR = 252 * 390
CRYPTO = 365 * 1440


@pytest.fixture(scope="module")
def result():
    spec = dataclasses.replace(reference_spec(9), agents=tuple(AgentSpec(g, 100.0) for g in default_roster(9, 3)))
    return run(generate_market(4, 1, seed=8), spec)


@pytest.mark.parametrize("periods", [CRYPTO, XNYS_REGULAR])
def test_sharpe_sortino_drawdown_and_tails_agree_with_empyrical(result, periods):
    metrics = compute_metrics(result, periods_per_year=periods)
    r = returns(result.equity, result.capital)
    active = np.flatnonzero(r.std(axis=1) > 0)
    assert len(active) >= 5

    for a in active:
        close = {"rel": 1e-9, "abs": 1e-12}
        assert metrics.sharpe[a] == pytest.approx(empyrical.sharpe_ratio(r[a], annualization=periods), **close)
        assert metrics.sortino[a] == pytest.approx(empyrical.sortino_ratio(r[a], annualization=periods), **close)
        assert metrics.max_drawdown[a] == pytest.approx(-empyrical.max_drawdown(r[a]), **close)
        assert metrics.value_at_risk[a] == pytest.approx(empyrical.value_at_risk(r[a], cutoff=0.05), **close)
        assert metrics.expected_shortfall[a] == pytest.approx(
            empyrical.conditional_value_at_risk(r[a], cutoff=0.05), **close)


def test_probabilistic_sharpe_agrees_with_its_formula_on_scipy(result):
    r = returns(result.equity, result.capital)
    psr = probabilistic_sharpe(r)

    for a in np.flatnonzero(r.std(axis=1) > 0):
        sr = r[a].mean() / r[a].std()
        skew, kurt = stats.skew(r[a]), stats.kurtosis(r[a], fisher=False)
        z = sr * np.sqrt(len(r[a]) - 1) / np.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
        assert psr[a] == pytest.approx(stats.norm.cdf(z), rel=1e-9, abs=1e-12)


def test_annualising_by_the_sessions_minutes_scales_sharpe_by_the_root_of_their_ratio(result):
    crypto = compute_metrics(result, periods_per_year=CRYPTO)
    equity = compute_metrics(result, periods_per_year=XNYS_REGULAR)

    traded = crypto.sharpe != 0
    np.testing.assert_allclose(crypto.sharpe[traded] / equity.sharpe[traded], np.sqrt(CRYPTO / XNYS_REGULAR))
    assert np.sqrt(CRYPTO / XNYS_REGULAR) == pytest.approx(2.31, abs=0.01)  # the overstatement on SPY's minutes


def test_minutes_without_trading_are_no_evidence_for_the_confidence_score(result):
    # the same run with a minute on which nothing traded after each bar: equity holds, returns are 0
    padded = dataclasses.replace(result, equity=np.repeat(result.equity, 2, axis=1),
                                 exposure=np.repeat(result.exposure, 2, axis=1))
    traded = np.tile([True, False], result.equity.shape[1])

    plain = compute_metrics(result)
    counted = compute_metrics(padded, active=traded)
    naive = compute_metrics(padded)

    assert (plain.confidence > 0).sum() >= 5
    np.testing.assert_allclose(counted.confidence, plain.confidence, rtol=1e-12, atol=1e-15)
    assert not np.allclose(naive.confidence, plain.confidence, rtol=1e-3)
