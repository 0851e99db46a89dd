"""manage.py generate_bars --symbols N --days D --seed S: seeded synthetic bars for scale tests."""
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from cohorts.management.progress import ProgressBar
from cohorts.services.market import bars_generate
from neolight.errors import ApplicationError


def _utc_day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Command(BaseCommand):
    help = (
        "Generate and store seeded synthetic 1-minute bars (GBM with an intraday volatility profile, "
        "optional volatility regimes and jumps) for symbols PREFIX001, PREFIX002, … The same seed gives "
        "the same bars; running it again adds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--symbols", type=int, required=True, help="number of symbols (1–500)")
        parser.add_argument("--days", type=int, required=True, help="number of 24-hour days (1–365)")
        parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
        parser.add_argument("--start", type=_utc_day, default=_utc_day("2024-01-01"),
                            help="first day, YYYY-MM-DD, UTC (default 2024-01-01)")
        parser.add_argument("--prefix", default="SYN", help="symbol prefix (default SYN)")
        parser.add_argument("--regimes", action="store_true", help="switch between calm and stressed volatility")
        parser.add_argument("--jumps", action="store_true", help="add about one price jump a day per symbol")
        parser.add_argument("--equity", action="store_true",
                            help="US-equity-like bars on the XNYS calendar: sessions, sparse pre/after-market "
                                 "minutes, overnight gaps, no weekends or holidays (--days counts calendar days)")

    def handle(self, *args, symbols, days, seed, start, prefix, regimes, jumps, equity=False, **options):
        if not 1 <= symbols <= 500:
            raise CommandError("--symbols must be between 1 and 500")
        if not 1 <= days <= 365:
            raise CommandError("--days must be between 1 and 365")
        progress = ProgressBar("storing bars")
        try:
            reports = bars_generate(symbols=symbols, days=days, seed=seed, start=start, prefix=prefix,
                                    regimes=regimes, jumps=jumps, equity=equity, progress=progress)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        finally:
            progress.close()
        inserted = sum(r.inserted for r in reports)
        self.stdout.write(f"{len(reports)} symbols × {days} day(s): {inserted} bars stored "
                          f"({reports[0].symbol} .. {reports[-1].symbol}, seed {seed})")
