"""Value at Risk, expected shortfall and stress losses against independent computations."""

import math
from decimal import Decimal

import empyrical
import numpy as np
import pytest
from scipy.stats import norm

from risk.engine import correlation_to_one, gap_scenarios, historical_var, monte_carlo_var, stress_loss, stress_test


def fat_tailed_returns(seed: int, size: int = 500) -> np.ndarray:
    return np.random.default_rng(seed).standard_t(4, size) * 0.01 + 0.0005


def test_historical_var_of_a_hand_made_series():
    returns = np.random.default_rng(3).permutation(np.arange(-50, 50) / 1000)  # -5.0% … +4.9%, shuffled
    result = historical_var(returns, level=0.95)
    # 5th percentile at rank 99 × 0.05 = 4.95 between -5.0% (+4 steps of 0.1%) and the next value
    assert result.var == pytest.approx(0.04505)
    assert result.cvar == pytest.approx(np.mean([0.050, 0.049, 0.048, 0.047, 0.046]))  # the 5 worst
    assert (result.method, result.level, result.horizon, result.observations, result.samples) == ("historical", 0.95, 1, 100, 100)


@pytest.mark.parametrize("level", [0.95, 0.99])
def test_historical_var_agrees_with_empyrical(level):
    """empyrical returns the cutoff percentile and tail mean as returns; ours are the same as losses."""
    returns = fat_tailed_returns(seed=7)
    result = historical_var(returns, level=level)
    assert result.var == pytest.approx(-empyrical.value_at_risk(returns, cutoff=1 - level), rel=1e-12)
    assert result.cvar == pytest.approx(-empyrical.conditional_value_at_risk(returns, cutoff=1 - level), rel=1e-12)
    assert result.cvar >= result.var > 0


def test_historical_horizon_compounds_overlapping_windows():
    result = historical_var(np.array([0.10, -0.20, 0.05]), level=0.5, horizon=2)
    # windows: 1.1 × 0.8 - 1 = -12%, 0.8 × 1.05 - 1 = -16%; the median loss 14%, the worst 16%
    assert (result.var, result.cvar, result.samples) == (pytest.approx(0.14), pytest.approx(0.16), 2)


def test_var_of_a_gaining_tail_is_negative():
    assert historical_var(np.array([0.01, 0.02, 0.03]), level=0.9).var == pytest.approx(-0.012)


def test_monte_carlo_is_reproducible_for_a_seed():
    returns = fat_tailed_returns(seed=1)
    first = monte_carlo_var(returns, seed=42, n_paths=5_000, horizon=5)
    assert monte_carlo_var(returns, seed=42, n_paths=5_000, horizon=5) == first
    assert monte_carlo_var(returns, seed=np.random.default_rng(42), n_paths=5_000, horizon=5) == first
    assert monte_carlo_var(returns, seed=43, n_paths=5_000, horizon=5).var != first.var


@pytest.mark.parametrize(("level", "horizon"), [(0.95, 1), (0.99, 1), (0.95, 10)])
def test_monte_carlo_normal_converges_to_the_closed_form(level, horizon):
    returns = fat_tailed_returns(seed=11)
    result = monte_carlo_var(returns, seed=5, level=level, horizon=horizon, n_paths=200_000)
    logs = np.log1p(returns)
    mean, scale = horizon * logs.mean(), math.sqrt(horizon) * logs.std(ddof=1)
    z = norm.ppf(1 - level)
    closed_var = 1 - math.exp(mean + scale * z)
    closed_cvar = 1 - math.exp(mean + scale ** 2 / 2) * norm.cdf(z - scale) / (1 - level)  # lognormal tail mean
    tolerance = 0.03 * scale  # several standard errors of a tail quantile from 200,000 paths
    assert result.var == pytest.approx(closed_var, abs=tolerance)
    assert result.cvar == pytest.approx(closed_cvar, abs=tolerance)
    assert (result.method, result.samples, result.horizon) == ("monte_carlo_normal", 200_000, horizon)


def test_bootstrap_draws_only_observed_returns():
    returns = np.array([-0.10] + [0.01] * 9)  # one day in ten loses 10%
    result = monte_carlo_var(returns, seed=9, model="bootstrap", n_paths=20_000, level=0.95)
    assert (result.var, result.cvar) == (pytest.approx(0.10), pytest.approx(0.10))
    two_days = monte_carlo_var(returns, seed=9, model="bootstrap", n_paths=20_000, level=0.99, horizon=2)
    assert two_days.cvar <= 1 - 0.9 ** 2 + 1e-12  # never worse than two losing days in a row


def test_money_figures_are_decimal_cents():
    returns = np.random.default_rng(3).permutation(np.arange(-50, 50) / 1000)
    result = historical_var(returns, portfolio_value=Decimal("12345.67"))
    assert result.var_amount == Decimal("556.17")  # 4.505% of 12,345.67 = 556.172…
    assert result.cvar_amount == Decimal("592.59")  # 4.8% = 592.592…
    assert result.var_amount.as_tuple().exponent == -2
    assert historical_var(returns).var_amount is None


def test_money_rounds_half_to_even():
    [result] = stress_test({"BTC": 1.0}, {"drop": {"BTC": -0.125}}, portfolio_value=Decimal("1.00"))
    assert (result.loss, result.loss_amount) == (0.125, Decimal("0.12"))


def test_stress_loss_weights_longs_and_shorts():
    weights = {"BTC": 0.6, "ETH": 0.4, "SOL": -0.2}
    loss = stress_loss(weights, {"BTC": -0.30, "ETH": -0.40, "SOL": -0.50, "DOGE": -0.90})
    assert loss == pytest.approx(0.6 * 0.30 + 0.4 * 0.40 - 0.2 * 0.50)  # the short gains; DOGE is not held
    assert stress_loss(weights, {"BTC": 0.10}) == pytest.approx(-0.06)  # ETH and SOL unchanged: a gain


def test_stress_test_reports_each_named_scenario_in_order():
    scenarios = {"gap down 10%": {"BTC": -0.10, "ETH": -0.10}, "gap up 10%": {"BTC": 0.10, "ETH": 0.10}}
    results = stress_test({"BTC": 0.5, "ETH": 0.5}, scenarios, portfolio_value=Decimal("5000"))
    assert [(r.name, r.loss_amount) for r in results] == [("gap down 10%", Decimal("500.00")), ("gap up 10%", Decimal("-500.00"))]


@pytest.mark.parametrize(("returns", "kwargs"), [
    ([], {}), ([0.01, float("nan")], {}), ([0.01, float("inf")], {}), ([-1.2], {}), ([[0.01, 0.02]], {}),
    ([0.01, 0.02], {"level": 0.0}), ([0.01, 0.02], {"level": 1.0}), ([0.01, 0.02], {"level": 95}),
    ([0.01, 0.02], {"level": float("nan")}), ([0.01, 0.02], {"horizon": 0}), ([0.01, 0.02], {"horizon": 3}),
    ([0.01, 0.02], {"portfolio_value": Decimal("-1")}), ([0.01, 0.02], {"portfolio_value": 1000.0}),
])
def test_historical_var_refuses_bad_inputs(returns, kwargs):
    with pytest.raises(ValueError):
        historical_var(np.array(returns), **kwargs)


@pytest.mark.parametrize(("returns", "kwargs"), [
    ([], {}), ([0.01, float("nan")], {}), ([0.01], {}), ([0.01, 0.02], {"level": 1.5}),
    ([0.01, 0.02], {"n_paths": 0}), ([0.01, 0.02], {"model": "garch"}), ([0.01, -1.0], {}),
])
def test_monte_carlo_var_refuses_bad_inputs(returns, kwargs):
    with pytest.raises(ValueError):
        monte_carlo_var(np.array(returns), seed=1, **kwargs)


@pytest.mark.parametrize(("weights", "shocks"), [
    ({"BTC": 1.0}, {"BTC": float("nan")}), ({"BTC": 1.0}, {"BTC": -1.5}), ({"BTC": float("inf")}, {"BTC": -0.1}),
])
def test_stress_loss_refuses_bad_inputs(weights, shocks):
    with pytest.raises(ValueError):
        stress_loss(weights, shocks)


def test_monte_carlo_leaves_the_global_random_state_alone():
    np.random.seed(0)
    expected = np.random.random()
    np.random.seed(0)
    monte_carlo_var(fat_tailed_returns(seed=2), seed=3, n_paths=1_000)
    monte_carlo_var(fat_tailed_returns(seed=2), seed=3, n_paths=1_000, model="bootstrap")
    assert np.random.random() == expected


def test_gap_scenarios_move_every_symbol_both_ways():
    scenarios = gap_scenarios(["BTC", "ETH"], gaps=(0.05, 0.10))
    assert list(scenarios) == ["gap down 5%", "gap up 5%", "gap down 10%", "gap up 10%"]
    losses = {r.name: r.loss for r in stress_test({"BTC": 0.7, "ETH": 0.3}, scenarios)}
    assert losses["gap down 10%"] == pytest.approx(0.10) and losses["gap up 5%"] == pytest.approx(-0.05)


def test_correlation_to_one_hedges_stop_hedging():
    """A long/short book that looks hedged loses when every symbol falls its own 3 sigma together."""
    shocks = correlation_to_one({"BTC": 0.04, "ETH": 0.06, "PENNY": 0.5})
    assert shocks == {"BTC": pytest.approx(-0.12), "ETH": pytest.approx(-0.18), "PENNY": -1.0}
    assert stress_loss({"BTC": 1.0, "ETH": -0.5}, shocks) == pytest.approx(0.12 - 0.5 * 0.18)


@pytest.mark.parametrize("call", [
    lambda: gap_scenarios(["BTC"], gaps=(0.0,)), lambda: gap_scenarios(["BTC"], gaps=(1.5,)),
    lambda: correlation_to_one({"BTC": -0.1}), lambda: correlation_to_one({"BTC": 0.1}, sigmas=0.0),
])
def test_scenario_builders_refuse_bad_inputs(call):
    with pytest.raises(ValueError):
        call()
