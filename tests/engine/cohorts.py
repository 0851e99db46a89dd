"""Hypothesis strategies: small random markets and cohorts with every rule in play."""

from __future__ import annotations

from hypothesis import strategies as st

from cohorts.engine import AgentSpec, CohortSpec, Genome, ParentRules, generate_market

BARS = 160
BARS_PER_DAY = 60

SMALL = {
    "ma_crossover": lambda d: {"fast": d(st.integers(2, 4)), "slow": d(st.integers(5, 12)),
                               "ma": d(st.sampled_from(["sma", "ema"]))},
    "rsi_reversion": lambda d: {"n": d(st.integers(2, 6)), "lower": d(st.floats(25, 45)),
                                "upper": d(st.floats(55, 75)),
                                "smoothing": d(st.sampled_from(["cutler", "wilder"]))},
    "bollinger_reversion": lambda d: {"n": d(st.integers(3, 10)), "k": d(st.floats(0.5, 2.0))},
    "donchian_breakout": lambda d: {"n": d(st.integers(3, 10)), "exit_n": d(st.integers(2, 6))},
    "vwap_scalper": lambda d: {"n": d(st.integers(3, 10)), "band_bps": d(st.floats(1, 20))},
    "pairs_zscore": lambda d: {"n": d(st.integers(5, 15)), "entry_z": d(st.floats(0.5, 2.0)),
                               "exit_z": d(st.floats(0.0, 0.5))},
}


def optional(strategy):
    return st.one_of(st.none(), strategy)


@st.composite
def genomes(draw):
    name = draw(st.sampled_from(sorted(SMALL)))
    return Genome(name, SMALL[name](draw), draw(st.sampled_from(["long", "short", "both"])))


@st.composite
def rules(draw):
    return ParentRules(
        max_gross_exposure=draw(optional(st.floats(0.05, 2.0))),
        max_market_exposure=draw(optional(st.floats(0.02, 1.0))),
        max_leverage=draw(optional(st.floats(0.5, 4.0))),
        daily_stop=draw(optional(st.floats(0.001, 0.05))),
        daily_stop_amount=draw(optional(st.floats(1.0, 50.0))),
        breaker_losses=draw(optional(st.integers(1, 4))),
        breaker_loss_limit=draw(optional(st.floats(0.002, 0.05))),
        breaker_cooldown=draw(optional(st.integers(0, 30))),
    )


@st.composite
def cohorts(draw, rule_set=None):
    """(market, spec): 1-4 symbols, 1-6 agents, random costs, sizing and rules."""
    n_sym = draw(st.integers(1, 4))
    market = generate_market(n_sym, 1, seed=draw(st.integers(0, 10_000))).head(BARS)
    agents = tuple(
        AgentSpec(draw(genomes()), draw(st.floats(50, 500)), leverage=draw(st.floats(0.3, 3.0)),
                  max_leverage=draw(optional(st.floats(0.5, 5.0))))
        for _ in range(draw(st.integers(1, 6)))
    )
    spec = CohortSpec(
        agents=agents,
        fee_bps=draw(st.floats(0, 20)),
        slippage_bps=draw(st.floats(0, 10)),
        impact=draw(optional(st.floats(0.0, 0.5))),
        max_volume_pct=draw(optional(st.sampled_from([1e-6, 1e-5, 1e-4, 1e-3, 1.0]))),
        sizing=draw(st.sampled_from(["sleeve", "shared"])),
        rules=rule_set if rule_set is not None else draw(rules()),
        parent_capital=sum(a.capital for a in agents) * draw(st.floats(1.0, 2.0)),
        bars_per_day=BARS_PER_DAY,
        flatten_at_end=draw(st.booleans()),
    )
    return market, spec
