"""Metrics on hand-made equity curves and on a run whose trades are known."""

import math

import numpy as np
import pytest

from cohorts.engine import PERIODS_PER_YEAR, Genome, compute_metrics, correlation, max_drawdown, run
from cohorts.engine.metrics import confidence, probabilistic_sharpe, returns
from tests.engine.helpers import free_spec, market_from_closes


def test_max_drawdown_is_the_deepest_fall_from_a_running_peak():
    equity = np.array([[100.0, 120.0, 90.0, 130.0, 65.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    np.testing.assert_allclose(max_drawdown(equity), [0.5, 0.0])


def test_first_return_is_taken_against_capital():
    r = returns(np.array([[110.0, 99.0]]), np.array([100.0]))
    np.testing.assert_allclose(r, [[0.1, -0.1]])


def test_correlation_of_twins_opposites_and_a_flat_agent():
    base = np.array([0.01, -0.02, 0.03, 0.0])
    corr = correlation(np.vstack([base, 2 * base, -base, np.zeros(4)]))
    np.testing.assert_allclose(corr[0], [1.0, 1.0, -1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(np.diag(corr), 1.0)
    np.testing.assert_allclose(corr, corr.T)


def test_probabilistic_sharpe_is_one_half_without_an_edge_and_grows_with_one():
    rng = np.random.default_rng(1)
    noise = rng.normal(0, 0.01, 2000)
    noise -= noise.mean()
    psr = probabilistic_sharpe(np.vstack([noise, noise + 0.002, np.zeros(2000)]))
    assert psr[0] == pytest.approx(0.5)
    assert psr[1] > 0.99
    assert psr[2] == 0.5


def test_confidence_is_penalised_for_few_trades():
    r = np.tile(np.array([[0.002, -0.001, 0.003, 0.0]]), (3, 50))
    score = confidence(r, np.array([1, 10, 1000]))
    assert 0 <= score[0] < score[1] < score[2] <= 1
    assert score[1] == pytest.approx(score[2] * (1000 + 10) / 1000 / 2)


def test_metrics_of_a_known_losing_trade():
    # long 1000/13 at 13 (bar 5), out at 10 (bar 8): one losing round trip, then flat
    closes = [10, 10, 10, 10, 13, 16, 13, 10, 7, 7, 7]
    genome = Genome("ma_crossover", {"fast": 2, "slow": 3, "ma": "sma"})
    twin = Genome("ma_crossover", {"fast": 2, "slow": 4, "ma": "sma"})
    result = run(market_from_closes(closes), free_spec([genome, twin]))
    m = compute_metrics(result)
    loss = 1000.0 - 1000.0 / 13 * 10
    assert m.trades[0] == 1 and m.win_rate[0] == 0.0
    assert m.realised_pnl[0] == pytest.approx(-loss)
    assert m.unrealised_pnl[0] == pytest.approx(0.0, abs=1e-9)
    assert m.roi[0] == pytest.approx(-loss / 1000.0)
    assert m.max_drawdown[0] == pytest.approx(1 - (1000 - loss) / (1000 / 13 * 16))
    assert m.max_drawdown_vs_parent[0] == pytest.approx((1000 / 13 * 16 - (1000 - loss)) / 2000)
    assert m.correlation.shape == (2, 2)
    r = returns(result.equity, result.capital)[0]
    assert m.sharpe[0] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(PERIODS_PER_YEAR))
    downside = math.sqrt((np.minimum(r, 0) ** 2).mean())
    assert m.sortino[0] == pytest.approx(r.mean() / downside * math.sqrt(PERIODS_PER_YEAR))
    assert 0 < m.utilisation[0] < 100


def test_hourly_returns_cover_every_started_hour():
    closes = np.linspace(100, 130, 150)
    genome = Genome("ma_crossover", {"fast": 2, "slow": 3, "ma": "sma"})
    m = compute_metrics(run(market_from_closes(closes), free_spec([genome])))
    assert m.hourly_returns.shape == (1, 3)
    assert m.hourly_roi[0] == pytest.approx(m.hourly_returns[0].mean())
    assert m.leverage_breaches.tolist() == [0]


def test_hourly_returns_follow_clock_hours_across_a_session_gap():
    closes = np.linspace(100, 130, 150)
    genome = Genome("ma_crossover", {"fast": 2, "slow": 3, "ma": "sma"})
    result = run(market_from_closes(closes), free_spec([genome]))
    # 30 bars in the last half hour of a session, then 120 bars over two hours of the next one
    hours = np.array([15] * 30 + [33] * 60 + [34] * 60)
    m = compute_metrics(result, hours=hours)
    ends = [29, 89, 149]
    marks = np.r_[result.capital[0], result.equity[0, ends]]
    np.testing.assert_allclose(m.hourly_returns[0], marks[1:] / marks[:-1] - 1.0)
