"""Every `manage.py` command of docs/runbook.md runs (or, marked slow or owner-only, parses) against fixtures."""
from __future__ import annotations

import re
import shlex
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError
from django.db import connection

from promotions.models import DEPLOYMENT_STATES, DeploymentStatus
from tests.factories import CampaignFactory
from tests.promotions.deployments.conftest import crypto_hours, ops_user, queued  # noqa: F401

RUNBOOK = Path(__file__).resolve().parents[3] / "docs" / "runbook.md"
PARSE_ONLY = re.compile(r"#\s*(slow|owner)\b")


def runbook_commands() -> list[tuple[str, bool]]:
    """(command line after `manage.py`, parse only?) for each manage.py line of the sh blocks, in order."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", RUNBOOK.read_text(), flags=re.S):
        for line in block.splitlines():
            line = line.strip()
            if "manage.py " in line:
                command, _, comment = line.split("manage.py ", 1)[1].partition("#")
                found.append((command.strip(), bool(PARSE_ONLY.match("#" + comment)) if comment else False))
    return found


def test_the_runbook_has_its_commands():
    names = {shlex.split(command)[0] for command, _ in runbook_commands()}
    assert {"backup", "restore", "prune", "deployment", "day3_go_no_go", "ledger_check", "run_intraday_cohort",
            "run_campaign", "verify_signatures"} <= names
    assert any(command.startswith("deployment mode") for command, _ in runbook_commands())


def signed_deployments(ops_user):  # noqa: F811
    """Two deployments started by promotion requests of a real completed cohort's first two agents, signed through the
    real chain by ops then risk (so the runbook's ledger_check and verify_signatures find all sound)."""
    from django.contrib.auth.models import Group

    from cohorts.services.cohorts import cohort_launch, cohort_run
    from cohorts.services.inputs import cohort_input
    from promotions.models import Deployment
    from promotions.services.deployments import deployment_start
    from promotions.services.requests import promotion_request_create, promotion_sign
    from tests.factories import UserFactory
    from tests.promotions.chain.conftest import candidate_maker

    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT,ETH-USDT",
                        start="2021-05-06T00:00:00Z", end="2021-05-06T02:00:00Z")
    cohort = cohort_run(cohort_id=cohort_launch(data=data, run=False).pk)
    risk = UserFactory(username="risk-approver")
    risk.groups.add(Group.objects.get_or_create(name="risk")[0])
    made = []
    for index in (0, 1):
        request = promotion_request_create(candidate=candidate_maker(cohort)(index))
        promotion_sign(request_id=request.pk, user=ops_user, note="checked the checklist")
        promotion_sign(request_id=request.pk, user=risk, note="risk figures fine")
        made.append(Deployment.objects.filter(request=request).first() or deployment_start(request_id=request.pk))
    return made


@pytest.fixture
def placeholders(crypto_hours, ops_user, queued, fresh_postgres, tmp_path):  # noqa: F811
    deployment, new = signed_deployments(ops_user)  # the first running, the second not started yet
    DEPLOYMENT_STATES.move(deployment.pk, DeploymentStatus.RUNNING)
    target = fresh_postgres
    url = (f"postgres://{target['USER']}{':' + target['PASSWORD'] if target['PASSWORD'] else ''}"
           f"@{target['HOST'] or '127.0.0.1'}:{target['PORT'] or 5432}/{target['NAME']}")
    return {"<campaign>": str(CampaignFactory().pk), "<deployment>": str(deployment.pk),
            "<new-deployment>": str(new.pk), "<user>": ops_user.username,
            "<backup-file>": str(tmp_path / "runbook.dump"), "<empty-database-url>": url}


def test_every_runbook_command_runs(placeholders):
    if connection.vendor != "postgresql":
        pytest.skip("the runbook's backup and restore are pg_dump / pg_restore")
    ran = []
    for command, parse_only in runbook_commands():
        for placeholder, value in placeholders.items():
            command = command.replace(placeholder, value)
        assert "<" not in command, f"unknown placeholder in {command!r}"
        name, *args = shlex.split(command)
        if parse_only:
            load_command_class(_app_of(name), name).create_parser("manage.py", name).parse_args(args)
            continue
        out = StringIO()
        try:
            call_command(name, *args, stdout=out, stderr=StringIO())
        except SystemExit as exited:
            raise AssertionError(f"manage.py {command} exited {exited.code}:\n{out.getvalue()[-2000:]}") from None
        except CommandError as error:
            raise AssertionError(f"manage.py {command} failed: {error}") from None
        ran.append(name)
    assert "restore" in ran and "deployment" in ran


def _app_of(name: str) -> str:
    from django.core.management import get_commands

    return get_commands()[name]
