"""The database defends the ledger on its own (PostgreSQL): whatever SQL or ORM call reaches it, rows
are never changed or removed, a posted transaction is sealed, none is empty, and cash never goes
below zero, even for two writers committing at once, and the application's role cannot switch that off."""
from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from cohorts.models import Account, AccountKind, Entry, LedgerTransaction
from cohorts.models.ledger import NEGATIVE_ALLOWED
from cohorts.selectors.ledger import account_balance
from cohorts.services.ledger import account_ensure, bankroll_ensure, ledger_post
from tests.cohorts.test_cohorts import launch_and_run

D = Decimal
pytestmark = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="database guards are PostgreSQL's")
APP_ROLE = "neolight_ledger_test_app"


def _wallet() -> tuple[Account, Account]:
    """A bankroll funded with 1,000 (its cash account) and a parent-wallet cash account to move money to."""
    bankroll = bankroll_ensure(name="test", funding=D("1000"))
    return Account.objects.get(code=f"bankroll:{bankroll.pk}:cash"), account_ensure(code="test:other",
                                                                                  kind=AccountKind.PARENT_CASH)


@pytest.fixture
def wallet(db):
    return _wallet()


@pytest.fixture
def committed_wallet(transactional_db):
    """The same accounts, committed: every test below writes in a database transaction of its own."""
    return _wallet()


def ledger_snapshot() -> tuple:
    return (list(Account.objects.order_by("id").values_list("id", "code", "kind")),
            list(LedgerTransaction.objects.order_by("id").values_list("id", "idempotency_key", "kind")),
            list(Entry.objects.order_by("id").values_list("id", "transaction_id", "account_id", "amount")))


def refused(sql: str, params=None, match: str = "refused") -> None:
    with pytest.raises(DatabaseError, match=match), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.parametrize("sql", [
    "UPDATE cohorts_entry SET amount = amount * 2",
    "DELETE FROM cohorts_entry",
    "UPDATE cohorts_ledgertransaction SET kind = 'draw'",
    "DELETE FROM cohorts_ledgertransaction",
    "TRUNCATE cohorts_entry",
    "TRUNCATE cohorts_ledgertransaction CASCADE",
    "TRUNCATE cohorts_account CASCADE",
    "UPDATE cohorts_account SET kind = 'agent_cash' WHERE code LIKE 'bankroll:%%:cash'",
    "UPDATE cohorts_account SET code = 'renamed' WHERE code = 'test:other'",
    "DELETE FROM cohorts_account WHERE code = 'test:other'",
])
def test_database_refuses_changing_or_removing_ledger_rows(committed_wallet, sql):
    before = ledger_snapshot()
    refused(sql)
    assert ledger_snapshot() == before


@pytest.mark.parametrize("sql", [
    "UPDATE cohorts_cohortsettlement SET settled = settled * 2",
    "DELETE FROM cohorts_cohortsettlement",
    "TRUNCATE cohorts_cohortsettlement",
])
@pytest.mark.django_db(transaction=True)
def test_database_refuses_changing_or_removing_a_settlement(crypto_day, sql):
    from cohorts.models import CohortSettlement
    from cohorts.services.cohorts import cohort_launch, cohort_run
    from cohorts.services.inputs import cohort_input

    data = cohort_input(bankroll="500", agents=10, symbols="BTC-USDT", start="2021-05-06T00:00:00Z",
                        end="2021-05-06T01:00:00Z")
    cohort_run(cohort_id=cohort_launch(data=data, run=False).pk)
    before = list(CohortSettlement.objects.values_list("cohort", "kind", "drawn", "settled"))
    assert len(before) == 1
    refused(sql)
    assert list(CohortSettlement.objects.values_list("cohort", "kind", "drawn", "settled")) == before


def test_a_posted_transaction_is_sealed(committed_wallet):
    cash, other = committed_wallet
    funding = LedgerTransaction.objects.get(kind="funding")
    external = Account.objects.get(kind=AccountKind.EXTERNAL_CAPITAL)
    before = ledger_snapshot()
    refused("INSERT INTO cohorts_entry (transaction_id, account_id, amount) VALUES (%s, %s, 500000), (%s, %s, -500000)",
            [funding.pk, cash.pk, funding.pk, external.pk], match="sealed")
    assert ledger_snapshot() == before
    assert account_balance(cash) == D("1000")


def test_a_forged_creating_transaction_is_refused(committed_wallet):
    before = ledger_snapshot()
    refused("INSERT INTO cohorts_ledgertransaction (idempotency_key, kind, memo, created_at, created_xact) "
            "VALUES ('forged', 'draw', '', now(), '1')", match="forged created_xact")
    assert ledger_snapshot() == before


def test_an_empty_transaction_is_refused_at_commit(committed_wallet):
    before = ledger_snapshot()
    with pytest.raises(DatabaseError, match="has no entries"), transaction.atomic():
        LedgerTransaction.objects.create(idempotency_key="empty", kind="draw")
    assert ledger_snapshot() == before


def test_an_overdraft_by_raw_insert_is_refused_at_commit(committed_wallet):
    cash, other = committed_wallet
    before = ledger_snapshot()
    with pytest.raises(DatabaseError, match="below zero"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO cohorts_ledgertransaction (idempotency_key, kind, memo, created_at) "
                       "VALUES ('raw', 'draw', '', now()) RETURNING id")
        txn = cursor.fetchone()[0]
        cursor.execute("INSERT INTO cohorts_entry (transaction_id, account_id, amount) VALUES (%s, %s, %s), (%s, %s, %s)",
                       [txn, other.pk, D("1000.01"), txn, cash.pk, D("-1000.01")])
    assert ledger_snapshot() == before


def test_an_overdraft_by_orm_bulk_create_is_refused_at_commit(committed_wallet):
    cash, other = committed_wallet
    before = ledger_snapshot()
    with pytest.raises(DatabaseError, match="below zero"), transaction.atomic():
        txn = LedgerTransaction.objects.create(idempotency_key="bulk", kind="draw")
        Entry.objects.bulk_create([Entry(transaction=txn, account=other, amount=D("999999999")),
                                   Entry(transaction=txn, account=cash, amount=D("-999999999"))])
    assert ledger_snapshot() == before


def test_two_concurrent_draws_cannot_overdraw_together(committed_wallet):
    """Each draw alone fits the $1,000; committing both would leave −$200. Exactly one commits."""
    cash, other = committed_wallet
    both_written = threading.Barrier(2, timeout=10)
    outcomes: list[str] = []

    def draw(name: str) -> None:
        try:
            with transaction.atomic():
                txn = LedgerTransaction.objects.create(idempotency_key=name, kind="draw")
                Entry.objects.bulk_create([Entry(transaction=txn, account=other, amount=D("600")),
                                           Entry(transaction=txn, account=cash, amount=D("-600"))])
                both_written.wait()  # neither commits before both have written
            outcomes.append("committed")
        except DatabaseError as exc:
            outcomes.append("refused" if "below zero" in str(exc) else repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=draw, args=(f"draw-{n}",)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["committed", "refused"]
    assert account_balance(cash) == D("400") and account_balance(other) == D("600")
    assert LedgerTransaction.objects.filter(kind="draw").count() == 1


def test_guarded_kinds_match_the_model():
    """The migration names the kinds allowed below zero; they must stay those of NEGATIVE_ALLOWED."""
    import importlib

    migration = importlib.import_module("cohorts.migrations.0006_ledger_defences")
    assert set(migration.NEGATIVE_ALLOWED_KINDS) == {str(k) for k in NEGATIVE_ALLOWED}


def test_the_application_role_cannot_switch_the_guards_off(wallet):
    cash, other = wallet
    call_command("db_app_role", APP_ROLE)
    before = ledger_snapshot()
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {APP_ROLE}")
    try:
        refused("ALTER TABLE cohorts_entry DISABLE TRIGGER ALL", match="must be owner")
        refused("TRUNCATE cohorts_entry", match="permission denied")
        refused("UPDATE cohorts_entry SET amount = 0", match="permission denied")
        refused("SET session_replication_role = replica", match="permission denied")
        assert ledger_snapshot() == before
        ledger_post(key="as-app", kind="draw", entries=[(other, D("25")), (cash, D("-25"))])
        assert account_balance(cash) == D("975")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


@pytest.mark.parametrize("target", ["transaction", "account"])
def test_entries_must_refer_to_existing_rows(committed_wallet, target):
    cash, other = committed_wallet
    before = ledger_snapshot()
    with pytest.raises(DatabaseError, match=f"refer to {'ledger transaction' if target == 'transaction' else 'account'} "
                                            r"\d+, which does not exist"), \
            transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO cohorts_ledgertransaction (idempotency_key, kind, memo, created_at) "
                       "VALUES ('dangling', 'draw', '', now()) RETURNING id")
        txn = cursor.fetchone()[0]
        missing_txn, missing_account = txn + 1000, other.pk + 1000
        rows = ([missing_txn, cash.pk, missing_txn, other.pk] if target == "transaction"
                else [txn, missing_account, txn, other.pk])
        cursor.execute("INSERT INTO cohorts_entry (transaction_id, account_id, amount) VALUES (%s, %s, 5), (%s, %s, -5)",
                       rows)
    assert ledger_snapshot() == before


def test_the_application_role_posts_a_cohorts_fills_with_copy(crypto_day):
    """The fast path needs nothing the role lacks: sequences, COPY into the ledger, the guards' side tables."""
    import numpy as np

    from cohorts.selectors.ledger import ledger_unbalanced_transactions
    from cohorts.selectors.market import BarWindow
    from cohorts.services.cohorts import cohort_launch
    from cohorts.services.inputs import cohort_input
    from cohorts.services.ledger_postings import cohort_accounts_create, cohort_post_fills
    from tests.cohorts.test_ledger import fills_from

    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT,ETH-USDT", start="2021-05-06T00:00:00Z",
                        end="2021-05-06T06:00:00Z")
    cohort = cohort_launch(data=data, run=False)
    agents = list(cohort.agents.order_by("index"))
    accounts = cohort_accounts_create(cohort=cohort, agents=agents, symbols=cohort.symbols)
    fills = fills_from([(0, 0, "open", 1.0, 100.0), (1, 1, "open", 2.0, 50.0), (0, 0, "close", 1.0, 101.0)])
    window = BarWindow(symbols=("BTC-USDT", "ETH-USDT"),
                       timestamps=np.datetime64("2021-05-06T00:00") + np.arange(3) * np.timedelta64(1, "m"),
                       open=np.ones((3, 2)), high=np.ones((3, 2)), low=np.ones((3, 2)), close=np.full((3, 2), 100.0),
                       volume=np.ones((3, 2)), present=np.ones((3, 2), dtype=bool))
    call_command("db_app_role", APP_ROLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SET ROLE {APP_ROLE}")
    try:
        cohort_post_fills(cohort=cohort, agents=agents, accounts=accounts, window=window, fills=fills)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the commit-time checks, run now as the role
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")
    assert cohort.fills.count() == 3 and ledger_unbalanced_transactions(cohort=cohort) == []


def test_copying_a_transaction_twice_is_refused_as_a_retry(wallet):
    import numpy as np

    from cohorts.services.ledger import LedgerError, ledger_copy_new

    cash, other = wallet
    post = dict(keys=["copied"], kind="draw", memos=[""], cohort=None, entry_transaction=np.array([0, 0]),
                entry_account=np.array([other.pk, cash.pk]), entry_units=np.array([2500000000, -2500000000]))
    ledger_copy_new(**post)
    before = ledger_snapshot()
    with pytest.raises(LedgerError, match="posted before"):
        ledger_copy_new(**post)
    assert ledger_snapshot() == before and account_balance(other) == D("25")


@pytest.mark.django_db
@pytest.mark.parametrize("exposure_limit", ["0.1", "0.01"])
def test_a_tight_exposure_cap_trims_orders_to_dust_yet_the_run_completes_balanced(crypto_hours, exposure_limit):
    """An order the cap trims below a cent moves no money: it is not a ledger transaction, and the run completes."""
    cohort = launch_and_run(agents=10, symbols="BTC-USDT,ETH-USDT", exposure_limit=exposure_limit,
                            window={"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T02:00:00Z"})

    assert cohort.status == "completed", cohort.status_reason
    assert cohort.is_ledger_balanced and cohort.is_reconciled
    assert not LedgerTransaction.objects.filter(cohort=cohort, entries__isnull=True).exists()
