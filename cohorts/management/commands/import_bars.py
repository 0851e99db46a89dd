"""manage.py import_bars FILE… [--symbol SYM] [--calendar XNYS] [--session regular|extended]: import 1-minute
bars from CSV, all or nothing."""
from django.core.management.base import BaseCommand, CommandError

from cohorts.management.progress import ProgressBar
from cohorts.services.market import bars_import_files
from neolight.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Import 1-minute OHLCV bars from CSV files (timestamp,open,high,low,close,volume; UTC). "
        "The symbol is taken from the file name (BTC-USDT_1m.csv → BTC-USDT) unless --symbol is given. "
        "Every file is validated before anything is written; a bad file is reported by file and line and "
        "nothing is imported. Re-importing bars already stored is harmless."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="CSV files to import")
        parser.add_argument("--symbol", help="symbol for a single file, e.g. BTC-USDT")
        parser.add_argument("--calendar", help="trading calendar of the symbols: 24/7 (crypto, the default for a new "
                                               "symbol) or an exchange such as XNYS; also updates stored symbols")
        parser.add_argument("--session", choices=["regular", "extended"],
                            help="minutes that trade on an exchange calendar (default regular)")

    def handle(self, *args, files, symbol, calendar=None, session=None, **options):
        progress = ProgressBar("importing")
        try:
            reports = bars_import_files(paths=files, symbol=symbol, progress=progress, calendar=calendar,
                                        session=session)
        except ApplicationError as exc:
            raise CommandError(f"{exc.message}\nNothing was imported.") from None
        finally:
            progress.close()
        for r in reports:
            self.stdout.write(
                f"{r.symbol}: {r.rows} rows from {r.file} ({r.inserted} new, {r.already_present} already stored), "
                f"{r.first_ts:%Y-%m-%dT%H:%MZ} .. {r.last_ts:%Y-%m-%dT%H:%MZ}"
            )
