"""The ledger's audit: every invariant the services and the database keep, re-checked from the rows.

Money is never created or destroyed (Σ entries = 0, each transaction balances); accounts that may not
go negative are not; and each cohort's capital is conserved: what it drew comes back once, as a return
when it completed or a refund when it failed, never both, and once settled it holds no cash and no
position. A double settlement, however it slipped in, shows here as a cohort with returns and refunds,
or with agent cash left below zero.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Q

from cohorts.models import AccountKind, Cohort, CohortMode, CohortSettlement, CohortStatus, Entry, Fill, TransactionKind
from cohorts.models.ledger import NEGATIVE_ALLOWED
from cohorts.selectors.ledger import entry_sums, ledger_total, ledger_unbalanced_transactions
from neolight.money import quantize

ZERO = Decimal(0)
SETTLED = {CohortStatus.COMPLETED: TransactionKind.RETURN, CohortStatus.FAILED: TransactionKind.REFUND}
HELD = [AccountKind.PARENT_CASH, AccountKind.AGENT_CASH, AccountKind.AGENT_POSITION]


@dataclass
class LedgerReport:
    """What `ledger_check` found: `problems` is empty in a sound ledger."""

    cohorts: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def is_sound(self) -> bool:
        return not self.problems


def ledger_check(*, cohort: Cohort | None = None) -> LedgerReport:
    """Audits the whole ledger, or one cohort's part of it (balance, conservation, settlement)."""
    report = LedgerReport()
    unbalanced = ledger_unbalanced_transactions(cohort=cohort)
    if unbalanced:
        report.problems.append(f"{len(unbalanced)} transaction(s) do not balance: {unbalanced[:10]}")
    if cohort is None:
        total = ledger_total()
        if total != ZERO:
            report.problems.append(f"the ledger sums to {total}, not 0: money was created or destroyed")
    report.problems += _negative_balances(cohort)
    cohorts = Cohort.objects.select_related("wallet") if cohort is None else Cohort.objects.filter(pk=cohort.pk)
    report.problems += _conservation(list(cohorts.select_related("wallet")))
    report.cohorts = cohorts.count()
    return report


def _negative_balances(cohort: Cohort | None) -> list[str]:
    entries = Entry.objects.exclude(account__kind__in=NEGATIVE_ALLOWED)
    if cohort is not None:
        entries = entries.filter(Q(account__cohort=cohort) | Q(account__bankroll=cohort.source_id))
    return [f"account {code} is below zero ({total})"
            for code, total in entry_sums(entries, "account__code").items() if total < ZERO]


def _conservation(cohorts: list[Cohort]) -> list[str]:
    """Per cohort: drawn = settled, once, by the kind its status calls for; nothing left in it after."""
    ids = [c.pk for c in cohorts]
    flows: dict = defaultdict(lambda: defaultdict(lambda: ZERO))  # cohort → kind → Σ bankroll cash
    legs: dict = defaultdict(lambda: defaultdict(int))  # cohort → kind → bankroll-side postings
    rows = (Entry.objects.filter(transaction__cohort__in=ids, account__kind=AccountKind.BANKROLL_CASH)
            .values_list("transaction__cohort", "transaction__kind", "transaction__idempotency_key", "amount").order_by())
    for cohort_id, kind, key, amount in rows:
        if ":refund:" in key:  # refunds posted before the refund kind existed carry the return kind
            kind = TransactionKind.REFUND
        flows[cohort_id][kind] += quantize(amount)
        legs[cohort_id][kind] += 1
    settlements = {s.cohort_id: s for s in CohortSettlement.objects.filter(cohort__in=ids)}
    with_fills = set(Fill.objects.filter(cohort__in=ids, cohort__status=CohortStatus.FAILED)
                     .values_list("cohort", flat=True).distinct())
    left = entry_sums(Entry.objects.filter(account__cohort__in=ids, account__kind__in=HELD,
                                            account__cohort__status__in=list(SETTLED)), "account__code")
    problems = [f"{code} still holds {total} after its cohort was settled" for code, total in left.items() if total]
    for c in cohorts:
        problems += _cohort_problems(c, flows[c.pk], legs[c.pk], settlements.get(c.pk), c.pk in with_fills)
    return problems


def _cohort_problems(cohort: Cohort, flow: dict, legs: dict, settlement: CohortSettlement | None,
                     has_fills: bool) -> list[str]:
    name = f"cohort {cohort.pk} ({cohort.status})"
    drawn, returned, refunded = -flow[TransactionKind.DRAW], flow[TransactionKind.RETURN], flow[TransactionKind.REFUND]
    problems = []
    if drawn != cohort.wallet.bankroll:
        problems.append(f"{name} drew {drawn} from its bankroll but its bankroll is {cohort.wallet.bankroll}")
    if legs[TransactionKind.RETURN] and legs[TransactionKind.REFUND]:
        problems.append(f"{name} was settled twice: returned {returned} and refunded {refunded}")
    expected = SETTLED.get(cohort.status)
    if cohort.status == CohortStatus.FAILED and cohort.mode == CohortMode.LIVE and has_fills:
        expected = TransactionKind.RETURN  # a live run that failed after trading closed out and returned what it held
    if expected is None:
        if returned or refunded or settlement:
            problems.append(f"{name} is not finished but its capital went back ({returned + refunded})")
        return problems
    if settlement is None:
        problems.append(f"{name} has no settlement record")
    elif settlement.kind != expected or settlement.settled != returned + refunded:
        problems.append(f"{name} records a {settlement.kind} of {settlement.settled} but the ledger shows "
                        f"returns {returned} and refunds {refunded}")
    if legs[TransactionKind.RETURN if expected == TransactionKind.REFUND else TransactionKind.REFUND]:
        problems.append(f"{name} was settled by {'returns' if expected == TransactionKind.REFUND else 'refunds'}")
    if expected == TransactionKind.REFUND and (refunded != drawn or has_fills):
        problems.append(f"{name} refunded {refunded} of {drawn} drawn" + (" and kept fills" if has_fills else ""))
    return problems
