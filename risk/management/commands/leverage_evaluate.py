"""manage.py leverage_evaluate [--cohort N | --campaign N | --deployment N | --bankroll N]: the leverage ladder
for one subject now, or (no subject) everything the schedule finds due."""
from django.core.management.base import BaseCommand, CommandError

from neolight.errors import ApplicationError
from risk.selectors.leverage import SUBJECTS
from risk.services.leverage import leverage_evaluate, leverage_evaluate_due


class Command(BaseCommand):
    help = ("Evaluate the leverage ladder for one subject and print the decision (a completed cohort, or a campaign "
            "or bankroll with no new day, prints the decision already made); with no subject, evaluate what the "
            "schedule finds due (completed cohorts, campaign and bankroll days, deployments every "
            "RISK_LEVERAGE_DEPLOYMENT_MINUTES).")

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        for kind in SUBJECTS:
            group.add_argument(f"--{kind}", type=int, help=f"the {kind}'s id")

    def handle(self, *args, **options):
        given = {kind: options[kind] for kind in SUBJECTS if options.get(kind) is not None}
        try:
            if not given:
                done = leverage_evaluate_due()
                self.stdout.write(", ".join(f"{len(ids)} {kind} decision(s)" for kind, ids in done.items()))
                return
            decision = leverage_evaluate(**given)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{decision.subject_label}: {decision.rule}, {decision.from_tier}× → {decision.to_tier}× "
                          f"({decision.status}). {decision.rationale}")
