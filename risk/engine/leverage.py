"""The leverage policy ladder: one rule-based decision per evaluation, with its inputs and rationale.

A tier is a leverage multiple (2× means twice the capital at work). Each evaluation looks at the
returns since the tier's history began and moves at most one step:

1. step down (safety first, and never waits for a full window):
   - ``step_down_drawdown``: the current drawdown (last equity versus its peak within the window)
     is at least ``down_drawdown``;
   - ``step_down_losses``: the last ``down_consecutive_losses`` returns were all losses (< 0);
2. ``hold_insufficient_data``: fewer than ``window`` returns, so no rolling Sharpe yet;
3. step up (``step_up``): rolling Sharpe > ``up_sharpe`` and the window's maximum drawdown
   < ``up_max_drawdown``; at the cap this is ``hold_cap``;
4. otherwise ``hold``.

Rolling Sharpe = mean / standard deviation (ddof=1) of the last ``window`` per-observation returns,
times sqrt(periods_per_year); a window with zero variance has Sharpe 0 (no evidence to step up on).
Sharpe and drawdowns are compared after rounding to 10 decimals, so a drawdown of exactly 3%
built from floats counts as 3% (ties: ``>`` / ``<`` for stepping up, ``>=`` for stepping down).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

COMPARE_DECIMALS = 10  # rounding applied to Sharpe and drawdowns before comparing with thresholds


class Rule(StrEnum):
    """The rule that decided an evaluation (persisted as its string value)."""

    STEP_UP = "step_up"
    STEP_DOWN_DRAWDOWN = "step_down_drawdown"
    STEP_DOWN_LOSSES = "step_down_losses"
    HOLD_CAP = "hold_cap"
    HOLD_INSUFFICIENT_DATA = "hold_insufficient_data"
    HOLD = "hold"


@dataclass(frozen=True)
class LeveragePolicy:
    """Thresholds, window and step sizes of one leverage ladder (fractions: 0.03 is 3%)."""

    start: float = 2.0
    step_up: float = 1.0
    step_down: float = 1.0
    cap: float = 10.0
    floor: float = 1.0
    up_sharpe: float = 1.5
    up_max_drawdown: float = 0.03
    window: int = 20
    down_drawdown: float = 0.05
    down_consecutive_losses: int = 3

    def __post_init__(self) -> None:
        for name in ("start", "step_up", "step_down", "cap", "floor", "up_sharpe", "up_max_drawdown", "down_drawdown"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
        if self.floor <= 0:
            raise ValueError(f"floor must be above 0×, got {self.floor}")
        if self.cap < self.floor:
            raise ValueError(f"cap {self.cap} must be at least the floor {self.floor}")
        if not self.floor <= self.start <= self.cap:
            raise ValueError(f"start {self.start} must lie between the floor {self.floor} and the cap {self.cap}")
        if self.step_up <= 0 or self.step_down <= 0:
            raise ValueError(f"steps must be positive, got step_up={self.step_up} step_down={self.step_down}")
        for name in ("up_max_drawdown", "down_drawdown"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a fraction in (0, 1], got {getattr(self, name)}")
        for name, least in (("window", 2), ("down_consecutive_losses", 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                raise ValueError(f"{name} must be an integer of at least {least}, got {value!r}")


@dataclass(frozen=True)
class LeverageDecision:
    """One evaluation: the inputs it saw, the rule that fired, the move and why, in words."""

    rule: Rule
    from_tier: float
    to_tier: float
    rolling_sharpe: float | None  # None while fewer than `window` observations
    drawdown: float  # current: last equity versus its peak within the window
    max_drawdown: float  # worst within the window
    consecutive_losses: int
    observations: int
    periods_per_year: float
    rationale: str

    @property
    def changed(self) -> bool:
        return self.to_tier != self.from_tier


def leverage_decide(policy: LeveragePolicy, current: float, returns: np.ndarray, *,
                    periods_per_year: float = 252.0) -> LeverageDecision:
    """Decides the next tier from the current one and the per-observation returns (oldest first).

    Pure; moves at most one step and never leaves [floor, cap]. `periods_per_year` matches the
    returns' spacing (252 for daily, 252 × 6.5 for hourly equity bars, 8760 for hourly crypto).
    """
    returns = _checked_returns(returns)
    if not math.isfinite(current) or not policy.floor <= current <= policy.cap:
        raise ValueError(f"current tier {current!r} must lie between the floor {policy.floor} and the cap {policy.cap}")
    if not math.isfinite(periods_per_year) or periods_per_year <= 0:
        raise ValueError(f"periods_per_year must be positive, got {periods_per_year!r}")
    recent = returns[-policy.window:]
    drawdown, max_dd = _drawdowns(recent)
    losses = _consecutive_losses(returns)
    sharpe = _sharpe(recent, periods_per_year) if returns.size >= policy.window else None
    rule, to_tier, why = _apply(policy, current, sharpe, drawdown, max_dd, losses, returns.size)
    return LeverageDecision(rule=rule, from_tier=float(current), to_tier=to_tier, rolling_sharpe=sharpe, drawdown=drawdown,
                            max_drawdown=max_dd, consecutive_losses=losses, observations=int(returns.size),
                            periods_per_year=float(periods_per_year), rationale=f"{why}: {tier(current)} → {tier(to_tier)}")


def tier(value: float) -> str:
    """A tier as a trader writes it: 3×, 2.5×."""
    return f"{value:g}×"


def _apply(policy: LeveragePolicy, current: float, sharpe: float | None, drawdown: float, max_dd: float,
           losses: int, observations: int) -> tuple[Rule, float, str]:
    down = max(current - policy.step_down, policy.floor)
    at_floor = " (already at the floor)" if down == current else ""
    if drawdown >= policy.down_drawdown:
        return Rule.STEP_DOWN_DRAWDOWN, down, f"Drawdown {drawdown:.1%} ≥ {policy.down_drawdown:.1%}{at_floor}"
    if losses >= policy.down_consecutive_losses:
        return Rule.STEP_DOWN_LOSSES, down, f"{losses} consecutive losses ≥ {policy.down_consecutive_losses}{at_floor}"
    if sharpe is None:
        return (Rule.HOLD_INSUFFICIENT_DATA, current,
                f"Only {observations} of {policy.window} observations for a rolling Sharpe, holding")
    up_ok = sharpe > policy.up_sharpe and max_dd < policy.up_max_drawdown
    if up_ok and current >= policy.cap:
        return Rule.HOLD_CAP, current, f"Rolling Sharpe {sharpe:.2f} > {policy.up_sharpe:.2f} but already at the cap {tier(policy.cap)}"
    if up_ok:
        return (Rule.STEP_UP, min(current + policy.step_up, policy.cap),
                f"Rolling Sharpe {sharpe:.2f} > {policy.up_sharpe:.2f} and drawdown {max_dd:.1%} < {policy.up_max_drawdown:.1%}")
    sharpe_part = f"Rolling Sharpe {sharpe:.2f} {'>' if sharpe > policy.up_sharpe else '≤'} {policy.up_sharpe:.2f}"
    dd_part = f"drawdown {max_dd:.1%} {'<' if max_dd < policy.up_max_drawdown else '≥'} {policy.up_max_drawdown:.1%}"
    return Rule.HOLD, current, f"{sharpe_part} and {dd_part}, holding"


def _checked_returns(returns: np.ndarray) -> np.ndarray:
    values = np.asarray(returns, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"returns must be one-dimensional, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise ValueError("returns contain NaN or infinite values")
    if (values < -1).any():
        raise ValueError("a return below -100% is impossible")
    return values


def _sharpe(recent: np.ndarray, periods_per_year: float) -> float:
    std = float(recent.std(ddof=1))
    if std == 0:
        return 0.0
    return round(float(recent.mean()) / std * math.sqrt(periods_per_year), COMPARE_DECIMALS)


def _drawdowns(recent: np.ndarray) -> tuple[float, float]:
    """(current, maximum) drawdown of the equity curve the returns compound to, starting at 1."""
    if recent.size == 0:
        return 0.0, 0.0
    equity = np.concatenate(([1.0], np.cumprod(1.0 + recent)))
    depth = 1.0 - equity / np.maximum.accumulate(equity)
    return round(float(depth[-1]), COMPARE_DECIMALS), round(float(depth.max()), COMPARE_DECIMALS)


def _consecutive_losses(returns: np.ndarray) -> int:
    wins = np.flatnonzero(returns >= 0)
    return int(returns.size - 1 - wins[-1]) if wins.size else int(returns.size)
