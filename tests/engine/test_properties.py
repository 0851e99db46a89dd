"""Property-based tests: causality, rule invariants, resumption, live = replay, determinism."""

import io
from dataclasses import replace
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohorts.engine import ParentRules, Simulation, run
from tests.engine.cohorts import BARS, BARS_PER_DAY, cohorts

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TOL = 1e-8


def D(x) -> Decimal:
    return Decimal(str(float(x)))


def assert_same_result(a, b):
    np.testing.assert_array_equal(a.equity, b.equity)
    np.testing.assert_array_equal(a.exposure, b.exposure)
    np.testing.assert_array_equal(a.cash, b.cash)
    np.testing.assert_array_equal(a.positions, b.positions)
    for name in ("agent", "bar", "symbol", "side", "kind", "qty", "price", "fee", "pnl"):
        np.testing.assert_array_equal(getattr(a.fills, name), getattr(b.fills, name))
    assert a.events == b.events


def _until(fills, t):
    keep = fills.bar <= t
    return [getattr(fills, n)[keep] for n in ("agent", "bar", "symbol", "side", "qty", "price")]


@SETTINGS
@given(cohorts(), st.integers(0, BARS - 2), st.integers(0, 2**32 - 1))
def test_changing_later_bars_never_changes_earlier_fills(case, t, seed):
    market, spec = case
    rng = np.random.default_rng(seed)
    changed = {}
    for name in ("open", "high", "low", "close", "volume"):
        arr = getattr(market, name).copy()
        arr[t + 1 :] *= rng.uniform(0.5, 1.5, arr[t + 1 :].shape)
        changed[name] = arr
    other = type(market)(**changed)
    a, b = run(market, spec), run(other, spec)
    for x, y in zip(_until(a.fills, t), _until(b.fills, t), strict=True):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.equity[:, : t + 1], b.equity[:, : t + 1])
    assert [e for e in a.events if e.bar <= t] == [e for e in b.events if e.bar <= t]


def _check_book(market, spec, state, t):
    """Books after the fills at the open of bar t, marked at that open."""
    op = market.open[t]
    cash, pos = state["cash"], state["pos"]
    eq = (cash + pos * op).sum(axis=1)
    gross = (np.abs(pos) * op).sum(axis=1)
    parent = eq.sum() + spec.reserve
    slack = 1e-9 * spec.bankroll
    r = spec.rules
    if r.max_gross_exposure is not None:
        assert gross.sum() <= r.max_gross_exposure * parent * (1 + TOL) + slack
    if r.max_market_exposure is not None:
        market = (np.abs(pos) * op).sum(axis=0)
        assert (market <= r.max_market_exposure * parent * (1 + TOL) + slack).all()
    ceilings = spec.leverage_ceilings()
    assert (gross <= np.maximum(ceilings * eq * (1 + TOL), 0) + slack).all()
    for a, agent in enumerate(spec.agents):
        if agent.genome.side == "long":
            assert (pos[a] >= 0).all()
        if agent.genome.side == "short":
            assert (pos[a] <= 0).all()
        if agent.genome.side == "long" and agent.leverage <= 1:
            floor = -TOL * agent.capital
            assert (cash[a] >= floor).all() if spec.sizing == "sleeve" else cash[a].sum() >= floor


@SETTINGS
@given(cohorts())
def test_exposure_leverage_and_cash_stay_within_the_rules_after_every_fill(case):
    market, spec = case
    sim = Simulation(market, spec)
    while sim.bar < market.n_bars:
        sim.advance(1)
        _check_book(market, spec, sim.state(), sim.bar - 1)


STOPPING = ParentRules(daily_stop=0.002, max_leverage=3.0)


@SETTINGS
@given(cohorts(rule_set=STOPPING))
def test_daily_stop_flattens_everything_and_halts_for_the_day(case):
    market, spec = case
    result = run(market, spec)
    f = result.fills
    for event in (e for e in result.events if e.rule == "daily_stop"):
        t = event.bar
        day_end = (t // BARS_PER_DAY + 1) * BARS_PER_DAY
        assert (f.kind[f.bar == t + 1] == -2).all()  # only closes at the next open
        assert not ((f.bar > t + 1) & (f.bar < day_end)).any()  # then nothing until tomorrow
        if t + 1 < BARS:
            assert (result.exposure[:, t + 1 : min(day_end, BARS)] == 0).all()


def _roundtrip(state):
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    with np.load(buffer) as loaded:
        return {k: loaded[k] for k in loaded.files}


@SETTINGS
@given(cohorts(), st.integers(0, BARS))
def test_a_run_cut_and_resumed_equals_the_uninterrupted_run(case, cut):
    market, spec = case
    first = Simulation(market, spec)
    first.advance(cut)
    resumed = Simulation(market, spec, state=_roundtrip(first.state()))
    resumed.advance()
    assert_same_result(resumed.result(), run(market, spec))


@settings(SETTINGS, max_examples=25)
@given(cohorts(), st.integers(0, 40))
def test_live_stepping_one_bar_at_a_time_equals_replay(case, start):
    market, spec = case
    live = Simulation(market.head(start), replace(spec, flatten_at_end=False))
    live.advance()
    for t in range(start, BARS):
        live.step({name: getattr(market, name)[t] for name in ("open", "high", "low", "close", "volume")})
    if spec.flatten_at_end:
        live.close_out()
    assert_same_result(live.result(), run(market, spec))


@SETTINGS
@given(cohorts())
def test_same_inputs_give_identical_outputs(case):
    market, spec = case
    assert_same_result(run(market, spec), run(market, spec))


@SETTINGS
@given(cohorts())
def test_a_decimal_ledger_rebuilt_from_fills_reconciles_to_the_cent(case):
    market, spec = case
    result = run(market, spec)
    f = result.fills
    cash = [D(c) for c in spec.capital()]
    qty = np.zeros(result.positions.shape)
    for a, s, side, q, px, fee in zip(f.agent.tolist(), f.symbol.tolist(), f.side.tolist(),
                                      f.qty.tolist(), f.price.tolist(), f.fee.tolist(), strict=True):
        cash[a] -= side * D(q) * D(px) + D(fee)
        qty[a, s] += side * q
    np.testing.assert_allclose(qty, result.positions, rtol=1e-9, atol=1e-9)
    last = market.close[-1]
    for a in range(spec.n_agents):
        marked = sum(D(p) * D(c) for p, c in zip(result.positions[a], last, strict=True))
        assert abs(cash[a] + marked - D(result.final_equity[a])) < Decimal("0.005")
