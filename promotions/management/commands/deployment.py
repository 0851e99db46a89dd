"""`manage.py deployment list | pause ID | resume ID | rollback ID | mode ID --to MODE` — micro-live deployments
from the shell.

Overrides need `--reason`; `--user NAME` acts as that user (who must be allowed to override), otherwise the
override is the operator's at the server, logged as the system with the command named in the log. A trading-mode
change (TEST, PAPER, LIVE: risk/services/modes.py) is always a person's: it needs `--user`, and LIVE the approved
request it rests on (`--request N`).
"""
from __future__ import annotations

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from neolight.errors import ApplicationError
from promotions.models import TradingMode
from promotions.selectors.deployments import deployment_brief, deployment_list
from promotions.services.deployments import deployment_pause, deployment_resume, deployment_rollback
from risk.services.modes import mode_change

ACTIONS = {"pause": deployment_pause, "resume": deployment_resume, "rollback": deployment_rollback}


class Command(BaseCommand):
    help = "List micro-live deployments, or pause, resume or roll one back (with a reason)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["list", *ACTIONS, "mode"])
        parser.add_argument("id", nargs="?", type=int, help="the deployment (for pause, resume, rollback)")
        parser.add_argument("--reason", default="", help="why (required for pause, resume, rollback)")
        parser.add_argument("--user", default=None, help="act as this user (a member of ops or risk)")
        parser.add_argument("--to", choices=TradingMode.values, default=None, help="mode: the trading mode to move to")
        parser.add_argument("--request", type=int, default=None, help="mode LIVE: the approved request it rests on")
        parser.add_argument("--status", default=None, help="list only deployments in this status")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, action: str, id: int | None, reason: str, user: str | None, status: str | None,
               json: bool, to: str | None = None, request: int | None = None, **options):
        if action == "list":
            return self._list(status, json)
        if id is None:
            raise CommandError(f"{action} needs a deployment id.")
        actor = None
        if user is not None:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"No user {user!r}.")
        try:
            if action == "mode":
                if to is None:
                    raise CommandError("mode needs --to TEST, PAPER or LIVE.")
                deployment = mode_change(deployment_id=id, to=to, user=actor, reason=reason, request_id=request)
            else:
                deployment = ACTIONS[action](deployment_id=id, reason=reason, user=actor)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if deployment is None:
            raise CommandError(f"Deployment {id}: nothing to {action} from its status; nothing was done.")
        self._print([deployment_brief(deployment)], json)

    def _list(self, status: str | None, as_json: bool) -> None:
        self._print([deployment_brief(d) for d in deployment_list(status=status)], as_json)

    def _print(self, rows: list[dict], as_json: bool) -> None:
        if as_json:
            self.stdout.write(json_dumps(rows))
            return
        if not rows:
            self.stdout.write("No deployments.")
        for row in rows:
            self.stdout.write(f"#{row['id']} {row['mode']} {row['status']:<11} {row['family']:<14} "
                              f"${row['capital']} on {row['broker']} until {row['ends_at']}"
                              + (f" — {row['reason']}" if row["reason"] else ""))


def json_dumps(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2)
