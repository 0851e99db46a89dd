"""manage.py recover_runs [--json]: fail and refund, once, the cohorts whose worker is gone."""
import json

from django.core.management.base import BaseCommand

from cohorts.services.cohorts import cohort_recover_orphaned, cohort_recover_stale


class Command(BaseCommand):
    help = (
        "Run the recovery job once (beat runs it every 5 minutes): cohorts running with a lapsed lease (their "
        "worker stopped renewing it) or pending past COHORT_RUN_TIMEOUT_SECONDS are marked failed and their "
        "capital is refunded to the bankroll, exactly once. A run whose lease is alive is never touched."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the recovered ids as JSON")
        parser.add_argument("--orphaned", action="store_true",
                            help="fail every pending or running cohort, live lease or not: only when no worker can be "
                                 "running (the embedded server's start-up does this)")

    def handle(self, *args, as_json, orphaned, **options):
        recovered = cohort_recover_orphaned() if orphaned else cohort_recover_stale()
        if as_json:
            self.stdout.write(json.dumps({"recovered": recovered}))
        elif recovered:
            self.stdout.write(f"Failed and refunded {len(recovered)} cohort(s): {', '.join(map(str, recovered))}.")
        else:
            self.stdout.write("Nothing to recover." if orphaned else
                              "Nothing to recover: every running cohort holds a live lease.")
