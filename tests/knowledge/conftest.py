"""Fixtures of the learning tests: several days of bundled bars, and synthetic engine markets."""
from __future__ import annotations

import numpy as np
import pytest

from cohorts import engine
from tests.conftest import sample_slice

PAIR = ["BTC-USDT", "ETH-USDT"]


@pytest.fixture
def crypto_days(db, tmp_path):
    """Two bundled pairs' first four days (2021-05-06 … 2021-05-09 UTC), imported through the real service."""
    from cohorts.services.market import bars_import_files

    return bars_import_files(paths=[sample_slice(tmp_path, s, 4 * 1440) for s in PAIR])


def market_from_closes(close: np.ndarray) -> engine.Market:
    """A market whose bars open at the previous close, with a little range and ample volume."""
    close = np.asarray(close, dtype=np.float64)
    opens = np.vstack([close[:1], close[:-1]])
    high = np.maximum(opens, close) * 1.0005
    low = np.minimum(opens, close) * 0.9995
    return engine.Market(open=opens, high=high, low=low, close=close, volume=np.full(close.shape, 1e6))


def random_walk(bars: int, symbols: int, seed: int, vol: float = 0.001) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, size=(bars, symbols)), axis=0))
