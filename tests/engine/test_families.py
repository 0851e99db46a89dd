"""Each strategy family on a hand-made series whose trades are known in advance."""

import numpy as np
import pytest

from cohorts.engine import FAMILIES, Genome, default_roster, family, run, sample_params
from tests.engine.helpers import free_spec, market_from_closes, trades

BUY, SELL = 1, -1
OPEN, CLOSE = 1, -2


def test_every_family_declares_its_space_and_defaults():
    assert set(FAMILIES) == {"ma_crossover", "rsi_reversion", "bollinger_reversion",
                             "donchian_breakout", "vwap_scalper", "pairs_zscore"}
    for name, fam in FAMILIES.items():
        assert set(fam.default_params) == set(fam.space)
        for param in fam.space.values():
            assert param.kind in ("int", "float", "choice")
            assert param.low <= param.high
        assert isinstance(fam.is_short_horizon, bool)
        Genome(name, fam.default_params)  # defaults form a valid genome


def test_sampled_params_stay_in_their_space():
    rng = np.random.default_rng(7)
    for name, fam in FAMILIES.items():
        for _ in range(20):
            params = sample_params(name, rng)
            for pname, p in fam.space.items():
                if p.kind == "choice":
                    assert params[pname] in p.choices
                else:
                    assert p.low <= params[pname] <= p.high


def test_default_roster_is_seeded_and_mixes_families():
    roster = default_roster(30, seed=3)
    assert roster == default_roster(30, seed=3)
    assert roster != default_roster(30, seed=4)
    assert {g.family for g in roster} == set(FAMILIES)


def test_unknown_family_is_refused():
    with pytest.raises(ValueError):
        family("astrology")


# closes 10,10,10,10,13,16,13,10,7,7,7: SMA2 crosses SMA3 up at t4, down at t7
CROSS = [10, 10, 10, 10, 13, 16, 13, 10, 7, 7, 7]


def test_sma_crossover_long_only():
    genome = Genome("ma_crossover", {"fast": 2, "slow": 3, "ma": "sma"})
    assert trades(genome, market_from_closes(CROSS)) == [(5, 0, BUY, OPEN), (8, 0, SELL, CLOSE)]


def test_sma_crossover_long_and_short_reverses():
    genome = Genome("ma_crossover", {"fast": 2, "slow": 3, "ma": "sma"}, side="both")
    expected = [(5, 0, BUY, OPEN), (8, 0, SELL, CLOSE), (8, 0, SELL, OPEN)]
    assert trades(genome, market_from_closes(CROSS)) == expected


def test_ema_crossover_trades_the_same_turns():
    genome = Genome("ma_crossover", {"fast": 2, "slow": 3, "ma": "ema"})
    assert trades(genome, market_from_closes(CROSS)) == [(5, 0, BUY, OPEN), (8, 0, SELL, CLOSE)]


@pytest.mark.parametrize("smoothing", ["cutler", "wilder"])
def test_rsi_reversion_buys_oversold_sells_overbought(smoothing):
    # RSI(2): 0 at t4 (Cutler; 25 Wilder) -> buy at 5; 100 at t7 (78 Wilder) -> sell at 8
    genome = Genome("rsi_reversion", {"n": 2, "lower": 30.0, "upper": 70.0, "smoothing": smoothing})
    market = market_from_closes([10, 11, 12, 11, 10, 9, 10, 11, 12])
    assert trades(genome, market) == [(5, 0, BUY, OPEN), (8, 0, SELL, CLOSE)]


def test_bollinger_reversion_both_sides():
    # t4: 7 < 9 - sqrt(2) -> long; t5: 10 >= mid -> out; t6: 13 > 10 + sqrt(6) -> short;
    # t7: 10 <= mid 11 -> cover
    genome = Genome("bollinger_reversion", {"n": 3, "k": 1.0}, side="both")
    market = market_from_closes([10, 10, 10, 10, 7, 10, 13, 10, 10])
    expected = [(5, 0, BUY, OPEN), (6, 0, SELL, CLOSE), (7, 0, SELL, OPEN), (8, 0, BUY, CLOSE)]
    assert trades(genome, market) == expected


def test_donchian_breakout_enters_above_high_exits_below_low():
    # t4: 12 > max(high[1..3]) = 10 -> long; t7: 9 < min(low[5..6]) = 11 -> out
    genome = Genome("donchian_breakout", {"n": 3, "exit_n": 2})
    market = market_from_closes([10, 10, 10, 10, 12, 12, 11, 9, 9])
    assert trades(genome, market) == [(5, 0, BUY, OPEN), (8, 0, SELL, CLOSE)]


def test_vwap_scalper_fades_deviations():
    # flat bars (open = close); VWAP(2) = mean of the last two closes
    closes = [100, 100, 100, 96, 97, 104, 103, 103]
    market = market_from_closes(closes, opens=closes)
    genome = Genome("vwap_scalper", {"n": 2, "band_bps": 100.0}, side="both")
    expected = [(4, 0, BUY, OPEN), (5, 0, SELL, CLOSE), (6, 0, SELL, OPEN), (7, 0, BUY, CLOSE)]
    assert trades(genome, market) == expected
    long_only = Genome("vwap_scalper", {"n": 2, "band_bps": 100.0})
    assert trades(long_only, market) == expected[:2]


def test_pairs_zscore_shorts_the_rich_leg_and_exits_on_reversion():
    a = [100, 100, 100, 100, 120, 100, 100, 100, 100]
    b = [100] * len(a)
    market = market_from_closes(np.column_stack([a, b]))
    genome = Genome("pairs_zscore", {"n": 3, "entry_z": 1.0, "exit_z": 0.5}, side="both")
    expected = [(5, 0, SELL, OPEN), (5, 1, BUY, OPEN), (8, 0, BUY, CLOSE), (8, 1, SELL, CLOSE)]
    assert trades(genome, market) == expected


def test_fills_happen_at_the_next_open_with_costs():
    genome = Genome("ma_crossover", {"fast": 2, "slow": 3, "ma": "sma"})
    market = market_from_closes(CROSS)
    spec = free_spec([genome])
    spec = type(spec)(agents=spec.agents, fee_bps=10.0, slippage_bps=5.0)
    fills = run(market, spec).fills
    np.testing.assert_allclose(fills.price, [13 * 1.0005, 10 * 0.9995])
    np.testing.assert_allclose(fills.fee, fills.qty * fills.price * 0.001)
    assert fills.qty[0] == pytest.approx(1000.0 / (13 * 1.0005 * 1.001))
