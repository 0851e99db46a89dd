"""Every write to the ledger: balanced, append-only, idempotent postings in Decimal.

A posting is a list of (account, amount) entries, debit positive and credit negative, that sums to
zero. Each transaction carries an idempotency key: posting the same key again returns the first
transaction and writes nothing. PostgreSQL re-checks balance and append-only in triggers; on other
databases these functions are the only guard, so nothing else writes entries.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction

from cohorts.models import Account, AccountKind, Bankroll, Entry, LedgerTransaction, TransactionKind
from cohorts.models.ledger import NEGATIVE_ALLOWED
from cohorts.selectors.ledger import account_balances
from neolight.errors import ApplicationError
from neolight.money import quantize

ZERO = Decimal(0)


class LedgerError(ApplicationError):
    """A posting that would break a ledger invariant; nothing of it was written."""


@dataclass
class PendingTransaction:
    """A transaction to post: its key, kind, memo and entries (account, signed amount)."""

    key: str
    kind: str
    memo: str = ""
    entries: list[tuple[Account, Decimal]] = field(default_factory=list)

    def add(self, account: Account, amount: Decimal) -> None:
        if amount:
            self.entries.append((account, quantize(amount)))


def account_ensure(*, code: str, kind: str, **links) -> Account:
    """The account with `code`, created with `kind` and its links (bankroll, cohort, agent, instrument) if new."""
    account, _ = Account.objects.get_or_create(code=code, defaults={"kind": kind, **links})
    return account


def ledger_post(*, key: str, kind: str, entries: Sequence[tuple[Account, Decimal]], cohort=None,
                memo: str = "") -> LedgerTransaction:
    """Posts one balanced transaction, or returns the one already posted under `key`."""
    pending = PendingTransaction(key=key, kind=kind, memo=memo)
    for account, amount in entries:
        pending.add(account, amount)
    return ledger_post_many(pending=[pending], cohort=cohort)[0]


@transaction.atomic
def ledger_post_many(*, pending: Sequence[PendingTransaction], cohort=None) -> list[LedgerTransaction]:
    """Posts many transactions in bulk (one INSERT of entries); keys already posted are skipped.

    Returns the transactions in the order given, the earlier ones for keys already posted.
    Raises LedgerError, writing nothing, if any would not balance or would overdraw an account
    whose kind may not go negative.
    """
    for item in pending:
        _check_balanced(item)
    existing = {t.idempotency_key: t for t in LedgerTransaction.objects.filter(idempotency_key__in=[p.key for p in pending])}
    new = [p for p in pending if p.key not in existing]
    if new:
        try:
            with transaction.atomic():
                created = LedgerTransaction.objects.bulk_create(
                    [LedgerTransaction(idempotency_key=p.key, kind=p.kind, memo=p.memo[:200], cohort=cohort) for p in new]
                )
                Entry.objects.bulk_create(
                    [Entry(transaction=t, account=a, amount=amt) for t, p in zip(created, new) for a, amt in p.entries]
                )
        except IntegrityError:
            # Another process posted one of these keys first: post again, now skipping what it wrote.
            if all(LedgerTransaction.objects.filter(idempotency_key=p.key).exists() for p in new):
                return ledger_post_many(pending=pending, cohort=cohort)
            raise
        _check_not_overdrawn({a for p in new for a, _ in p.entries})
        existing.update({t.idempotency_key: t for t in created})
    return [existing[p.key] for p in pending]


def _check_balanced(item: PendingTransaction) -> None:
    if not item.entries:
        raise LedgerError(f"transaction {item.key} has no entries")
    total = sum((amount for _, amount in item.entries), ZERO)
    if total != ZERO:
        raise LedgerError(f"transaction {item.key} does not balance: entries sum to {total}")


def _check_not_overdrawn(accounts: Iterable[Account]) -> None:
    guarded = [a for a in accounts if a.kind not in NEGATIVE_ALLOWED]
    if not guarded:
        return
    balances = account_balances([a.pk for a in guarded])
    for account in guarded:
        if balances.get(account.pk, ZERO) < ZERO:
            raise LedgerError(f"{account.code} would go below zero ({balances[account.pk]})", field="bankroll")


# --- bankrolls --------------------------------------------------------------------------------

def bankroll_cash_account(bankroll: Bankroll) -> Account:
    return account_ensure(code=f"bankroll:{bankroll.pk}:cash", kind=AccountKind.BANKROLL_CASH, bankroll=bankroll)


@transaction.atomic
def bankroll_fund(*, bankroll: Bankroll, amount: Decimal, key: str) -> LedgerTransaction:
    """Puts outside capital into a bankroll (Dr bankroll cash, Cr external capital)."""
    if amount <= ZERO:
        raise ApplicationError("A funding amount must be positive.", field="amount")
    capital = account_ensure(code=f"bankroll:{bankroll.pk}:external", kind=AccountKind.EXTERNAL_CAPITAL,
                             bankroll=bankroll)
    return ledger_post(key=key, kind=TransactionKind.FUNDING, memo=f"funding of {bankroll.name}",
                       entries=[(bankroll_cash_account(bankroll), amount), (capital, -amount)])


@transaction.atomic
def bankroll_ensure(*, name: str, funding: Decimal) -> Bankroll:
    """The bankroll called `name`; a new one is funded once with `funding`."""
    bankroll, _ = Bankroll.objects.get_or_create(name=name)
    bankroll_fund(bankroll=bankroll, amount=funding, key=f"bankroll:{bankroll.pk}:initial-funding")
    return bankroll


def position_relief(cost: Decimal, position: Decimal, closed: Decimal) -> Decimal:
    """The part of a position's cost that `closed` units of `position` units carry (average cost)."""
    if closed >= abs(position):
        return cost
    return quantize(cost * closed / abs(position))
