"""Bar ingestion: fetch from a provider the trading minutes an instrument is missing, store them exactly as a
CSV import does (same validation, same refusal of a bar that differs from the stored one), and announce them.

Gap-aware: only minutes the instrument's calendar trades and the database does not hold are asked for, one
request per stretch of such minutes within a day. Each request's bars are written in their own transaction,
so a failing request leaves earlier ones stored and nothing of its own; running again resumes where it stopped.
"""
from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError
from django.db.models import Max
from django.utils import timezone

from cohorts import calendars
from cohorts.models import Bar, Instrument
from cohorts.providers.base import ProviderBar
from cohorts.services.market import (
    COLUMNS,
    BarFileError,
    bars_parse_csv,
    bars_store,
    instrument_calendar_check,
    symbol_normalise,
)
from neolight.errors import ApplicationError
from neolight.realtime import broadcast_on_commit

logger = logging.getLogger(__name__)

MINUTE = timedelta(minutes=1)
NS_PER_MINUTE = 60_000_000_000
LOCK_KEY = "cohorts:ingest-latest-bars"  # one minute's run at a time across processes
LOCK_SECONDS = 300  # a crashed run's lock lapses after this long
Progress = Callable[[int, int], None]  # (minutes just fetched, minutes to fetch in all)


class BarSource(Protocol):
    """A provider (`bars` → list) or the quote chain (`bars` → (list, name of the provider that served))."""

    def bars(self, symbol: str, start: datetime, end: datetime) -> Any: ...


@dataclass(frozen=True)
class SyncReport:
    symbol: str
    start: datetime  # the range asked for: start <= ts < end (UTC, whole minutes)
    end: datetime
    provider: str  # who served the bars ("" when nothing had to be asked)
    stored: int  # new bars written
    already_present: int  # trading minutes of the range stored before the sync
    closed_minutes: int  # minutes of the range the instrument's calendar closes (never asked for)
    not_served: int  # trading minutes asked for that the provider had no bar of (no trade, or not yet published)
    requests: int  # calls made to the source


class BarsSyncError(ApplicationError):
    """A request failed or its bars were refused; `report` says what earlier requests stored."""

    def __init__(self, *, symbol: str, start: datetime, end: datetime, reason: str, report: SyncReport):
        earlier = f" ({report.stored} bar(s) of earlier minutes were stored)" if report.stored else ""
        super().__init__(f"{symbol} {minute_text(start)} .. {minute_text(end)}: {reason}. Nothing of this range was "
                         f"stored{earlier}.", field="symbol")
        self.symbol, self.start, self.end, self.reason, self.report = symbol, start, end, reason, report


def bars_group(symbol: str) -> str:
    """The Channels group that hears of `symbol`'s new bars (group names allow no '/')."""
    return "bars." + symbol.replace("/", "_")


def minute_text(ts: datetime) -> str:
    return f"{ts.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


def bars_sync(*, symbol: str, start: datetime, end: datetime, source: BarSource, progress: Progress | None = None,
              calendar: str | None = None, session: str | None = None) -> SyncReport:
    """Fetches from `source` the trading minutes of [start, end) not yet stored for `symbol` and stores them.

    A new symbol is created as an import creates it; `calendar` / `session`, when given, become the symbol's.
    Idempotent. Broadcasts the newest bar to `bars_group(symbol)` after commit. BarsSyncError names the symbol,
    the range and the provider's reason when a request fails or a bar is refused (that request writes nothing)."""
    symbol = symbol_normalise(symbol)
    calendar, session = instrument_calendar_check(calendar=calendar, session=session)
    start, end = _ceil_minute(start), _floor_minute(end)
    if end <= start:
        raise ApplicationError(f"{symbol}: the end {minute_text(end)} must be after the start {minute_text(start)}.",
                               field="end")
    trading, held, grid, chunks = _plan(symbol, start, end, calendar, session)
    wanted = trading & ~held
    missing = set(grid[wanted].astype(np.int64).tolist())
    counts = {"stored": 0, "asked": 0, "requests": 0}
    provider, newest = "", None

    def report() -> SyncReport:
        return SyncReport(symbol=symbol, start=start, end=end, provider=provider, stored=counts["stored"],
                          already_present=int((trading & held).sum()), closed_minutes=int((~trading).sum()),
                          not_served=counts["asked"] - counts["stored"], requests=counts["requests"])

    if progress:
        progress(0, len(missing))
    for chunk_start, chunk_end, minutes in chunks:
        counts["requests"] += 1
        try:
            bars, provider = _fetch(source, symbol, chunk_start, chunk_end)
            bars = [b for b in bars if chunk_start <= _utc(b.ts) < chunk_end]
            counts["stored"] += _store(bars, symbol=symbol, provider=provider, calendar=calendar, session=session)
        except ApplicationError as exc:
            raise BarsSyncError(symbol=symbol, start=chunk_start, end=chunk_end, reason=_reason(exc),
                                report=report()) from exc
        counts["asked"] += minutes
        newest = next((b for b in reversed(bars) if _minute_ns(b.ts) in missing), newest)
        if progress:
            progress(minutes, len(missing))
    if newest is not None:
        broadcast_on_commit(bars_group(symbol), "bars.new", _payload(symbol, newest, counts["stored"], provider))
    return report()


def _plan(symbol: str, start: datetime, end: datetime, calendar: str | None,
          session: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[tuple[datetime, datetime, int]]]:
    """Every minute of [start, end) (`grid`), whether the calendar trades it and whether a bar of it is stored,
    and the requests that fetch the rest. The calendar given wins over the stored instrument's (24/7 if new)."""
    instrument = Instrument.objects.filter(symbol=symbol).first()
    cal = calendar or (instrument.calendar if instrument else calendars.ALWAYS_OPEN)
    sess = session or (instrument.session if instrument else "regular")
    grid = np.arange(_naive(start), _naive(end), dtype="datetime64[m]").astype("datetime64[ns]")
    trading = calendars.tradable(grid, cal, sess)
    held = np.isin(grid.astype(np.int64), _stored_ns(instrument, start, end)) if instrument else np.zeros(len(grid), bool)
    return trading, held, grid, _chunks(grid, trading & ~held, trading, cal)


def bars_ingest_latest(*, source: BarSource, now: datetime | None = None) -> dict[str, int | str]:
    """The minute's run: for each instrument marked `ingest`, the bars from its last stored one (or the last
    INGEST_LOOKBACK_MINUTES) to the current minute, going back at most INGEST_CATCH_UP_MINUTES. Returns each
    symbol's new bar count, or its error's message (logged; the other symbols go on). A run still going in
    another process makes this one a no-op."""
    if not cache.add(LOCK_KEY, "1", timeout=LOCK_SECONDS):
        logger.info("Bar ingestion skipped: the previous minute's run is still going.")
        return {}
    try:
        return {instrument.symbol: _ingest_one(instrument, source, _floor_minute(now or timezone.now()))
                for instrument in Instrument.objects.filter(ingest=True).annotate(last=Max("bars__ts"))}
    finally:
        cache.delete(LOCK_KEY)


def _ingest_one(instrument: Instrument, source: BarSource, now: datetime) -> int | str:
    start = instrument.last + MINUTE if instrument.last else now - timedelta(minutes=settings.INGEST_LOOKBACK_MINUTES)
    start = max(start, now - timedelta(minutes=settings.INGEST_CATCH_UP_MINUTES))
    if start >= now:
        return 0
    try:
        return bars_sync(symbol=instrument.symbol, start=start, end=now, source=source).stored
    except ApplicationError as exc:
        logger.warning("Bar ingestion: %s", exc.message)
        return exc.message
    except IntegrityError:  # another writer stored the same minutes meanwhile; the next run goes on
        logger.warning("Bar ingestion: %s: bars were stored meanwhile by another writer; retried next minute.",
                       instrument.symbol)
        return "stored meanwhile by another writer"


def _fetch(source: BarSource, symbol: str, start: datetime, end: datetime) -> tuple[Sequence[ProviderBar], str]:
    """The source's bars and the name of the provider that served them."""
    answer = source.bars(symbol, start, end)
    if isinstance(answer, tuple):
        bars, provider = answer
        return list(bars), str(provider)
    return list(answer), str(getattr(source, "name", type(source).__name__))


def _store(bars: Sequence[ProviderBar], *, symbol: str, provider: str, calendar: str | None,
           session: str | None) -> int:
    """Writes one request's bars through the import's validation and `bars_store` (one transaction)."""
    if not bars:
        return 0
    text = io.StringIO()
    text.write(",".join(COLUMNS) + "\n")
    for b in bars:
        values = (b.open, b.high, b.low, b.close, b.volume)
        text.write(f"{_utc(b.ts).isoformat()}," + ",".join(_decimal_text(v) for v in values) + "\n")
    text.seek(0)
    try:
        parsed = bars_parse_csv(text, symbol=symbol, name=f"{provider} bars")
        return bars_store(parsed=[parsed], calendar=calendar, session=session)[0].inserted
    except BarFileError as exc:
        line, reason = exc.problems[0]
        reason = reason.removesuffix("; nothing was imported")
        raise ApplicationError(f"{provider}: the bar of {minute_text(_utc(bars[line - 2].ts))} was refused: {reason}",
                               field="bars") from None


def _decimal_text(value: Decimal) -> str:
    """The exact digits in plain notation (never 1E+2), as the import reads them."""
    if not isinstance(value, Decimal):
        raise ApplicationError(f"a bar value {value!r} is not a Decimal", field="bars")
    return format(value, "f")


def _reason(exc: ApplicationError) -> str:
    """The provider's reason as it gave it (a ProviderError's message starts with the provider's name)."""
    retry_after = getattr(exc, "retry_after", None)
    return exc.message + (f" (retry after {retry_after:g} s)" if retry_after else "")


def _payload(symbol: str, bar: ProviderBar, count: int, provider: str) -> dict[str, Any]:
    """The newest bar, small: consumers re-read the database for more."""
    return {"symbol": symbol, "count": count, "provider": provider, "ts": _utc(bar.ts).isoformat(),
            **{name: _decimal_text(getattr(bar, name)) for name in COLUMNS[1:]}}


def _chunks(grid: np.ndarray, wanted: np.ndarray, trading: np.ndarray,
            calendar: str) -> list[tuple[datetime, datetime, int]]:
    """One request per day's stretch of wanted minutes with no closed minute inside: (start, end, wanted minutes)."""
    if not wanted.any():
        return []
    days = calendars.day_numbers(grid, calendar)
    closed_before = np.cumsum(~trading)  # equal for two minutes only if no closed minute lies between them
    keys = np.stack([days[wanted], closed_before[wanted]], axis=1)
    minutes = grid[wanted]
    breaks = np.flatnonzero((np.diff(keys, axis=0) != 0).any(axis=1)) + 1
    chunks = []
    for part in np.split(np.arange(len(minutes)), breaks):
        first, last = minutes[part[0]], minutes[part[-1]]
        chunks.append((_aware(first), _aware(last) + MINUTE, len(part)))
    return chunks


def _stored_ns(instrument: Instrument, start: datetime, end: datetime) -> np.ndarray:
    stamps = Bar.objects.filter(instrument=instrument, ts__gte=start, ts__lt=end).values_list("ts", flat=True)
    return pd.DatetimeIndex(list(stamps)).tz_convert(None).as_unit("ns").asi8 if stamps else np.zeros(0, np.int64)


def _utc(ts: datetime) -> datetime:
    """A provider's time as aware UTC (a naive time is taken as UTC)."""
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _floor_minute(ts: datetime) -> datetime:
    return _utc(ts).replace(second=0, microsecond=0)


def _ceil_minute(ts: datetime) -> datetime:
    floor = _floor_minute(ts)
    return floor if floor == _utc(ts) else floor + MINUTE


def _minute_ns(ts: datetime) -> int:
    return pd.Timestamp(_naive(_utc(ts))).as_unit("ns").value


def _naive(ts: datetime) -> np.datetime64:
    return np.datetime64(_utc(ts).replace(tzinfo=None), "m")


def _aware(ts: np.datetime64) -> datetime:
    return pd.Timestamp(ts).tz_localize("UTC").to_pydatetime()
