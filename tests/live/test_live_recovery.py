"""The embedded start-up after a stop: replay cohorts the stop cut short are failed and refunded, live ones
resume from their checkpoints (in the server's process) and end exactly where an uninterrupted run ends."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

import quickstart
from cohorts.models import Cohort, CohortCheckpoint, CohortMode, CohortSettlement, CohortStatus, Fill, SettlementKind
from cohorts.selectors.ledger_check import ledger_check
from cohorts.services.clocks import ReplayClock
from cohorts.services.cohorts import cohort_run
from cohorts.services.live import cohort_run_live
from neolight import faults
from tests.live.helpers import HOUR_INPUT, comparable, equity_of, fills_of, launch


class ServerStopped(BaseException):
    """The process ending mid-run (as a killed server): nothing in the run catches it or fails the cohort."""


def stopped_after(cohort: Cohort, bars: int, monkeypatch) -> None:
    """Runs the live cohort on the replay clock until `bars` bars have committed, then stops as a killed server."""
    done = []

    def point(name):
        if name == "live.after_bar":
            done.append(name)
            if len(done) == bars:
                raise ServerStopped

    with monkeypatch.context() as patched, pytest.raises(ServerStopped):
        patched.setattr(faults, "point", point)
        cohort_run_live(cohort_id=cohort.pk, clock=ReplayClock(0))


def orphaned(*args: str) -> dict:
    out = StringIO()
    call_command("recover_runs", "--orphaned", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_start_up_resumes_a_live_cohort_whose_window_ended_while_the_server_was_down(
        crypto_hours, eager, monkeypatch, django_capture_on_commit_callbacks):
    replayed = cohort_run(cohort_id=launch(CohortMode.REPLAY, data=HOUR_INPUT).pk)
    live, waiting = launch(CohortMode.LIVE, data=HOUR_INPUT), launch(CohortMode.REPLAY, data=HOUR_INPUT)
    stopped_after(live, 27, monkeypatch)
    live.refresh_from_db()
    assert live.status == CohortStatus.RUNNING and CohortCheckpoint.objects.get(cohort=live).bar == 27
    posted = Fill.objects.filter(cohort=live).count()

    # the set-up step names the live cohort but leaves it for the server's process; the replay is refunded
    with django_capture_on_commit_callbacks(execute=True):
        assert orphaned("--defer-live") == {"failed": [waiting.pk], "resumed": [live.pk]}
    live.refresh_from_db()
    assert live.status == CohortStatus.RUNNING and Fill.objects.filter(cohort=live).count() == posted
    waiting.refresh_from_db()
    assert waiting.status == CohortStatus.FAILED and waiting.settlement.kind == SettlementKind.REFUND

    # the server's process queues its run (a worker's job, done here at once): on the wall clock, whose
    # minutes are long past the window's end, it steps the stored bars after its checkpoint and completes
    with django_capture_on_commit_callbacks(execute=True):
        quickstart.resume_live_runs()
    live.refresh_from_db()
    assert live.status == CohortStatus.COMPLETED, live.status_reason
    assert CohortCheckpoint.objects.get(cohort=live).bar == 60
    assert comparable(fills_of(live), live) == comparable(fills_of(replayed), replayed)
    assert equity_of(live) == equity_of(replayed) and live.summary == replayed.summary
    settlement = CohortSettlement.objects.get(cohort=live)
    assert settlement.kind == SettlementKind.RETURN and settlement.settled == replayed.settlement.settled
    report = ledger_check()
    assert report.is_sound, report.problems
    assert orphaned() == {"failed": [], "resumed": []}


def test_the_command_says_which_cohorts_failed_and_which_resume(crypto_hours, monkeypatch):
    live, waiting = launch(CohortMode.LIVE, data=HOUR_INPUT), launch(CohortMode.REPLAY, data=HOUR_INPUT)
    stopped_after(live, 3, monkeypatch)

    out = StringIO()
    call_command("recover_runs", "--orphaned", "--defer-live", stdout=out)

    assert f"Failed and refunded 1 cohort(s): {waiting.pk}." in out.getvalue()
    assert f"1 live cohort(s) resume when the server starts: {live.pk}." in out.getvalue()
    live.refresh_from_db()
    assert live.status == CohortStatus.RUNNING and not CohortSettlement.objects.filter(cohort=live).exists()
