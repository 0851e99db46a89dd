"""Pre-trade risk check: whether one order may go to the market now, and why not.

It speaks the simulation engine's limit rules (``cohorts/engine/limits.py``) for one account:
gross exposure ≤ limit × equity and ≤ leverage tier × equity, each market's exposure ≤ its
limit × equity, all after the order's costs and exact fits allowed up to ``TOL``; the daily
stop halts the account once the day's loss reaches it; orders below the ledger's minimum
(``MIN_QTY``, ``MIN_NOTIONAL``) are not placed. An order that only reduces a position
(same symbol, opposite side, never past flat) is always accepted: reduce-only semantics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from numbers import Real

# The same values as cohorts/engine/codes.py (a test keeps them equal); not imported from there so that
# this check does not load the compiled kernel.
MIN_QTY = 1e-8
MIN_NOTIONAL = 0.01
TOL = 1e-9  # relative slack before a cap is said to bite (float rounding of exact fits)

_SIDES = {1: 1, -1: -1, "buy": 1, "sell": -1}


class Reason(StrEnum):
    """Why an order was accepted (``ok``) or refused."""

    OK = "ok"
    DAILY_STOP_HIT = "daily_stop_hit"
    EXPOSURE_LIMIT = "exposure_limit"
    LEVERAGE_TIER = "leverage_tier"
    MARKET_EXPOSURE = "market_exposure"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    BAD_ORDER = "bad_order"


def _optional_positive(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{name} must be positive or None")


@dataclass(frozen=True)
class RiskLimits:
    """An account's limits; None disables a limit.

    ``exposure_limit`` and ``leverage_tier`` both bound gross notional / equity (the first a fixed
    cap, the second the leverage ladder's current tier); ``market_exposure_limit`` bounds each
    symbol's notional / equity; ``daily_stop`` (fraction of the bankroll) and ``daily_stop_amount``
    (currency; the smaller applies) halt the account once the day's loss reaches them;
    ``cost_rate`` is the equity an order loses per unit of notional (fees and slippage).
    """

    exposure_limit: float | None = None
    leverage_tier: float | None = None
    market_exposure_limit: float | None = None
    daily_stop: float | None = None
    daily_stop_amount: float | None = None
    min_notional: float = MIN_NOTIONAL
    cost_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("exposure_limit", "leverage_tier", "market_exposure_limit", "daily_stop", "daily_stop_amount"):
            _optional_positive(name, getattr(self, name))
        if not (self.min_notional >= 0 and 0 <= self.cost_rate < 1):
            raise ValueError("min_notional must be ≥ 0 and cost_rate in [0, 1)")


@dataclass(frozen=True)
class AccountState:
    """An account now: its equity, its equity at the day's open, and per symbol its signed position
    and last price, as sequences or arrays of shape (S,) in the order of ``symbols`` (or both as
    mappings by symbol name). ``bankroll`` is the daily stop's base (default: the day's open equity).
    The gross exposure is computed once here, so that each check costs O(1).
    """

    equity: float
    day_open_equity: float
    positions: Sequence[float] | Mapping[str, float]
    prices: Sequence[float] | Mapping[str, float]
    symbols: tuple[str, ...] = ()
    bankroll: float | None = None
    gross: float = field(init=False, repr=False, compare=False)
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        positions, prices, symbols = self.positions, self.prices, tuple(self.symbols)
        if isinstance(prices, Mapping):
            symbols = tuple(prices)
            if not isinstance(positions, Mapping) or set(positions) - set(symbols):
                raise ValueError("with prices by symbol, positions must be by symbol too, each one priced")
            positions = [positions.get(s, 0.0) for s in symbols]
            prices = [prices[s] for s in symbols]
        pos, px = tuple(float(q) for q in positions), tuple(float(p) for p in prices)
        if len(pos) != len(px) or (symbols and len(symbols) != len(px)):
            raise ValueError("positions, prices and symbols must have one entry per symbol")
        if not all(math.isfinite(q) for q in pos) or not all(p > 0 and math.isfinite(p) for p in px):
            raise ValueError("positions must be finite and prices positive")
        if not (math.isfinite(self.equity) and math.isfinite(self.day_open_equity)):
            raise ValueError("equity and the day's open equity must be finite")
        for name, value in (("positions", pos), ("prices", px), ("symbols", symbols)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "gross", math.fsum(abs(q) * p for q, p in zip(pos, px, strict=True)))
        object.__setattr__(self, "_index", {s: i for i, s in enumerate(symbols)})

    def symbol_index(self, symbol: int | str) -> int | None:
        """The index of ``symbol`` (an index or a name), None if the account has no such symbol."""
        if isinstance(symbol, str):
            return self._index.get(symbol)
        if isinstance(symbol, int) and not isinstance(symbol, bool) and 0 <= symbol < len(self.prices):
            return symbol
        return None

    def symbol_name(self, s: int) -> str:
        return self.symbols[s] if self.symbols else f"symbol {s}"


@dataclass(frozen=True)
class Order:
    """An order: symbol (index or name), side (+1 / "buy" or -1 / "sell"), quantity, price."""

    symbol: int | str
    side: int | str
    qty: float
    price: float


@dataclass(frozen=True)
class Verdict:
    """The answer: accepted or not, the reason's code, a sentence with the figures, and the figure
    that decided (``value``) against its limit (``limit``); NaN where there is none."""

    accepted: bool
    code: Reason
    reason: str
    value: float = math.nan
    limit: float = math.nan


def _refuse(code: Reason, reason: str, value: float = math.nan, limit: float = math.nan) -> Verdict:
    return Verdict(False, code, "Refused: " + reason, value, limit)


def _money(x: float) -> str:
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def pretrade_check(order: Order, state: AccountState, limits: RiskLimits) -> Verdict:
    """Checks ``order`` against ``limits`` for the account in ``state``; pure, allocates nothing large."""
    s = state.symbol_index(order.symbol)
    bad = _bad_order(order, s)
    if bad is not None:
        return bad
    side, qty, price = _SIDES[order.side], float(order.qty), float(order.price)
    pos = state.positions[s]
    after = pos + side * qty
    if (qty < MIN_QTY or qty * price < limits.min_notional) and not (side * pos < 0 and qty == abs(pos)):
        return _too_small(qty, price, limits)  # closing a whole position is never too small
    name = state.symbol_name(s)
    if side * pos < 0 and qty <= abs(pos):
        return Verdict(True, Reason.OK, f"Accepted: reduces the {name} position from {pos:g} to {after:g}.")
    stop = _daily_stop(state, limits)
    if stop is not None:
        return stop
    equity = state.equity - qty * price * limits.cost_rate
    gross = state.gross - abs(pos) * state.prices[s] + abs(after) * price
    refused = _gross_check(gross, equity, limits)
    if refused is not None:
        return refused
    cap = limits.market_exposure_limit
    market = abs(after) * price
    if cap is not None and (equity <= 0 or market > cap * equity * (1.0 + TOL)):
        return _refuse(Reason.MARKET_EXPOSURE,
                       f"exposure to {name} would be {_ratio(market, equity)}, above the {cap:.2f}× "
                       "per-market limit.", market / equity if equity > 0 else math.inf, cap)
    return Verdict(True, Reason.OK, f"Accepted: gross exposure would be {_ratio(gross, equity)}, "
                   f"{name} {_ratio(market, equity)}.", gross / equity if equity > 0 else math.inf)


def _bad_order(order: Order, s: int | None) -> Verdict | None:
    if s is None:
        return _refuse(Reason.BAD_ORDER, f"unknown symbol {order.symbol!r}.")
    try:
        side = None if isinstance(order.side, bool) else _SIDES.get(order.side)
    except TypeError:  # an unhashable side
        side = None
    if side is None:
        return _refuse(Reason.BAD_ORDER, f"the side must be buy (+1) or sell (-1), not {order.side!r}.")
    for label, value in (("quantity", order.qty), ("price", order.price)):
        if isinstance(value, bool) or not isinstance(value, Real) or not (math.isfinite(value) and value > 0):
            return _refuse(Reason.BAD_ORDER, f"the {label} must be a positive number, not {value!r}.")
    return None


def _too_small(qty: float, price: float, limits: RiskLimits) -> Verdict:
    if qty < MIN_QTY:
        return _refuse(Reason.BELOW_MIN_NOTIONAL, f"the quantity {qty:g} is below the smallest the ledger books, "
                       f"{MIN_QTY:g}.", qty, MIN_QTY)
    return _refuse(Reason.BELOW_MIN_NOTIONAL, f"the order's notional ${qty * price:.4g} ({qty:g} at {price:g}) is "
                   f"below the {_money(limits.min_notional)} minimum.", qty * price, limits.min_notional)


def _daily_stop(state: AccountState, limits: RiskLimits) -> Verdict | None:
    """The engine's rule: halted once the day's open equity less equity reaches the stop (≥)."""
    base = state.day_open_equity if state.bankroll is None else state.bankroll
    stops = [limits.daily_stop * base] if limits.daily_stop is not None else []
    if limits.daily_stop_amount is not None:
        stops.append(limits.daily_stop_amount)
    if not stops:
        return None
    stop, loss = min(stops), state.day_open_equity - state.equity
    if loss < stop:
        return None
    return _refuse(Reason.DAILY_STOP_HIT,
                   f"the daily stop is hit: equity {_money(state.equity)} is {_money(loss)} below the day's open "
                   f"{_money(state.day_open_equity)}, at or past the {_money(stop)} stop; only orders that reduce "
                   "exposure are accepted until the next day.", loss, stop)


def _gross_check(gross: float, equity: float, limits: RiskLimits) -> Verdict | None:
    """Gross / equity against the tighter of the exposure limit and the leverage tier."""
    exposure, tier = limits.exposure_limit, limits.leverage_tier
    if exposure is None and tier is None:
        return None
    is_tier = exposure is None or (tier is not None and tier < exposure)
    cap = tier if is_tier else exposure
    if equity > 0 and gross <= cap * equity * (1.0 + TOL):
        return None
    ratio = gross / equity if equity > 0 else math.inf
    if is_tier:
        return _refuse(Reason.LEVERAGE_TIER, f"leverage would be {_ratio(gross, equity)}, above the "
                       f"{cap:.2f}× tier the leverage ladder allows now.", ratio, cap)
    return _refuse(Reason.EXPOSURE_LIMIT, f"gross exposure would be {_ratio(gross, equity)}, above the "
                   f"{cap:.2f}× limit.", ratio, cap)


def _ratio(notional: float, equity: float) -> str:
    """``notional`` as a multiple of ``equity``, e.g. "1.34× equity"."""
    if equity <= 0:
        return f"{_money(notional)} with no equity left ({_money(equity)})"
    return f"{notional / equity:.2f}× equity"
