"""The stepping simulation (replay and live share it) and its results.

Accounting. Per agent and symbol the engine keeps ``cash`` and a signed position
(``qty`` > 0 long, < 0 short). A fill of ``qty`` at ``price`` with ``fee`` moves
cash by ``-(qty·price + fee)`` on a buy and ``+(qty·price - fee)`` on a sell, and
nothing else ever moves cash, so ``equity = Σ_s cash + position·close`` at every
bar, exactly as a ledger rebuilt from the fills (float rounding aside, far below
a cent). A short sale credits its proceeds to cash and the short is marked
against them; there is no separate margin account: the leverage ceiling (gross
exposure / equity) is the margin requirement.

Within bar t: orders from the signals of bar t-1 fill at ``open[t]`` (exits, then
rule-forced reductions, then entries capped by the rules), the book is marked at
``close[t]``, the rules that watch equity run, and bar t's signals set the orders
for t+1. Liquidity and impact read the volume of the signal bar t-1.

Sessions and gaps (``Market.tradable``): an order for a symbol fills only at the open
of that symbol's next tradable bar — a bar it really traded at, inside its session.
An order still waiting when its symbol's session closes is carried: it fills at the
open of the symbol's first bar of its next session (a market-on-open order), unless
a later signal changes it first. Signals are read only at a symbol's tradable bars;
liquidity and impact read the volume of the symbol's last tradable bar before the
fill (its signal bar); positions are marked at the symbol's last real close (a
non-tradable bar is flat at it). The window-end close-out fills each symbol at the
close of its own last tradable bar. The daily stop resets at each new session day
(``Market.day``).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from . import codes, kernel
from .genomes import build_signals
from .live import STATE_PREFIX, LiveSignals, live_index
from .market import FIELDS, Market
from .spec import CohortSpec

RULES = (
    "daily_stop", "breaker_losses", "breaker_loss_limit", "resume", "leverage_breach",
    "leverage_reduce", "leverage_entry_cap", "market_exposure_reduce",
    "market_exposure_entry_cap", "gross_exposure_reduce", "gross_exposure_entry_cap",
    "liquidity_cap",
)
VALUE_NAMES = {
    "daily_stop": ("parent_equity", "day_start_equity"),
    "breaker_losses": ("losing_streak", "limit"),
    "breaker_loss_limit": ("equity", "reference_equity"),
    "resume": ("equity", "reference_equity"),
    "leverage_breach": ("leverage", "ceiling"),
    "leverage_reduce": ("leverage", "ceiling"),
    "leverage_entry_cap": ("requested_gross", "allowed_gross"),
    "market_exposure_reduce": ("exposure_multiple", "cap"),
    "market_exposure_entry_cap": ("requested_gross", "allowed_gross"),
    "gross_exposure_reduce": ("exposure_multiple", "cap"),
    "gross_exposure_entry_cap": ("requested_gross", "allowed_gross"),
    "liquidity_cap": ("requested_qty", "allowed_qty"),
}
FILL_KINDS = {codes.OPEN: "open", codes.REDUCE: "reduce", codes.CLOSE: "close"}
_BOOK = ("cash", "pos", "basis", "trip", "streak", "target", "paused", "eq_ref", "eq_last")
_BOOK_DTYPES = (np.float64,) * 4 + (np.int64, np.int8, np.int64, np.float64, np.float64)
LIVE_N = STATE_PREFIX + "n"


@dataclass(frozen=True)
class Event:
    """A rule that bit: at ``bar``, for ``agent`` (-1: the parent wallet), with its values."""

    bar: int
    agent: int
    rule: str
    values: Mapping[str, float]


@dataclass(frozen=True)
class Fills:
    """All fills in the order they were made, as columns of length F (a window-end close-out
    comes last, stamped with each symbol's last tradable bar).

    ``side`` +1 buy / -1 sell; ``kind`` 1 opens a position, -1 reduces it, -2 closes
    it; ``pnl`` is the realised P&L of a reduce/close (net of both sides' fees).
    """

    agent: np.ndarray
    bar: np.ndarray
    symbol: np.ndarray
    side: np.ndarray
    kind: np.ndarray
    qty: np.ndarray
    price: np.ndarray
    fee: np.ndarray
    pnl: np.ndarray

    def __len__(self) -> int:
        return int(self.agent.shape[0])

    def entries_per_agent(self, n_agents: int) -> np.ndarray:
        """Number of opening fills (trades) per agent, (A,) int64."""
        return np.bincount(self.agent[self.kind == codes.OPEN], minlength=n_agents)

    def part(self, start: int, stop: int | None = None) -> Fills:
        """The fills ``start`` .. ``stop``-1 (views, not copies)."""
        cut = slice(start, stop)
        return Fills(*(getattr(self, name)[cut] for name in self.__dataclass_fields__))


@dataclass(frozen=True)
class Result:
    """A run's outputs. ``equity``/``exposure`` (A, T): equity and gross exposure at each
    close; ``cash``/``positions`` (A, S) at the end (in ``shared`` sizing only a row's
    sum of cash is meaningful); ``capital`` (A,); ``bankroll`` the parent capital."""

    equity: np.ndarray
    exposure: np.ndarray
    cash: np.ndarray
    positions: np.ndarray
    fills: Fills
    events: tuple[Event, ...]
    capital: np.ndarray
    bankroll: float

    @property
    def final_equity(self) -> np.ndarray:
        """Equity at the last simulated close, (A,)."""
        return self.equity[:, -1] if self.equity.shape[1] else self.capital.copy()

    @property
    def parent_equity(self) -> np.ndarray:
        """The parent wallet's equity at each close (agents + idle capital), (T,)."""
        return self.equity.sum(axis=0) + (self.bankroll - self.capital.sum())


@dataclass(frozen=True)
class Progress:
    """Where a stepping simulation stands, without its history: the fills made from index ``first`` on,
    each agent's equity at the last simulated close (its capital before the first bar), (A,), and the
    parent wallet's equity then (agents + idle capital)."""

    first: int
    fills: Fills
    equity: np.ndarray
    parent_equity: float

    @property
    def n_fills(self) -> int:
        """Fills made so far, those before ``first`` included."""
        return self.first + len(self.fills)


def _params(spec: CohortSpec, n_symbols: int) -> tuple[np.ndarray, np.ndarray]:
    def val(x: float | None, scale: float = 1.0) -> float:
        return np.inf if x is None else float(x) * scale

    r = spec.rules
    fp = np.zeros(codes.N_FP)
    fp[codes.FEE], fp[codes.SLIP] = spec.fee_bps / 1e4, spec.slippage_bps / 1e4
    fp[codes.IMPACT] = spec.impact or 0.0
    fp[codes.VOL_FRAC] = val(spec.max_volume_pct, 0.01)
    fp[codes.GROSS_CAP], fp[codes.MARKET_CAP] = val(r.max_gross_exposure), val(r.max_market_exposure)
    fp[codes.STOP_LOSS] = min(val(r.daily_stop, spec.bankroll), val(r.daily_stop_amount))
    fp[codes.LOSS_LIMIT], fp[codes.RESERVE] = val(r.breaker_loss_limit), spec.reserve
    fp[codes.POS_FRAC] = spec.position_fraction or 1.0 / n_symbols
    ip = np.zeros(codes.N_IP, dtype=np.int64)
    ip[codes.BREAKER_K] = r.breaker_losses or 0
    ip[codes.COOLDOWN] = -1 if r.breaker_cooldown is None else int(r.breaker_cooldown)
    ip[codes.SHARED] = int(spec.sizing == "shared")
    return fp, ip


def _liquidity(market: Market) -> np.ndarray:
    """(T, S) volume each bar's fills are screened against: the symbol's last tradable bar before it
    (bar t-1 on gapless data; bar 0's own volume at bar 0)."""
    vol = market.volume
    previous = np.concatenate([vol[:1], vol[:-1]])
    if market.tradable is None or market.n_bars == 0:
        return previous
    n = market.n_bars
    seen = np.maximum.accumulate(np.where(market.tradable, np.arange(n)[:, None], -1), axis=0)
    before = np.concatenate([np.full((1, market.n_symbols), -1), seen[:-1]])
    real = np.take_along_axis(vol, np.maximum(before, 0), axis=0)
    return np.ascontiguousarray(np.where(before >= 0, real, previous))


def initial_state(spec: CohortSpec, n_symbols: int) -> dict[str, np.ndarray]:
    """The state of a cohort before its first bar (see ``Simulation.state``)."""
    n = spec.n_agents
    capital = spec.capital()
    zeros = np.zeros((n, n_symbols))
    misc = np.zeros(codes.N_MISC)
    misc[codes.DAY_START_P] = misc[codes.LAST_P] = spec.bankroll
    misc[codes.CUR_DAY] = -1.0
    return {
        "bar": np.array(0, dtype=np.int64),
        "cash": np.repeat((capital / n_symbols)[:, None], n_symbols, axis=1),
        "pos": zeros.copy(), "basis": zeros.copy(), "trip": zeros.copy(),
        "streak": np.zeros(n, dtype=np.int64), "target": np.zeros((n, n_symbols), dtype=np.int8),
        "paused": np.full(n, -1, dtype=np.int64), "eq_ref": capital.copy(),
        "eq_last": capital.copy(), "misc": misc,
        "equity": np.zeros((n, 0)), "exposure": np.zeros((n, 0)),
        "fills_int": np.zeros((0, 5), dtype=np.int64), "fills_float": np.zeros((0, 4)),
        "events_int": np.zeros((0, 4), dtype=np.int64), "events_float": np.zeros((0, 2)),
    }


def _read_only(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view


def _grown(arr: np.ndarray, rows: int) -> np.ndarray:
    out = np.zeros((rows,) + arr.shape[1:], dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


class CheckpointError(ValueError):
    """A checkpoint that cannot resume this simulation: another format, cohort or market."""


CHECKPOINT_FORMAT = 1  # raise when the checkpoint's arrays change meaning; older checkpoints are refused
LIVE_ROOM = 1440  # bars of room the live buffers gain at a time (a day of minute bars)
_PENDING = "pending_sig"  # signal rows of bars known but not yet simulated, in a live state


def spec_digest(spec: CohortSpec) -> str:
    """A fingerprint of everything in ``spec`` that shapes a run (checkpoints carry it)."""
    agents = tuple((a.genome.key(), a.capital, a.leverage, a.max_leverage) for a in spec.agents)
    rules = tuple(getattr(spec.rules, f) for f in spec.rules.__dataclass_fields__)
    fields = (agents, spec.fee_bps, spec.slippage_bps, spec.impact, spec.max_volume_pct, spec.sizing,
              spec.position_fraction, rules, spec.parent_capital, spec.bars_per_day, spec.flatten_at_end)
    return hashlib.sha256(repr(fields).encode()).hexdigest()


class Simulation:
    """A cohort stepping over bars. Replay: ``advance()`` over a known window; live:
    ``step(bar)`` per new bar. ``state()`` / ``Simulation(..., state=...)`` save and
    resume: a run cut at any bar and resumed equals the uninterrupted run; so do
    ``checkpoint_bytes()`` / ``Simulation.from_checkpoint``.

    A replay builds every signal over the whole window at once. The first ``step`` turns the
    simulation live: from then on it keeps the bars in buffers with room to grow and each strategy's
    indicators as rolling state (``live.LiveSignals``), so a step costs the same at any bar of a day
    and gives exactly what a replay of the same bars gives.
    """

    def __init__(self, market: Market, spec: CohortSpec, state: Mapping[str, np.ndarray] | None = None):
        self.spec = spec
        self._fp, self._ip = _params(spec, market.n_symbols)
        self._lev = np.array([a.leverage for a in spec.agents], dtype=np.float64)
        self._ceil = spec.leverage_ceilings()
        self._live: LiveSignals | None = None
        live_n = None if state is None or LIVE_N not in state else int(state[LIVE_N])
        if live_n is not None and live_n == market.n_bars:
            self._go_live(market, state)  # resume live without rebuilding the history's signals
        else:
            self._set_market(market)
        self._load(state if state is not None else initial_state(spec, market.n_symbols))

    @classmethod
    def from_checkpoint(cls, market: Market, spec: CohortSpec, data: bytes) -> Simulation:
        """Resume from ``checkpoint_bytes()``: ``market`` holds (at least) the bars known when it was made.
        Raises ``CheckpointError`` for another format, another cohort spec or bars that do not match."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                arrays = {name: npz[name] for name in npz.files}
        except (OSError, ValueError, EOFError) as exc:
            raise CheckpointError(f"not a simulation checkpoint: {exc}") from None
        if "format" not in arrays:
            raise CheckpointError("not a simulation checkpoint: it has no format number")
        version = int(arrays.pop("format"))
        if version != CHECKPOINT_FORMAT:
            raise CheckpointError(f"checkpoint format {version} cannot be read (this engine reads format "
                                  f"{CHECKPOINT_FORMAT}); replay the cohort from its bars instead")
        if str(arrays.pop("spec")) != spec_digest(spec):
            raise CheckpointError("the checkpoint was made for another cohort spec")
        seen, last = int(arrays.pop("bars_seen")), arrays.pop("last_bar")
        if market.n_symbols != last.shape[1]:
            raise CheckpointError(f"the checkpoint is for {last.shape[1]} symbols, the market has {market.n_symbols}")
        if market.n_bars < seen:
            raise CheckpointError(f"the checkpoint has seen {seen} bars, the market holds only {market.n_bars}")
        if seen and not np.array_equal(np.stack([getattr(market, f)[seen - 1] for f in FIELDS]), last, equal_nan=True):
            raise CheckpointError(f"bar {seen - 1} of the market is not the bar the checkpoint has seen")
        return cls(market, spec, state=arrays)

    def checkpoint_bytes(self) -> bytes:
        """Everything needed to resume, as a compressed, versioned ``.npz`` (see ``from_checkpoint``)."""
        n = self._n_bars
        last = (np.stack([self._field(f)[n - 1] for f in FIELDS]) if n
                else np.zeros((len(FIELDS), self._n_symbols)))
        buffer = io.BytesIO()
        np.savez_compressed(buffer, format=np.array(CHECKPOINT_FORMAT, dtype=np.int64), spec=np.array(spec_digest(self.spec)),
                            bars_seen=np.array(n, dtype=np.int64), last_bar=last, **self.state())
        return buffer.getvalue()

    @property
    def market(self) -> Market:
        """The bars known so far."""
        if self._market is None:
            b, n = self._bufs, self._n_bars
            self._market = Market(**{f: b[f][:n] for f in FIELDS}, symbols=self._symbols,
                                  first_minute=self._first_minute,
                                  tradable=b["tradable"][:n] if self._has_tradable else None,
                                  day=b["day"][:n] if self._has_day else None)
        return self._market

    @property
    def bar(self) -> int:
        """The next bar to simulate (bars 0 .. bar-1 are done)."""
        return self._bar

    @property
    def is_live(self) -> bool:
        """True once the simulation steps bar by bar (rolling signals, growing buffers)."""
        return self._live is not None

    def _set_market(self, market: Market) -> None:
        self._market = market
        self._n_bars, self._n_symbols = market.n_bars, market.n_symbols
        self._open, self._close, self._volume = market.open, market.close, market.volume
        self._sig, self._gidx = build_signals(market, [a.genome for a in self.spec.agents])
        self._tradable = market.tradable_mask()
        self._days = market.day_index(self.spec.bars_per_day)
        self._liquidity = _liquidity(market)

    def _field(self, name: str) -> np.ndarray:
        return self._bufs[name] if self._live is not None else getattr(self._market, name)

    def _go_live(self, market: Market, state: Mapping[str, np.ndarray] | None = None) -> None:
        """Move the bars into growable buffers and set up the rolling signals: primed from the bars
        (whole-array, once) or restored from ``state``."""
        n, s = market.n_bars, market.n_symbols
        genomes = [a.genome for a in self.spec.agents]
        live = LiveSignals(genomes, s)
        if state is not None:
            live.load(state)
        else:
            live.prime(market)
        cap = max(2 * n, n + LIVE_ROOM)
        bufs = {f: _grown(getattr(market, f), cap) for f in FIELDS}
        bufs["tradable"] = _grown(market.tradable_mask(), cap)
        bufs["day"] = _grown(market.day_index(self.spec.bars_per_day), cap)
        bufs["liquidity"] = _grown(_liquidity(market), cap)
        sig = np.zeros((len(live.genomes), cap, s), dtype=np.int8)
        if self._live is None and state is None:
            sig[:, :n] = self._sig  # the replay's signals, for bars known but not yet simulated
        elif state is not None and _PENDING in state:
            pending = np.asarray(state[_PENDING], dtype=np.int8)
            sig[:, n - pending.shape[1] : n] = pending
        bufs["sig"] = sig
        seen = market.tradable_mask()
        rows = np.arange(n)[:, None]
        self._last_tradable = np.where(seen, rows, -1).max(axis=0, initial=-1).astype(np.int64)
        self._gidx = live_index(genomes)
        self._live, self._bufs, self._n_bars, self._n_symbols = live, bufs, n, s
        self._symbols, self._first_minute = market.symbols, market.first_minute
        self._has_tradable, self._has_day = market.tradable is not None, market.day is not None
        self._market = market
        self._bind()

    def _bind(self) -> None:
        """The kernel's views of the live buffers (read-only where a market's arrays are, so the kernel
        compiled for replays serves)."""
        b = self._bufs
        self._open, self._close, self._volume = (_read_only(b[f]) for f in ("open", "close", "volume"))
        self._tradable, self._days = _read_only(b["tradable"]), _read_only(b["day"])
        self._liquidity, self._sig = b["liquidity"], b["sig"]

    def _grow_live(self) -> None:
        b = self._bufs
        cap = max(2 * self._n_bars, self._n_bars + LIVE_ROOM)
        for name in (*FIELDS, "tradable", "day", "liquidity"):
            b[name] = _grown(b[name], cap)
        sig = np.zeros((b["sig"].shape[0], cap, b["sig"].shape[2]), dtype=np.int8)
        sig[:, : self._n_bars] = b["sig"][:, : self._n_bars]
        b["sig"] = sig
        self._bind()

    def _load(self, state: Mapping[str, np.ndarray]) -> None:
        a, s = self.spec.n_agents, self._n_symbols
        if np.shape(state["pos"]) != (a, s):
            raise ValueError(f"state is for positions {np.shape(state['pos'])}, not {(a, s)}")
        self._bar = int(state["bar"])
        self._book = tuple(np.array(state[name], dtype=dtype, order="C")
                           for name, dtype in zip(_BOOK, _BOOK_DTYPES, strict=True))
        self._misc = np.array(state["misc"], dtype=np.float64)
        self._n_fills, self._n_events = len(state["fills_int"]), len(state["events_int"])
        self._counts = np.array([self._n_fills, self._n_events], dtype=np.int64)
        room = kernel.fill_room_per_bar(a, s) + kernel.event_room_per_bar(a, s) + 1024
        self._fi = _grown(np.asarray(state["fills_int"]), self._n_fills + room)
        self._ff = _grown(np.asarray(state["fills_float"]), self._n_fills + room)
        self._ei = _grown(np.asarray(state["events_int"]), self._n_events + room)
        self._ef = _grown(np.asarray(state["events_float"]), self._n_events + room)
        t_cap = max(self._n_bars, self._bar)
        self._equity = _grown(np.asarray(state["equity"]).T, t_cap).T.copy()
        self._exposure = _grown(np.asarray(state["exposure"]).T, t_cap).T.copy()

    def _ensure_room(self) -> None:
        a, s = self.spec.n_agents, self._n_symbols
        if self._counts[0] + kernel.fill_room_per_bar(a, s) > self._fi.shape[0]:
            rows = 2 * self._fi.shape[0]
            self._fi, self._ff = _grown(self._fi, rows), _grown(self._ff, rows)
        if self._counts[1] + kernel.event_room_per_bar(a, s) > self._ei.shape[0]:
            rows = 2 * self._ei.shape[0]
            self._ei, self._ef = _grown(self._ei, rows), _grown(self._ef, rows)
        if self._equity.shape[1] < self._n_bars:
            t_cap = max(self._n_bars, 2 * self._equity.shape[1])
            self._equity = _grown(self._equity.T, t_cap).T.copy()
            self._exposure = _grown(self._exposure.T, t_cap).T.copy()

    def advance(self, n: int | None = None) -> int:
        """Simulate the next ``n`` known bars (all of them if None); returns bars done.

        With ``spec.flatten_at_end``, reaching the market's last bar closes every position.
        """
        start = self._bar
        self._run_to(self._n_bars if n is None else min(self._n_bars, start + n))
        if self.spec.flatten_at_end and self._bar == self._n_bars and self._bar > start:
            self.close_out()
        return self._bar - start

    def close_out(self) -> None:
        """Close every position at the close of its symbol's last tradable bar so far and mark the
        last simulated bar again."""
        if self._bar == 0:
            return
        self._ensure_room()
        seen = self._tradable[: self._bar]
        last = np.where(seen.any(axis=0), self._bar - 1 - np.argmax(seen[::-1], axis=0), -1).astype(np.int64)
        out = (self._fi, self._ff, self._ei, self._ef, self._counts)
        kernel.close_out(self._bar - 1, last, self._close, self._volume, self._fp, self._book, self._misc, out,
                         self._equity, self._exposure)

    def _run_to(self, stop: int) -> None:
        while self._bar < stop:
            self._ensure_room()
            out = (self._fi, self._ff, self._ei, self._ef, self._counts)
            self._bar = kernel.run_bars(self._bar, stop, self._open, self._close, self._liquidity,
                                        self._tradable, self._days, self._sig, self._gidx, self._lev,
                                        self._ceil, self._fp, self._ip, self._book, self._misc, out,
                                        self._equity, self._exposure)

    def step(self, bar: Mapping[str, np.ndarray]) -> None:
        """Live: append one bar (open, high, low, close, volume, each (S,); optionally tradable (S,)
        and day) and simulate the next bar.

        Only the new bar's signals are computed, from the rolling indicator state, in O(window)
        per strategy and symbol; they equal the whole-array signals of the same bars exactly, so
        fills equal a replay of the same bars. Without ``tradable`` the bar trades; without ``day``
        it continues the last bar's session day when the market has days, else its UTC day.
        """
        if self._live is None:
            self._go_live(self.market)
        t, s = self._n_bars, self._n_symbols
        if t == self._bufs["close"].shape[0]:
            self._grow_live()
        b = self._bufs
        row = {}
        for name in FIELDS:
            row[name] = np.asarray(bar[name], dtype=np.float64).reshape(s)
            b[name][t] = row[name]
        ok = np.ones(s, dtype=np.bool_)
        if "tradable" in bar:
            ok = np.asarray(bar["tradable"], dtype=np.bool_).reshape(s)
            self._has_tradable = True
        b["tradable"][t] = ok
        if "day" in bar:
            b["day"][t] = int(np.asarray(bar["day"]).reshape(()))
            self._has_day = True
        elif self._has_day:
            b["day"][t] = b["day"][t - 1] if t else 0
        else:
            b["day"][t] = (t + self._first_minute) // self.spec.bars_per_day
        # the volume of each symbol's last tradable bar before this one (the previous bar's before any)
        previous = b["volume"][t - 1] if t else row["volume"]
        known = self._last_tradable >= 0
        b["liquidity"][t] = np.where(known, b["volume"][np.maximum(self._last_tradable, 0), np.arange(s)], previous)
        self._last_tradable[ok] = t
        b["sig"][:, t] = self._live.update(row)
        self._n_bars, self._market = t + 1, None
        self._run_to(self._bar + 1)

    @property
    def n_fills(self) -> int:
        """Fills made so far."""
        return int(self._counts[0])

    def progress(self, since: int = 0) -> Progress:
        """The fills from index ``since`` on and the latest equity, in O(those fills + agents): unlike
        ``result()`` it copies neither the equity curves nor the earlier fills (a live bar's figures)."""
        nf, t = int(self._counts[0]), self._bar
        since = min(max(int(since), 0), nf)
        fi, ff = self._fi[since:nf], self._ff[since:nf]
        fills = Fills(fi[:, 0].copy(), fi[:, 1].copy(), fi[:, 2].copy(), fi[:, 3].astype(np.int8),
                      fi[:, 4].astype(np.int8), ff[:, 0].copy(), ff[:, 1].copy(), ff[:, 2].copy(), ff[:, 3].copy())
        capital = self.spec.capital()
        equity = self._equity[:, t - 1].copy() if t else capital
        parent = float(equity.sum() + (self.spec.bankroll - capital.sum()))
        return Progress(since, fills, equity, parent)

    def state(self) -> dict[str, np.ndarray]:
        """A copy of everything needed to resume, as a dict of numpy arrays (a live simulation's
        rolling signal state included)."""
        nf, ne, t = int(self._counts[0]), int(self._counts[1]), self._bar
        state = {name: arr.copy() for name, arr in zip(_BOOK, self._book, strict=True)}
        state.update(
            bar=np.array(t, dtype=np.int64), misc=self._misc.copy(),
            equity=self._equity[:, :t].copy(), exposure=self._exposure[:, :t].copy(),
            fills_int=self._fi[:nf].copy(), fills_float=self._ff[:nf].copy(),
            events_int=self._ei[:ne].copy(), events_float=self._ef[:ne].copy(),
        )
        if self._live is not None:
            state.update(self._live.state())
            state[_PENDING] = self._sig[:, t : self._n_bars].copy()
        return state

    def result(self) -> Result:
        """The outputs of the bars simulated so far."""
        nf, ne, t = int(self._counts[0]), int(self._counts[1]), self._bar
        fi, ff = self._fi[:nf], self._ff[:nf]
        fills = Fills(fi[:, 0].copy(), fi[:, 1].copy(), fi[:, 2].copy(),
                      fi[:, 3].astype(np.int8), fi[:, 4].astype(np.int8),
                      ff[:, 0].copy(), ff[:, 1].copy(), ff[:, 2].copy(), ff[:, 3].copy())
        return Result(
            equity=self._equity[:, :t].copy(), exposure=self._exposure[:, :t].copy(),
            cash=self._book[0].copy(), positions=self._book[1].copy(), fills=fills,
            events=_events(self._ei[:ne], self._ef[:ne]), capital=self.spec.capital(),
            bankroll=self.spec.bankroll,
        )


def _events(ei: np.ndarray, ef: np.ndarray) -> tuple[Event, ...]:
    events = []
    for (bar, agent, rule, symbol), (v0, v1) in zip(ei.tolist(), ef.tolist(), strict=True):
        name = RULES[rule]
        values = dict(zip(VALUE_NAMES[name], (v0, v1), strict=True))
        if symbol >= 0:
            values["symbol"] = symbol
        events.append(Event(bar, agent, name, values))
    return tuple(events)


def run(market: Market, spec: CohortSpec) -> Result:
    """Replay ``spec`` over every bar of ``market`` (the same stepping code as live)."""
    sim = Simulation(market, spec)
    sim.advance()
    return sim.result()
