"""Capital weights by Thompson sampling over the agents' returns (the performance_weighted policy).

Each agent's mean hourly return has a normal posterior: prior N(0, τ²), where τ² is the spread
of the observed agents' mean returns (empirical Bayes; a small constant when it cannot be
estimated), and a normal likelihood with the agent's own return variance (the pooled one if it
has fewer than two hours). A genome never run has only the prior. ``draws`` joint samples are
drawn; ``p_best`` is how often each agent had the highest sample, and the weight mixes it with
equal shares: ``w = floor / N + (1 - floor) · p_best``, so every agent keeps at least
``floor / N`` of the bankroll while the likely best get more.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_TAU = 1e-4  # prior spread of mean hourly returns (0.01%) when the data cannot say


@dataclass(frozen=True)
class Allocation:
    """Weights summing to 1, each agent's probability of being best, and its posterior mean."""

    weights: np.ndarray
    p_best: np.ndarray
    posterior_mean: np.ndarray


def thompson_weights(returns: Sequence[np.ndarray | None], rng: np.random.Generator, *, draws: int = 4000,
                     floor: float = 0.5) -> Allocation:
    """Weights for N agents from their hourly returns (None: a genome with no history yet)."""
    n = len(returns)
    if n == 0:
        return Allocation(np.zeros(0), np.zeros(0), np.zeros(0))
    seen = [np.asarray(r, dtype=np.float64) for r in returns if r is not None and len(r) > 0]
    means = np.array([r.mean() for r in seen]) if seen else np.zeros(0)
    pooled = float(np.concatenate(seen).var()) if seen else 0.0
    tau2 = max(float(means.var()) if len(means) > 1 else 0.0, MIN_TAU**2)
    mu, var = np.zeros(n), np.full(n, tau2)
    for i, r in enumerate(returns):
        if r is None or len(r) == 0:
            continue
        r = np.asarray(r, dtype=np.float64)
        noise = float(r.var()) if len(r) > 1 and r.var() > 0 else max(pooled, MIN_TAU**2)
        precision = 1.0 / tau2 + len(r) / noise
        var[i] = 1.0 / precision
        mu[i] = (len(r) * r.mean() / noise) / precision
    samples = rng.normal(mu, np.sqrt(var), size=(draws, n))
    p_best = np.bincount(samples.argmax(axis=1), minlength=n) / draws
    weights = floor / n + (1.0 - floor) * p_best
    return Allocation(weights / weights.sum(), p_best, mu)
