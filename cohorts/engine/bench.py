"""Timing harness for the cohort-day workload (the one engine module that reads a clock)."""

from __future__ import annotations

import statistics
import time

from .market import Market
from .workload import run_workload

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
