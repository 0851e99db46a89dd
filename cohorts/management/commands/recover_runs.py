"""manage.py recover_runs [--orphaned [--defer-live]] [--json]: fail and refund, once, the cohorts whose worker is
gone; resume the live ones that can go on."""
import json

from django.core.management.base import BaseCommand, CommandError

from cohorts.services.cohorts import cohort_recover_orphaned, cohort_recover_stale


class Command(BaseCommand):
    help = (
        "Run the recovery job once (beat runs it every 5 minutes): cohorts running with a lapsed lease (their "
        "worker stopped renewing it) or pending past COHORT_RUN_TIMEOUT_SECONDS are marked failed and their "
        "capital is refunded to the bankroll, exactly once; a live cohort still within its time is resumed from its "
        "checkpoint instead. A run whose lease is alive is never touched. With --orphaned (the embedded server's "
        "start-up): every pending or running replay cohort is failed and refunded, and every pending or running live "
        "cohort is resumed from its checkpoint (its run queued again), whatever the leases say."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json",
                            help='print the ids as JSON: {"recovered": [...]}, with --orphaned '
                                 '{"failed": [...], "resumed": [...]}')
        parser.add_argument("--orphaned", action="store_true",
                            help="fail every pending or running replay cohort and resume every live one, live lease or "
                                 "not: only when no worker can be running (the embedded server's start-up does this)")
        parser.add_argument("--defer-live", action="store_true",
                            help="with --orphaned: name the live cohorts to resume but queue nothing (for a set-up "
                                 "process that ends before the server, which queues them as it starts)")

    def handle(self, *args, as_json, orphaned, defer_live, **options):
        if defer_live and not orphaned:
            raise CommandError("--defer-live goes with --orphaned.")
        if not orphaned:
            recovered = cohort_recover_stale()
            if as_json:
                self.stdout.write(json.dumps({"recovered": recovered}))
            elif recovered:
                self.stdout.write(f"Failed and refunded {len(recovered)} cohort(s): {', '.join(map(str, recovered))}.")
            else:
                self.stdout.write("Nothing to recover: every running cohort holds a live lease.")
            return
        runs = cohort_recover_orphaned(resume=not defer_live)
        if as_json:
            self.stdout.write(json.dumps({"failed": runs.failed, "resumed": runs.resumed}))
            return
        if runs.failed:
            self.stdout.write(f"Failed and refunded {len(runs.failed)} cohort(s): {', '.join(map(str, runs.failed))}.")
        if runs.resumed:
            ids = ", ".join(map(str, runs.resumed))
            self.stdout.write(f"{len(runs.resumed)} live cohort(s) resume when the server starts: {ids}." if defer_live
                              else f"Resumed {len(runs.resumed)} live cohort(s), each from its checkpoint: {ids}.")
        if not runs.failed and not runs.resumed:
            self.stdout.write("Nothing to recover.")
