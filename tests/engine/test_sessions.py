"""Honest fills on gapped, session-bound data: orders fill only at a symbol's own tradable bars, the
liquidity screen reads that symbol's real volume, the close-out happens at each symbol's last real bar,
and the daily stop follows session days."""

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cohorts.engine import AgentSpec, Genome, Market, ParentRules, Simulation, default_roster, generate_market, run
from cohorts.engine.workload import checksum, reference_spec, summarise
from tests.engine.cohorts import cohorts
from tests.engine.helpers import market_from_closes
from tests.engine.test_properties import SETTINGS
from tests.engine.test_rules import ALWAYS_LONG, events_of, fills_of, spec_of

RSI3 = Genome("rsi_reversion", {"n": 3, "lower": 40.0, "upper": 60.0, "smoothing": "cutler"})


def gapped(market: Market, tradable: np.ndarray, day=None) -> Market:
    """The market with the bars that are not tradable made flat at the last real close, no volume."""
    close = market.close.copy()
    for t in range(1, market.n_bars):
        close[t] = np.where(tradable[t], close[t], close[t - 1])
    prev = np.vstack([close[:1], close[:-1]])
    flat = {f: np.where(tradable, getattr(market, f), prev) for f in ("open", "high", "low")}
    return Market(flat["open"], np.maximum(flat["high"], close), np.minimum(flat["low"], close), close,
                  np.where(tradable, market.volume, 0.0), tradable=tradable, day=day)


def sessions_mask(n_bars: int, n_symbols: int, seed: int) -> np.ndarray:
    """Sessions of 60 bars with 30-bar breaks, and random missing bars inside the sessions."""
    in_session = (np.arange(n_bars) % 90) < 60
    rng = np.random.default_rng(seed)
    return in_session[:, None] & (rng.random((n_bars, n_symbols)) > 0.2)


def test_orders_fill_only_at_bars_where_their_symbol_trades():
    base = generate_market(4, 1, seed=3)
    tradable = sessions_mask(base.n_bars, 4, seed=1)
    market = gapped(base, tradable)
    spec = dataclasses.replace(reference_spec(12), flatten_at_end=True, max_volume_pct=5.0)
    spec = dataclasses.replace(spec, agents=tuple(AgentSpec(g, 100.0) for g in default_roster(12, seed=2)))

    fills = run(market, spec).fills

    assert len(fills) > 100
    assert tradable[fills.bar, fills.symbol].all()


def test_an_order_waits_for_its_symbols_next_tradable_bar_and_fills_at_its_open():
    closes = [100.0, 101.0, 102.0, 103.0, 104.0, 105.0, 106.0, 107.0]
    tradable = np.array([True, True, True, True, False, False, True, True])[:, None]  # the session breaks at 4
    market = gapped(market_from_closes(closes), tradable)

    result = run(market, spec_of(AgentSpec(ALWAYS_LONG, 1000.0)))

    # the signal of bar 3 would fill at bar 4; bars 4 and 5 do not trade, so it fills at bar 6's open
    assert fills_of(result) == [(6, 0, 0, 1, 1)]
    assert result.fills.price[0] == market.open[6, 0]


def test_signals_are_not_read_at_bars_the_symbol_did_not_trade():
    closes = [100.0, 100.0, 100.0, 100.0, 100.0, 100.0]
    tradable = np.array([True, True, True, False, False, False])[:, None]
    market = gapped(market_from_closes(closes), tradable)

    assert len(run(market, spec_of(AgentSpec(ALWAYS_LONG, 1000.0))).fills) == 0


def test_the_liquidity_screen_reads_the_symbols_last_real_volume():
    closes = [100.0] * 8
    tradable = np.array([True, True, True, True, False, False, True, True])[:, None]
    market = gapped(market_from_closes(closes, volume=50.0), tradable)  # no volume at the flat bars

    result = run(market, spec_of(AgentSpec(ALWAYS_LONG, 1000.0), max_volume_pct=10.0))

    assert result.fills.bar.tolist() == [6]
    assert result.fills.qty[0] == pytest.approx(5.0)  # 10% of the real bar's 50, not of a flat bar's 0
    assert [e.values["allowed_qty"] for e in events_of(result, "liquidity_cap")] == pytest.approx([5.0])


def test_close_out_fills_each_symbol_at_its_own_last_real_bar():
    base = market_from_closes(np.column_stack([np.linspace(100, 120, 12), np.linspace(50, 40, 12)]))
    tradable = np.ones((12, 2), dtype=bool)
    tradable[8:, 1] = False  # the second symbol's session ends at bar 7
    market = gapped(base, tradable)

    result = run(market, spec_of(AgentSpec(ALWAYS_LONG, 1000.0), flatten_at_end=True))

    closes = {s: (b, p) for b, s, k, p in zip(result.fills.bar, result.fills.symbol, result.fills.kind,
                                               result.fills.price, strict=True) if k == -2}
    assert closes == {0: (11, market.close[11, 0]), 1: (7, market.close[7, 1])}
    assert result.positions.tolist() == [[0.0, 0.0]]
    assert result.final_equity[0] == pytest.approx(result.cash.sum())


def test_marks_hold_the_last_real_close_while_a_symbol_does_not_trade():
    closes = [100.0, 100.0, 100.0, 100.0, 110.0, 110.0, 110.0, 120.0]
    tradable = np.array([True, True, True, True, True, False, False, True])[:, None]
    market = gapped(market_from_closes(closes), tradable)

    equity = run(market, spec_of(AgentSpec(ALWAYS_LONG, 1000.0))).equity[0]

    assert equity[4] == equity[5] == equity[6] != equity[7]


def test_daily_stop_resets_at_the_session_day_not_after_a_count_of_bars():
    closes = [100] * 5 + [90] * 15
    day = np.array([0] * 7 + [1] * 13)  # a session day of 7 bars, then the next
    market = dataclasses.replace(market_from_closes(closes), day=day)
    spec = spec_of(AgentSpec(ALWAYS_LONG, 1000.0), rules=ParentRules(daily_stop=0.05), bars_per_day=10)

    result = run(market, spec)

    # stopped at bar 5, flattened at 6, trading again from the next session day's first bar (7)
    assert fills_of(result)[:3] == [(4, 0, 0, 1, 1), (6, 0, 0, -1, -2), (8, 0, 0, 1, 1)]
    assert [e.bar for e in events_of(result, "daily_stop")] == [5]


def test_gapless_tradable_mask_changes_nothing():
    market = generate_market(5, 1, seed=4)
    spec = reference_spec(9)
    marked = dataclasses.replace(market, tradable=np.ones(market.close.shape, dtype=bool),
                                 day=np.zeros(market.n_bars, dtype=np.int64))

    assert checksum(*summarise(run(market, spec))) == checksum(*summarise(run(marked, spec)))


def test_live_steps_on_gapped_bars_equal_the_replay():
    base = generate_market(3, 1, seed=5)
    tradable = sessions_mask(base.n_bars, 3, seed=6)
    market = gapped(base, tradable, day=np.arange(base.n_bars) // 90)
    spec = dataclasses.replace(reference_spec(6), agents=tuple(AgentSpec(g, 100.0) for g in default_roster(6, 1)))
    replay = run(market, spec)

    live = Simulation(market.head(300), spec)
    live.advance()
    for t in range(300, market.n_bars):
        live.step({f: getattr(market, f)[t] for f in ("open", "high", "low", "close", "volume")}
                  | {"tradable": tradable[t], "day": market.day[t]})

    np.testing.assert_array_equal(live.result().fills.bar, replay.fills.bar)
    np.testing.assert_array_equal(live.result().equity, replay.equity)


def _gapped_case(case, seed):
    market, spec = case
    rng = np.random.default_rng(seed)
    n = market.n_bars
    in_session = (np.arange(n) % 50) < rng.integers(20, 50)
    tradable = in_session[:, None] & (rng.random(market.close.shape) > rng.uniform(0.0, 0.5))
    return gapped(market, tradable, day=np.arange(n) // 50), spec


@SETTINGS
@given(cohorts(), st.integers(0, 2**32 - 1))
def test_with_every_rule_in_play_fills_happen_only_on_tradable_bars(case, seed):
    market, spec = _gapped_case(case, seed)

    fills = run(market, spec).fills

    assert market.tradable[fills.bar, fills.symbol].all()


@SETTINGS
@given(cohorts(), st.integers(0, 2**32 - 1), st.data())
def test_on_gapped_bars_later_bars_never_change_earlier_fills(case, seed, data):
    market, spec = _gapped_case(case, seed)
    spec = dataclasses.replace(spec, flatten_at_end=False)  # a close-out is made after the last bar
    t = data.draw(st.integers(0, market.n_bars - 2))
    rng = np.random.default_rng(seed + 1)
    changed = {f: getattr(market, f).copy() for f in ("open", "high", "low", "close", "volume")}
    for f in changed:
        changed[f][t + 1:] *= rng.uniform(0.5, 1.5, changed[f][t + 1:].shape)
    later = Market(**changed, tradable=market.tradable, day=market.day)

    a, b = run(market, spec), run(later, spec)

    for name in ("agent", "bar", "symbol", "side", "qty", "price"):
        np.testing.assert_array_equal(getattr(a.fills, name)[a.fills.bar <= t], getattr(b.fills, name)[b.fills.bar <= t])
    np.testing.assert_array_equal(a.equity[:, :t + 1], b.equity[:, :t + 1])


@SETTINGS
@given(cohorts(), st.integers(0, 2**32 - 1), st.data())
def test_on_gapped_bars_a_run_cut_and_resumed_equals_the_uninterrupted_run(case, seed, data):
    market, spec = _gapped_case(case, seed)
    cut = data.draw(st.integers(0, market.n_bars))
    whole = run(market, spec)

    first = Simulation(market, spec)
    first.advance(cut)
    resumed = Simulation(market, spec, state=first.state())
    resumed.advance()

    np.testing.assert_array_equal(resumed.result().equity, whole.equity)
    np.testing.assert_array_equal(resumed.result().fills.bar, whole.fills.bar)
    np.testing.assert_array_equal(resumed.result().fills.price, whole.fills.price)


def test_a_daily_stop_closes_a_position_whose_symbol_is_shut_at_its_next_bar_and_not_new_entries_later():
    # two symbols; after the stop at bar 5 the second does not trade again until bar 12, on the next day
    closes = np.column_stack([[100] * 5 + [80] * 15, [100] * 5 + [80] * 15]).astype(float)
    tradable = np.ones((20, 2), dtype=bool)
    tradable[6:12, 1] = False
    day = np.array([0] * 10 + [1] * 10)
    market = gapped(market_from_closes(closes), tradable, day=day)
    spec = spec_of(AgentSpec(ALWAYS_LONG, 1000.0), rules=ParentRules(daily_stop=0.05))

    fills = fills_of(run(market, spec))

    assert (6, 0, 0, -1, -2) in fills and (12, 0, 1, -1, -2) in fills  # each at its own next tradable bar
    assert (11, 0, 0, 1, 1) in fills  # trading resumes on the next day
    assert [f for f in fills if f[0] > 6 and f[2] == 0 and f[4] == -2] == []  # and that entry is not flattened
