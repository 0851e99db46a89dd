"""Timing harnesses: the cohort-day workload and live steps (the one engine module that reads a clock)."""

from __future__ import annotations

import statistics
import time

import numpy as np

from .genomes import default_roster
from .market import FIELDS, Market
from .simulation import Result, Simulation, run
from .spec import ParentRules, cohort
from .warmup import warm_up
from .workload import MINUTES_PER_DAY, generate_market, run_workload

ENGINE_NAME = "neolight"


def bench_engine(market: Market, n_agents: int, repeats: int = 5) -> dict[str, object]:
    """Time the workload: ``warmup_s`` is the first run in this process (JIT compile or
    cache load), ``seconds`` the median of the next ``repeats``. Data generation is
    not timed; building the cohort, signals, the run and the outputs are."""
    started = time.perf_counter()
    checksum = run_workload(market, n_agents)
    warmup = time.perf_counter() - started
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        again = run_workload(market, n_agents)
        times.append(time.perf_counter() - started)
        if again != checksum:
            raise RuntimeError(f"non-deterministic run: {again} != {checksum}")
    seconds = statistics.median(times)
    cells = n_agents * market.n_symbols * market.n_bars
    return {
        "engine": ENGINE_NAME,
        "agents": n_agents,
        "symbols": market.n_symbols,
        "bars": market.n_bars,
        "seconds": round(seconds, 6),
        "cells_per_s": round(cells / seconds),
        "warmup_s": round(warmup, 4),
        "checksum": checksum,
    }


STEP_HISTORY_BARS = 1440  # a day replayed before the simulation turns live
STEP_WARM_UP = 10  # live steps not timed (the first one primes the rolling signals)


def _identical(a: Result, b: Result) -> bool:
    same = all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("equity", "exposure", "cash", "positions"))
    same &= all(np.array_equal(getattr(a.fills, f), getattr(b.fills, f)) for f in a.fills.__dataclass_fields__)
    return bool(same and a.events == b.events)


def bench_step(n_agents: int, n_symbols: int, days: int = 1, seed: int = 42) -> dict[str, object]:
    """Time live steps: a cohort of every family (the default roster, common parent rules) replays a day
    of seeded bars, takes ``STEP_WARM_UP`` untimed steps, then steps ``days`` days of bars one at a time.
    Reports the time per step (p50, p99, max; p50 of the first and last hour, which match when a step
    costs the same at any bar), the checkpoint's size and the time to make it and to resume from it, and
    whether the live run's results equal a replay of the same bars exactly."""
    warm_up()
    steps = MINUTES_PER_DAY * days
    total = STEP_HISTORY_BARS + STEP_WARM_UP + steps
    market = generate_market(n_symbols, -(-total // MINUTES_PER_DAY), seed=seed).head(total)
    rules = ParentRules(max_gross_exposure=1.0, max_leverage=2.0, daily_stop=0.05)
    spec = cohort(default_roster(n_agents, seed=0), bankroll=10_000.0, fee_bps=10.0, slippage_bps=5.0, rules=rules)
    rows = [{name: getattr(market, name)[t] for name in FIELDS} for t in range(STEP_HISTORY_BARS, total)]
    simulation = Simulation(market.head(STEP_HISTORY_BARS), spec)
    simulation.advance()
    times = []
    for i, row in enumerate(rows):
        started = time.perf_counter()
        simulation.step(row)
        if i >= STEP_WARM_UP:
            times.append(time.perf_counter() - started)
    ms = np.array(times) * 1e3
    started = time.perf_counter()
    data = simulation.checkpoint_bytes()
    saved = time.perf_counter() - started
    started = time.perf_counter()
    resumed = Simulation.from_checkpoint(market, spec, data)
    loaded = time.perf_counter() - started
    hour = 60
    return {
        "engine": ENGINE_NAME, "agents": n_agents, "symbols": n_symbols, "history_bars": STEP_HISTORY_BARS,
        "steps": len(times), "p50_ms": round(float(np.median(ms)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3), "max_ms": round(float(ms.max()), 3),
        "first_hour_p50_ms": round(float(np.median(ms[:hour])), 3),
        "last_hour_p50_ms": round(float(np.median(ms[-hour:])), 3),
        "checkpoint_bytes": len(data), "checkpoint_ms": round(saved * 1e3, 2), "resume_ms": round(loaded * 1e3, 2),
        "identical_to_replay": _identical(simulation.result(), run(market, spec))
        and _identical(resumed.result(), simulation.result()),
    }
