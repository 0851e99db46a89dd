"""Each parent-wallet rule biting on a hand-made series, with its event and its effect."""

import numpy as np
import pytest

from cohorts.engine import AgentSpec, CohortSpec, Genome, ParentRules, generate_market, run
from cohorts.engine.workload import reference_spec
from tests.engine.helpers import market_from_closes

# RSI(2) is always below 101 and never above it: enters long at the first valid bar, never exits
ALWAYS_LONG = Genome("rsi_reversion", {"n": 2, "lower": 101.0, "upper": 101.0, "smoothing": "cutler"})
ALWAYS_SHORT = Genome("rsi_reversion", {"n": 2, "lower": -1.0, "upper": -1.0, "smoothing": "cutler"},
                      side="short")
RSI2 = Genome("rsi_reversion", {"n": 2, "lower": 30.0, "upper": 70.0, "smoothing": "cutler"})


def spec_of(*agents, rules: ParentRules | None = None, **kwargs):
    kwargs.setdefault("fee_bps", 0.0)
    kwargs.setdefault("slippage_bps", 0.0)
    return CohortSpec(agents=tuple(agents), rules=rules or ParentRules(), **kwargs)


def fills_of(result):
    f = result.fills
    return list(zip(f.bar.tolist(), f.agent.tolist(), f.symbol.tolist(), f.side.tolist(),
                    f.kind.tolist(), strict=True))


def events_of(result, rule):
    return [e for e in result.events if e.rule == rule]


def test_disabled_rules_never_bite():
    assert run(generate_market(5, 1), reference_spec(12)).events == ()


def test_daily_stop_flattens_and_halts_until_the_next_day():
    closes = [100] * 5 + [90] * 15
    spec = spec_of(AgentSpec(ALWAYS_LONG, 1000.0), rules=ParentRules(daily_stop=0.05),
                   bars_per_day=10)
    result = run(market_from_closes(closes), spec)
    assert fills_of(result) == [(4, 0, 0, 1, 1), (6, 0, 0, -1, -2), (11, 0, 0, 1, 1)]
    (stop,) = events_of(result, "daily_stop")
    assert (stop.bar, stop.agent) == (5, -1)
    assert stop.values == pytest.approx({"parent_equity": 900.0, "day_start_equity": 1000.0})


def test_daily_stop_amount_in_currency():
    closes = [100] * 5 + [97] * 5
    rules = ParentRules(daily_stop_amount=25.0)
    result = run(market_from_closes(closes), spec_of(AgentSpec(ALWAYS_LONG, 1000.0), rules=rules))
    assert [e.bar for e in events_of(result, "daily_stop")] == [5]
    assert result.positions[0, 0] == 0.0


def test_breaker_pauses_after_k_losing_trades_and_resumes_after_the_cooldown():
    # RSI(2) buys every dip to 98 and sells at 100: with 2% fees every round trip loses
    closes = [100] + [99, 98, 99, 100] * 7
    rules = ParentRules(breaker_losses=2, breaker_cooldown=6)
    result = run(market_from_closes(closes), spec_of(AgentSpec(RSI2, 1000.0), rules=rules,
                                                     fee_bps=200.0))
    (pause,) = events_of(result, "breaker_losses")
    (resume,) = events_of(result, "resume")
    assert (pause.bar, pause.agent, pause.values["losing_streak"]) == (13, 0, 2)
    assert resume.bar == 19
    opens = [bar for bar, _, _, _, kind in fills_of(result) if kind == 1]
    assert opens == [7, 11, 23, 27]  # the dips at 14 and 18 fall in the pause


def test_loss_limit_pauses_and_flattens_the_agent():
    closes = [100] * 4 + [99, 98, 97, 96, 95, 94]
    rules = ParentRules(breaker_loss_limit=0.025)
    result = run(market_from_closes(closes), spec_of(AgentSpec(ALWAYS_LONG, 1000.0), rules=rules))
    (pause,) = events_of(result, "breaker_loss_limit")
    assert (pause.bar, pause.values["equity"]) == (6, pytest.approx(970.0))
    assert fills_of(result) == [(4, 0, 0, 1, 1), (7, 0, 0, -1, -2)]


def test_leverage_ceiling_caps_an_entry():
    agent = AgentSpec(ALWAYS_LONG, 1000.0, leverage=3.0, max_leverage=2.0)
    result = run(market_from_closes([100] * 8), spec_of(agent))
    (cap,) = events_of(result, "leverage_entry_cap")
    assert cap.values == pytest.approx({"requested_gross": 3000.0, "allowed_gross": 2000.0})
    assert result.positions[0, 0] == pytest.approx(20.0)
    assert result.cash[0, 0] == pytest.approx(-1000.0)  # borrowed: cash may go below zero


def test_a_short_squeezed_past_its_ceiling_is_reported_then_cut_back():
    closes = [100] * 5 + [140] * 3
    rules = ParentRules(max_leverage=1.5)
    result = run(market_from_closes(closes), spec_of(AgentSpec(ALWAYS_SHORT, 1000.0), rules=rules))
    (breach,) = events_of(result, "leverage_breach")
    assert (breach.bar, breach.values["leverage"]) == (5, pytest.approx(1400 / 600))
    (cut,) = events_of(result, "leverage_reduce")
    assert cut.bar == 6
    f = result.fills
    assert f.kind.tolist() == [1, -1] and f.side.tolist() == [-1, 1]
    assert f.qty[1] == pytest.approx(500 / 140)
    assert result.exposure[0, 6] == pytest.approx(1.5 * result.equity[0, 6])


def test_short_sale_proceeds_are_credited_to_cash():
    closes = [100] * 5 + [90] * 2
    result = run(market_from_closes(closes), spec_of(AgentSpec(ALWAYS_SHORT, 1000.0)))
    assert result.cash[0, 0] == pytest.approx(2000.0)
    assert result.positions[0, 0] == pytest.approx(-10.0)
    assert result.final_equity[0] == pytest.approx(2000.0 - 10 * 90)


def test_market_exposure_cap_scales_entries_pro_rata():
    agents = (AgentSpec(ALWAYS_LONG, 500.0), AgentSpec(ALWAYS_LONG, 500.0))
    result = run(market_from_closes([100] * 6), spec_of(*agents, rules=ParentRules(max_market_exposure=0.5)))
    (cap,) = events_of(result, "market_exposure_entry_cap")
    assert (cap.bar, cap.values["symbol"]) == (4, 0)
    assert np.abs(result.positions).sum() * 100 <= 0.5 * 1000
    assert result.positions[0, 0] == pytest.approx(result.positions[1, 0])


def test_gross_exposure_cap_limits_entries_then_trims_after_a_rally():
    closes = np.array([[100, 100]] * 6 + [[150, 150]] * 3)
    rules = ParentRules(max_gross_exposure=0.6)
    result = run(market_from_closes(closes), spec_of(AgentSpec(ALWAYS_LONG, 1000.0), rules=rules))
    assert [e.bar for e in events_of(result, "gross_exposure_entry_cap")] == [4]
    assert [e.bar for e in events_of(result, "gross_exposure_reduce")] == [7]
    assert result.exposure[0, 4] == pytest.approx(600.0)
    assert result.exposure[0, 7] == pytest.approx(0.6 * result.equity[0, 7])


def test_liquidity_screen_clips_orders_and_works_the_rest_of_an_exit():
    closes = [10, 10, 10, 10, 13, 16, 13, 10, 7, 7, 7]
    market = market_from_closes(closes, volume=5.0)
    volume = market.volume.copy()
    volume[7] = 2.0
    market = type(market)(market.open, market.high, market.low, market.close, volume)
    genome = Genome("ma_crossover", {"fast": 2, "slow": 3, "ma": "sma"})
    result = run(market, spec_of(AgentSpec(genome, 1000.0), max_volume_pct=100.0))
    assert fills_of(result) == [(5, 0, 0, 1, 1), (8, 0, 0, -1, -1), (9, 0, 0, -1, -2)]
    assert result.fills.qty.tolist() == [5.0, 2.0, 3.0]
    assert [e.bar for e in events_of(result, "liquidity_cap")] == [5, 8]


def test_volume_impact_moves_the_fill_price():
    market = market_from_closes([100] * 6, volume=100.0)
    result = run(market, spec_of(AgentSpec(ALWAYS_LONG, 1000.0), slippage_bps=5.0, impact=0.1))
    q, px = result.fills.qty[0], result.fills.price[0]
    assert px == pytest.approx(100 * (1 + 0.0005 + 0.1 * np.sqrt(q / 100.0)))
    assert q * px == pytest.approx(1000.0, rel=1e-3)


def test_shared_sizing_draws_on_one_cash_pool():
    market = market_from_closes(np.full((6, 2), 100.0))
    agent = AgentSpec(ALWAYS_LONG, 1000.0)
    shared = run(market, spec_of(agent, sizing="shared", position_fraction=0.8))
    np.testing.assert_allclose(shared.positions[0], [8.0, 2.0])
    assert shared.cash[0].sum() == pytest.approx(0.0, abs=1e-9)
    sleeves = run(market, spec_of(agent))
    np.testing.assert_allclose(sleeves.positions[0], [5.0, 5.0])


def test_flatten_at_end_closes_every_position_at_the_last_close():
    closes = [100] * 6 + [110]
    spec = spec_of(AgentSpec(ALWAYS_LONG, 1000.0), slippage_bps=10.0, flatten_at_end=True)
    result = run(market_from_closes(closes), spec)
    assert fills_of(result)[-1] == (6, 0, 0, -1, -2)
    assert result.fills.price[-1] == pytest.approx(110 * 0.999)
    assert result.positions[0, 0] == 0.0
    assert result.final_equity[0] == pytest.approx(result.cash[0].sum())
    assert result.exposure[0, -1] == 0.0
