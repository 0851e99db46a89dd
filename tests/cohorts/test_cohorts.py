"""Cohorts on a shared bankroll: launch, run, ledger reconciliation, refusals, failures, concurrency."""
from __future__ import annotations

import json
import threading
import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from cohorts.models import Bankroll, Cohort, CohortStatus, Entry, Fill, LedgerTransaction
from cohorts.selectors.ledger import account_balance, ledger_total, ledger_unbalanced_transactions
from cohorts.services import cohorts as cohort_services
from cohorts.services.cohorts import cohort_launch, cohort_recover_stale, cohort_run
from cohorts.services.inputs import cohort_input
from cohorts.services.ledger import LedgerError, bankroll_cash_account, bankroll_ensure
from neolight.errors import ApplicationError
from tests.conftest import CRYPTO

D = Decimal
DAY = {"start": "2021-05-06T00:00:00Z", "end": "2021-05-07T00:00:00Z"}
SHORT = {"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T03:00:00Z"}


def run_command(*args) -> dict:
    out = StringIO()
    call_command("run_intraday_cohort", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def launch_and_run(bankroll="1000", agents=10, symbols="BTC-USDT,ETH-USDT", window=SHORT, **extra) -> Cohort:
    data = cohort_input(bankroll=bankroll, agents=agents, symbols=symbols, **window, **extra)
    cohort = cohort_launch(data=data, run=False)
    return cohort_run(cohort_id=cohort.pk)


@pytest.mark.django_db
def test_command_runs_30_agents_on_6_pairs_for_a_day_balanced_and_reconciled(crypto_day):
    brief = run_command("--bankroll", "1000", "--agents", "30", "--policy", "equal", "--symbols", ",".join(CRYPTO),
                        "--start", DAY["start"], "--end", DAY["end"], "--seed", "7")

    assert brief["status"] == "completed"
    assert brief["ledger_balanced"] is True and brief["reconciled"] is True
    assert brief["agents"] == 30 and brief["bankroll"] == "1000.00000000"
    assert len(brief["leaderboard"]) == 5
    cohort = Cohort.objects.get(pk=brief["cohort"])
    assert Fill.objects.filter(cohort=cohort).count() > 100
    assert D(brief["final_equity"]) == cohort.final_equity.quantize(D("0.01"))
    assert cohort.agents.filter(hours__isnull=False).distinct().count() == 30
    assert cohort.agents.first().hours.count() == 24
    assert len(cohort.result.correlation) == 30 and "correlation" not in cohort.summary
    paused = {e.agent_id for e in cohort.events.filter(rule__startswith="breaker")}
    assert cohort.failed_agents == len(paused)
    assert cohort.runtime_seconds > 0 and 0 <= cohort.utilisation <= 100
    assert ledger_total() == 0 and ledger_unbalanced_transactions() == []


@pytest.mark.django_db
@pytest.mark.parametrize("bankroll", ["50", "1000", "100000"])
def test_bankroll_comes_back_with_the_cohorts_profit_to_the_cent(crypto_day, bankroll):
    cohort = launch_and_run(bankroll=bankroll)

    assert cohort.status == CohortStatus.COMPLETED, cohort.status_reason
    assert cohort.is_reconciled and cohort.is_ledger_balanced
    house = Bankroll.objects.get(name="house")
    profit = cohort.final_equity - D(bankroll)
    assert abs(account_balance(bankroll_cash_account(house)) - (D(1_000_000) + profit)) < D("0.005")
    assert sum(a.capital for a in cohort.agents.all()) == D(bankroll)
    assert all(account_balance(a) == 0 for a in cohort.accounts.filter(kind__in=["parent_cash", "agent_cash",
                                                                                    "agent_position"]))


BAD_INPUT = [
    (["--bankroll", "49.99"], "bankroll", "between $50 and $100,000"),
    (["--bankroll", "100000.01"], "bankroll", "between $50 and $100,000"),
    (["--bankroll", "lots"], "bankroll", "must be a number"),
    (["--symbols", "BTC-USDT,NOPE"], "symbols", "Unknown symbol(s): NOPE"),
    (["--start", "2020-01-01T00:00:00Z", "--end", "2020-01-02T00:00:00Z"], "start", "No bars for"),
    (["--start", "2021-05-06T12:00:00Z", "--end", "2021-05-06T06:00:00Z"], "end", "must end after it starts"),
    (["--start", "yesterday"], "start", "must be an ISO-8601"),
    (["--agents", "9"], "agents", "whole number from 10 to 300"),
    (["--agents", "301"], "agents", "whole number from 10 to 300"),
    (["--policy", "lucky"], "policy", "Unknown policy 'lucky'"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("args", "field", "message"), BAD_INPUT, ids=[b[2] + "-" + b[0][1] for b in BAD_INPUT])
def test_bad_input_is_refused_and_nothing_is_written(crypto_day, args, field, message):
    base = {"--bankroll": "1000", "--agents": "10", "--symbols": "BTC-USDT", "--start": SHORT["start"],
            "--end": SHORT["end"]}
    base.update(dict(zip(args[::2], args[1::2])))
    with pytest.raises(CommandError) as refused:
        run_command(*[x for pair in base.items() for x in pair])
    assert str(refused.value).startswith(f"{field}: ") and message in str(refused.value)
    assert "Nothing was written" in str(refused.value)
    assert not Cohort.objects.exists() and not Entry.objects.exists() and not Bankroll.objects.exists()


@pytest.mark.django_db
def test_running_a_cohort_again_changes_nothing(crypto_day):
    cohort = launch_and_run()
    fills, entries = Fill.objects.count(), Entry.objects.count()

    again = cohort_run(cohort_id=cohort.pk)

    assert again.status == CohortStatus.COMPLETED
    assert (Fill.objects.count(), Entry.objects.count()) == (fills, entries)


@pytest.mark.django_db
def test_run_that_dies_midway_leaves_no_partial_transaction(crypto_day, monkeypatch):
    def crash(**kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(cohort_services, "cohort_scores_save", crash)
    cohort = launch_and_run()

    assert cohort.status == CohortStatus.FAILED and "worker lost" in cohort.status_reason
    assert not Fill.objects.exists() and not LedgerTransaction.objects.filter(kind="fill").exists()
    assert ledger_unbalanced_transactions() == [] and ledger_total() == 0
    house = Bankroll.objects.get(name="house")
    assert account_balance(bankroll_cash_account(house)) == D(1_000_000)  # the capital went back


def _stalled(cohort: Cohort, lapsed_ago: timedelta) -> None:
    """The cohort as a worker that died mid-run leaves it: running, its lease lapsed `lapsed_ago`."""
    Cohort.objects.filter(pk=cohort.pk).update(status=CohortStatus.RUNNING, lease_token=uuid.uuid4(),
                                               started_at=timezone.now() - timedelta(hours=2),
                                               lease_expires_at=timezone.now() - lapsed_ago)


@pytest.mark.django_db
def test_recovery_fails_a_cohort_whose_lease_lapsed_and_refunds_it_once(crypto_day):
    cohort = cohort_launch(data=cohort_input(bankroll="500", agents=10, symbols="BTC-USDT", **SHORT), run=False)
    _stalled(cohort, lapsed_ago=timedelta(seconds=1))

    out = StringIO()
    call_command("recover_runs", stdout=out)
    assert f"Failed and refunded 1 cohort(s): {cohort.pk}." in out.getvalue()

    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.FAILED and "lease" in cohort.status_reason
    assert cohort.settlement.kind == "refund" and cohort.settlement.settled == D("500")
    assert account_balance(bankroll_cash_account(cohort.source)) == D(1_000_000)
    assert cohort_recover_stale() == []  # nothing left to recover; a second pass is a no-op
    out = StringIO()
    call_command("ledger_check", stdout=out)
    assert "Ledger sound" in out.getvalue()


@pytest.mark.django_db
def test_recovery_leaves_a_run_with_a_live_lease_alone_however_long_it_has_run(crypto_day):
    cohort = cohort_launch(data=cohort_input(bankroll="500", agents=10, symbols="BTC-USDT", **SHORT), run=False)
    _stalled(cohort, lapsed_ago=-timedelta(seconds=30))  # started 2 h ago, lease renewed a moment ago

    assert cohort_recover_stale() == []
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.RUNNING and not Cohort.objects.filter(settlement__isnull=False).exists()


@pytest.mark.django_db
def test_ledger_check_reports_a_cohort_settled_twice(crypto_day):
    """What the recovery race left behind before leases: a refund and a return of the same cohort."""
    from cohorts.models import TransactionKind
    from cohorts.services.ledger import ledger_post

    cohort = launch_and_run(bankroll="500", symbols="BTC-USDT")
    house = bankroll_cash_account(cohort.source)
    parent = cohort.accounts.get(kind="parent_cash")
    ledger_post(key=f"cohort:{cohort.pk}:refund:agent:0", kind=TransactionKind.REFUND, cohort=cohort,
                entries=[(parent, D("50")), (cohort.accounts.get(code=f"cohort:{cohort.pk}:agent:0:cash"), D("-50"))])
    ledger_post(key=f"cohort:{cohort.pk}:refund:parent", kind=TransactionKind.REFUND, cohort=cohort,
                entries=[(house, D("50")), (parent, D("-50"))])

    out = StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("ledger_check", "--cohort", str(cohort.pk), stdout=out)
    assert exit_.value.code == 1
    report = out.getvalue()
    assert f"cohort {cohort.pk} (completed) was settled twice" in report
    assert f"cohort:{cohort.pk}:agent:0:cash still holds -50.00000000 after its cohort was settled" in report


@pytest.mark.django_db
def test_launch_beyond_the_bankroll_is_refused(crypto_day):
    small = bankroll_ensure(name="small", funding=D("800"))
    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT", **SHORT)
    with pytest.raises(LedgerError, match=r"has \$800.00 available; this cohort needs \$1,000.00"):
        cohort_launch(data=data, source=small, run=False)
    assert not Cohort.objects.exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_concurrent_launches_never_draw_more_than_the_bankroll_holds(crypto_day):
    shared = bankroll_ensure(name="shared", funding=D("1500"))
    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT", **SHORT)
    outcomes: list[str] = []
    barrier = threading.Barrier(3)

    def launch():
        barrier.wait()
        try:
            cohort_launch(data=data, source=shared, run=False)
            outcomes.append("launched")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=launch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["launched", "refused", "refused"]
    assert account_balance(bankroll_cash_account(shared)) == D("500")
    assert Cohort.objects.filter(source=shared).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("policy", ["risk_weighted", "performance_weighted"])
def test_weighted_policies_split_the_bankroll_unequally_but_exactly(crypto_day, tmp_path, policy):
    launch_and_run(window={"start": "2021-05-06T06:00:00Z", "end": "2021-05-06T08:00:00Z"})  # a previous cohort
    cohort = launch_and_run(policy=policy, window={"start": "2021-05-06T12:00:00Z", "end": "2021-05-06T14:00:00Z"})

    capitals = [a.capital for a in cohort.agents.all()]
    assert sum(capitals) == D("1000") and len(set(capitals)) > 1
    assert "Allocation:" in cohort.compliance_notes and "equal" not in cohort.compliance_notes.split("\n")[-1]
    assert cohort.status == CohortStatus.COMPLETED and cohort.is_reconciled


def test_split_capital_sums_exactly():
    import numpy as np

    shares = cohort_services.split_capital(D("100.00"), np.array([1.0, 1.0, 1.0]))
    assert sum(shares) == D("100.00") and sorted(shares) == [D("33.33"), D("33.33"), D("33.34")]
    weighted = cohort_services.split_capital(D("100000.00"), np.array([0.1, 0.2, 0.7]))
    assert weighted == [D("10000.00"), D("20000.00"), D("70000.00")]  # 0.1 + 0.2 is not 0.3 in floats
    assert all(s.as_tuple().exponent == -2 for s in weighted)  # whole cents, written as cents


@pytest.mark.django_db
def test_embedded_start_up_refunds_what_a_stopped_server_left_running_or_pending(crypto_day):
    running = cohort_launch(data=cohort_input(bankroll="500", agents=10, symbols="BTC-USDT", **SHORT), run=False)
    _stalled(running, lapsed_ago=-timedelta(seconds=50))  # its lease still looks alive
    pending = cohort_launch(data=cohort_input(bankroll="300", agents=10, symbols="BTC-USDT", **SHORT), run=False)

    out = StringIO()
    call_command("recover_runs", "--orphaned", stdout=out)

    assert f"Failed and refunded 2 cohort(s): {running.pk}, {pending.pk}." in out.getvalue()
    for cohort in (running, pending):
        cohort.refresh_from_db()
        assert cohort.status == CohortStatus.FAILED and "server stopped" in cohort.status_reason
        assert cohort.settlement.kind == "refund"
    assert account_balance(bankroll_cash_account(running.source)) == D(1_000_000)
    out = StringIO()
    call_command("recover_runs", "--orphaned", stdout=out)
    assert "Nothing to recover." in out.getvalue()


@pytest.mark.django_db
def test_command_json_gives_utilisation_as_a_fraction_like_roi_and_the_api(crypto_day):
    brief = run_command("--bankroll", "1000", "--agents", "10", "--symbols", "BTC-USDT,ETH-USDT",
                        "--start", SHORT["start"], "--end", SHORT["end"])
    cohort = Cohort.objects.get(pk=brief["cohort"])
    assert 0 < brief["utilisation"] <= 1 and brief["utilisation"] == pytest.approx(cohort.utilisation / 100)
