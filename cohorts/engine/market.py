"""Market data as the engine sees it: aligned (T, S) arrays of 1-minute bars."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Market:
    """OHLCV bars for S symbols over T bars, each array float64 of shape (T, S).

    Bar ``t`` of every symbol covers the same minute. ``tradable`` (T, S) bool says
    whether symbol s really traded at bar t inside its session (None: every bar of
    every symbol did, as on 24/7 data without gaps); a bar that is not tradable is a
    flat bar at the symbol's last real close: orders never fill there, signals are
    not read there. ``day`` (T,) int64 numbers the session day of each bar (None:
    ``(t + first_minute) // bars_per_day``, i.e. UTC days when ``first_minute`` is
    the minute of the UTC day of bar 0); the daily capital stop resets when it changes.
    """

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    symbols: tuple[str, ...] = field(default=())
    first_minute: int = 0
    tradable: np.ndarray | None = None
    day: np.ndarray | None = None

    def __post_init__(self) -> None:
        shape = np.shape(self.close)
        if len(shape) != 2:
            raise ValueError("bars must be 2-D arrays of shape (T, S)")
        for name in FIELDS:
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
            object.__setattr__(self, name, _frozen(arr))
        symbols = tuple(self.symbols) or tuple(f"S{i}" for i in range(shape[1]))
        if len(symbols) != shape[1]:
            raise ValueError("one symbol name per column is required")
        object.__setattr__(self, "symbols", symbols)
        if self.tradable is not None:
            mask = np.ascontiguousarray(self.tradable, dtype=np.bool_)
            if mask.shape != shape:
                raise ValueError(f"tradable has shape {mask.shape}, expected {shape}")
            object.__setattr__(self, "tradable", _frozen(mask))
        if self.day is not None:
            day = np.ascontiguousarray(self.day, dtype=np.int64)
            if day.shape != shape[:1]:
                raise ValueError(f"day has shape {day.shape}, expected {shape[:1]}")
            object.__setattr__(self, "day", _frozen(day))

    @property
    def n_bars(self) -> int:
        """T, the number of bars."""
        return int(self.close.shape[0])

    @property
    def n_symbols(self) -> int:
        """S, the number of symbols."""
        return int(self.close.shape[1])

    @classmethod
    def from_arrays(cls, arrays: dict, **kwargs: object) -> Market:
        """Build from a mapping (or an ``.npz``) holding open, high, low, close, volume."""
        return cls(**{name: np.asarray(arrays[name]) for name in FIELDS}, **kwargs)

    @classmethod
    def empty(cls, symbols: tuple[str, ...]) -> Market:
        """No bars yet, with tradable flags and session days (what a live run steps into)."""
        empty = np.empty((0, len(symbols)))
        return cls(**{name: empty.copy() for name in FIELDS}, symbols=tuple(symbols),
                   tradable=np.empty((0, len(symbols)), dtype=np.bool_), day=np.empty(0, dtype=np.int64))

    def tradable_mask(self) -> np.ndarray:
        """(T, S) bool: ``tradable``, or all True."""
        if self.tradable is None:
            return _frozen(np.ones(self.close.shape, dtype=np.bool_))
        return self.tradable

    def day_index(self, bars_per_day: int = 1440) -> np.ndarray:
        """(T,) int64 session day of each bar (see the class docstring)."""
        if self.day is not None:
            return self.day
        return _frozen((np.arange(self.n_bars, dtype=np.int64) + self.first_minute) // bars_per_day)

    def head(self, n_bars: int) -> Market:
        """The first ``n_bars`` bars (a prefix: what a live run had seen by then)."""
        cut = {name: getattr(self, name)[:n_bars] for name in FIELDS}
        return Market(**cut, symbols=self.symbols, first_minute=self.first_minute,
                      tradable=None if self.tradable is None else self.tradable[:n_bars],
                      day=None if self.day is None else self.day[:n_bars])

    def extended(self, bars: dict) -> Market:
        """A new market with ``bars`` appended; each value is (S,) for one bar or (k, S).

        ``bars`` may hold ``tradable`` ((S,) or (k, S) bool) and ``day`` (k,) when the market
        has them; without, the new bars are tradable and continue the last bar's day.
        """
        grown = {}
        for name in FIELDS:
            extra = np.asarray(bars[name], dtype=np.float64).reshape(-1, self.n_symbols)
            grown[name] = np.concatenate([getattr(self, name), extra])
        k = len(extra)
        tradable = day = None
        if self.tradable is not None or "tradable" in bars:
            more = np.asarray(bars.get("tradable", np.ones((k, self.n_symbols))), dtype=np.bool_)
            tradable = np.concatenate([self.tradable_mask(), more.reshape(-1, self.n_symbols)])
        if self.day is not None or "day" in bars:
            last = self.day[-1] if self.day is not None and len(self.day) else 0
            more_days = np.asarray(bars.get("day", np.full(k, last)), dtype=np.int64).reshape(-1)
            day = np.concatenate([self.day_index(), more_days])
        return Market(**grown, symbols=self.symbols, first_minute=self.first_minute, tradable=tradable, day=day)


def _frozen(arr: np.ndarray) -> np.ndarray:
    """A read-only view: the bars never change, and numba compiles one kernel per array flag, so every
    market must reach the kernel alike (read-only or not, as the caller's arrays happened to be) for the
    compiled code warmed at start (``warmup``) to serve every run."""
    view = arr.view()
    view.flags.writeable = False
    return view
