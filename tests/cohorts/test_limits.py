"""Per-user launch limits: active cohorts and capital at work are capped; system launches are not."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from cohorts.models import Cohort, LedgerTransaction
from cohorts.selectors.ledger import account_balance
from cohorts.services.cohorts import cohort_fail, cohort_launch, house_bankroll
from cohorts.services.inputs import cohort_input
from cohorts.services.ledger import bankroll_cash_account
from neolight.errors import ApplicationError
from tests.cohorts.test_cohorts import SHORT

D = Decimal


def launch(user, bankroll="1000") -> Cohort:
    data = cohort_input(bankroll=bankroll, agents=10, symbols="BTC-USDT", **SHORT)
    return cohort_launch(data=data, user=user, run=False)


def house_cash() -> Decimal:
    return account_balance(bankroll_cash_account(house_bankroll()))


@pytest.mark.django_db
def test_launch_past_the_active_cohort_cap_is_refused_and_writes_nothing(crypto_day, maker):
    for _ in range(5):
        launch(maker)
    cash, transactions = house_cash(), LedgerTransaction.objects.count()

    with pytest.raises(ApplicationError) as refused:
        launch(maker)

    assert refused.value.field == "bankroll"
    assert refused.value.message == ("You have 5 cohorts running or waiting to run (the most allowed); "
                                     "wait for one to finish.")
    assert Cohort.objects.count() == 5 and LedgerTransaction.objects.count() == transactions
    assert house_cash() == cash


@pytest.mark.django_db
def test_a_finished_cohort_frees_its_place(crypto_day, maker, settings):
    settings.COHORT_MAX_ACTIVE_PER_USER = 1
    first = launch(maker)
    with pytest.raises(ApplicationError):
        launch(maker)

    cohort_fail(cohort_id=first.pk, reason="stopped by its owner")

    assert launch(maker).launched_by == maker


@pytest.mark.django_db
def test_launch_past_the_capital_cap_is_refused_saying_how_much_is_left(crypto_day, maker, settings):
    settings.COHORT_MAX_CAPITAL_PER_USER = 2500
    launch(maker, bankroll="2000")

    with pytest.raises(ApplicationError) as refused:
        launch(maker, bankroll="1000")

    assert refused.value.field == "bankroll"
    assert "$2,000.00 of the $2,500.00" in refused.value.message and "at most $500.00" in refused.value.message
    assert launch(maker, bankroll="500").wallet.bankroll == D("500")


@pytest.mark.django_db
def test_caps_count_each_user_apart_and_leave_system_launches_alone(crypto_day, maker, outsider, settings):
    settings.COHORT_MAX_ACTIVE_PER_USER = 1
    launch(maker)

    launch(outsider)
    launch(None)
    launch(None)  # campaign days and other system launches

    assert Cohort.objects.count() == 4


@pytest.mark.django_db
def test_api_launch_over_the_cap_gets_a_400_naming_the_bankroll(crypto_day, maker, api, settings):
    settings.COHORT_MAX_ACTIVE_PER_USER = 1
    maker.user_permissions.add(Permission.objects.get(codename="add_cohort"))
    launch(maker)

    response = api.post("/api/experiments/cohorts", {"bankroll": "1000", "agents": 10, "symbols": ["BTC-USDT"], **SHORT},
                        format="json")

    assert response.status_code == 400
    assert "most allowed" in response.json()["errors"]["bankroll"][0]


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_concurrent_launches_of_one_user_never_pass_the_cap(crypto_day, maker, settings):
    settings.COHORT_MAX_ACTIVE_PER_USER = 2
    house_bankroll()  # funded before the race
    cash = house_cash()
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def attempt():
        barrier.wait()
        try:
            launch(maker)
            outcomes.append("launched")
        except ApplicationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["launched"] * 2 + ["refused"] * 4
    assert Cohort.objects.filter(launched_by=maker).count() == 2
    assert house_cash() == cash - D("2000")
