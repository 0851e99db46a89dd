"""The pure learning package: tuner, walk-forward, evolution, Thompson weights, the cycle (no database)."""
from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohorts import engine
from knowledge import learning
from tests.knowledge.conftest import market_from_closes, random_walk

NOISE = market_from_closes(random_walk(720, 2, seed=1))
QUIET_FUTURE = market_from_closes(random_walk(720, 2, seed=2))


def planted_future() -> engine.Market:
    """A window with a strong 40-bar oscillation a short Bollinger reversion harvests: found only there."""
    t = np.arange(720)[:, None]
    wave = 100.0 * (1.0 + 0.01 * np.sin(2 * np.pi * t / 40.0 + np.array([0.0, 1.0])))
    return market_from_closes(wave * random_walk(720, 2, seed=3, vol=0.0001) / 100.0)


def test_tuner_is_deterministic_for_a_seed():
    first = learning.tune(NOISE, "rsi_reversion", trials=16, seed=11)
    again = learning.tune(NOISE, "rsi_reversion", trials=16, seed=11)
    other = learning.tune(NOISE, "rsi_reversion", trials=16, seed=12)

    assert first == again
    assert len(first.trials) == 16
    assert [t.params for t in other.trials] != [t.params for t in first.trials]


def test_tuner_starts_from_the_incumbent_so_never_ends_below_it():
    start = dict(engine.FAMILIES["bollinger_reversion"].default_params)
    result = learning.tune(NOISE, "bollinger_reversion", trials=6, seed=1, start_params=start)
    incumbent = learning.evaluate(NOISE, [engine.Genome("bollinger_reversion", start)])[0]

    assert result.trials[0].params == start
    assert result.best_score >= incumbent


def test_walk_forward_never_lets_the_scoring_window_leak_into_tuning():
    planted, quiet = planted_future(), QUIET_FUTURE
    with_pattern = learning.walk_forward([NOISE, planted], "bollinger_reversion", trials=12, seed=5)[0]
    without = learning.walk_forward([NOISE, quiet], "bollinger_reversion", trials=12, seed=5)[0]
    leaked = learning.tune(planted, "bollinger_reversion", trials=12, seed=5)

    assert with_pattern.tuned == without.tuned  # the future did not change a single trial
    assert with_pattern.in_sample == without.in_sample
    assert with_pattern.out_of_sample != without.out_of_sample  # but it was used for scoring
    assert leaked.best_score > with_pattern.in_sample + 5  # the pattern is worth finding, had it leaked


def test_a_cycle_tunes_on_the_past_window_only():
    population = engine.default_roster(12, seed=3)
    config = learning.CycleConfig(trials=4, seed=2)
    a = learning.run_cycle(tune_market=NOISE, score_market=planted_future(), population=population,
                           returns=[None] * 12, config=config)
    b = learning.run_cycle(tune_market=NOISE, score_market=QUIET_FUTURE, population=population,
                           returns=[None] * 12, config=config)

    assert [f.trials for f in a.families] == [f.trials for f in b.families]
    assert [f.in_sample for f in a.families] == [f.in_sample for f in b.families]


def test_lookback_windows_are_consecutive_and_end_at_the_cycle():
    end = datetime(2021, 5, 9, tzinfo=UTC)
    (tune_start, tune_end), (score_start, score_end) = learning.lookback_windows(end, 6)

    assert (tune_end - tune_start).total_seconds() == (score_end - score_start).total_seconds() == 6 * 3600
    assert tune_end == score_start and score_end == end


def _inside(genome: engine.Genome) -> bool:
    space = engine.family(genome.family).space
    for name, p in space.items():
        value = genome.params[name]
        if p.kind == "choice":
            if value not in p.choices:
                return False
        elif not (p.low <= value <= p.high) or (p.kind == "int" and not isinstance(value, int)):
            return False
    return set(genome.params) == set(space)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(2, 40), rate=st.floats(0.0, 1.0),
       scale=st.floats(0.0, 5.0), keep=st.floats(0.0, 1.0))
def test_evolution_keeps_parameters_inside_their_spaces(seed, size, rate, scale, keep):
    rng = np.random.default_rng(seed)
    members = [learning.Member(g, float(rng.normal())) for g in engine.default_roster(size, seed=seed)]
    breeding = learning.Breeding(keep_fraction=keep, mutation_rate=rate, mutation_scale=scale)
    genomes, changes = learning.evolve(members, rng, breeding=breeding)

    assert len(genomes) == size and len(changes) == size
    assert all(_inside(g) for g in genomes)


def test_evolution_keeps_the_best_replaces_the_worst_and_every_family():
    roster = engine.default_roster(12, seed=1)
    members = [learning.Member(g, float(i)) for i, g in enumerate(roster)]  # slot 11 best, slot 0 worst
    genomes, changes = learning.evolve(members, np.random.default_rng(0))

    assert [c.action for c in changes[6:]] == ["kept"] * 6
    assert all(c.action == "child" and c.replaced == roster[c.slot] for c in changes[:6])
    assert {g.family for g in genomes} == set(engine.FAMILIES)
    assert len({g.key() for g in genomes}) == 12


def test_intraday_mode_mutates_only_short_horizon_genomes():
    roster = engine.default_roster(12, seed=1)
    outcome = learning.run_cycle(tune_market=NOISE, score_market=QUIET_FUTURE, population=roster,
                                 returns=[None] * 12, config=learning.CycleConfig(mode="intraday", trials=3))

    for old, new, change in zip(roster, outcome.genomes, outcome.changes):
        if not engine.family(old.family).is_short_horizon:
            assert new == old and change.action == "carried"
    assert {f.family for f in outcome.families} <= {n for n, f in engine.FAMILIES.items() if f.is_short_horizon}


def test_thompson_weights_favour_the_better_agent_and_keep_a_floor():
    rng = np.random.default_rng(0)
    good, bad = np.full(24, 0.002) + rng.normal(0, 0.001, 24), np.full(24, -0.002) + rng.normal(0, 0.001, 24)
    allocation = learning.thompson_weights([good, bad, None], np.random.default_rng(1), floor=0.3)

    assert allocation.weights.sum() == pytest.approx(1.0)
    assert allocation.weights[0] > allocation.weights[2] > 0
    assert allocation.weights.min() >= 0.3 / 3 - 1e-12
    assert allocation.p_best[1] < 0.05


def test_a_shared_study_splits_its_budget_between_workers(tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = learning.tune(NOISE, "vwap_scalper", trials=10, seed=1, storage=storage, study_name="shared")
    second = learning.tune(NOISE, "vwap_scalper", trials=10, seed=2, storage=storage, study_name="shared")

    assert len(first.trials) == 10 and len(second.trials) == 10  # the second worker found the budget spent
    assert second.best_score == first.best_score
