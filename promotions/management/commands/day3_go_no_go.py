"""manage.py day3_go_no_go [--campaign N] [--json]: runs the Day-3 go/no-go once."""
import json

from django.core.management.base import BaseCommand, CommandError

from knowledge.models import Campaign
from promotions.services.day3 import day3_go_no_go


class Command(BaseCommand):
    help = ("Weigh, once, every campaign day from PROMOTION_DAY on whose cohort has completed and has not been weighed "
            "(beat does this every few minutes): each agent's guard rails are checked and stored, and the best eligible "
            "agent is proposed for promotion, its first approvers e-mailed. A day already weighed is skipped.")

    def add_arguments(self, parser):
        parser.add_argument("--campaign", type=int, help="only this campaign's days")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the verdicts as JSON")

    def handle(self, *args, campaign, as_json, **options):
        if campaign is not None and not Campaign.objects.filter(pk=campaign).exists():
            raise CommandError(f"campaign {campaign} does not exist")
        verdicts = day3_go_no_go(campaign_id=campaign)
        if as_json:
            self.stdout.write(json.dumps({"days": [v.as_dict() for v in verdicts]}, indent=2))
            return
        if not verdicts:
            self.stdout.write("Nothing to weigh: no campaign day from day "
                              f"{self._day()} on has completed since the last run.")
        for v in verdicts:
            request = f" → request {v.request}" if v.request else ""
            self.stdout.write(f"Campaign {v.campaign} day {v.day} (cohort {v.cohort}): {v.outcome}{request}. "
                              f"{v.eligible} of {v.candidates} agents eligible; {v.reason}.")

    @staticmethod
    def _day() -> int:
        from django.conf import settings

        return settings.PROMOTION_DAY
