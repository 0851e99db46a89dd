"""Every write to the ledger: balanced, append-only, idempotent postings in Decimal.

A posting is a list of (account, amount) entries, debit positive and credit negative, that sums to
zero. Amounts are Decimal (an int is taken as exact) with at most 8 places: a float, a string or a
ninth place is refused, never rounded. Each transaction carries an idempotency key: posting the same
key again with the same kind and entries returns the first transaction and writes nothing; the same
key with a different kind or different entries is refused, naming what differs (like TigerBeetle's
`exists_with_different_*`). PostgreSQL re-checks balance, sealing, emptiness and overdrafts in
triggers (migrations 0003 and 0006); on other databases these functions are the only guard, so
nothing else writes entries.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cohorts.models import Account, AccountKind, Bankroll, Entry, LedgerTransaction, TransactionKind
from cohorts.models.ledger import NEGATIVE_ALLOWED
from cohorts.selectors.cohorts import bankroll_badge_expire
from cohorts.selectors.ledger import account_balances
from neolight.errors import ApplicationError
from neolight.money import MONEY_DIGITS, MONEY_PLACES, QUANTUM, from_units, quantize
from neolight.realtime import BANKROLL, broadcast_on_commit

ZERO = Decimal(0)
AMOUNT_LIMIT = Decimal(10) ** (MONEY_DIGITS - MONEY_PLACES)  # NUMERIC(20, 8) holds less than this
KEY_LENGTH = LedgerTransaction._meta.get_field("idempotency_key").max_length


class LedgerError(ApplicationError):
    """A posting that would break a ledger invariant; nothing of it was written."""


def ledger_amount(value: object, *, key: str = "") -> Decimal:
    """`value` as a ledger amount: a Decimal (or int) that NUMERIC(20, 8) holds exactly; LedgerError otherwise."""
    where = f"transaction {key}: " if key else ""
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise LedgerError(f"{where}amount {value!r} is a {type(value).__name__}; ledger amounts must be Decimal")
    amount = Decimal(value)
    if not amount.is_finite():
        raise LedgerError(f"{where}amount {amount} is not a finite number")
    if abs(amount) >= AMOUNT_LIMIT:
        raise LedgerError(f"{where}amount {amount} is too large for the ledger (at most {MONEY_DIGITS - MONEY_PLACES} digits "
                          "before the point)")
    if amount != amount.quantize(QUANTUM):
        raise LedgerError(f"{where}amount {amount} has more than {MONEY_PLACES} decimal places; round it before posting")
    return quantize(amount)


@dataclass
class PendingTransaction:
    """A transaction to post: its key, kind, memo and entries (account, signed amount)."""

    key: str
    kind: str
    memo: str = ""
    entries: list[tuple[Account, Decimal]] = field(default_factory=list)

    def add(self, account: Account, amount: Decimal) -> None:
        amount = ledger_amount(amount, key=self.key)
        if amount:
            self.entries.append((account, amount))


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
    """Posts many transactions in bulk (one INSERT of entries); keys already posted are checked, not written.

    Returns the transactions in the order given, the earlier ones for keys already posted. Raises
    LedgerError, writing nothing, if any would not balance, would overdraw an account whose kind may
    not go negative, or reuses a key with a different kind or different entries.
    """
    unique: dict[str, PendingTransaction] = {}
    for item in pending:
        _check_well_formed(item)
        first = unique.setdefault(item.key, item)
        if first is not item:
            _check_same(item, first.kind, _entry_counts(first), {a.pk: a.code for a, _ in first.entries})
    existing = {t.idempotency_key: t for t in LedgerTransaction.objects.filter(idempotency_key__in=list(unique))}
    _check_retries_match([unique[key] for key in existing], existing)
    new = [p for key, p in unique.items() if key not in existing]
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
            # Another process posted one of these keys first: post again, now checking what it wrote.
            if LedgerTransaction.objects.filter(idempotency_key__in=[p.key for p in new]).exists():
                return ledger_post_many(pending=pending, cohort=cohort)
            raise
        _check_not_overdrawn({a for p in new for a, _ in p.entries})
        _announce_bankroll_moves(new)
        existing.update({t.idempotency_key: t for t in created})
    return [existing[p.key] for p in pending]


@transaction.atomic
def ledger_copy_new(*, keys: Sequence[str], kind: str, memos: Sequence[str], cohort, entry_transaction: np.ndarray,
                    entry_account: np.ndarray, entry_units: np.ndarray) -> np.ndarray:
    """Posts many new transactions of one kind at once with COPY (PostgreSQL only); returns their ids.

    Entries are given as arrays, grouped by transaction in order: the index of their transaction in
    `keys`, the account id, and the amount in units of 1e-8. Every transaction must have entries
    that balance, every key must be new (a retry goes through `ledger_post_many`), and no account
    whose kind may not go negative may end below zero; else LedgerError and nothing is written.
    """
    count = len(keys)
    if kind not in TransactionKind.values:
        raise LedgerError(f"unknown transaction kind {kind!r}")
    if not count:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, entry_transaction[1:] != entry_transaction[:-1]])
    if len(starts) != count or not np.array_equal(entry_transaction[starts], np.arange(count)) or (entry_units == 0).any():
        raise LedgerError("every transaction needs non-zero entries, grouped by transaction in order")
    if np.abs(entry_units).max() >= int(AMOUNT_LIMIT.scaleb(MONEY_PLACES)):
        raise LedgerError("an amount is too large for the ledger")
    totals = np.add.reduceat(entry_units, starts)
    if totals.any():
        bad = int(np.flatnonzero(totals)[0])
        raise LedgerError(f"transaction {keys[bad]} does not balance: entries sum to {from_units(totals[bad])}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [LedgerTransaction._meta.db_table, count])
        ids = np.fromiter((row[0] for row in cursor.cursor), dtype=np.int64, count=count)
        stamp, cohort_id = timezone.now().isoformat(), r"\N" if cohort is None else str(cohort.pk)
        try:
            with transaction.atomic():
                ledger_copy(cursor, f"COPY {LedgerTransaction._meta.db_table} (id, idempotency_key, kind, memo, cohort_id, "
                            "created_at) FROM STDIN", f"{{}}\t{{}}\t{kind}\t{{}}\t{cohort_id}\t{stamp}\n",
                            [ids, _Escaped(keys), _Escaped(memos, limit=200)])
                ledger_copy(cursor, f"COPY {Entry._meta.db_table} (transaction_id, account_id, amount) FROM STDIN",
                            "{}\t{}\t{}e-8\n", [ids[entry_transaction], entry_account, entry_units])
        except IntegrityError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != UNIQUE_VIOLATION:
                raise
            raise LedgerError(f"some of these {kind} transactions were posted before ({exc}); post them with "
                              "ledger_post_many, which checks each retry") from None
    credited = Account.objects.filter(pk__in=np.unique(entry_account[entry_units < 0]).tolist())
    _check_not_overdrawn(credited.exclude(kind__in=NEGATIVE_ALLOWED))
    return ids


UNIQUE_VIOLATION = "23505"  # PostgreSQL's SQLSTATE for a duplicate key
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
COPY_ROWS = 50_000  # rows per write


class _Escaped(Sequence[str]):
    """Texts as COPY's text format wants them (backslash, tab and line breaks escaped), made as read."""

    def __init__(self, texts: Sequence[str], limit: int | None = None):
        self.texts, self.limit = texts, limit

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [text[:self.limit].translate(COPY_ESCAPES) for text in self.texts[index]]
        return self.texts[index][:self.limit].translate(COPY_ESCAPES)


def ledger_copy(cursor, sql: str, line: str, columns: Sequence[Sequence]) -> None:
    """COPY … FROM STDIN of rows given as columns (lists or arrays), each row formatted by `line` (text format)."""
    rows = len(columns[0]) if columns else 0
    with cursor.db.wrap_database_errors, cursor.cursor.copy(sql) as copy:  # Django's exceptions, as for execute()
        for start in range(0, rows, COPY_ROWS):
            chunk = [_listed(column[start:start + COPY_ROWS]) for column in columns]
            copy.write("".join(map(line.format, *chunk)))


def _listed(values: Sequence) -> list:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)


def _announce_bankroll_moves(posted: Sequence[PendingTransaction]) -> None:
    """Each bankroll whose cash these postings move is announced once they commit (the header's badge
    follows): funding, draws at launch, returns and refunds all post through here."""
    moved = {a.bankroll_id for p in posted for a, _ in p.entries if a.kind == AccountKind.BANKROLL_CASH}
    for bankroll_id in sorted(moved):
        bankroll_announce(bankroll_id)


def bankroll_announce(bankroll_id: int) -> None:
    """The header's cached badge expires now (reads in this transaction see the movement) and again once
    the transaction commits (a read that raced the commit cannot keep the old figures); open pages hear
    then that the bankroll moved (its cash, or the capital its cohorts hold)."""
    bankroll_badge_expire()
    transaction.on_commit(bankroll_badge_expire)
    broadcast_on_commit(BANKROLL, "bankroll.changed", {"bankroll": bankroll_id})


def _check_well_formed(item: PendingTransaction) -> None:
    if not isinstance(item.key, str) or not 0 < len(item.key) <= KEY_LENGTH:
        raise LedgerError(f"idempotency key {item.key!r} must be text of 1 to {KEY_LENGTH} characters")
    if item.kind not in TransactionKind.values:
        raise LedgerError(f"transaction {item.key} has unknown kind {item.kind!r}; "
                          f"use one of {', '.join(TransactionKind.values)}")
    if not item.entries:
        raise LedgerError(f"transaction {item.key} has no entries")
    for _, amount in item.entries:
        ledger_amount(amount, key=item.key)  # entries appended without add() are checked too
    total = sum((amount for _, amount in item.entries), ZERO)
    if total != ZERO:
        raise LedgerError(f"transaction {item.key} does not balance: entries sum to {total}")


def _entry_counts(item: PendingTransaction) -> Counter:
    return Counter((account.pk, quantize(amount)) for account, amount in item.entries)


def _check_retries_match(retries: list[PendingTransaction], stored: dict[str, LedgerTransaction]) -> None:
    """Each retried key must carry the kind and the multiset of (account, amount) it was first posted with."""
    if not retries:
        return
    counts: dict[str, Counter] = defaultdict(Counter)
    rows = Entry.objects.filter(transaction__in=[stored[p.key] for p in retries]).values_list(
        "transaction__idempotency_key", "account_id", "amount")
    for key, account_id, amount in rows:
        counts[key][(account_id, quantize(amount))] += 1
    codes: dict[int, str] = {a.pk: a.code for p in retries for a, _ in p.entries}
    missing = {account_id for c in counts.values() for account_id, _ in c} - codes.keys()
    codes.update(Account.objects.filter(pk__in=missing).values_list("pk", "code"))
    for item in retries:
        _check_same(item, stored[item.key].kind, counts[item.key], codes)


def _check_same(item: PendingTransaction, kind: str, counts: Counter, codes: dict[int, str]) -> None:
    if item.kind != kind:
        raise LedgerError(f"key {item.key} exists with a different kind: {kind} vs {item.kind}")
    mine = _entry_counts(item)
    if mine == counts:
        return
    differences = []
    for account_id in sorted({a for a, _ in counts} | {a for a, _ in mine}, key=lambda a: codes.get(a, str(a))):
        before, after = _amounts(counts, account_id), _amounts(mine, account_id)
        if before != after:
            differences.append(f"{codes.get(account_id, account_id)} {before or 'nothing'} vs {after or 'nothing'}")
    raise LedgerError(f"key {item.key} exists with different entries: {'; '.join(differences)}")


def _amounts(counts: Counter, account_id: int) -> str:
    return ", ".join(_show(amount) for (a, amount), n in sorted(counts.items()) if a == account_id for _ in range(n))


def _show(amount: Decimal) -> str:
    """An amount as people write it: no trailing zeros beyond the cents."""
    text = f"{amount.normalize():f}"
    whole, _, places = text.partition(".")
    return f"{whole}.{places.ljust(2, '0')}"


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
