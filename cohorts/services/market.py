"""Writes of market data: validated, all-or-nothing, idempotent CSV imports of 1-minute bars."""
from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction

from cohorts import calendars, synthetic
from cohorts.models import Bar, Instrument
from cohorts.models.market import AssetClass
from cohorts.selectors.market import market_overview_expire
from neolight.errors import ApplicationError
from neolight.money import MONEY_PLACES

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-/]{0,31}$")
PLAIN_NUMBER_RE = r"^[+-]?(?:\d+\.?\d*|\.\d+)$"
TOO_PRECISE_RE = r"\.\d{%d,}$" % (MONEY_PLACES + 1)
MAX_PROBLEMS_SHOWN = 5
WRITE_CHUNK = 10_000
UPLOAD_CHUNK_ROWS = 50_000  # an upload is parsed, checked and written this many rows at a time
READ_OPTIONS = {"dtype": str, "keep_default_na": False, "skip_blank_lines": False}  # every cell as exact text
TS_DTYPE = "datetime64[ns, UTC]"

Progress = Callable[[int, int], None]  # (rows just written, rows to write in all)


class BarFileError(ApplicationError):
    """A CSV file that cannot be imported; `problems` are (line, reason) pairs, first one first."""

    def __init__(self, file: str, problems: list[tuple[int, str]]):
        problems = sorted(problems, key=lambda problem: problem[0])  # stable: rule order within a line
        line, reason = problems[0]
        more = len(problems) - 1
        message = f"{file}:{line}: {reason}" + (f" (and {more} more problem(s))" if more else "")
        super().__init__(message, field="file")
        self.file = file
        self.problems = problems


@dataclass(frozen=True)
class ParsedBars:
    """A validated file: exact text values (for storage) and UTC timestamps, in file order."""

    file: str
    symbol: str
    frame: pd.DataFrame  # columns ts (datetime64[ns, UTC]) + the five value columns as text
    lines: np.ndarray  # (N,) file line number of each row

    @property
    def rows(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class ImportReport:
    file: str
    symbol: str
    rows: int
    inserted: int
    already_present: int
    first_ts: datetime | None
    last_ts: datetime | None


def symbol_from_filename(path: str | Path) -> str:
    """`BTC-USDT_1m.csv` → `BTC-USDT`; `spy.csv` → `SPY`."""
    return Path(path).stem.split("_")[0].upper()


def symbol_normalise(symbol: str) -> str:
    """Upper-cases a symbol and refuses anything but letters, digits and . - /."""
    cleaned = symbol.strip().upper()
    if not SYMBOL_RE.match(cleaned):
        raise ApplicationError(f"Invalid symbol {symbol!r}: use letters, digits, '.', '-' or '/'.", field="symbol")
    return cleaned


def bars_parse_csv(source: str | Path | IO, *, symbol: str, name: str | None = None) -> ParsedBars:
    """Reads and validates one CSV file of 1-minute bars; raises BarFileError naming file and line."""
    file = name or str(source)
    return _parse_frame(_read(lambda: pd.read_csv(source, **READ_OPTIONS), file), file=file, symbol=symbol)


def bars_parse_chunks(source: IO, *, symbol: str, name: str, rows: int) -> Iterator[ParsedBars]:
    """`bars_parse_csv` in pieces of `rows` rows (lines numbered in the whole file); each piece is also
    checked against the last bar of the piece before, so order and duplicates hold across pieces."""
    reader = _read(lambda: pd.read_csv(source, chunksize=rows, **READ_OPTIONS), name)
    first_line, previous = 2, None
    while (frame := _read(lambda: next(reader, None), name)) is not None:
        parsed = _parse_frame(frame, file=name, symbol=symbol, first_line=first_line, previous=previous)
        first_line, previous = first_line + parsed.rows, parsed.frame["ts"].iat[-1]
        yield parsed


def _read(call: Callable[[], pd.DataFrame | None], file: str):
    """Runs one pandas read, turning its errors into BarFileError."""
    try:
        return call()
    except pd.errors.EmptyDataError:
        raise BarFileError(file, [(1, "the file is empty; expected a header " + ",".join(COLUMNS))]) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise BarFileError(file, [(_line_from_parser_error(exc), f"unreadable CSV: {exc}")]) from None


def _parse_frame(frame: pd.DataFrame, *, file: str, symbol: str, first_line: int = 2,
                 previous: pd.Timestamp | None = None) -> ParsedBars:
    """Checks rows read as text (the first on line `first_line`, after the bar at `previous`)."""
    header = [c.strip().lower() for c in frame.columns]
    if tuple(header) != COLUMNS:
        raise BarFileError(file, [(1, f"header must be {','.join(COLUMNS)}, found {','.join(frame.columns)}")])
    frame.columns = list(COLUMNS)
    if frame.empty:
        raise BarFileError(file, [(first_line, "no bars after the header")])
    frame = frame.fillna("").apply(lambda col: col.str.strip())
    lines = np.arange(len(frame)) + first_line
    problems = _row_problems(frame, lines, previous)
    if problems:
        raise BarFileError(file, problems)
    parsed = frame.drop(columns="timestamp")
    parsed.insert(0, "ts", pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601").astype(TS_DTYPE))
    return ParsedBars(file=file, symbol=symbol, frame=parsed, lines=lines)


def _line_from_parser_error(exc: Exception) -> int:
    found = re.search(r"line (\d+)", str(exc))
    return int(found.group(1)) if found else 1


def _row_problems(frame: pd.DataFrame, lines: np.ndarray, previous: pd.Timestamp | None = None) -> list[tuple[int, str]]:
    """Every rule, vectorised; returns up to a few (line, reason) pairs per rule. The first row must
    come after `previous`, the bar before it, if given."""
    problems: list[tuple[int, str]] = []

    def flag(mask: np.ndarray, reason: Callable[[int], str]) -> None:
        for index in np.flatnonzero(mask)[:MAX_PROBLEMS_SHOWN]:
            problems.append((int(lines[index]), reason(int(index))))

    empty = (frame == "").to_numpy()
    flag(empty.any(axis=1), lambda i: f"empty value in column {COLUMNS[int(np.argmax(empty[i]))]}")
    bad_rows = empty.any(axis=1)

    ts = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601", errors="coerce")
    unparsed = ts.isna().to_numpy() & ~bad_rows
    flag(unparsed, lambda i: f"timestamp {frame['timestamp'].iat[i]!r} is not an ISO-8601 date and time")
    ns = ts.to_numpy(dtype="datetime64[ns]").astype("int64")
    valid_ts = ~ts.isna().to_numpy()
    flag(valid_ts & (ns % 60_000_000_000 != 0), lambda i: f"timestamp {frame['timestamp'].iat[i]} is not on a whole minute")
    step = np.diff(np.r_[previous.value if previous is not None else 0, ns])  # each row minus the one before
    both = np.r_[previous is not None, valid_ts[:-1]] & valid_ts
    flag(both & (step == 0), lambda i: f"duplicate timestamp {frame['timestamp'].iat[i]}")
    flag(both & (step < 0), lambda i: f"timestamp {frame['timestamp'].iat[i]} is earlier than the row before")

    values = {}
    for column in COLUMNS[1:]:
        text = frame[column]
        not_number = ~text.str.match(PLAIN_NUMBER_RE).to_numpy() & (text != "").to_numpy()
        flag(not_number, lambda i, c=column: f"{c} {frame[c].iat[i]!r} is not a number")
        flag(text.str.contains(TOO_PRECISE_RE).to_numpy() & ~not_number,
             lambda i, c=column: f"{c} {frame[c].iat[i]} has more than {MONEY_PLACES} decimal places")
        values[column] = pd.to_numeric(text.where(~not_number, ""), errors="coerce").to_numpy(float)
    o, h, lo, c, v = (values[k] for k in COLUMNS[1:])
    for column in PRICE_COLUMNS:
        flag(values[column] <= 0, lambda i, k=column: f"{k} must be above 0, found {frame[k].iat[i]}")
    flag(v < 0, lambda i: f"volume must not be negative, found {frame['volume'].iat[i]}")
    flag(h < np.maximum(o, c), lambda i: f"high {frame['high'].iat[i]} is below max(open, close)")
    flag(lo > np.minimum(o, c), lambda i: f"low {frame['low'].iat[i]} is above min(open, close)")
    return problems


def instrument_ensure(*, symbol: str, name: str = "", asset_class: str | None = None) -> Instrument:
    """Returns the instrument for `symbol`, creating it (class guessed from the symbol) if new."""
    symbol = symbol_normalise(symbol)
    if asset_class is None:
        asset_class = AssetClass.CRYPTO if re.search(r"-(USDT|USD|BTC|ETH)$", symbol) else AssetClass.EQUITY
    quote = symbol.split("-")[1] if "-" in symbol else "USD"
    instrument, created = Instrument.objects.get_or_create(
        symbol=symbol, defaults={"name": name or symbol, "asset_class": asset_class, "quote_currency": quote}
    )
    if created:
        _market_changed()
    return instrument


def instrument_calendar_check(*, calendar: str | None, session: str | None) -> tuple[str | None, str | None]:
    """The canonical calendar and session names (None stays None: leave the instrument's as they are)."""
    try:
        return (None if calendar is None else calendars.calendar_check(calendar),
                None if session is None else calendars.session_check(session))
    except ValueError as exc:
        raise ApplicationError(str(exc), field="session" if "session" in str(exc) else "calendar") from None


def instrument_calendar_set(*, instrument: Instrument, calendar: str | None, session: str | None) -> Instrument:
    """Sets the instrument's trading calendar and/or session (checked names); returns it."""
    calendar, session = instrument_calendar_check(calendar=calendar, session=session)
    changed = {k: v for k, v in (("calendar", calendar), ("session", session)) if v is not None}
    if changed:
        Instrument.objects.filter(pk=instrument.pk).update(**changed)
        instrument.refresh_from_db()
        _market_changed()
    return instrument


def _market_changed() -> None:
    """The market overview (bar counts, spans, calendars) expires now and once the transaction commits."""
    market_overview_expire()
    transaction.on_commit(market_overview_expire)


def bars_import_files(
    *, paths: Iterable[str | Path], symbol: str | None = None, progress: Progress | None = None,
    calendar: str | None = None, session: str | None = None,
) -> list[ImportReport]:
    """Validates every file first, then writes them all in one transaction (nothing if any fails).

    `calendar` / `session`, when given, become the trading calendar and session of every symbol imported,
    new or already stored.
    """
    instrument_calendar_check(calendar=calendar, session=session)
    paths = [Path(p) for p in paths]
    if symbol and len(paths) > 1:
        raise ApplicationError("--symbol applies to one file only; name each file after its symbol.", field="symbol")
    parsed = []
    for path in paths:
        if not path.is_file():
            raise ApplicationError(f"{path}: no such file", field="file")
        sym = symbol_normalise(symbol or symbol_from_filename(path))
        parsed.append(bars_parse_csv(path, symbol=sym, name=str(path)))
    return bars_store(parsed=parsed, progress=progress, calendar=calendar, session=session)


def bars_import_upload(*, upload: IO[bytes], name: str, symbol: str | None = None, calendar: str | None = None,
                       session: str | None = None) -> ImportReport:
    """The admin's upload: same validation and guarantees as the command, for one file of at most
    BARS_UPLOAD_MAX_BYTES (a larger one is refused unread); `calendar` / `session` are set on its instrument.

    The file is parsed and written UPLOAD_CHUNK_ROWS rows at a time inside one transaction, so memory
    stays bounded by a chunk; a bad row anywhere rolls back every chunk before it.
    """
    instrument_calendar_check(calendar=calendar, session=session)
    sym = symbol_normalise(symbol or symbol_from_filename(name))
    size, limit = upload.seek(0, io.SEEK_END), settings.BARS_UPLOAD_MAX_BYTES
    upload.seek(0)
    if size > limit:
        raise ApplicationError(f"{name} is {size:,} bytes; one upload may be at most {limit:,} bytes. Split the file, "
                               "or import it on the server with manage.py import_bars.", field="file")
    text = io.TextIOWrapper(upload, encoding="utf-8")
    with transaction.atomic():
        reports = [bars_store(parsed=[chunk], calendar=calendar, session=session)[0]
                   for chunk in bars_parse_chunks(text, symbol=sym, name=name, rows=UPLOAD_CHUNK_ROWS)]
    return ImportReport(file=name, symbol=reports[0].symbol, rows=sum(r.rows for r in reports),
                        inserted=sum(r.inserted for r in reports),
                        already_present=sum(r.already_present for r in reports),
                        first_ts=reports[0].first_ts, last_ts=reports[-1].last_ts)


@transaction.atomic
def bars_store(*, parsed: list[ParsedBars], progress: Progress | None = None, calendar: str | None = None,
               session: str | None = None) -> list[ImportReport]:
    """Writes validated files; bars already stored with equal values are skipped, different ones refused.

    `calendar` / `session`, when given, are set on each file's instrument."""
    reports = []
    advance = _counting(progress, total=sum(b.rows for b in parsed))
    for bars in parsed:
        instrument = instrument_calendar_set(instrument=instrument_ensure(symbol=bars.symbol), calendar=calendar,
                                             session=session)
        new = _new_rows(instrument, bars)
        _insert(instrument, new, advance)
        if advance and bars.rows > len(new):
            advance(bars.rows - len(new))  # rows already stored count as done
        frame = bars.frame
        reports.append(
            ImportReport(
                file=bars.file, symbol=instrument.symbol, rows=bars.rows, inserted=len(new),
                already_present=bars.rows - len(new),
                first_ts=frame["ts"].iat[0].to_pydatetime(), last_ts=frame["ts"].iat[-1].to_pydatetime(),
            )
        )
    if any(r.inserted for r in reports):
        _market_changed()
    return reports


def _counting(progress: Progress | None, *, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    progress(0, total)
    return lambda rows: progress(rows, total)


def _new_rows(instrument: Instrument, bars: ParsedBars) -> pd.DataFrame:
    """The rows not yet stored; a row that differs from the stored bar of its minute is an error."""
    frame = bars.frame
    stored = pd.DataFrame.from_records(
        list(
            Bar.objects.filter(
                instrument=instrument,
                ts__gte=frame["ts"].iat[0].to_pydatetime(),
                ts__lte=frame["ts"].iat[-1].to_pydatetime(),
            ).values_list("ts", *COLUMNS[1:])
        ),
        columns=["ts", *COLUMNS[1:]],
    )
    if stored.empty:
        return frame
    stored["ts"] = pd.to_datetime(stored["ts"], utc=True).astype(TS_DTYPE)
    merged = frame.merge(stored, on="ts", how="left", suffixes=("", "_stored"), indicator=True)
    is_new = (merged["_merge"] == "left_only").to_numpy()
    old = merged[~is_new]
    differs = np.zeros(len(old), dtype=bool)
    for column in COLUMNS[1:]:
        differs |= old[column].map(Decimal).to_numpy() != old[f"{column}_stored"].to_numpy()
    if differs.any():
        problems = []
        for index in np.flatnonzero(~is_new)[np.flatnonzero(differs)][:MAX_PROBLEMS_SHOWN]:
            row = merged.iloc[index]
            column = next(c for c in COLUMNS[1:] if Decimal(row[c]) != row[f"{c}_stored"])
            problems.append((int(bars.lines[index]), f"{column} {row[column]} differs from the stored bar of "
                             f"{row['ts']:%Y-%m-%dT%H:%MZ} ({row[column + '_stored']}); nothing was imported"))
        raise BarFileError(bars.file, problems)
    return frame[is_new]


def _insert(instrument: Instrument, frame: pd.DataFrame, progress: Callable[[int], None] | None) -> None:
    if connection.vendor == "postgresql":
        _copy_postgres(instrument, frame, progress)
        return
    for start in range(0, len(frame), WRITE_CHUNK):
        chunk = frame.iloc[start:start + WRITE_CHUNK]
        Bar.objects.bulk_create(
            Bar(instrument=instrument, ts=ts.to_pydatetime(), open=Decimal(o), high=Decimal(h), low=Decimal(lo),
                close=Decimal(c), volume=Decimal(v))
            for ts, o, h, lo, c, v in chunk.itertuples(index=False)
        )
        if progress:
            progress(len(chunk))


def _copy_postgres(instrument: Instrument, frame: pd.DataFrame, progress: Callable[[int], None] | None) -> None:
    """COPY … FROM STDIN: the exact text values go straight into NUMERIC columns."""
    table = Bar._meta.db_table
    sql = f"COPY {table} (instrument_id, ts, open, high, low, close, volume) FROM STDIN"
    out = frame.copy()
    out.insert(0, "instrument_id", instrument.pk)
    out["ts"] = out["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for start in range(0, len(out), WRITE_CHUNK):
            chunk = out.iloc[start:start + WRITE_CHUNK]
            copy.write(chunk.to_csv(sep="\t", header=False, index=False))
            if progress:
                progress(len(chunk))


def bars_generate(
    *, symbols: int, days: int, seed: int, start: datetime, prefix: str = "SYN", regimes: bool = False,
    jumps: bool = False, equity: bool = False, progress: Progress | None = None, reversion_bps: float = 0.0,
) -> list[ImportReport]:
    """Stores seeded synthetic bars for symbols PREFIX001…, through the same validation as a CSV import.

    `equity`: the generator's equity mode; the symbols trade on the XNYS calendar (regular session).
    `reversion_bps`: the generator's planted mean-reverting component (0: none)."""
    data = synthetic.generate(symbols=symbols, days=days, seed=seed, regimes=regimes, jumps=jumps,
                              reversion_bps=reversion_bps,
                              equity_start=pd.Timestamp(start).tz_convert("UTC").to_pydatetime() if equity else None)
    parsed = []
    for column in range(symbols):
        symbol = symbol_normalise(f"{prefix}{column + 1:03d}")
        text = synthetic_csv(data, column, start)
        parsed.append(bars_parse_csv(io.StringIO(text), symbol=symbol, name=f"{symbol} (synthetic, seed {seed})"))
    for bars in parsed:
        instrument_ensure(symbol=bars.symbol, asset_class=AssetClass.EQUITY if equity else AssetClass.SYNTHETIC)
    calendar = synthetic.EQUITY_CALENDAR if equity else None
    return bars_store(parsed=parsed, progress=progress, calendar=calendar)


def synthetic_csv(data: synthetic.SyntheticBars, column: int, start: datetime) -> str:
    """One symbol of synthetic bars as CSV text in the import format."""
    timestamps = pd.Timestamp(start).tz_convert("UTC") + pd.to_timedelta(data.minutes, unit="min")
    frame = pd.DataFrame({
        "timestamp": timestamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
        **{f: getattr(data, f)[:, column] for f in COLUMNS[1:]},
    })
    if data.present is not None:
        frame = frame[data.present[:, column]]
    return frame.to_csv(index=False, float_format="%.8f")
