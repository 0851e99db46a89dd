"""Live stepping: bar-by-bar signals from rolling state equal the whole-array replay exactly, and a
checkpoint resumes a live run to exactly the uninterrupted results."""

import dataclasses
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cohorts.engine import Genome, ParentRules, Simulation, build_signals, cohort, default_roster, generate_market, run
from cohorts.engine import simulation as simulation_module
from cohorts.engine.live import LiveSignals
from cohorts.engine.simulation import CheckpointError
from cohorts.engine.warmup import _roster
from cohorts.engine.workload import checksum, reference_spec, summarise
from tests.engine.cohorts import cohorts
from tests.engine.test_properties import SETTINGS, assert_same_result
from tests.engine.test_sessions import gapped, sessions_mask

FIELDS = ("open", "high", "low", "close", "volume")
BARS = 600
SESSION = 90
RULES = ParentRules(max_gross_exposure=0.3, max_market_exposure=0.1, max_leverage=2.0, daily_stop=0.0005,
                    breaker_losses=5, breaker_loss_limit=0.05, breaker_cooldown=60)
# short windows, so that every family trades many times within the market, on both sides
SHORT = [
    Genome("ma_crossover", {"fast": 3, "slow": 8, "ma": "sma"}, "both"),
    Genome("ma_crossover", {"fast": 4, "slow": 9, "ma": "ema"}, "both"),
    Genome("rsi_reversion", {"n": 3, "lower": 35.0, "upper": 65.0, "smoothing": "cutler"}, "both"),
    Genome("rsi_reversion", {"n": 5, "lower": 40.0, "upper": 60.0, "smoothing": "wilder"}, "both"),
    Genome("bollinger_reversion", {"n": 6, "k": 1.0}, "both"),
    Genome("donchian_breakout", {"n": 7, "exit_n": 3}, "both"),
    Genome("vwap_scalper", {"n": 5, "band_bps": 5.0}, "both"),
    Genome("pairs_zscore", {"n": 12, "entry_z": 1.0, "exit_z": 0.3}, "both"),
]
GENOMES = SHORT + _roster() + default_roster(12, seed=3)


def session_market(n_symbols: int = 5, seed: int = 5):
    """Seeded bars with sessions, missing bars (``tradable``) and a session day every 90 bars."""
    base = generate_market(n_symbols, 1, seed=seed).head(BARS)
    tradable = sessions_mask(BARS, n_symbols, seed=seed + 1)
    return gapped(base, tradable, day=np.arange(BARS) // SESSION)


def bar_of(market, t: int) -> dict:
    row = {name: getattr(market, name)[t] for name in FIELDS}
    if market.tradable is not None:
        row["tradable"] = market.tradable[t]
    if market.day is not None:
        row["day"] = market.day[t]
    return row


def stepped(market, spec, start: int, stop: int | None = None, simulation: Simulation | None = None) -> Simulation:
    """A simulation that replays ``market``'s first ``start`` bars, then steps bars up to ``stop``."""
    if simulation is None:
        simulation = Simulation(market.head(start), spec)
        simulation.advance()
    for t in range(start, market.n_bars if stop is None else stop):
        simulation.step(bar_of(market, t))
    return simulation


@pytest.fixture(scope="module")
def case():
    market = session_market()
    spec = cohort(GENOMES, bankroll=10_000.0, max_volume_pct=0.005, rules=RULES, bars_per_day=SESSION,
                  sizing="shared")
    return market, spec, run(market, spec)


@pytest.mark.parametrize("n_symbols", [1, 2, 5])
@pytest.mark.parametrize("start", [0, 1, 2, 37, 300, BARS - 1])
def test_rolling_signals_equal_the_whole_array_signals_at_every_bar(n_symbols, start):
    market = session_market(n_symbols, seed=n_symbols)
    whole, _ = build_signals(market, GENOMES)
    live = LiveSignals(GENOMES, n_symbols)
    live.prime(market.head(start))

    rows = [live.update(bar_of(market, t)) for t in range(start, BARS)]

    np.testing.assert_array_equal(np.stack(rows, axis=1), whole[:, start:])
    assert np.count_nonzero(whole[:, start:]) > 0


@pytest.mark.parametrize("start", [0, 1, 59, 300, BARS - 1])
def test_live_steps_on_sessions_and_gaps_equal_the_replay_exactly(case, start):
    market, spec, replay = case

    live = stepped(market, spec, start)

    assert live.is_live
    assert_same_result(live.result(), replay)
    assert len(replay.fills) > 1000
    assert {e.rule for e in replay.events} >= {"daily_stop", "liquidity_cap", "breaker_losses", "resume"}


def test_the_workload_stepped_bar_by_bar_gives_its_reference_checksum():
    market = generate_market(10, 1)

    live = stepped(market, reference_spec(30), 0)

    assert checksum(*summarise(live.result())) == "eq=9473.3599;trades=5351;mdd=1.622733"


def test_a_live_step_never_rebuilds_the_signals_of_the_history(case, monkeypatch):
    market, spec, replay = case
    live = stepped(market, spec, 200, 201)

    def rebuilt(*args, **kwargs):
        raise AssertionError("the whole history's signals were rebuilt")

    monkeypatch.setattr(simulation_module, "build_signals", rebuilt)
    stepped(market, spec, 201, simulation=live)

    assert_same_result(live.result(), replay)


def test_the_market_of_a_live_simulation_holds_every_bar_it_was_given(case):
    market, spec, _ = case

    known = stepped(market, spec, 100, 250).market

    for name in FIELDS:
        np.testing.assert_array_equal(getattr(known, name), getattr(market, name)[:250])
    np.testing.assert_array_equal(known.tradable, market.tradable[:250])
    np.testing.assert_array_equal(known.day, market.day[:250])


@pytest.mark.parametrize("cut", [0, 1, 45, SESSION, 333, BARS - 1, BARS])
def test_a_live_run_checkpointed_and_resumed_equals_the_uninterrupted_run(case, cut):
    market, spec, replay = case
    first = stepped(market, spec, 0, cut) if cut else Simulation(market.head(0), spec)

    data = first.checkpoint_bytes()
    resumed = Simulation.from_checkpoint(market.head(cut), spec, data)
    assert resumed.bar == cut and resumed.is_live == (cut > 0)
    stepped(market, spec, cut, simulation=resumed)

    assert_same_result(resumed.result(), replay)
    assert resumed.market.n_bars == BARS


def test_a_live_simulation_behind_its_bars_checkpoints_their_signals_and_resumes_exactly(case):
    market, spec, replay = case
    behind = Simulation(market.head(300), spec)
    behind.advance(120)
    behind.step(bar_of(market, 300))  # 301 bars known, 121 simulated

    resumed = Simulation.from_checkpoint(market.head(301), spec, behind.checkpoint_bytes())
    assert resumed.is_live and resumed.bar == 121
    resumed.advance()
    stepped(market, spec, 301, simulation=resumed)

    assert_same_result(resumed.result(), replay)


def test_a_live_checkpoint_resumes_on_a_market_with_more_bars_by_replaying_them(case):
    market, spec, replay = case
    first = stepped(market, spec, 0, 200)

    resumed = Simulation.from_checkpoint(market, spec, first.checkpoint_bytes())
    resumed.advance()

    assert_same_result(resumed.result(), replay)


def _rewritten(data: bytes, **changes) -> bytes:
    with np.load(io.BytesIO(data)) as npz:
        arrays = {name: npz[name] for name in npz.files}
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **(arrays | changes))
    return buffer.getvalue()


def test_a_stale_or_foreign_checkpoint_is_refused_clearly(case):
    market, spec, _ = case
    data = stepped(market, spec, 0, 120).checkpoint_bytes()

    with pytest.raises(CheckpointError, match="format 0 cannot be read"):
        Simulation.from_checkpoint(market.head(120), spec, _rewritten(data, format=np.array(0)))
    with pytest.raises(CheckpointError, match="another cohort spec"):
        Simulation.from_checkpoint(market.head(120), dataclasses.replace(spec, fee_bps=11.0), data)
    with pytest.raises(CheckpointError, match="holds only 100"):
        Simulation.from_checkpoint(market.head(100), spec, data)
    other = session_market(seed=9).head(120)
    with pytest.raises(CheckpointError, match="bar 119 of the market"):
        Simulation.from_checkpoint(other, spec, data)
    with pytest.raises(CheckpointError, match="not a simulation checkpoint"):
        Simulation.from_checkpoint(market.head(120), spec, b"not an npz")


def test_step_keeps_the_market_semantics_for_bars_without_tradable_or_day():
    market = generate_market(3, 1, seed=8).head(300)
    spec = cohort(default_roster(6, seed=1), bankroll=1_000.0, bars_per_day=100)

    live = stepped(market, spec, 50)

    assert live.market.tradable is None and live.market.day is None
    assert_same_result(live.result(), run(market, spec))


def _gapped(case, seed):
    market, spec = case
    rng = np.random.default_rng(seed)
    n = market.n_bars
    in_session = (np.arange(n) % 50) < rng.integers(20, 50)
    tradable = in_session[:, None] & (rng.random(market.close.shape) > rng.uniform(0.0, 0.5))
    return gapped(market, tradable, day=np.arange(n) // 50), dataclasses.replace(spec, flatten_at_end=False)


@settings(SETTINGS, max_examples=40)
@given(cohorts(), st.integers(0, 2**32 - 1), st.data())
def test_any_cohort_stepped_checkpointed_and_resumed_equals_its_replay(case, seed, data):
    market, spec = _gapped(case, seed)
    start = data.draw(st.integers(0, market.n_bars))
    cut = data.draw(st.integers(start, market.n_bars))

    first = stepped(market, spec, start, cut)
    resumed = Simulation.from_checkpoint(market.head(cut), spec, first.checkpoint_bytes())
    stepped(market, spec, cut, simulation=resumed)

    assert_same_result(resumed.result(), run(market, spec))


def test_benchmark_step_prints_one_json_line_with_the_step_times_and_the_checkpoint():
    cmd = [sys.executable, "manage.py", "benchmark", "step", "--agents", "6", "--symbols", "2", "--json"]
    done = subprocess.run(cmd, cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True,
                          timeout=600, check=True)
    lines = done.stdout.strip().splitlines()

    assert len(lines) == 1
    report = json.loads(lines[0])
    assert (report["agents"], report["symbols"], report["steps"]) == (6, 2, 1440)
    assert report["identical_to_replay"] is True
    assert 0 < report["p50_ms"] <= report["p99_ms"] and report["checkpoint_bytes"] > 0
