"""The benchmark's planted edge: a mean-reverting component that reversion strategies can trade, and nothing else."""
import numpy as np

from cohorts import synthetic


def variance_ratio(close: np.ndarray, k: int = 60) -> float:
    """Var of k-minute log returns / (k × var of 1-minute ones), over the symbols: about 1 for a random walk,
    well below it when moves revert."""
    log = np.log(close)
    return float((np.var(log[k::k] - log[:-k:k], axis=0) / (k * np.var(np.diff(log, axis=0), axis=0))).mean())


def test_a_planted_reversion_makes_minute_returns_revert_and_leaves_its_absence_unchanged():
    plain = synthetic.generate(symbols=2, days=1, seed=3)
    edge = synthetic.generate(symbols=2, days=1, seed=3, reversion_bps=200.0)

    assert np.array_equal(synthetic.generate(symbols=2, days=1, seed=3, reversion_bps=0.0).close, plain.close)
    assert np.array_equal(edge.volume, plain.volume)  # only the price path changes
    assert variance_ratio(edge.close) < 0.5 < variance_ratio(plain.close)
    assert (edge.low <= np.minimum(edge.open, edge.close)).all() and (edge.high >= np.maximum(edge.open, edge.close)).all()
