"""manage.py promotion_status [--json]: the promotion requests and deployments, as an operator reads them."""
import json
from decimal import Decimal

from django.core.management.base import BaseCommand

from promotions.selectors.status import promotion_status


class Command(BaseCommand):
    help = ("List promotion requests (awaiting signatures first, then the latest decided) with each one's chain "
            "(who signed which step), and the deployments with their status, capital and timer.")

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json", help="print it as JSON")
        parser.add_argument("--limit", type=int, default=20, help="decided requests and ended deployments shown")

    def handle(self, *args, as_json, limit, **options):
        status = promotion_status(limit=limit)
        if as_json:
            self.stdout.write(json.dumps(status, indent=2))
            return
        if not status["requests"]:
            self.stdout.write("No promotion requests yet: the Day-3 go/no-go proposes them from campaign day 3.")
        for row in status["requests"]:
            chain = ", ".join(f"{s['role']}: {s['state']}" + (f" by {s['user']}" if s["user"] else "") for s in row["chain"])
            self.stdout.write(f"Request {row['id']} [{row['status']}] cohort {row['cohort']} agent {row['agent']} "
                              f"({row['family']}) ${row['allocation']} — {chain}; expires {row['expires_at']}")
        for row in status["deployments"]:
            self.stdout.write(f"Deployment {row['id']} [{row['status']}] {row['mode']} on {row['broker']}: "
                              f"${Decimal(row['capital']):,.2f} of request {row['request']}, ends {row['ends_at']}")
