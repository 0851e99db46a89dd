"""Trading calendars and sessions: which minutes an instrument trades, and what its "day" is.

Pure (numpy, pandas, exchange_calendars; no Django). A calendar is ``24/7`` (crypto: every minute,
days are UTC days) or an exchange calendar of exchange_calendars such as ``XNYS`` (its sessions,
holidays and early closes). The session is ``regular`` (the exchange's open to its close) or
``extended``: from 5 h 30 min before the open to 4 h after the close — 04:00–20:00 New York time on a
full XNYS day, 04:00–17:00 on an early-close day.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import exchange_calendars as xcals
import numpy as np
import pandas as pd

ALWAYS_OPEN = "24/7"
SESSIONS = ("regular", "extended")
PRE_MARKET = np.timedelta64(330, "m")
AFTER_HOURS = np.timedelta64(240, "m")
TRADING_DAYS_PER_YEAR = 252
CALENDAR_START = "1990-01-01"


def calendar_check(name: str) -> str:
    """The canonical name of a calendar (``24/7`` or an exchange code); ValueError naming the known ones."""
    name = (name or ALWAYS_OPEN).strip().upper()
    if name in (ALWAYS_OPEN, "24X7", "CRYPTO"):
        return ALWAYS_OPEN
    if name in xcals.get_calendar_names(include_aliases=True):
        return xcals.resolve_alias(name)
    raise ValueError(f"Unknown calendar {name!r}: use 24/7 or an exchange calendar such as XNYS.")


def session_check(session: str) -> str:
    """``regular`` or ``extended``; ValueError otherwise."""
    session = (session or "regular").strip().lower()
    if session not in SESSIONS:
        raise ValueError(f"Unknown session {session!r}: use regular or extended.")
    return session


@lru_cache(maxsize=16)
def _exchange(name: str) -> xcals.ExchangeCalendar:
    return xcals.get_calendar(name, start=CALENDAR_START)


@lru_cache(maxsize=32)
def _bounds(name: str, session: str) -> tuple[np.ndarray, np.ndarray]:
    schedule = _exchange(name).schedule
    opens = schedule["open"].dt.tz_convert(None).to_numpy().astype("datetime64[ns]")
    closes = schedule["close"].dt.tz_convert(None).to_numpy().astype("datetime64[ns]")
    if session == "extended":
        opens, closes = opens - PRE_MARKET, closes + AFTER_HOURS
    return opens, closes


def tradable(timestamps: np.ndarray, calendar: str, session: str = "regular") -> np.ndarray:
    """(T,) bool: whether each UTC bar open time (datetime64, naive UTC) lies inside a session."""
    ts = np.asarray(timestamps).astype("datetime64[ns]")
    if calendar == ALWAYS_OPEN:
        return np.ones(ts.shape, dtype=bool)
    opens, closes = _bounds(calendar, session)
    index = np.searchsorted(opens, ts, side="right") - 1
    inside = index >= 0
    inside[inside] = ts[inside] < closes[index[inside]]
    return inside


def day_calendar(calendars: list[str] | tuple[str, ...]) -> str:
    """The calendar whose days a cohort's day follows: the one exchange all its instruments share, else
    24/7 (UTC days) — a mix of crypto and equities, or of two exchanges, counts days in UTC."""
    names = set(calendars)
    return names.pop() if len(names) == 1 else ALWAYS_OPEN


def day_numbers(timestamps: np.ndarray, calendar: str) -> np.ndarray:
    """(T,) int64 day of each bar: days since 1970-01-01 of its UTC date (24/7) or of its date in the
    exchange's own time zone (an exchange's session day never straddles its local midnight)."""
    ts = np.asarray(timestamps).astype("datetime64[ns]")
    if calendar == ALWAYS_OPEN:
        return ts.astype("datetime64[D]").astype(np.int64)
    local = pd.DatetimeIndex(ts).tz_localize("UTC").tz_convert(_exchange(calendar).tz).tz_localize(None)
    return local.to_numpy().astype("datetime64[D]").astype(np.int64)


def minutes_per_year(calendar: str, session: str = "regular") -> float:
    """Trading minutes in a year, to annualise per-minute statistics: 525,600 for 24/7, 252 × the
    session's length on a full day for an exchange (252 × 390 = 98,280 for XNYS regular)."""
    if calendar == ALWAYS_OPEN:
        return 365.0 * 1440.0
    opens, closes = _bounds(calendar, session)
    full_day = np.max((closes - opens)[-500:]).astype("timedelta64[m]").astype(np.int64)
    return float(TRADING_DAYS_PER_YEAR * full_day)


def trading_days(calendar: str, first: date, count: int) -> list[date]:
    """The first ``count`` trading days on or after ``first`` (every date for 24/7)."""
    if calendar == ALWAYS_OPEN:
        return [first + timedelta(days=i) for i in range(count)]
    sessions = _exchange(calendar).sessions
    start = sessions.searchsorted(pd.Timestamp(first))
    return [s.date() for s in sessions[start:start + count]]


def common_trading_days(names, first: date, count: int) -> list[date]:
    """The first ``count`` days on or after ``first`` on which every calendar in ``names`` trades: one
    calendar's own sessions, or, for a mix (days counted in UTC), the dates every exchange among them opens."""
    names = set(names)
    if len(names) == 1:
        return trading_days(names.pop(), first, count)
    exchanges = names - {ALWAYS_OPEN}
    days, day = [], first
    for _ in range(count * 7 + 31):  # an exchange opens at least once in any week and a holiday month
        if len(days) == count:
            break
        if all(is_trading_day(name, day) for name in exchanges):
            days.append(day)
        day += timedelta(days=1)
    return days


def is_trading_day(calendar: str, day: date) -> bool:
    """Whether ``day`` is a session of ``calendar`` (always, for 24/7)."""
    return calendar == ALWAYS_OPEN or _exchange(calendar).is_session(pd.Timestamp(day))


def session_bounds(calendar: str, session: str, day: date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC start and end of ``day``'s session (the whole UTC day for 24/7)."""
    if calendar == ALWAYS_OPEN:
        start = pd.Timestamp(day, tz="UTC")
        return start, start + pd.Timedelta(days=1)
    opens, closes = _bounds(calendar, session)
    i = _exchange(calendar).sessions.get_loc(pd.Timestamp(day))
    return pd.Timestamp(opens[i], tz="UTC"), pd.Timestamp(closes[i], tz="UTC")


def skipped_days(names, after: date, before: date) -> list[date]:
    """The dates strictly between ``after`` and ``before`` on which some calendar in ``names`` does not trade."""
    days = [after + timedelta(days=i) for i in range(1, (before - after).days)]
    return [d for d in days if not all(is_trading_day(name, d) for name in set(names))]


def rewind(calendar: str, session: str, end: datetime, minutes: int) -> datetime:
    """The latest start such that [start, end) holds ``minutes`` trading minutes of the session (wall
    minutes for 24/7): a lookback of trading hours, skipping nights, weekends and holidays."""
    if calendar == ALWAYS_OPEN:
        return end - timedelta(minutes=minutes)
    opens, closes = _bounds(calendar, session)
    stop = np.datetime64(pd.Timestamp(end).tz_convert("UTC").tz_localize(None), "ns")
    i = int(np.searchsorted(opens, stop, side="right")) - 1
    left = np.timedelta64(minutes, "m")
    while i >= 0:
        seg_end = min(closes[i], stop)
        available = seg_end - opens[i]
        if available >= left:
            return pd.Timestamp(seg_end - left, tz="UTC").to_pydatetime()
        left -= max(available, np.timedelta64(0, "m"))
        i -= 1
    return pd.Timestamp(opens[0], tz="UTC").to_pydatetime()
