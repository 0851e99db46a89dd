"""manage.py recover_campaigns --orphaned [--json]: fail the campaign steps a stopped embedded server cut short."""
import json

from django.core.management.base import BaseCommand, CommandError

from knowledge.services.campaigns import campaign_recover_orphaned
from knowledge.services.cycles import cycle_recover_orphaned


class Command(BaseCommand):
    help = (
        "After `recover_runs --orphaned`, when no worker of an earlier start can still be running (the embedded "
        "server's start-up): learning cycles left running are failed (a live campaign redoes them at its next "
        "step), and so is every replay campaign still under way, and every campaign whose latest day's cohort "
        "failed, each with the reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("--orphaned", action="store_true", help="required: nothing of an earlier start runs")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the failed ids as JSON")

    def handle(self, *args, orphaned, as_json, **options):
        if not orphaned:
            raise CommandError("Pass --orphaned, and only when no worker or server of an earlier start is running.")
        cycles = cycle_recover_orphaned()
        campaigns = campaign_recover_orphaned()
        if as_json:
            self.stdout.write(json.dumps({"campaigns": campaigns, "cycles": cycles}))
        elif campaigns or cycles:
            self.stdout.write(f"Failed {len(campaigns)} campaign(s) {campaigns} and {len(cycles)} learning cycle(s) "
                              f"{cycles} that the last stop cut short.")
        else:
            self.stdout.write("No campaign step to recover.")
