"""The reconciliation export: every fill tagged with its cohort, per-agent totals that add up to the cohort's PnL
in the ledger to the last unit (Decimal, no rounding)."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from decimal import Decimal

import pytest

from assistant.reports.csvfile import RECONCILIATION_COLUMNS, reconciliation_csv
from assistant.reports.reconciliation import reconciliation
from cohorts.models import AccountKind, Entry, TransactionKind
from cohorts.selectors.ledger import entry_sums


@pytest.mark.django_db
def test_agents_net_pnl_adds_up_to_the_ledger_settlement_to_the_cent(day_cohort):
    recon = reconciliation([day_cohort])
    [total] = recon.cohorts
    settlement = day_cohort.settlement
    # the ledger's own view: what came back to the bankroll minus what was drawn from it
    flows = entry_sums(Entry.objects.filter(transaction__cohort=day_cohort, account__kind=AccountKind.BANKROLL_CASH),
                       "transaction__kind")
    from_ledger = flows[TransactionKind.RETURN] + flows[TransactionKind.DRAW]
    assert total.ledger_pnl == settlement.settled - settlement.drawn == from_ledger
    assert total.agents_net == from_ledger and total.is_reconciled
    assert sum(a.fills for a in total.agents) == len(recon.fills) == day_cohort.fills.count()
    assert sum(f["net"] for f in recon.fills) == from_ledger
    assert {f["tag"] for f in recon.fills} == {f"cohort-{day_cohort.pk}"}


@pytest.mark.django_db
def test_the_reconciliation_csv_has_stable_columns_and_totals_that_add_up(day_cohort):
    data = reconciliation_csv(reconciliation([day_cohort])).decode()
    assert data.splitlines()[0] == ("row,cohort,cohort_tag,agent,family,fill,ts,symbol,side,qty,price,fee,"
                                    "realised_pnl,net_pnl,transaction") == ",".join(RECONCILIATION_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(data)))
    fills = [r for r in rows if r["row"] == "fill"]
    agents = {r["agent"]: r for r in rows if r["row"] == "agent"}
    [cohort] = [r for r in rows if r["row"] == "cohort"]
    assert all(r["cohort"] == str(day_cohort.pk) and r["cohort_tag"] == f"cohort-{day_cohort.pk}" for r in fills)
    per_agent = defaultdict(Decimal)
    for r in fills:
        per_agent[r["agent"]] += Decimal(r["net_pnl"])
        assert Decimal(r["net_pnl"]) == Decimal(r["realised_pnl"]) - Decimal(r["fee"])
    assert all(Decimal(agents[a]["net_pnl"]) == net for a, net in per_agent.items())
    assert sum(Decimal(r["net_pnl"]) for r in agents.values()) == Decimal(cohort["net_pnl"])
    settlement = day_cohort.settlement
    assert Decimal(cohort["net_pnl"]) == settlement.settled - settlement.drawn
    assert len(agents) == day_cohort.agent_count
