"""A live run whose worker is killed (SIGKILL) between bars is resumed from its checkpoint by the next run,
and still ends with exactly the fills and equity of the uninterrupted replay, its capital settled once."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cohorts.models import Cohort, CohortCheckpoint, CohortMode, CohortSettlement, CohortStatus, Fill, SettlementKind
from cohorts.selectors.ledger_check import ledger_check
from cohorts.services.clocks import ReplayClock
from cohorts.services.cohorts import cohort_recover_stale, cohort_run
from cohorts.services.live import cohort_run_live
from tests.live.helpers import comparable, equity_of, fills_of, launch

WORKER = Path(__file__).with_name("live_worker.py")

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="a second process needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def worker_env(tmp_path: Path) -> dict:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
            "NEOLIGHT_FAULT_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "neolight.settings"}


def kill_at(cohort: Cohort, bar: int, tmp_path: Path) -> int:
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.run([sys.executable, str(WORKER), str(cohort.pk), str(bar)], env=worker_env(tmp_path),
                                stdout=subprocess.PIPE, stderr=log, text=True, timeout=120)
    return worker.returncode


def later(seconds: float = 0):
    """A moment at which every lease taken now has lapsed."""
    return timezone.now() + timedelta(seconds=settings.COHORT_LEASE_SECONDS + 1 + seconds)


@pytest.mark.parametrize("bar", [0, 57, 119])
def test_a_live_run_killed_after_a_bar_resumes_and_matches_the_replay(crypto_hours, tmp_path, monkeypatch, bar):
    replayed = cohort_run(cohort_id=launch(CohortMode.REPLAY).pk)
    live = launch(CohortMode.LIVE)

    assert kill_at(live, bar, tmp_path) == -9  # SIGKILL, as `kill -9` of a worker
    live.refresh_from_db()
    checkpoint = CohortCheckpoint.objects.get(cohort=live)
    assert live.status == CohortStatus.RUNNING and checkpoint.bar == bar + 1
    assert Fill.objects.filter(cohort=live).count() == checkpoint.fills  # the ledger and the checkpoint agree
    assert not CohortSettlement.objects.filter(cohort=live).exists()

    # its lease still counts down: a second run leaves it alone, and recovery neither fails nor resumes it
    assert cohort_run_live(cohort_id=live.pk, clock=ReplayClock(0)).status == CohortStatus.RUNNING
    queued = []
    monkeypatch.setattr("cohorts.services.cohorts.enqueue", lambda task, *args: queued.append((task, *args)))
    assert cohort_recover_stale() == [] and queued == []
    # once it has lapsed, recovery queues a run that resumes it (it does not fail it)
    assert cohort_recover_stale(now=later()) == []
    assert queued == [("cohorts.tasks.cohort_run_live_task", live.pk)]
    Cohort.objects.filter(pk=live.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))

    resumed = []
    live = cohort_run_live(cohort_id=live.pk, clock=ReplayClock(0), progress=resumed.append)
    assert live.status == CohortStatus.COMPLETED, live.status_reason
    assert len(resumed) == 120 - (bar + 1)  # only the bars after the checkpoint were stepped again
    assert comparable(fills_of(live), live) == comparable(fills_of(replayed), replayed)
    assert equity_of(live) == equity_of(replayed)
    settlement = CohortSettlement.objects.get(cohort=live)
    assert settlement.kind == SettlementKind.RETURN and settlement.settled == replayed.settlement.settled
    assert live.summary == replayed.summary
    report = ledger_check()
    assert report.is_sound, report.problems


def test_a_live_run_left_past_its_windows_end_is_failed_and_settled_once(crypto_hours, tmp_path):
    live = launch(CohortMode.LIVE)
    assert kill_at(live, 30, tmp_path) == -9

    # past its time (its window's length since it started, plus the run timeout): recovery fails it, closing
    # its positions and returning what it holds
    Cohort.objects.filter(pk=live.pk).update(started_at=timezone.now() - timedelta(days=2))
    assert cohort_recover_stale(now=later()) == [live.pk]
    assert cohort_recover_stale(now=later(60)) == []
    live.refresh_from_db()
    settlement = CohortSettlement.objects.get(cohort=live)
    assert live.status == CohortStatus.FAILED and settlement.kind == SettlementKind.RETURN
    assert Fill.objects.filter(cohort=live).count() >= CohortCheckpoint.objects.get(cohort=live).fills
    report = ledger_check()
    assert report.is_sound, report.problems
