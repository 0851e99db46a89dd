"""manage.py run_campaign: replay a campaign (Day 1 … Day N with learning between days) on stored bars, now."""
import json
import time

from django.core.management.base import BaseCommand, CommandError

from knowledge.models import CampaignStatus
from knowledge.selectors import campaign_report
from knowledge.services.campaigns import campaign_create, campaign_input, campaign_replay
from neolight.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Replay a campaign at full speed on the stored bars: each day runs a cohort on the bankroll left by the "
        "day before, then a learning cycle (optuna walk-forward tuning, evolution, Thompson-sampling weights) "
        "produces the next day's agents. Example: --bankroll 1000 --days 3 --start 2021-05-08"
    )

    def add_arguments(self, parser):
        parser.add_argument("--bankroll", required=True, help="Day 1's bankroll, USD ($50–$100,000)")
        parser.add_argument("--days", required=True, help="number of days (Day 1 … Day N)")
        parser.add_argument("--start", required=True, help="UTC date of Day 1, YYYY-MM-DD")
        parser.add_argument("--policy", default=None, help="equal, risk_weighted or performance_weighted (default)")
        parser.add_argument("--symbols", default=None, help="comma-separated (default: every symbol with bars on Day 1)")
        parser.add_argument("--agents", default=None, help="agents per day, 10–300 (default 30)")
        parser.add_argument("--seed", default=None, help="seed of Day 1's roster and of the learning (default 7)")
        parser.add_argument("--lookback", default=None, help="hours: tune on 2L..L before a day's end, score on the last L")
        parser.add_argument("--trials", default=None, help="optuna trials per genome family per cycle (default 200)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the report as JSON")

    def handle(self, *args, as_json, **o):
        began = time.perf_counter()
        try:
            data = campaign_input(bankroll=o["bankroll"], days=o["days"], start=o["start"], policy=o["policy"],
                                  symbols=o["symbols"], agents=o["agents"], seed=o["seed"],
                                  lookback_hours=o["lookback"], trials=o["trials"])
        except ApplicationError as exc:
            raise CommandError(f"{exc.field + ': ' if exc.field else ''}{exc.message} Nothing was written.") from None
        campaign = campaign_create(data=data)
        echo = None if as_json else (lambda step: self.stderr.write(f"campaign {campaign.pk}: {step}"))
        campaign = campaign_replay(campaign_id=campaign.pk, progress=echo)
        report = {**campaign_report(campaign), "elapsed_seconds": round(time.perf_counter() - began, 3)}
        if as_json:
            self.stdout.write(json.dumps(report))
        else:
            self._print(report)
        if campaign.status != CampaignStatus.COMPLETED:
            raise CommandError(f"Campaign {campaign.pk} {campaign.status}: {campaign.status_reason}")

    def _print(self, r: dict) -> None:
        roi = f"{r['roi']:+.4%}" if r["roi"] is not None else "—"
        self.stdout.write(f"Campaign {r['campaign']} {r['status']}: ${r['bankroll']} → ${r['final_equity'] or '—'} "
                          f"over {r['days']} days (ROI {roi}, {r['elapsed_seconds']} s)")
        for d in r["day_results"]:
            best, cycle = d["best_agent"] or {}, d["cycle"] or {}
            self.stdout.write(f"  Day {d['day']} {d['date']} cohort {d['cohort']}: ${d['bankroll']} → "
                              f"${d['final_equity']} (ROI {d['roi'] or 0:+.4%}); best agent {best.get('agent')} "
                              f"{best.get('family')} ROI {best.get('roi', 0):+.4%}; cycle in-sample "
                              f"{cycle.get('in_sample') or 0:.3f}, out-of-sample {cycle.get('out_of_sample') or 0:.3f}, "
                              f"adopted {', '.join(cycle.get('adopted') or []) or 'none'}")
