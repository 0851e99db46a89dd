"""Reads of the ledger: balances are sums of entries, never stored.

PostgreSQL sums NUMERIC exactly. SQLite keeps decimals as binary floating point, so there each
amount is read back (exact at 8 places) and summed as Decimal in Python instead.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from django.db import connection
from django.db.models import Max, Min, QuerySet, Sum

from cohorts.models import Account, Entry, LedgerTransaction
from neolight.money import quantize

ZERO = Decimal(0)


def entry_sums(entries: QuerySet[Entry], key: str) -> dict:
    """Σ amount grouped by `key`, exact on every database."""
    if connection.vendor == "postgresql":
        return {r[key]: r["total"] for r in entries.values(key).annotate(total=Sum("amount")).order_by()}
    totals: dict = defaultdict(lambda: ZERO)
    for group, amount in entries.values_list(key, "amount").order_by():
        totals[group] += quantize(amount)
    return dict(totals)


def account_balances(account_ids: Sequence[int]) -> dict[int, Decimal]:
    """Balance of each account: the sum of its entries (debit positive)."""
    return entry_sums(Entry.objects.filter(account_id__in=account_ids), "account_id")


def account_balance(account: Account) -> Decimal:
    return account_balances([account.pk]).get(account.pk, ZERO)


def ledger_unbalanced_transactions(*, cohort=None) -> list[int]:
    """Ids of transactions whose entries do not sum to zero (an empty list in a sound ledger)."""
    entries = Entry.objects.all() if cohort is None else Entry.objects.filter(transaction__cohort=cohort)
    if cohort is not None:  # the range of the cohort's transactions bounds the scan to its own entries
        bounds = LedgerTransaction.objects.filter(cohort=cohort).aggregate(first=Min("id"), last=Max("id"))
        if bounds["first"] is None:
            return []
        entries = entries.filter(transaction__id__range=(bounds["first"], bounds["last"]))
    if connection.vendor == "postgresql":  # summed and filtered in the database: only the bad ones travel
        return sorted(entries.values("transaction_id").annotate(total=Sum("amount")).exclude(total=0).order_by()
                      .values_list("transaction_id", flat=True))
    return sorted(pk for pk, total in entry_sums(entries, "transaction_id").items() if total != ZERO)


def balances_by_kind(*, cohort) -> dict[str, Decimal]:
    """Sum of balances per account kind within a cohort."""
    return entry_sums(Entry.objects.filter(account__cohort=cohort), "account__kind")


def ledger_total() -> Decimal:
    """Σ of every entry ever posted: zero, since money is never created or destroyed."""
    return sum(entry_sums(Entry.objects.all(), "transaction__kind").values(), ZERO)
