"""manage.py benchmark engine --agents A --symbols S --days D [--data FILE.npz] [--json]."""
import json

import numpy as np
from django.core.management.base import BaseCommand, CommandError

from cohorts.engine import Market, bench_engine, generate_market


class Command(BaseCommand):
    help = (
        "Run the cohort-day benchmark workload through the simulation engine (parent rules "
        "non-binding) and report its time: the median of 5 runs after a warm-up, and the "
        "workload's checksum. Bars come from the seeded generator, or from --data (an .npz "
        "with arrays open, high, low, close, volume of shape (T, S))."
    )

    def add_arguments(self, parser):
        parser.add_argument("target", choices=["engine"], help="what to benchmark")
        parser.add_argument("--agents", type=int, default=30, help="number of agents (default 30)")
        parser.add_argument("--symbols", type=int, default=10, help="number of symbols (default 10)")
        parser.add_argument("--days", type=int, default=1, help="number of 24-hour days (default 1)")
        parser.add_argument("--data", help="bars from this .npz instead of the generator")
        parser.add_argument("--repeats", type=int, default=5, help="timed runs after the warm-up")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON line")

    def handle(self, *args, agents, symbols, days, data, repeats, as_json, **options):
        if agents < 1 or symbols < 1 or days < 1 or repeats < 1:
            raise CommandError("--agents, --symbols, --days and --repeats must be positive")
        market = _load(data) if data else generate_market(symbols, days)
        report = bench_engine(market, agents, repeats=repeats)
        if as_json:
            self.stdout.write(json.dumps(report))
        else:
            self.stdout.write(
                f"{report['agents']} agents × {report['symbols']} symbols × {report['bars']} bars: "
                f"{report['seconds']} s (warm-up {report['warmup_s']} s), "
                f"{report['cells_per_s']:,} cells/s, {report['checksum']}"
            )


def _load(path: str) -> Market:
    try:
        with np.load(path) as arrays:
            return Market.from_arrays(arrays)
    except (OSError, KeyError, ValueError) as exc:
        raise CommandError(f"cannot read bars from {path}: {exc}") from None
