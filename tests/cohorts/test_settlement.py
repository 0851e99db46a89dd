"""Capital settled exactly once: leases, fenced writes and recovery, forced into their races on PostgreSQL.

A run is paused at a named fault point (or held by a table lock, or killed with SIGKILL) in this or a
second process while recovery fires; afterwards each cohort's capital has come back exactly once and
the ledger audit finds nothing wrong.
"""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from cohorts.models import AgentHour, Cohort, CohortSettlement, CohortStatus, Fill, SettlementKind
from cohorts.selectors.ledger import account_balance
from cohorts.selectors.ledger_check import ledger_check
from cohorts.services.cohorts import cohort_launch, cohort_recover_stale, cohort_run, house_bankroll
from cohorts.services.inputs import cohort_input
from cohorts.services.ledger import bankroll_cash_account
from neolight import faults

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks and a second process need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]
D = Decimal
POINTS = ["cohort.after_simulate", "cohort.mid_persist", "cohort.after_returns", "cohort.before_completion"]
WORKER = Path(__file__).with_name("fault_worker.py")
FUNDING = D(settings.HOUSE_BANKROLL_FUNDING)


def launch(bankroll: str = "500") -> Cohort:
    data = cohort_input(bankroll=bankroll, agents=10, symbols="BTC-USDT", start="2021-05-06T00:00:00Z",
                        end="2021-05-06T02:00:00Z")
    return cohort_launch(data=data, run=False)


def house_cash() -> Decimal:
    return account_balance(bankroll_cash_account(house_bankroll()))


def in_thread(target, *args, **kwargs) -> tuple[threading.Thread, list]:
    """Runs target in a thread with its own database connection; its return value lands in the list."""
    out: list = []

    def work():
        try:
            out.append(target(*args, **kwargs))
        finally:
            connection.close()

    thread = threading.Thread(target=work)
    thread.start()
    return thread, out


def assert_settled_once(cohort: Cohort) -> CohortSettlement:
    cohort.refresh_from_db()
    settlement = CohortSettlement.objects.get(cohort=cohort)
    expected = SettlementKind.RETURN if cohort.status == CohortStatus.COMPLETED else SettlementKind.REFUND
    assert settlement.kind == expected
    report = ledger_check(cohort=cohort)
    assert report.is_sound, report.problems
    return settlement


def later(seconds: float = 0) -> timezone.datetime:
    """A moment at which every lease taken now has lapsed."""
    return timezone.now() + timedelta(seconds=settings.COHORT_LEASE_SECONDS + 1 + seconds)


def test_recovery_while_a_run_is_held_in_its_scoring_step_settles_once(crypto_day):
    """The reported race: hold the run in its scoring step with a table lock, fire recovery, release."""
    cohort = launch()
    db = connection.settings_dict
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"] or None,
                         dbname=db["NAME"]) as locker:
        locker.execute("LOCK TABLE cohorts_agenthour IN ACCESS EXCLUSIVE MODE")
        run, _ = in_thread(cohort_run, cohort_id=cohort.pk)
        _wait_for_lock_waiter(locker)
        recovery, recovered = in_thread(cohort_recover_stale, now=later())  # the lease looks lapsed to recovery
        time.sleep(0.5)
        locker.rollback()  # the scoring step goes on
    run.join(60)
    recovery.join(60)

    settlement = assert_settled_once(cohort)
    assert cohort.status == CohortStatus.COMPLETED and recovered == [[]]
    assert house_cash() == FUNDING - D("500") + settlement.settled
    assert ledger_check().is_sound


def _wait_for_lock_waiter(locker: psycopg.Connection, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(locker.info.dsn, password=connection.settings_dict["PASSWORD"] or None, autocommit=True) as probe:
        while time.monotonic() < deadline:
            waiting = probe.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                    "AND datname = current_database()").fetchone()[0]
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the run never reached the locked scoring step")


def test_a_run_that_lost_its_lease_writes_nothing(crypto_day, tmp_path):
    cohort = launch()
    with faults.armed({"cohort.after_simulate": "pause"}, directory=tmp_path):
        run, outcome = in_thread(cohort_run, cohort_id=cohort.pk)
        assert faults.wait_reached("cohort.after_simulate", tmp_path)
        assert cohort_recover_stale(now=later()) == [cohort.pk]  # the worker looks dead: failed and refunded
        faults.release("cohort.after_simulate", tmp_path)
        run.join(60)

    assert outcome[0].status == CohortStatus.FAILED and "lease" in outcome[0].status_reason
    settlement = assert_settled_once(cohort)
    assert settlement.settled == D("500") and not Fill.objects.filter(cohort=cohort).exists()
    assert not AgentHour.objects.filter(agent__cohort=cohort).exists()
    assert house_cash() == FUNDING


@pytest.mark.parametrize("point", POINTS)
def test_recovery_leaves_a_run_with_a_live_lease_alone(crypto_day, tmp_path, point):
    cohort = launch()
    with faults.armed({point: "pause"}, directory=tmp_path):
        run, outcome = in_thread(cohort_run, cohort_id=cohort.pk)
        assert faults.wait_reached(point, tmp_path)
        assert cohort_recover_stale() == []
        faults.release(point, tmp_path)
        run.join(60)

    assert outcome[0].status == CohortStatus.COMPLETED
    settlement = assert_settled_once(cohort)
    assert house_cash() == FUNDING - D("500") + settlement.settled


def worker_env(tmp_path: Path) -> dict:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}",
            "NEOLIGHT_FAULT_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "neolight.settings"}


def start_worker(tmp_path: Path) -> subprocess.Popen:
    worker = subprocess.Popen([sys.executable, str(WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=(tmp_path / "worker.log").open("w"), text=True, env=worker_env(tmp_path))
    assert worker.stdout.readline().strip() == "ready"
    return worker


@pytest.mark.parametrize("point", POINTS)
def test_a_worker_killed_at_any_point_leaves_nothing_and_is_refunded_once(crypto_day, tmp_path, point):
    cohort = launch()
    (tmp_path / str(cohort.pk)).mkdir()
    worker = start_worker(tmp_path)
    worker.stdin.write(f"{cohort.pk} {point} crash\n")
    worker.stdin.flush()
    assert worker.wait(60) == -9  # SIGKILL, as `kill -9` of a worker

    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.RUNNING  # its lease is still counting down
    assert not Fill.objects.filter(cohort=cohort).exists() and not CohortSettlement.objects.filter(cohort=cohort).exists()
    assert not AgentHour.objects.filter(agent__cohort=cohort).exists() and cohort.agents.filter(roi__isnull=False).count() == 0
    assert cohort_recover_stale() == []  # not yet: the lease has not lapsed
    assert cohort_recover_stale(now=later()) == [cohort.pk]
    assert cohort_recover_stale(now=later(60)) == []  # a second pass settles nothing again

    settlement = assert_settled_once(cohort)
    assert cohort.status == CohortStatus.FAILED and settlement.settled == D("500")
    assert house_cash() == FUNDING


def test_recovery_fired_at_random_points_and_times_never_settles_twice(crypto_day, tmp_path):
    """50 runs in a second process, each paused at a random fault point while recovery fires at a random
    moment; half of them see the lease lapse (a stalled worker), half a live lease."""
    rng = random.Random(20261126)
    worker = start_worker(tmp_path)
    drawn = settled = D(0)
    killed_alive = 0
    try:
        for _ in range(50):
            cohort, point, lapsed = launch(), rng.choice(POINTS), rng.random() < 0.5
            (tmp_path / str(cohort.pk)).mkdir()
            worker.stdin.write(f"{cohort.pk} {point} pause\n")
            worker.stdin.flush()
            assert faults.wait_reached(point, tmp_path / str(cohort.pk))
            time.sleep(rng.uniform(0, 0.05))
            recovery, recovered = in_thread(cohort_recover_stale, now=later() if lapsed else None)
            time.sleep(rng.uniform(0, 0.05))
            faults.release(point, tmp_path / str(cohort.pk))
            recovery.join(60)
            assert worker.stdout.readline().split()[:2] == ["done", str(cohort.pk)]

            settlement = assert_settled_once(cohort)
            drawn, settled = drawn + D("500"), settled + settlement.settled
            if not lapsed and recovered[0]:
                killed_alive += 1
            if recovered[0]:  # recovery took the row first (only possible before the run locks it to write)
                assert point == "cohort.after_simulate" and cohort.status == CohortStatus.FAILED
                assert not Fill.objects.filter(cohort=cohort).exists()  # the fenced run wrote nothing after
            else:  # the run held its row lock (or its lease was alive): recovery left it alone
                assert cohort.status == CohortStatus.COMPLETED
    finally:
        worker.stdin.close()
        worker.wait(30)

    assert killed_alive == 0
    assert CohortSettlement.objects.count() == 50
    assert house_cash() == FUNDING - drawn + settled
    report = ledger_check()
    assert report.is_sound, report.problems
