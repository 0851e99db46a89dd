"""`Simulation.progress(k)`: a live bar's figures without the run's history, equal to what `result()` gives."""
from __future__ import annotations

import numpy as np
import pytest

from cohorts.engine import Market, Simulation, generate_market, reference_spec
from cohorts.engine.market import FIELDS


def bar_of(market: Market, t: int) -> dict[str, np.ndarray]:
    return {f: getattr(market, f)[t] for f in FIELDS}


def test_progress_gives_the_new_fills_and_the_latest_equity_of_the_result():
    market, spec = generate_market(4, 1), reference_spec(12)
    simulation = Simulation(Market.empty(market.symbols), spec)
    start = simulation.progress(0)
    assert len(start.fills) == 0 and np.array_equal(start.equity, spec.capital())
    assert start.parent_equity == pytest.approx(spec.bankroll)

    posted, checked = 0, 0
    for t in range(300):
        simulation.step(bar_of(market, t))
        latest = simulation.progress(posted)
        result = simulation.result()
        assert latest.first == posted and latest.n_fills == len(result.fills) == simulation.n_fills
        for name in result.fills.__dataclass_fields__:
            assert np.array_equal(getattr(latest.fills, name), getattr(result.fills, name)[posted:])
        assert np.array_equal(latest.equity, result.final_equity)
        assert latest.parent_equity == pytest.approx(result.parent_equity[-1], rel=1e-12)
        checked += len(latest.fills)
        posted = latest.n_fills
    assert checked == posted > 50  # every fill was handed over once, as the bars made it


def test_fills_part_is_the_fills_between_two_indices():
    market, spec = generate_market(4, 1), reference_spec(12)
    simulation = Simulation(market.head(200), spec)
    simulation.advance()
    fills = simulation.result().fills
    part = fills.part(10, 25)
    assert len(part) == 15
    assert np.array_equal(part.agent, fills.agent[10:25]) and np.array_equal(part.pnl, fills.pnl[10:25])
    assert len(fills.part(len(fills))) == 0
