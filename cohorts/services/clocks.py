"""The clocks of live cohorts: when each bar of a cohort's window arrives, and the bars known by then.

`ReplayClock` serves a window's stored bars one minute at a time on an accelerated clock (a day in
seconds; speed 0 or infinity: at once), so a live run can be tested and shown; its bars are exactly
the bars a replay of the window reads. `WallClock` waits for each minute's bar to be stored (by the
ingestion beat task) a few seconds after the minute closes.
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.utils import timezone

from cohorts.selectors.market import FIELDS, BarWindow, bar_window

MINUTE = timedelta(minutes=1)


def window_head(window: BarWindow, n: int) -> BarWindow:
    """The first `n` bars of `window` (what a live run had seen after n bars)."""
    cut = {f: getattr(window, f)[:n] for f in FIELDS}
    return dataclasses.replace(window, timestamps=window.timestamps[:n], present=window.present[:n], **cut)


class Feed:
    """One live run's bars: `arrivals(t)` yields each bar index from t on as the bar arrives; `window(n)`
    is the first n bars (all of them known by then); `expected` the bars the window should hold."""

    expected: int

    def arrivals(self, start: int) -> Iterator[int]:
        raise NotImplementedError

    def window(self, n: int) -> BarWindow:
        raise NotImplementedError


class ReplayClock:
    """Stored bars on an accelerated clock: `speed` minutes per second of wall time (0 or inf: no wait)."""

    name = "replay"

    def __init__(self, speed: float = 0, *, sleep: Callable[[float], None] = time.sleep):
        if not speed >= 0:
            raise ValueError(f"speed must be 0 or more, got {speed}")
        self.speed, self.sleep = speed, sleep

    @property
    def delay(self) -> float:
        """Seconds between two bars."""
        return 0.0 if self.speed == 0 or math.isinf(self.speed) else 60.0 / self.speed

    def feed(self, *, symbols: list[str], start: datetime, end: datetime) -> Feed:
        return _ReplayFeed(bar_window(symbols=symbols, start=start, end=end), self)


class _ReplayFeed(Feed):
    def __init__(self, full: BarWindow, clock: ReplayClock):
        self.full, self.clock, self.expected = full, clock, full.shape[0]

    def arrivals(self, start: int) -> Iterator[int]:
        for t in range(start, self.full.shape[0]):
            if t > start and self.clock.delay:
                self.clock.sleep(self.clock.delay)
            yield t

    def window(self, n: int) -> BarWindow:
        return window_head(self.full, n)


class WallClock:
    """The market as it happens: bar t is taken once its minute has closed and its bar is stored.

    It polls the stored bars `delay` seconds after each minute closes (the ingestion task stores them
    within the minute) and gives up on bars that have not come `grace` after the window's end.
    """

    name = "wall"

    def __init__(self, *, delay: float = 5.0, grace: timedelta = timedelta(minutes=5),
                 now: Callable[[], datetime] = timezone.now, sleep: Callable[[float], None] = time.sleep):
        self.delay, self.grace, self.now, self.sleep = delay, grace, now, sleep

    def feed(self, *, symbols: list[str], start: datetime, end: datetime) -> Feed:
        return _WallFeed(self, list(symbols), start, end)


class _WallFeed(Feed):
    def __init__(self, clock: WallClock, symbols: list[str], start: datetime, end: datetime):
        self.clock, self.symbols, self.start, self.end = clock, symbols, start, end
        self.expected = max(1, int((end - start) / MINUTE))
        self.known: BarWindow | None = None

    def _refresh(self) -> BarWindow:
        closed = self.clock.now().replace(second=0, microsecond=0)  # bars before this minute are complete
        self.known = bar_window(symbols=self.symbols, start=self.start, end=min(self.end, closed))
        return self.known

    def arrivals(self, start: int) -> Iterator[int]:
        t = start
        while True:
            known = self._refresh()
            while t < known.shape[0]:
                yield t
                t += 1
            now = self.clock.now()
            if now >= self.end + self.clock.grace:
                return
            following = now.replace(second=0, microsecond=0) + MINUTE
            self.clock.sleep(max(0.5, (following - now).total_seconds() + self.clock.delay))

    def window(self, n: int) -> BarWindow:
        known = self.known if self.known is not None and self.known.shape[0] >= n else self._refresh()
        if known.shape[0] < n:
            raise ValueError(f"only {known.shape[0]} bars of the window are stored, not {n}")
        return window_head(known, n)


def clock_named(name: str, *, speed: float = 0) -> ReplayClock | WallClock:
    """The clock a command or task asks for by name: "replay" (with `speed`) or "wall"."""
    if name == "replay":
        return ReplayClock(speed)
    if name == "wall":
        return WallClock()
    raise ValueError(f"Unknown clock {name!r}: use replay or wall.")
