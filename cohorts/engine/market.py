"""Market data as the engine sees it: aligned (T, S) arrays of 1-minute bars."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Market:
    """OHLCV bars for S symbols over T bars, each array float64 of shape (T, S).

    Bar ``t`` of every symbol covers the same minute. ``first_minute`` is the
    minute of the UTC day of bar 0 (0 = midnight); the engine uses it only to find
    day boundaries for the daily capital stop.
    """

    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    symbols: tuple[str, ...] = field(default=())
    first_minute: int = 0

    def __post_init__(self) -> None:
        shape = np.shape(self.close)
        if len(shape) != 2:
            raise ValueError("bars must be 2-D arrays of shape (T, S)")
        for name in FIELDS:
            arr = np.ascontiguousarray(getattr(self, name), dtype=np.float64)
            if arr.shape != shape:
                raise ValueError(f"{name} has shape {arr.shape}, expected {shape}")
            object.__setattr__(self, name, arr)
        symbols = tuple(self.symbols) or tuple(f"S{i}" for i in range(shape[1]))
        if len(symbols) != shape[1]:
            raise ValueError("one symbol name per column is required")
        object.__setattr__(self, "symbols", symbols)

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

    def head(self, n_bars: int) -> Market:
        """The first ``n_bars`` bars (a prefix: what a live run had seen by then)."""
        cut = {name: getattr(self, name)[:n_bars] for name in FIELDS}
        return Market(**cut, symbols=self.symbols, first_minute=self.first_minute)

    def extended(self, bars: dict) -> Market:
        """A new market with ``bars`` appended; each value is (S,) for one bar or (k, S)."""
        grown = {}
        for name in FIELDS:
            extra = np.asarray(bars[name], dtype=np.float64).reshape(-1, self.n_symbols)
            grown[name] = np.concatenate([getattr(self, name), extra])
        return Market(**grown, symbols=self.symbols, first_minute=self.first_minute)
