"""manage.py sync_bars --symbols A,B --start ISO [--end ISO] [--provider NAME]: backfill 1-minute bars from the
market-data providers, asking only for the trading minutes not yet stored."""
from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from cohorts.management.progress import ProgressBar
from cohorts.services.ingestion import SyncReport, bars_sync, minute_text
from cohorts.services.market import instrument_calendar_check, symbol_normalise
from neolight.errors import ApplicationError


def parse_time(option: str, text: str) -> datetime:
    """An ISO-8601 date or date and time; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(f"{option} {text!r} is not an ISO-8601 date or time, e.g. 2024-01-02 or "
                           "2024-01-02T14:30Z (UTC unless an offset is given).") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def bar_source(provider: str | None):
    """The quote chain (every configured provider in order, behind its breaker), or the one named provider."""
    from cohorts.providers import registry

    if provider is None:
        return registry.market_data()
    name, adapter, why = registry.provider_build(provider.strip())
    if adapter is None:
        raise CommandError(f"--provider {name}: {why}.")
    return adapter


class Command(BaseCommand):
    help = (
        "Backfill 1-minute bars of the given symbols from the market-data providers (the configured chain, or "
        "--provider). Only the minutes each symbol's calendar trades and the database does not hold yet are "
        "asked for, a day at a time; each day's bars are validated and stored exactly as an import stores them, "
        "so running it again stores nothing new. A symbol not yet stored is created, as import_bars does "
        "(--calendar/--session set its calendar; the default is 24/7)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--symbols", required=True, help="comma-separated symbols, e.g. SPY,BTC-USDT")
        parser.add_argument("--start", required=True, help="first minute, ISO-8601 (UTC unless an offset is given)")
        parser.add_argument("--end", help="end of the range, exclusive (default: the current minute)")
        parser.add_argument("--provider", help="one provider by name (alpaca, finnhub, twelvedata, stored, or an "
                                               "adapter's dotted path); default: the configured chain")
        parser.add_argument("--calendar", help="trading calendar of the symbols: 24/7 or an exchange such as XNYS; "
                                               "also updates stored symbols")
        parser.add_argument("--session", choices=["regular", "extended"],
                            help="minutes that trade on an exchange calendar (default regular)")

    def handle(self, *args, symbols, start, end=None, provider=None, calendar=None, session=None, **options):
        now = timezone.now()
        start_at = parse_time("--start", start)
        end_at = parse_time("--end", end) if end else now
        if end_at > now:
            end_at = now  # minutes that have not happened yet have no bars
        if end_at <= start_at:
            raise CommandError(f"--end {minute_text(end_at)} must be after --start {minute_text(start_at)}.")
        try:
            names = [symbol_normalise(s) for s in symbols.split(",") if s.strip()]
            instrument_calendar_check(calendar=calendar, session=session)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if not names:
            raise CommandError("--symbols names no symbol; e.g. --symbols SPY,BTC-USDT")
        source = bar_source(provider)
        failed = [name for name in names if not self._sync(name, start_at, end_at, source, calendar, session)]
        if failed:
            raise CommandError(f"{len(failed)} of {len(names)} symbol(s) not fully synced: {', '.join(failed)}. "
                               "Run the same command again to resume.")

    def _sync(self, symbol, start, end, source, calendar, session) -> bool:
        progress = ProgressBar(symbol, unit="min")
        try:
            report = bars_sync(symbol=symbol, start=start, end=end, source=source, progress=progress,
                               calendar=calendar, session=session)
        except ApplicationError as exc:
            self.stderr.write(f"{symbol}: {exc.message}")
            return False
        finally:
            progress.close()
        self.stdout.write(self._line(report))
        return True

    @staticmethod
    def _line(r: SyncReport) -> str:
        served = f" from {r.provider}" if r.provider else ""
        return (f"{r.symbol}: {r.stored} bar(s) stored{served}, {r.already_present} already present, "
                f"{r.closed_minutes} minute(s) closed by the calendar, {r.not_served} trading minute(s) without a bar "
                f"({r.requests} request(s)), {minute_text(r.start)} .. {minute_text(r.end)}")
