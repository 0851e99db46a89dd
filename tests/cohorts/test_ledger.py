"""The double-entry ledger: balanced, append-only, idempotent, never overdrawn; fills post exactly."""
from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cohorts import engine
from cohorts.models import Account, AccountKind, Entry, LedgerTransaction
from cohorts.models.ledger import NEGATIVE_ALLOWED
from cohorts.selectors.ledger import account_balance, account_balances, ledger_total, ledger_unbalanced_transactions
from cohorts.selectors.market import BarWindow
from cohorts.services.ledger import (
    LedgerError,
    PendingTransaction,
    account_ensure,
    bankroll_ensure,
    bankroll_fund,
    ledger_post,
    ledger_post_many,
)
from cohorts.services.ledger_postings import cohort_accounts_create, cohort_post_fills
from neolight.errors import ApplicationError
from neolight.money import money_from_float

D = Decimal
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="database guards are PostgreSQL's")


@pytest.fixture
def wallet(db):
    bankroll = bankroll_ensure(name="test", funding=D("1000"))
    cash = Account.objects.get(code=f"bankroll:{bankroll.pk}:cash")
    other = account_ensure(code="test:other", kind=AccountKind.PARENT_CASH)
    return bankroll, cash, other


def snapshot() -> tuple:
    return (list(LedgerTransaction.objects.order_by("id").values_list("id", "idempotency_key", "kind")),
            list(Entry.objects.order_by("id").values_list("id", "transaction_id", "account_id", "amount")))


def test_funding_posts_a_balanced_transaction(wallet):
    bankroll, cash, _ = wallet
    assert account_balance(cash) == D("1000")
    assert ledger_total() == 0
    assert ledger_unbalanced_transactions() == []


def test_unbalanced_posting_is_refused_and_writes_nothing(wallet):
    _, cash, other = wallet
    before = (LedgerTransaction.objects.count(), Entry.objects.count())
    with pytest.raises(LedgerError, match="does not balance: entries sum to 0.01"):
        ledger_post(key="bad", kind="draw", entries=[(other, D("10.01")), (cash, D("-10"))])
    assert (LedgerTransaction.objects.count(), Entry.objects.count()) == before


def test_retried_posting_has_no_second_effect(wallet):
    _, cash, other = wallet
    first = ledger_post(key="move-1", kind="draw", entries=[(other, D("25")), (cash, D("-25"))])
    again = ledger_post(key="move-1", kind="draw", entries=[(other, D("25")), (cash, D("-25"))])
    assert again.pk == first.pk
    assert account_balance(other) == D("25") and account_balance(cash) == D("975")


def test_retry_with_different_entries_is_refused_naming_the_difference(wallet):
    _, cash, other = wallet
    ledger_post(key="move-1", kind="draw", entries=[(other, D("25")), (cash, D("-25"))])
    before = snapshot()
    with pytest.raises(LedgerError, match=r"key move-1 exists with different entries: .*test:other 25.00 vs 30.00"):
        ledger_post(key="move-1", kind="draw", entries=[(other, D("30")), (cash, D("-30"))])
    with pytest.raises(LedgerError, match="key move-1 exists with a different kind: draw vs funding"):
        ledger_post(key="move-1", kind="funding", entries=[(other, D("25")), (cash, D("-25"))])
    assert snapshot() == before


def test_retry_with_entries_on_other_accounts_is_refused(wallet):
    _, cash, other = wallet
    third = account_ensure(code="test:third", kind=AccountKind.AGENT_CASH)
    ledger_post(key="move-1", kind="draw", entries=[(other, D("25")), (cash, D("-25"))])
    with pytest.raises(LedgerError, match="test:other 25.00 vs nothing; test:third nothing vs 25.00"):
        ledger_post(key="move-1", kind="draw", entries=[(third, D("25")), (cash, D("-25"))])


def test_one_batch_reusing_a_key_with_different_entries_is_refused(wallet):
    _, cash, other = wallet
    first = PendingTransaction(key="twice", kind="draw", entries=[(other, D("1")), (cash, D("-1"))])
    second = PendingTransaction(key="twice", kind="draw", entries=[(other, D("2")), (cash, D("-2"))])
    before = snapshot()
    with pytest.raises(LedgerError, match="key twice exists with different entries"):
        ledger_post_many(pending=[first, second])
    assert snapshot() == before


@pytest.mark.parametrize(("amount", "message"), [
    (25.0, "amount 25.0 is a float; ledger amounts must be Decimal"),
    ("25", "amount '25' is a str; ledger amounts must be Decimal"),
    (D("25.000000001"), "more than 8 decimal places"),
    (D("NaN"), "not a finite number"),
    (D("1e12"), "too large"),
])
def test_amounts_must_be_exact_decimals(wallet, amount, message):
    _, cash, other = wallet
    before = snapshot()
    with pytest.raises(LedgerError, match=message):
        ledger_post(key="odd", kind="draw", entries=[(other, amount), (cash, -amount if amount != "25" else "-25")])
    assert snapshot() == before


def test_integer_amounts_are_exact(wallet):
    _, cash, other = wallet
    ledger_post(key="int", kind="draw", entries=[(other, 25), (cash, -25)])
    assert account_balance(other) == D("25")


def test_unknown_kind_is_refused(wallet):
    _, cash, other = wallet
    before = snapshot()
    with pytest.raises(LedgerError, match="unknown kind 'gift'"):
        ledger_post(key="gift", kind="gift", entries=[(other, D("1")), (cash, D("-1"))])
    assert snapshot() == before


def test_bankroll_cash_never_goes_below_zero(wallet):
    _, cash, other = wallet
    with pytest.raises(LedgerError, match="would go below zero"):
        ledger_post(key="overdraw", kind="draw", entries=[(other, D("1000.01")), (cash, D("-1000.01"))])
    assert account_balance(cash) == D("1000") and not LedgerTransaction.objects.filter(idempotency_key="overdraw").exists()


@pytest.mark.parametrize("amount", [D("0"), D("-5")])
def test_funding_must_be_positive(wallet, amount):
    bankroll, cash, _ = wallet
    before = LedgerTransaction.objects.count()
    with pytest.raises(ApplicationError, match="must be positive"):
        bankroll_fund(bankroll=bankroll, amount=amount, key="nothing")
    assert LedgerTransaction.objects.count() == before and account_balance(cash) == D("1000")


MOVE = st.tuples(
    st.integers(0, 5),  # key: a small pool, so keys are often reused
    st.sampled_from(["draw", "return", "funding"]),
    st.integers(0, 3), st.integers(0, 3),  # from, to: bankroll cash, parent cash, agent cash, external capital
    st.decimals(min_value=D("0.00000001"), max_value=D("800"), places=8, allow_nan=False, allow_infinity=False),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(MOVE, min_size=1, max_size=25))
def test_random_postings_keep_every_invariant(wallet, moves):
    """Whatever is posted: each transaction balances, the ledger sums to zero, guarded cash never goes
    below zero, a retry changes nothing and a conflicting retry is refused."""
    _, cash, _ = wallet
    with transaction.atomic():
        accounts = [cash, account_ensure(code="p:parent", kind=AccountKind.PARENT_CASH),
                    account_ensure(code="p:agent", kind=AccountKind.AGENT_CASH),
                    account_ensure(code="p:external", kind=AccountKind.EXTERNAL_CAPITAL)]
        posted: dict[str, tuple] = {}
        expected = {a.pk: account_balance(a) for a in accounts}
        for slot, kind, source, target, amount in moves:
            if source == target:
                continue
            key, content = f"p:{slot}", (kind, source, target, amount)
            entries = [(accounts[target], amount), (accounts[source], -amount)]
            before = snapshot()
            overdraws = accounts[source].kind not in NEGATIVE_ALLOWED and expected[accounts[source].pk] < amount
            if key in posted and posted[key] != content:
                with pytest.raises(LedgerError, match=f"key {key} exists with"):
                    ledger_post(key=key, kind=kind, entries=entries)
                assert snapshot() == before
            elif key in posted:
                assert ledger_post(key=key, kind=kind, entries=entries).pk == posted[key + ":id"]
                assert snapshot() == before
            elif overdraws:
                with pytest.raises(LedgerError, match="below zero"):
                    ledger_post(key=key, kind=kind, entries=entries)
                assert snapshot() == before
            else:
                posted[key], posted[key + ":id"] = content, ledger_post(key=key, kind=kind, entries=entries).pk
                expected[accounts[target].pk] += amount
                expected[accounts[source].pk] -= amount
            balances = account_balances(list(expected))
            assert {pk: balances.get(pk, D(0)) for pk in expected} == expected
            assert all(balances.get(a.pk, D(0)) >= 0 for a in accounts if a.kind not in NEGATIVE_ALLOWED)
            assert ledger_total() == 0 and ledger_unbalanced_transactions() == []
        transaction.set_rollback(True)


@postgres_only
def test_database_refuses_update_and_delete_of_entries(wallet):
    entry = Entry.objects.first()
    for sql in [f"UPDATE cohorts_entry SET amount = amount + 1 WHERE id = {entry.pk}",
                f"DELETE FROM cohorts_entry WHERE id = {entry.pk}",
                f"DELETE FROM cohorts_ledgertransaction WHERE id = {entry.transaction_id}"]:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    entry.refresh_from_db()
    assert entry.amount == D("1000")


@postgres_only
def test_database_refuses_an_unbalanced_insert(wallet):
    _, cash, _ = wallet
    txn = LedgerTransaction.objects.first()
    with pytest.raises(DatabaseError, match="does not balance"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO cohorts_entry (transaction_id, account_id, amount) VALUES (%s, %s, 5)",
                       [txn.pk, cash.pk])
    assert account_balance(cash) == D("1000")


# --- fills, against an independent computation ------------------------------------------------

@pytest.fixture
def pending_cohort(crypto_day):
    from cohorts.services.cohorts import cohort_launch
    from cohorts.services.inputs import cohort_input

    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT,ETH-USDT", start="2021-05-06T00:00:00Z",
                        end="2021-05-06T06:00:00Z")
    return cohort_launch(data=data, run=False)


STEP = st.tuples(st.integers(0, 1), st.integers(0, 1), st.sampled_from(["open", "add", "reduce", "close"]),
                 st.floats(0.001, 3.0), st.floats(50.0, 60000.0))


def fills_from(steps) -> engine.Fills:
    """A valid fill sequence: positions per (agent, symbol) open long or short, grow, shrink and close."""
    held: dict[tuple[int, int], float] = {}
    rows = []
    for bar, (agent, symbol, action, qty, price) in enumerate(steps):
        pos = held.get((agent, symbol), 0.0)
        if pos == 0:
            side = 1 if action in ("open", "add") else -1  # some sequences start short
            kind, amount = 1, qty
        elif action == "add":
            side, kind, amount = (1 if pos > 0 else -1), 1, qty
        elif action == "reduce":
            side, kind, amount = (-1 if pos > 0 else 1), -1, abs(pos) / 2
        else:
            side, kind, amount = (-1 if pos > 0 else 1), -2, abs(pos)
        held[(agent, symbol)] = 0.0 if kind == -2 else pos + side * amount
        rows.append((agent, bar, symbol, side, kind, amount, price, amount * price * 0.001))
    cols = list(zip(*rows)) if rows else [[]] * 8
    as_int = [np.array(c, dtype=np.int64) for c in cols[:3]]
    return engine.Fills(*as_int, np.array(cols[3], dtype=np.int8), np.array(cols[4], dtype=np.int8),
                        *(np.array(c, dtype=np.float64) for c in cols[5:]), pnl=np.zeros(len(rows)))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=40))
def test_posted_fills_keep_every_ledger_invariant(pending_cohort, steps):
    cohort = pending_cohort
    fills = fills_from(steps)
    agents = list(cohort.agents.order_by("index"))
    window = BarWindow(symbols=("BTC-USDT", "ETH-USDT"),
                       timestamps=np.datetime64("2021-05-06T00:00") + np.arange(len(steps)) * np.timedelta64(1, "m"),
                       open=np.ones((len(steps), 2)), high=np.ones((len(steps), 2)), low=np.ones((len(steps), 2)),
                       close=np.full((len(steps), 2), 100.0), volume=np.ones((len(steps), 2)),
                       present=np.ones((len(steps), 2), dtype=bool))
    with transaction.atomic():
        accounts = cohort_accounts_create(cohort=cohort, agents=agents, symbols=cohort.symbols)
        equity = cohort_post_fills(cohort=cohort, agents=agents, accounts=accounts, window=window, fills=fills)

        assert ledger_unbalanced_transactions(cohort=cohort) == []
        assert ledger_total() == 0
        balances = account_balances([a.pk for a in Account.objects.filter(cohort=cohort)])
        for agent in (0, 1):
            mine = fills.agent == agent
            notional = [money_from_float(q * p) for q, p in zip(fills.qty[mine], fills.price[mine])]
            fees = [money_from_float(f) for f in fills.fee[mine]]
            cash = agents[agent].capital + sum(
                (n - f if s < 0 else -n - f for n, f, s in zip(notional, fees, fills.side[mine])), D(0))
            assert balances[accounts.cash[agent].pk] == cash  # exact, to the last of 8 places
            assert balances.get(accounts.fees[agent].pk, D(0)) == sum(fees, D(0))
            position = sum(float(q) * s for q, s in zip(fills.qty[mine], fills.side[mine]))
            assert abs(equity[agent] - (cash + money_from_float(position * 100.0))) < D("0.01")
            for symbol_index, symbol in enumerate(cohort.symbols):
                pair = mine & (fills.symbol == symbol_index)
                if pair.any() and fills.kind[pair][-1] == -2:  # flat again: cost fully relieved
                    assert balances.get(accounts.position[(agent, symbol)].pk, D(0)) == 0
        flat_gain = D(0)
        for agent in (0, 1):
            for symbol_index in range(len(cohort.symbols)):
                pair = (fills.agent == agent) & (fills.symbol == symbol_index)
                if pair.any() and fills.kind[pair][-1] == -2:
                    flat_gain += sum((money_from_float(q * p) * (1 if s < 0 else -1) for q, p, s in
                                      zip(fills.qty[pair], fills.price[pair], fills.side[pair])), D(0))
        open_pairs = any(((fills.agent == a) & (fills.symbol == s)).any()
                         and fills.kind[(fills.agent == a) & (fills.symbol == s)][-1] != -2
                         for a in (0, 1) for s in (0, 1))
        if not open_pairs:  # all flat: realised PnL is exactly what was sold minus what was bought
            pnl = sum((balances.get(a.pk, D(0)) for a in accounts.pnl), D(0))
            assert -pnl == flat_gain
        transaction.set_rollback(True)



def test_posting_the_same_fills_again_writes_nothing(pending_cohort):
    cohort = pending_cohort
    steps = [(0, 0, "open", 1.5, 100.0), (0, 0, "reduce", 1.0, 110.0), (1, 1, "open", 0.5, 50.0), (0, 0, "close", 1.0, 90.0)]
    fills = fills_from(steps)
    agents = list(cohort.agents.order_by("index"))
    window = BarWindow(symbols=("BTC-USDT", "ETH-USDT"),
                       timestamps=np.datetime64("2021-05-06T00:00") + np.arange(4) * np.timedelta64(1, "m"),
                       open=np.ones((4, 2)), high=np.ones((4, 2)), low=np.ones((4, 2)), close=np.full((4, 2), 100.0),
                       volume=np.ones((4, 2)), present=np.ones((4, 2), dtype=bool))
    accounts = cohort_accounts_create(cohort=cohort, agents=agents, symbols=cohort.symbols)
    first = cohort_post_fills(cohort=cohort, agents=agents, accounts=accounts, window=window, fills=fills)
    before = (snapshot(), list(cohort.fills.values_list("id", "transaction_id", "qty", "price", "fee")))
    again = cohort_post_fills(cohort=cohort, agents=agents, accounts=accounts, window=window, fills=fills)
    assert again == first
    assert (snapshot(), list(cohort.fills.values_list("id", "transaction_id", "qty", "price", "fee"))) == before
    assert cohort.fills.count() == 4
