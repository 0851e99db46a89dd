"""The wallet Monte Carlo and the governor's weights (pure), and the governor's split in cents."""
from __future__ import annotations

import math
from decimal import Decimal
from statistics import NormalDist

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from risk.engine.portfolio import governor_weights, portfolio_monte_carlo
from risk.selectors.governor import split_cents


def test_one_component_of_weight_one_matches_the_closed_form_normal_case():
    rng = np.random.default_rng(3)
    returns = np.expm1(rng.normal(0.0002, 0.004, size=(2000, 1)))
    logs = np.log1p(returns[:, 0])
    m, s, horizon = logs.mean(), logs.std(ddof=1), 30
    results = portfolio_monte_carlo(returns, np.ones(1), seed=11, horizon=horizon, n_paths=200_000)
    for level, result in results.items():
        z = NormalDist().inv_cdf(1 - level)
        closed = 1 - math.exp(horizon * m + math.sqrt(horizon) * s * z)
        assert abs(result.var - closed) < 0.03 * closed
        assert result.cvar > result.var and result.horizon == horizon and result.samples == 200_000


def test_the_wallet_figures_repeat_for_a_seed_and_cash_dilutes_them():
    rng = np.random.default_rng(5)
    returns = rng.normal(0, 0.01, size=(500, 30)) + rng.normal(0, 0.005, size=(500, 1))  # a common factor
    weights = np.full(30, 1 / 30)
    first = portfolio_monte_carlo(returns, weights, seed=7, horizon=5, portfolio_value=Decimal("1000"))
    again = portfolio_monte_carlo(returns, weights, seed=7, horizon=5, portfolio_value=Decimal("1000"))
    half = portfolio_monte_carlo(returns, weights / 2, seed=7, horizon=5)
    assert first == again
    assert first[0.99].var_amount == (Decimal(repr(first[0.99].var)) * 1000).quantize(Decimal("0.01"))
    assert math.isclose(half[0.99].var, first[0.99].var / 2, rel_tol=1e-9)  # half in cash: half the loss


def test_governor_scales_by_inverse_volatility_skips_losers_and_caps_correlated_agents():
    rng = np.random.default_rng(1)
    common = rng.normal(0, 0.01, 400)
    returns = np.column_stack([
        common, common + rng.normal(0, 0.001, 400),  # 0 and 1 move together
        rng.normal(0, 0.01, 400), rng.normal(0, 0.02, 400),  # 2 and 3: independent, 3 twice as volatile
        rng.normal(0, 0.01, 400),  # 4 loses
    ])
    sharpe = np.array([2.0, 2.0, 2.0, 2.0, -1.0])
    roi = np.array([0.01, 0.01, 0.01, 0.01, -0.01])
    found = governor_weights(returns, sharpe, roi, max_correlation=0.8, group_cap=0.5)

    assert (0, 1) in found.groups and found.weights[4] == 0
    assert math.isclose(found.weights[2] / found.weights[3], found.volatility[3] / found.volatility[2], rel_tol=1e-9)
    assert found.weights[0] + found.weights[1] <= 0.5 + 1e-12
    assert math.isclose(found.weights.sum(), 1.0)

    tight = governor_weights(returns, sharpe, roi, max_correlation=0.8, group_cap=0.2)
    assert math.isclose(tight.weights.sum(), 0.6) and len(tight.capped) == 3  # the rest stays in cash


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=40),
       st.decimals(min_value=0, max_value=10_000_000, places=2))
def test_split_cents_adds_up_exactly_to_the_total(raw, total):
    weights = np.array(raw) / max(1.0, sum(raw))
    parts, cash = split_cents(total, weights)
    assert sum(parts, Decimal(0)) + cash == total
    assert all(p >= 0 for p in parts) and cash >= 0


def test_benchmark_risk_times_100000_paths_for_a_30_agent_wallet_under_a_second():
    import json
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("benchmark", "risk", "--orders", "1000", "--repeats", "2", "--json", stdout=out)
    figure = json.loads(out.getvalue())["monte_carlo"]
    assert figure["agents"] == 30 and figure["paths"] == 100_000 and figure["repeats"] == 2
    assert figure["meets_target"] is True and 0 < figure["best_ms"] <= figure["median_ms"] < 1000
    assert 0 < figure["var_95"] < figure["var_99"]
