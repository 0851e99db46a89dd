"""Compiling the engine before the first run needs it.

numba compiles the per-bar kernel the first time a process calls it (about 20 s on a small machine)
and caches the machine code beside the sources (``cache=True``), so a later process only loads it
(well under a second). A server or worker calls ``warm_up()`` before it takes work: the first
cohort then reports progress at once instead of waiting for the compiler.
"""

from __future__ import annotations

import numpy as np

from . import kernel
from .genomes import FAMILIES, Genome, default_roster
from .market import FIELDS
from .simulation import Simulation
from .spec import CohortSpec, ParentRules, cohort
from .workload import generate_market

WARM_UP_BARS = 240  # enough bars for every family's indicators to produce signals
WARM_UP_CHUNK = 60  # advance in chunks, as a cohort run does
WARM_UP_STEPS = 20  # then step the last bars one at a time, as a live run does


def is_warm() -> bool:
    """True once this process holds the compiled kernel (compiled here or loaded from the cache)."""
    return bool(kernel.run_bars.signatures)


def warm_up() -> None:
    """Runs a tiny synthetic cohort of every strategy family, with every parent rule on and gapped bars,
    through the same stepping path as a real run (a replay, then live steps and a checkpoint), so each
    compiled function a run uses is ready."""
    if is_warm():
        return
    market, spec = _market(), _spec()
    simulation = Simulation(market, spec)
    while simulation.advance(WARM_UP_CHUNK):
        pass
    simulation.result()
    # live: a replay turned live, stepped bar by bar, checkpointed and resumed
    live = Simulation(market.head(WARM_UP_BARS - WARM_UP_STEPS), spec)
    live.advance()
    for t in range(WARM_UP_BARS - WARM_UP_STEPS, WARM_UP_BARS):
        live.step({name: getattr(market, name)[t] for name in (*FIELDS, "tradable")} | {"day": market.day[t]})
    Simulation.from_checkpoint(market, spec, live.checkpoint_bytes()).result()


def _market():
    bars = generate_market(n_symbols=4, days=1, seed=1)
    tradable = np.ones((WARM_UP_BARS, 4), dtype=np.bool_)
    tradable[::7, 3] = False  # a symbol with gaps, as equities outside their session
    fields = {name: getattr(bars, name)[:WARM_UP_BARS] for name in ("open", "high", "low", "close", "volume")}
    day = np.repeat(np.arange(2, dtype=np.int64), WARM_UP_BARS // 2)  # a day boundary resets the daily stop
    return type(bars)(**fields, tradable=tradable, day=day)


def _spec() -> CohortSpec:
    rules = ParentRules(max_gross_exposure=1.0, max_market_exposure=0.5, max_leverage=2.0, daily_stop=0.05,
                        breaker_losses=5, breaker_loss_limit=0.05, breaker_cooldown=60)
    return cohort(_roster(), bankroll=1_000.0, fee_bps=10.0, slippage_bps=5.0,
                  max_volume_pct=5.0, rules=rules, flatten_at_end=True)


def _roster() -> list[Genome]:
    """Every family with its defaults and sampled parameters, and once with each option of each choice
    (a moving-average kind, a smoothing): each option may run an indicator of its own."""
    roster = default_roster(2 * len(FAMILIES), seed=0)
    for name, family in FAMILIES.items():
        side = "both" if name == "pairs_zscore" else "long"
        for param, space in family.space.items():
            roster += [Genome(name, {**family.default_params, param: option}, side) for option in space.choices]
    return roster
