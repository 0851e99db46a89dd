"""Value at Risk, expected shortfall and stress losses of a return series (numpy; no Django).

Conventions (every figure is a *loss fraction*: positive is a loss, 0.031 means 3.1% of the value):

- ``var`` at level 0.95 is minus the 5th percentile of the horizon returns, by numpy's default
  linear interpolation (the same as ``empyrical.value_at_risk(returns, cutoff=0.05)``, negated).
- ``cvar`` (expected shortfall) is minus the mean of the k worst horizon returns, k =
  floor((n - 1) × (1 - level)) + 1 (the same as ``empyrical.conditional_value_at_risk``, negated).
- Horizon h > 1 compounds h consecutive step returns: overlapping windows for the historical
  method, h simulated steps per path for Monte Carlo.
- Monte Carlo ``normal``: log(1 + r) is fitted by a normal law (mean, std with ddof=1) and each path
  draws h independent steps, so the horizon return is exp(N(h·m, h·s²)) - 1 and the closed form
  is var = 1 - exp(h·m + sqrt(h)·s·z) with z the (1 - level) normal quantile. ``bootstrap``: each
  step is drawn with replacement from the observed returns (keeps fat tails, loses autocorrelation).
- Stress: a scenario is symbol → return shock; the loss is minus the weighted sum of the shocks
  (weights are fractions of the value, shorts negative). ``gap_scenarios`` and
  ``correlation_to_one`` build the standard ones; a replayed crash is the shocks it caused.
- Money figures are the fractions times ``portfolio_value``, in Decimal rounded to cents; the float
  crosses into Decimal once, through its shortest text (``repr``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

CENT = Decimal("0.01")
METHODS = ("historical", "monte_carlo_normal", "monte_carlo_bootstrap")


@dataclass(frozen=True)
class VarResult:
    """VaR and CVaR at one level and horizon, as loss fractions and (given a value) in money."""

    method: str  # one of METHODS
    level: float
    horizon: int  # in steps of the input returns
    var: float
    cvar: float
    observations: int  # input returns
    samples: int  # horizon returns the figures come from (windows or paths)
    var_amount: Decimal | None = None
    cvar_amount: Decimal | None = None


@dataclass(frozen=True)
class StressResult:
    """The loss one named scenario would cause, as a fraction and (given a value) in money."""

    name: str
    loss: float
    loss_amount: Decimal | None = None


def historical_var(returns: np.ndarray, *, level: float = 0.95, horizon: int = 1,
                   portfolio_value: Decimal | None = None) -> VarResult:
    """Historical VaR/CVaR from the observed returns (overlapping compounded windows when horizon > 1)."""
    values = _checked_returns(returns)
    _check_level_horizon(level, horizon)
    if values.size < horizon:
        raise ValueError(f"{values.size} returns are fewer than the horizon of {horizon} steps")
    growth = np.cumprod(np.concatenate(([1.0], 1.0 + values)))
    windows = growth[horizon:] / growth[:-horizon] - 1.0 if horizon > 1 else values
    return _result("historical", windows, level, horizon, values.size, portfolio_value)


def monte_carlo_var(returns: np.ndarray, *, seed: int | np.random.Generator, level: float = 0.95, horizon: int = 1,
                    n_paths: int = 10_000, model: str = "normal", portfolio_value: Decimal | None = None) -> VarResult:
    """Monte Carlo VaR/CVaR: `n_paths` paths of `horizon` steps from a model of the returns.

    `model` is "normal" (normal log returns fitted to the series) or "bootstrap" (resampled
    returns). Deterministic for a given seed; draws only from the given or seeded Generator.
    """
    values = _checked_returns(returns)
    _check_level_horizon(level, horizon)
    if not isinstance(n_paths, int) or n_paths < 1:
        raise ValueError(f"n_paths must be a positive integer, got {n_paths!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    if model == "normal":
        paths = _normal_paths(values, rng, n_paths, horizon)
    elif model == "bootstrap":
        paths = np.prod(1.0 + rng.choice(values, size=(n_paths, horizon)), axis=1) - 1.0
    else:
        raise ValueError(f"model must be 'normal' or 'bootstrap', got {model!r}")
    return _result(f"monte_carlo_{model}", paths, level, horizon, values.size, portfolio_value)


def stress_loss(weights: Mapping[str, float], shocks: Mapping[str, float]) -> float:
    """Loss fraction of a portfolio (symbol → weight of its value; short is negative) under shocks.

    A symbol without a shock is unchanged; a shock on a symbol not held has no effect.
    """
    for symbol, shock in shocks.items():
        if not math.isfinite(shock) or shock < -1:
            raise ValueError(f"shock for {symbol} must be a finite return of at least -100%, got {shock!r}")
    for symbol, weight in weights.items():
        if not math.isfinite(weight):
            raise ValueError(f"weight for {symbol} must be finite, got {weight!r}")
    return -math.fsum(weight * shocks.get(symbol, 0.0) for symbol, weight in weights.items())


def stress_test(weights: Mapping[str, float], scenarios: Mapping[str, Mapping[str, float]], *,
                portfolio_value: Decimal | None = None) -> tuple[StressResult, ...]:
    """`stress_loss` for each named scenario (name → symbol → return shock), in the given order."""
    return tuple(StressResult(name=name, loss=(loss := stress_loss(weights, shocks)), loss_amount=_amount(loss, portfolio_value))
                 for name, shocks in scenarios.items())


def gap_scenarios(symbols: list[str] | tuple[str, ...], gaps: tuple[float, ...] = (0.05, 0.10)) -> dict[str, dict[str, float]]:
    """Named scenarios where every symbol gaps down, then up, by each size: "gap down 5%": {sym: -0.05}."""
    for gap in gaps:
        if not math.isfinite(gap) or not 0 < gap <= 1:
            raise ValueError(f"a gap must be a fraction in (0, 1], got {gap!r}")
    return {f"gap {word} {gap:.0%}": {symbol: sign * gap for symbol in symbols}
            for gap in gaps for word, sign in (("down", -1.0), ("up", 1.0))}


def correlation_to_one(volatilities: Mapping[str, float], *, sigmas: float = 3.0) -> dict[str, float]:
    """Shocks for correlation going to one: every symbol falls `sigmas` of its own volatility at once.

    `volatilities` are per-horizon standard deviations of each symbol's returns; a fall stops at -100%.
    """
    if not math.isfinite(sigmas) or sigmas <= 0:
        raise ValueError(f"sigmas must be positive, got {sigmas!r}")
    for symbol, volatility in volatilities.items():
        if not math.isfinite(volatility) or volatility < 0:
            raise ValueError(f"volatility for {symbol} must be a finite non-negative number, got {volatility!r}")
    return {symbol: max(-sigmas * volatility, -1.0) for symbol, volatility in volatilities.items()}


def _normal_paths(values: np.ndarray, rng: np.random.Generator, n_paths: int, horizon: int) -> np.ndarray:
    if values.size < 2:
        raise ValueError("the normal model needs at least 2 returns to fit a standard deviation")
    if (values <= -1).any():
        raise ValueError("the normal model cannot fit a return of -100% (its log is -infinity)")
    logs = np.log1p(values)
    steps = rng.normal(logs.mean(), logs.std(ddof=1), size=(n_paths, horizon))
    return np.expm1(steps.sum(axis=1))


def _result(method: str, outcomes: np.ndarray, level: float, horizon: int, observations: int,
            portfolio_value: Decimal | None) -> VarResult:
    tail = 1.0 - level
    var = -float(np.percentile(outcomes, 100.0 * tail))
    worst = int((outcomes.size - 1) * tail) + 1
    cvar = -float(np.partition(outcomes, worst - 1)[:worst].mean())
    return VarResult(method=method, level=level, horizon=horizon, var=var, cvar=cvar, observations=observations,
                     samples=int(outcomes.size), var_amount=_amount(var, portfolio_value),
                     cvar_amount=_amount(cvar, portfolio_value))


def _amount(fraction: float, portfolio_value: Decimal | None) -> Decimal | None:
    if portfolio_value is None:
        return None
    if not isinstance(portfolio_value, Decimal) or not portfolio_value.is_finite() or portfolio_value < 0:
        raise ValueError(f"portfolio_value must be a non-negative finite Decimal, got {portfolio_value!r}")
    return (Decimal(repr(float(fraction))) * portfolio_value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _checked_returns(returns: np.ndarray) -> np.ndarray:
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"returns must be one-dimensional, got shape {values.shape}")
    if values.size == 0:
        raise ValueError("returns are empty")
    if not np.isfinite(values).all():
        raise ValueError("returns contain NaN or infinite values")
    if (values < -1).any():
        raise ValueError("a return below -100% is impossible")
    return values


def _check_level_horizon(level: float, horizon: int) -> None:
    if not isinstance(level, int | float) or not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer of steps, got {horizon!r}")
