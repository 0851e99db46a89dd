"""The reconciliation export: every fill of the cohorts, tagged with its cohort, with the realised PnL and fee the
ledger posted for it; per-agent totals; and per cohort the ledger's settlement (settled − drawn), which the agents'
totals add up to exactly (Decimal, to the last unit of the ledger).

A fill's net PnL is its realised gain (the credit to the agent's PnL account) less its fee, which is exactly the
cash it moved once its position is closed; a settled cohort holds no position, so its agents' net PnL is what its
settlement returned beyond what it drew.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from cohorts.models import AccountKind, Cohort, CohortSettlement, Entry, Fill, TransactionKind
from neolight.money import quantize

from .data import cohort_tag

ZERO = Decimal(0)


@dataclass
class AgentTotal:
    cohort: int
    agent: int
    family: str
    fills: int = 0
    fees: Decimal = ZERO
    realised: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.realised - self.fees


@dataclass
class CohortTotal:
    cohort: int
    tag: str
    status: str
    drawn: Decimal | None  # None until the cohort is settled
    settled: Decimal | None
    agents: list[AgentTotal] = field(default_factory=list)

    @property
    def ledger_pnl(self) -> Decimal | None:
        """What the settlement returned beyond what the cohort drew."""
        return None if self.settled is None or self.drawn is None else self.settled - self.drawn

    @property
    def agents_net(self) -> Decimal:
        return sum((a.net for a in self.agents), ZERO)

    @property
    def is_reconciled(self) -> bool | None:
        return None if self.ledger_pnl is None else self.agents_net == self.ledger_pnl


@dataclass
class Reconciliation:
    fills: list[dict]  # in cohort, time and id order
    cohorts: list[CohortTotal]


def reconciliation(cohorts: list[Cohort]) -> Reconciliation:
    """The fills and totals of `cohorts`, from the ledger."""
    ids = [c.pk for c in cohorts]
    realised = {txn: -quantize(amount) for txn, amount in Entry.objects.filter(
        transaction__cohort__in=ids, transaction__kind=TransactionKind.FILL,
        account__kind=AccountKind.REALISED_PNL).values_list("transaction_id", "amount").order_by()}
    settlements = {s.cohort_id: s for s in CohortSettlement.objects.filter(cohort__in=ids)}
    totals = {c.pk: CohortTotal(cohort=c.pk, tag=cohort_tag(c), status=c.status,
                                drawn=getattr(settlements.get(c.pk), "drawn", None),
                                settled=getattr(settlements.get(c.pk), "settled", None)) for c in cohorts}
    agents: dict = {}
    for cohort in cohorts:
        for agent in cohort.agents.order_by("index"):
            agents[agent.pk] = AgentTotal(cohort=cohort.pk, agent=agent.index, family=agent.family)
            totals[cohort.pk].agents.append(agents[agent.pk])
    rows = []
    fills = (Fill.objects.filter(cohort__in=ids).select_related("instrument", "transaction")
             .order_by("cohort", "ts", "id"))
    for fill in fills.iterator(chunk_size=5000):
        fee, gain = quantize(fill.fee), realised.get(fill.transaction_id, ZERO)
        total = agents[fill.agent_id]
        total.fills, total.fees, total.realised = total.fills + 1, total.fees + fee, total.realised + gain
        rows.append({"cohort": fill.cohort_id, "tag": totals[fill.cohort_id].tag, "agent": total.agent,
                     "family": total.family, "fill": fill.pk, "ts": fill.ts, "symbol": fill.instrument.symbol,
                     "side": fill.side, "qty": quantize(fill.qty), "price": quantize(fill.price), "fee": fee,
                     "realised": gain, "net": gain - fee, "transaction": fill.transaction.idempotency_key})
    return Reconciliation(fills=rows, cohorts=[totals[i] for i in ids])

