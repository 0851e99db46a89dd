"""manage.py load_sample_data [--json]: load the bundled real 1-minute bars."""
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cohorts.management.progress import ProgressBar
from cohorts.services.market import bars_import_files
from neolight.errors import ApplicationError

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "sample_data"
EQUITIES = {"SPY_1m.csv"}  # traded on the XNYS calendar (regular session); the rest are 24/7 crypto


class Command(BaseCommand):
    help = (
        "Load the bundled real 1-minute bars (BTC, ETH, DOGE, LTC, XRP, ADA vs USDT for 14 days of May 2021; "
        "SPY for January 2011; origin and licences in cohorts/sample_data/README.md). Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object per symbol")

    def handle(self, *args, as_json: bool, **options):
        progress = ProgressBar("loading sample data")
        try:
            files = sorted(SAMPLE_DIR.glob("*.csv"))
            reports = bars_import_files(paths=[f for f in files if f.name not in EQUITIES], progress=progress)
            reports += bars_import_files(paths=[f for f in files if f.name in EQUITIES], calendar="XNYS")
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        finally:
            progress.close()
        for r in reports:
            row = {"symbol": r.symbol, "rows": r.rows, "inserted": r.inserted,
                   "first": f"{r.first_ts:%Y-%m-%dT%H:%M:%SZ}", "last": f"{r.last_ts:%Y-%m-%dT%H:%M:%SZ}"}
            self.stdout.write(json.dumps(row) if as_json else
                              f"{r.symbol:<10} {r.rows:>7} rows  {row['first']} .. {row['last']}")

