"""manage.py run_intraday_cohort: launch a cohort on the bundled (or imported) bars and run it now."""
import json
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from cohorts.models import CohortMode, CohortStatus
from cohorts.selectors.cohorts import cohort_brief
from cohorts.services.clocks import clock_named
from cohorts.services.cohorts import cohort_launch, cohort_run
from cohorts.services.inputs import cohort_input
from cohorts.services.live import cohort_run_live
from neolight.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Launch an intraday cohort of agents on one bankroll and run it to the end: capital is drawn from "
        "the house bankroll, every fill is posted to the ledger, agents are scored, and the ledger is "
        "reconciled with the engine. Example: --bankroll 1000 --agents 30 --policy equal "
        "--symbols BTC-USDT,ETH-USDT --start 2021-05-10T00:00:00Z --end 2021-05-11T00:00:00Z. "
        "--mode live --clock replay --speed 600 steps it bar by bar as a live-paper cohort on stored bars, "
        "600 minutes a second (the same fills and summary as the replay)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bankroll", required=True, help="USD, between the configured bounds ($50–$100,000)")
        parser.add_argument("--agents", default=None, help="number of agents, 10–300 (default 30)")
        parser.add_argument("--policy", default="equal", help="equal, risk_weighted or performance_weighted")
        parser.add_argument("--symbols", required=True, help="comma-separated, e.g. BTC-USDT,ETH-USDT")
        parser.add_argument("--start", required=True, help="window start, ISO-8601 UTC")
        parser.add_argument("--end", required=True, help="window end (exclusive), ISO-8601 UTC")
        parser.add_argument("--seed", default=7, help="seed of the default roster of genomes, 0–2,147,483,647 (default 7)")
        parser.add_argument("--exposure-limit", default=None, help="gross notional / parent equity, 0.000001–10 (default 1.0)")
        parser.add_argument("--leverage-ceiling", default=None, help="per agent, 0.000001–10 (default 2.0)")
        parser.add_argument("--daily-stop", default=None, help="fraction of equity lost in a day that halts all, in (0, 1)")
        parser.add_argument("--mode", default=CohortMode.REPLAY, help="replay (default) or live: bar by bar on --clock")
        parser.add_argument("--clock", default="replay", choices=["replay", "wall"],
                            help="live mode: replay (stored bars at --speed) or wall (each minute's bar as it is stored)")
        parser.add_argument("--speed", type=float, default=0.0,
                            help="replay clock: minutes of market per second (0, the default: as fast as it goes)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the summary as JSON")

    def handle(self, *args, as_json, **o):
        began = time.perf_counter()
        if o["speed"] < 0:
            raise CommandError(f"--speed must be 0 or more; got {o['speed']}. Nothing was written.")
        try:
            data = cohort_input(bankroll=o["bankroll"], agents=o["agents"], policy=o["policy"], symbols=o["symbols"],
                                start=o["start"], end=o["end"], seed=o["seed"], exposure_limit=o["exposure_limit"],
                                leverage_ceiling=o["leverage_ceiling"], daily_stop=o["daily_stop"], mode=o["mode"])
            with transaction.atomic():
                cohort = cohort_launch(data=data, run=False)
        except ApplicationError as exc:
            raise CommandError("\n".join([*exc.lines(), "Nothing was written."])) from None
        with tqdm(total=100, desc=f"cohort {cohort.pk}", unit="%", disable=None) as bar:
            advance = lambda p: bar.update(p - bar.n)  # noqa: E731
            if cohort.mode == CohortMode.LIVE:
                clock = clock_named(o["clock"], speed=o["speed"])
                cohort = cohort_run_live(cohort_id=cohort.pk, clock=clock, progress=advance)
            else:
                cohort = cohort_run(cohort_id=cohort.pk, progress=advance)
            bar.update(100 - bar.n)
        brief = {**cohort_brief(cohort), "elapsed_seconds": round(time.perf_counter() - began, 3)}
        if as_json:
            self.stdout.write(json.dumps(brief))
        else:
            self._print(brief)
        if cohort.status != CohortStatus.COMPLETED:
            raise CommandError(f"Cohort {cohort.pk} {cohort.status}: {cohort.status_reason}")

    def _print(self, b: dict) -> None:
        self.stdout.write(f"Cohort {b['cohort']} {b['status']}: bankroll ${Decimal(b['bankroll']):,.2f} → "
                          f"${Decimal(b['final_equity'] or 0):,.2f} "
                          f"(ROI {b['roi'] or 0:+.4%}, max drawdown {b['max_drawdown'] or 0:.4%}, "
                          f"utilisation {b['utilisation'] or 0:.1%}, {b['breaches']} breaches, "
                          f"run {b['runtime_seconds']} s, launch to summary {b['elapsed_seconds']} s)")
        if b["allocation"]:
            self.stdout.write(b["allocation"])
        self.stdout.write(f"Ledger balanced: {b['ledger_balanced']}; reconciled with the engine: {b['reconciled']}")
        for rank, row in enumerate(b["leaderboard"], 1):
            self.stdout.write(f"  {rank}. agent {row['agent']:>3} {row['family']:<18} ROI {row['roi']:+.4%} "
                              f"Sharpe {row['sharpe']:+.2f} trades {row['trades']}")
