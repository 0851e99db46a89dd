"""Stored equity curves: compact, every bar kept, values to the cent; older blobs still read."""
import io

import numpy as np

from cohorts import curves


def sample(seed: int = 3, agents: int = 40, bars: int = 2000):
    rng = np.random.default_rng(seed)
    moving = np.repeat(rng.random((agents, bars // 50)) < 0.2, 50, axis=1)  # mostly out of the market, in stretches
    equity = 1000 + np.cumsum(np.where(moving, rng.normal(0, 2, (agents, bars)), 0.0), axis=1)
    exposure = np.where(moving, np.abs(rng.normal(500, 100, (agents, bars))), 0.0)
    return {"timestamps": 1_620_000_000 + 60 * np.arange(bars), "parent": equity.sum(axis=0) + 0.123456789,
            "agents": equity, "exposure": exposure}


def test_curves_keep_every_bar_to_the_cent_and_the_parent_exactly():
    original = sample()
    stored = curves.unpack(curves.pack(**original))
    assert stored["agents"].shape == original["agents"].shape and stored["exposure"].shape == original["exposure"].shape
    assert np.array_equal(stored["timestamps"], original["timestamps"])
    assert np.array_equal(stored["parent"], original["parent"])
    for name in ("agents", "exposure"):
        assert np.abs(stored[name] - original[name]).max() <= 0.005 + 1e-9


def test_curves_take_less_than_half_the_space_of_plain_floats():
    original = sample()
    plain = io.BytesIO()
    np.savez_compressed(plain, **original)
    assert len(curves.pack(**original)) * 2 < len(plain.getvalue())


def test_curves_stored_before_still_read():
    original = sample()
    plain = io.BytesIO()
    np.savez_compressed(plain, **original)
    stored = curves.unpack(plain.getvalue())
    assert all(np.array_equal(stored[name], original[name]) for name in original)


def test_curves_that_are_not_finite_are_kept_as_they_are():
    original = sample()
    original["agents"][0, 5] = np.nan
    stored = curves.unpack(curves.pack(**original))
    assert np.isnan(stored["agents"][0, 5]) and np.array_equal(stored["exposure"], original["exposure"])
