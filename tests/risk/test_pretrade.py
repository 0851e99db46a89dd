"""The pre-trade check: each refusal with its figures, reduce-only orders, boundaries, bad orders, and
agreement with the simulation engine's own limit rules."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from risk.engine.pretrade import (
    MIN_NOTIONAL,
    MIN_QTY,
    TOL,
    AccountState,
    Order,
    Reason,
    RiskLimits,
    pretrade_check,
)

ROOT = Path(__file__).resolve().parents[2]
PRICES = {"BTC": 50_000.0, "ETH": 2_000.0, "SOL": 100.0}
LIMITS = RiskLimits(exposure_limit=1.0, leverage_tier=2.0, market_exposure_limit=0.5, daily_stop=0.05)


def account(equity=10_000.0, day_open=10_000.0, **positions) -> AccountState:
    return AccountState(equity=equity, day_open_equity=day_open, positions=positions, prices=PRICES)


# --- refusals, each with its figures -------------------------------------------------------------------


def test_refuses_gross_exposure_above_limit_with_the_figures():
    state = account(BTC=0.1, ETH=-1.0)  # gross 5,000 + 2,000 = 0.70× of 10,000
    verdict = pretrade_check(Order("SOL", "buy", 40, 100.0), state, LIMITS)  # + 4,000 → 1.10×
    assert not verdict.accepted and verdict.code == Reason.EXPOSURE_LIMIT
    assert "gross exposure would be 1.10× equity, above the 1.00× limit" in verdict.reason
    assert verdict.value == pytest.approx(1.1) and verdict.limit == 1.0


def test_refuses_leverage_above_the_ladder_tier_when_the_tier_is_tighter():
    limits = RiskLimits(exposure_limit=5.0, leverage_tier=3.0)
    state = account(BTC=0.4)  # 2.00×
    verdict = pretrade_check(Order("BTC", 1, 0.25, 50_000.0), state, limits)  # 0.65 BTC → 3.25×
    assert verdict.code == Reason.LEVERAGE_TIER and not verdict.accepted
    assert "leverage would be 3.25× equity, above the 3.00× tier" in verdict.reason


def test_refuses_a_market_above_its_share_of_equity():
    state = account(ETH=2.0)  # 0.40× in ETH
    verdict = pretrade_check(Order("ETH", "buy", 1.0, 2_000.0), state, LIMITS)  # 3 ETH → 0.60×
    assert verdict.code == Reason.MARKET_EXPOSURE
    assert "exposure to ETH would be 0.60× equity, above the 0.50× per-market limit" in verdict.reason


def test_refuses_new_exposure_once_the_daily_stop_is_hit():
    state = account(equity=9_400.0, BTC=0.01)  # lost 600 of a 500 stop (5% of 10,000)
    verdict = pretrade_check(Order("SOL", "buy", 1, 100.0), state, LIMITS)
    assert verdict.code == Reason.DAILY_STOP_HIT and not verdict.accepted
    assert "$600.00 below the day's open $10,000.00" in verdict.reason
    assert "$500.00 stop" in verdict.reason


def test_daily_stop_amount_applies_when_smaller_than_the_fraction():
    limits = RiskLimits(daily_stop=0.05, daily_stop_amount=200.0)
    verdict = pretrade_check(Order("SOL", "buy", 1, 100.0), account(equity=9_750.0), limits)
    assert verdict.code == Reason.DAILY_STOP_HIT and "$250.00 below" in verdict.reason
    assert "$200.00 stop" in verdict.reason


def test_daily_stop_is_a_fraction_of_the_bankroll_when_given():
    state = AccountState(equity=9_700.0, day_open_equity=10_000.0, positions={}, prices=PRICES, bankroll=5_000.0)
    verdict = pretrade_check(Order("SOL", "buy", 1, 100.0), state, LIMITS)  # stop 5% of 5,000 = 250
    assert verdict.code == Reason.DAILY_STOP_HIT and "$250.00 stop" in verdict.reason


def test_refuses_orders_below_the_minimum_notional():
    verdict = pretrade_check(Order("SOL", "buy", 0.00005, 100.0), account(), LIMITS)  # $0.005
    assert verdict.code == Reason.BELOW_MIN_NOTIONAL
    assert "$0.005" in verdict.reason and "$0.01 minimum" in verdict.reason
    tiny = pretrade_check(Order("BTC", "buy", MIN_QTY / 2, 1e9), account(), LIMITS)  # notional fine, quantity not
    assert tiny.code == Reason.BELOW_MIN_NOTIONAL and "5e-09" in tiny.reason


def test_min_notional_is_configurable():
    limits = RiskLimits(min_notional=10.0)
    assert pretrade_check(Order("SOL", "buy", 0.05, 100.0), account(), limits).code == Reason.BELOW_MIN_NOTIONAL
    assert pretrade_check(Order("SOL", "buy", 0.1, 100.0), account(), limits).accepted


@pytest.mark.parametrize(("order", "words"), [
    (Order("DOGE", "buy", 1, 1.0), "unknown symbol 'DOGE'"),
    (Order(7, "buy", 1, 1.0), "unknown symbol 7"),
    (Order("SOL", "buy", 0, 100.0), "quantity must be a positive number, not 0"),
    (Order("SOL", "sell", -2, 100.0), "quantity must be a positive number, not -2"),
    (Order("SOL", "buy", math.nan, 100.0), "quantity must be a positive number, not nan"),
    (Order("SOL", "buy", math.inf, 100.0), "quantity must be a positive number, not inf"),
    (Order("SOL", "buy", 1, math.nan), "price must be a positive number, not nan"),
    (Order("SOL", "buy", 1, 0.0), "price must be a positive number"),
    (Order("SOL", "hold", 1, 100.0), "side must be buy (+1) or sell (-1), not 'hold'"),
    (Order("SOL", 0, 1, 100.0), "side must be buy (+1) or sell (-1), not 0"),
    (Order("SOL", [1], 1, 100.0), "side must be buy (+1) or sell (-1)"),
    (Order("SOL", True, 1, 100.0), "side must be buy (+1) or sell (-1), not True"),
    (Order("SOL", "buy", "1", 100.0), "quantity must be a positive number"),
])
def test_refuses_bad_orders_with_what_is_wrong(order, words):
    verdict = pretrade_check(order, account(), LIMITS)
    assert verdict.code == Reason.BAD_ORDER and not verdict.accepted
    assert words in verdict.reason


def test_a_bad_reducing_order_is_still_refused():
    state = account(equity=9_000.0, BTC=0.5)  # past every limit and the daily stop
    assert pretrade_check(Order("BTC", "sell", math.nan, 50_000.0), state, LIMITS).code == Reason.BAD_ORDER


# --- reduce-only ------------------------------------------------------------------------------------------


def test_reducing_orders_pass_past_every_limit_and_after_the_daily_stop():
    state = account(equity=9_000.0, BTC=0.5, ETH=-1.0)  # gross 2.7× equity, BTC 2.8×, 1,000 lost
    for order in (Order("BTC", "sell", 0.2, 50_000.0), Order("ETH", "buy", 1.0, 2_000.0)):
        verdict = pretrade_check(order, state, LIMITS)
        assert verdict.accepted and verdict.code == Reason.OK, verdict.reason
        assert "reduces the" in verdict.reason


def test_closing_a_whole_position_smaller_than_the_minimum_passes():
    state = account(SOL=0.00005)  # worth $0.005
    assert pretrade_check(Order("SOL", "sell", 0.00005, 100.0), state, LIMITS).accepted
    assert pretrade_check(Order("SOL", "sell", 0.00002, 100.0), state, LIMITS).code == Reason.BELOW_MIN_NOTIONAL


def test_an_order_through_flat_is_checked_like_a_new_one():
    state = account(equity=9_000.0, ETH=-1.0)  # after the daily stop
    verdict = pretrade_check(Order("ETH", "buy", 1.5, 2_000.0), state, LIMITS)  # -1 → +0.5: a flip
    assert verdict.code == Reason.DAILY_STOP_HIT


def test_adding_to_a_position_is_not_a_reduction():
    state = account(equity=9_000.0, BTC=-0.01)
    assert pretrade_check(Order("BTC", "sell", 0.01, 50_000.0), state, LIMITS).code == Reason.DAILY_STOP_HIT


# --- boundaries -------------------------------------------------------------------------------------------


def test_exactly_at_each_limit_is_accepted_and_a_hair_above_is_not():
    state = account(ETH=2.0, SOL=10.0)  # 4,000 + 1,000 = 0.50×; ETH 0.40×
    at_gross = pretrade_check(Order("BTC", "buy", 0.1, 50_000.0), state, RiskLimits(exposure_limit=1.0))
    above_gross = pretrade_check(Order("BTC", "buy", 0.1 * (1 + 1e-6), 50_000.0), state, RiskLimits(exposure_limit=1.0))
    assert at_gross.accepted and above_gross.code == Reason.EXPOSURE_LIMIT
    limits = RiskLimits(market_exposure_limit=0.5)
    assert pretrade_check(Order("ETH", "buy", 0.5, 2_000.0), state, limits).accepted
    assert pretrade_check(Order("ETH", "buy", 0.5 * (1 + 1e-6), 2_000.0), state, limits).code == Reason.MARKET_EXPOSURE


def test_a_loss_just_short_of_the_daily_stop_still_trades():
    limits = RiskLimits(daily_stop=0.05)
    assert pretrade_check(Order("SOL", "buy", 1, 100.0), account(equity=9_500.01), limits).accepted
    # the engine's rule: a loss equal to the stop halts (day start − equity ≥ stop)
    assert pretrade_check(Order("SOL", "buy", 1, 100.0), account(equity=9_500.0), limits).code == Reason.DAILY_STOP_HIT


def test_order_costs_count_against_equity():
    state = account(SOL=50.0)  # 0.50×
    free = RiskLimits(exposure_limit=1.0)
    costly = RiskLimits(exposure_limit=1.0, cost_rate=0.01)  # 5,000 of notional costs 50 of equity
    order = Order("BTC", "buy", 0.1, 50_000.0)  # → 10,000 of gross
    assert pretrade_check(order, state, free).accepted
    verdict = pretrade_check(order, state, costly)
    assert verdict.code == Reason.EXPOSURE_LIMIT and "1.01× equity" in verdict.reason


def test_no_equity_left_refuses_any_new_exposure():
    state = account(equity=-100.0, day_open=100.0)
    verdict = pretrade_check(Order("SOL", "buy", 1, 100.0), state, RiskLimits(leverage_tier=2.0))
    assert verdict.code == Reason.LEVERAGE_TIER and "no equity left (-$100.00)" in verdict.reason


def test_the_traded_symbol_is_marked_at_the_order_price():
    state = account(BTC=0.1)  # 0.50× at the last price
    # buying 0.05 more at 60,000: 0.15 × 60,000 = 9,000 → 0.90×, within 1.00×
    verdict = pretrade_check(Order("BTC", "buy", 0.05, 60_000.0), state, RiskLimits(exposure_limit=1.0))
    assert verdict.accepted and "0.90× equity" in verdict.reason


def test_state_from_arrays_and_symbol_indices():
    state = AccountState(equity=1_000.0, day_open_equity=1_000.0, positions=np.array([1.0, -2.0]),
                         prices=np.array([100.0, 200.0]), symbols=("A", "B"))
    assert state.gross == 500.0
    by_index = pretrade_check(Order(1, -1, 1.0, 200.0), state, RiskLimits(exposure_limit=1.0))
    by_name = pretrade_check(Order("B", "sell", 1.0, 200.0), state, RiskLimits(exposure_limit=1.0))
    assert by_index == by_name and by_index.accepted and "B 0.60× equity" in by_index.reason


def test_state_refuses_inconsistent_inputs():
    with pytest.raises(ValueError):
        AccountState(equity=1.0, day_open_equity=1.0, positions=[1.0], prices=[1.0, 2.0])
    with pytest.raises(ValueError):
        AccountState(equity=1.0, day_open_equity=1.0, positions={"X": 1.0}, prices={"Y": 1.0})
    with pytest.raises(ValueError):
        AccountState(equity=1.0, day_open_equity=1.0, positions=[1.0], prices=[math.nan])
    with pytest.raises(ValueError):
        RiskLimits(leverage_tier=0.0)


@settings(max_examples=200, deadline=None)
@given(
    positions=st.lists(st.floats(-5, 5, allow_nan=False), min_size=3, max_size=3),
    equity=st.floats(100.0, 20_000.0),
    symbol=st.integers(0, 2),
    side=st.sampled_from([1, -1]),
    qty=st.floats(1e-6, 10.0),
)
def test_accepted_orders_never_leave_a_limit_broken_unless_they_reduce(positions, equity, symbol, side, qty):
    prices = [1_000.0, 200.0, 50.0]
    state = AccountState(equity=equity, day_open_equity=10_000.0, positions=positions, prices=prices)
    verdict = pretrade_check(Order(symbol, side, qty, prices[symbol]), state, LIMITS)
    pos = positions[symbol]
    reduces = side * pos < 0 and qty <= abs(pos)
    if reduces and qty * prices[symbol] >= MIN_NOTIONAL:
        assert verdict.accepted
    elif verdict.accepted and not reduces:
        after = list(positions)
        after[symbol] += side * qty
        gross = sum(abs(q) * p for q, p in zip(after, prices, strict=True))
        assert gross <= LIMITS.exposure_limit * equity * (1 + TOL)
        assert abs(after[symbol]) * prices[symbol] <= LIMITS.market_exposure_limit * equity * (1 + TOL)
        assert 10_000.0 - equity < LIMITS.daily_stop * 10_000.0


# --- agreement with the simulation engine -----------------------------------------------------------------


def _events():
    return (None, None, np.zeros((8, 4), dtype=np.int64), np.zeros((8, 2)), np.zeros(2, dtype=np.int64))


def _engine_case():
    """One agent, three symbols at 100 / 50 / 20, holding 30 and -20 of the first two (gross 4,000, equity 5,000),
    wanting a large entry in the third at a cost rate of 0.15%."""
    op = np.array([100.0, 50.0, 20.0])
    pos = np.array([[30.0, -20.0, 0.0]])
    want, rate = np.array([[0.0, 0.0, 500.0]]), np.array([[0.0, 0.0, 0.0015]])
    return op, pos, want, rate, np.array([5_000.0]), np.array([4_000.0])


def _check_entry(qty, op, pos, eq, limits):
    state = AccountState(equity=float(eq[0]), day_open_equity=float(eq[0]), positions=pos[0], prices=op)
    return pretrade_check(Order(2, 1, qty, float(op[2])), state, limits)


def test_agrees_with_the_engine_leverage_ceiling():
    from cohorts.engine import limits as engine

    op, pos, want, rate, eq, gross = _engine_case()
    engine.cap_agents.py_func(_events(), 0, op, want, rate, np.array([1.5]), eq, gross)
    sized = float(want[0, 2])  # the entry the engine places under a 1.5× ceiling
    assert 0 < sized < 500.0
    limits = RiskLimits(leverage_tier=1.5, cost_rate=0.0015)
    assert _check_entry(sized, op, pos, eq, limits).accepted
    assert _check_entry(sized * (1 + 1e-6), op, pos, eq, limits).code == Reason.LEVERAGE_TIER


def test_agrees_with_the_engine_gross_cap():
    from cohorts.engine import codes
    from cohorts.engine import limits as engine

    op, pos, want, rate, eq, gross = _engine_case()
    fp = np.zeros(codes.N_FP)
    fp[codes.GROSS_CAP] = 1.2
    engine.cap_gross.py_func(_events(), 0, op, fp, want, rate, eq, gross)
    sized = float(want[0, 2])
    limits = RiskLimits(exposure_limit=1.2, cost_rate=0.0015)
    assert _check_entry(sized, op, pos, eq, limits).accepted
    assert _check_entry(sized * (1 + 1e-6), op, pos, eq, limits).code == Reason.EXPOSURE_LIMIT


def test_agrees_with_the_engine_market_cap():
    from cohorts.engine import codes
    from cohorts.engine import limits as engine

    op, pos, want, rate, eq, _ = _engine_case()
    fp = np.zeros(codes.N_FP)
    fp[codes.MARKET_CAP] = 0.7  # the held markets are at 0.60× and 0.20×
    state = [None] * 9
    state[codes.POS] = pos
    limits = RiskLimits(market_exposure_limit=0.7, cost_rate=0.0015)
    assert _check_entry(500.0, op, pos, eq, limits).code == Reason.MARKET_EXPOSURE  # what was wanted
    engine.cap_markets.py_func(state, _events(), 0, op, fp, want, rate, eq)
    assert 0 < want[0, 2] < 500.0
    assert _check_entry(float(want[0, 2]), op, pos, eq, limits).accepted  # what the engine let through


def test_minimums_are_the_engines():
    from cohorts.engine import codes

    assert (MIN_QTY, MIN_NOTIONAL, TOL) == (codes.MIN_QTY, codes.MIN_NOTIONAL, codes.TOL)


def test_check_imports_no_framework():
    probe = "import sys, risk.engine.pretrade; print(','.join(sorted({m.split('.')[0] for m in sys.modules})))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                          env={"PATH": "/usr/bin:/bin"})
    assert not set(done.stdout.strip().split(",")) & {"django", "rest_framework", "channels", "celery", "numba"}


# --- the benchmark ----------------------------------------------------------------------------------------


def test_benchmark_risk_reports_latency_and_every_verdict_for_a_seed():
    import json
    from io import StringIO

    from django.core.management import call_command

    def run(seed):
        out = StringIO()
        call_command("benchmark", "risk", "--orders", "3000", "--symbols", "4", "--seed", str(seed), "--paths", "2000",
                     "--repeats", "1", "--json", stdout=out)
        return json.loads(out.getvalue())

    first, again, other = run(1), run(1), run(2)
    assert sum(first["reasons"].values()) == first["orders"] == 3000
    assert set(first["reasons"]) == {code.value for code in Reason}
    assert first["accepted"] == first["reasons"]["ok"] and first["refused"] == 3000 - first["accepted"]
    assert 0 < first["p50_us"] <= first["p99_us"] <= first["max_us"]
    assert first["reasons"] == again["reasons"] and first["reasons"] != other["reasons"]
