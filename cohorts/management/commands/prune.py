"""manage.py prune [--dry-run] [--json]: apply the retention policy (RETENTION_*_DAYS)."""
import json
from dataclasses import asdict

from django.core.management.base import BaseCommand

from neolight.ops.retention import prune


class Command(BaseCommand):
    help = (
        "Delete what the retention policy lets go (settings RETENTION_BARS_DAYS, RETENTION_CURVES_DAYS, "
        "RETENTION_DELIVERIES_DAYS, RETENTION_LOGS_DAYS; unset keeps for ever): old 1-minute bars, the equity curves "
        "of long-ended cohorts (their scores stay), finished alert deliveries, login logs, checkpoints of ended "
        "cohorts, expired sessions. Never the ledger, audit rows, alerts or the knowledge base. --dry-run counts only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="say what would be deleted; delete nothing")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the counts as JSON")

    def handle(self, *args, dry_run, as_json, **options):
        done = prune(dry_run=dry_run)
        if as_json:
            self.stdout.write(json.dumps({"dry_run": dry_run, "rules": [asdict(item) for item in done]}, indent=2))
            return
        if not done:
            self.stdout.write("No retention is set (RETENTION_*_DAYS): nothing to prune.")
            return
        verb = {"delete": "would delete" if dry_run else "deleted", "clear": "would clear" if dry_run else "cleared"}
        for item in done:
            self.stdout.write(f"{item.name} older than {item.days} days ({item.table}): {verb[item.action]} "
                              f"{item.rows:,} row(s)")
        if dry_run:
            self.stdout.write("Dry run: nothing was deleted.")
