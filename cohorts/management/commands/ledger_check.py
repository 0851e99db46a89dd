"""manage.py ledger_check [--cohort ID] [--json]: audit the ledger; exits non-zero when anything is wrong."""
import json

from django.core.management.base import BaseCommand, CommandError

from cohorts.models import Cohort
from cohorts.selectors.ledger_check import ledger_check


class Command(BaseCommand):
    help = (
        "Audit the ledger from its rows: every transaction balances, the ledger sums to zero, no account that "
        "may not go negative is below zero, and every cohort's capital came back once — returned if it "
        "completed, refunded if it failed, never both — leaving nothing in it. Exits 1 if anything is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("--cohort", type=int, help="check only this cohort's part of the ledger")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the report as JSON")

    def handle(self, *args, cohort, as_json, **options):
        target = None
        if cohort is not None:
            target = Cohort.objects.filter(pk=cohort).select_related("wallet").first()
            if target is None:
                raise CommandError(f"There is no cohort {cohort}.")
        report = ledger_check(cohort=target)
        if as_json:
            self.stdout.write(json.dumps({"sound": report.is_sound, "cohorts": report.cohorts,
                                          "problems": report.problems}))
        elif report.is_sound:
            self.stdout.write(f"Ledger sound: balanced, sums to zero, {report.cohorts} cohort(s) settled exactly once.")
        else:
            self.stdout.write(f"Ledger NOT sound: {len(report.problems)} problem(s)")
            for problem in report.problems:
                self.stdout.write(f"  - {problem}")
        if not report.is_sound:
            raise SystemExit(1)
