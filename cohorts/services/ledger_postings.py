"""A cohort's postings: its accounts, the capital draws, one transaction per fill, the returns.

Chart of a cohort's accounts (codes are greppable):
  cohort:C:parent:cash            the parent wallet's cash
  cohort:C:agent:I:cash           agent I's cash (may go negative when it borrows for leverage)
  cohort:C:agent:I:pos:SYM        agent I's position in SYM at average cost (negative when short)
  cohort:C:agent:I:fees           fees paid (expense)
  cohort:C:agent:I:pnl            realised PnL (income: a gain is a credit)

A fill of notional N (the engine's qty·price, converted once) with fee F posts
  cash  −(V + F)   with V = +N for a buy, −N for a sell
  fees  +F
  position  +V when it opens or adds to a position, minus the average cost it relieves when it reduces
            one, or minus the whole remaining cost when it closes one (engine fills never flip a position)
  pnl   the balancing amount: minus the realised gain.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from cohorts import engine
from cohorts.models import (
    Account,
    AccountKind,
    Agent,
    Cohort,
    CohortSettlement,
    Fill,
    SettlementKind,
    Side,
    TransactionKind,
)
from cohorts.selectors.ledger import account_balances
from cohorts.selectors.market import BarWindow, instruments_by_symbol
from cohorts.services.ledger import LedgerError, PendingTransaction, ledger_post_many, position_relief
from neolight.money import money_from_float

ZERO = Decimal(0)
CLOSE = -2  # engine fill kind: the fill closes the position


@dataclass(frozen=True)
class CohortAccounts:
    parent: Account
    cash: list[Account]  # by agent index
    fees: list[Account]
    pnl: list[Account]
    position: dict[tuple[int, str], Account]  # (agent index, symbol)


def cohort_accounts_create(*, cohort: Cohort, agents: Sequence[Agent], symbols: Sequence[str]) -> CohortAccounts:
    """The cohort's accounts, created in bulk where missing."""
    prefix = f"cohort:{cohort.pk}"
    instruments = instruments_by_symbol(list(symbols))
    wanted: dict[str, Account] = {f"{prefix}:parent:cash": Account(kind=AccountKind.PARENT_CASH, cohort=cohort)}
    for agent in agents:
        base = f"{prefix}:agent:{agent.index}"
        wanted[f"{base}:cash"] = Account(kind=AccountKind.AGENT_CASH, cohort=cohort, agent=agent)
        wanted[f"{base}:fees"] = Account(kind=AccountKind.FEES, cohort=cohort, agent=agent)
        wanted[f"{base}:pnl"] = Account(kind=AccountKind.REALISED_PNL, cohort=cohort, agent=agent)
        for symbol, instrument in instruments.items():
            wanted[f"{base}:pos:{symbol}"] = Account(kind=AccountKind.AGENT_POSITION, cohort=cohort, agent=agent,
                                                     instrument=instrument)
    existing = {a.code: a for a in Account.objects.filter(cohort=cohort)}
    missing = [account for code, account in wanted.items() if code not in existing]
    for code, account in wanted.items():
        account.code = code
    existing.update({a.code: a for a in Account.objects.bulk_create(missing)})
    return CohortAccounts(
        parent=existing[f"{prefix}:parent:cash"],
        cash=[existing[f"{prefix}:agent:{a.index}:cash"] for a in agents],
        fees=[existing[f"{prefix}:agent:{a.index}:fees"] for a in agents],
        pnl=[existing[f"{prefix}:agent:{a.index}:pnl"] for a in agents],
        position={(a.index, s): existing[f"{prefix}:agent:{a.index}:pos:{s}"] for a in agents for s in symbols},
    )


def cohort_post_draws(*, cohort: Cohort, accounts: CohortAccounts, source_cash: Account, bankroll: Decimal,
                      capitals: Sequence[Decimal]) -> None:
    """Bankroll → parent wallet, then parent wallet → each agent. Refused whole if the source is short."""
    available = account_balances([source_cash.pk]).get(source_cash.pk, ZERO)
    if available < bankroll:
        raise LedgerError(f"The bankroll '{cohort.source.name}' has ${available:,.2f} available; this cohort "
                          f"needs ${bankroll:,.2f}.", field="bankroll")
    parent = PendingTransaction(key=f"cohort:{cohort.pk}:draw:parent", kind=TransactionKind.DRAW,
                                memo=f"bankroll to cohort {cohort.pk}")
    parent.add(accounts.parent, bankroll)
    parent.add(source_cash, -bankroll)
    draws = [parent]
    for index, capital in enumerate(capitals):
        draw = PendingTransaction(key=f"cohort:{cohort.pk}:draw:agent:{index}", kind=TransactionKind.DRAW,
                                  memo=f"capital for agent {index}")
        draw.add(accounts.cash[index], capital)
        draw.add(accounts.parent, -capital)
        draws.append(draw)
    ledger_post_many(pending=draws, cohort=cohort)


def cohort_post_fills(*, cohort: Cohort, agents: Sequence[Agent], accounts: CohortAccounts, window: BarWindow,
                      fills: engine.Fills) -> list[Decimal]:
    """Posts every fill (one transaction each, in bulk) and stores the Fill rows.

    Returns each agent's equity according to the ledger: its cash balance plus its open
    positions marked at the window's last close.
    """
    symbols = list(window.symbols)
    instruments = instruments_by_symbol(symbols)
    stamps = pd.to_datetime(window.timestamps, utc=True).to_pydatetime()
    quantity: dict[tuple[int, int], Decimal] = {}
    cost: dict[tuple[int, int], Decimal] = {}
    pending, rows = [], []
    for n, (a, bar, s, side, kind, qty, price, fee) in enumerate(zip(
        fills.agent.tolist(), fills.bar.tolist(), fills.symbol.tolist(), fills.side.tolist(), fills.kind.tolist(),
        fills.qty.tolist(), fills.price.tolist(), fills.fee.tolist(),
    )):
        notional, fee_d, qty_d = money_from_float(qty * price), money_from_float(fee), money_from_float(qty)
        held, basis = quantity.get((a, s), ZERO), cost.get((a, s), ZERO)
        value = notional if side > 0 else -notional
        if kind == CLOSE:  # the engine closed the position: all its cost goes, whatever rounding left in qty
            position_amount, quantity[(a, s)] = -basis, ZERO
        elif held == 0 or (held > 0) == (side > 0):
            position_amount = value
            quantity[(a, s)] = held + (qty_d if side > 0 else -qty_d)
        else:
            position_amount = -position_relief(basis, held, min(qty_d, abs(held)))
            quantity[(a, s)] = held + (qty_d if side > 0 else -qty_d)
        cost[(a, s)] = basis + position_amount
        posting = PendingTransaction(key=f"cohort:{cohort.pk}:fill:{n}", kind=TransactionKind.FILL,
                                     memo=f"agent {a} {'buy' if side > 0 else 'sell'} {symbols[s]}")
        cash_amount = -value - fee_d
        posting.add(accounts.cash[a], cash_amount)
        posting.add(accounts.fees[a], fee_d)
        posting.add(accounts.position[(a, symbols[s])], position_amount)
        posting.add(accounts.pnl[a], -(cash_amount + fee_d + position_amount))
        pending.append(posting)
        rows.append(Fill(cohort=cohort, agent=agents[a], instrument=instruments[symbols[s]], ts=stamps[bar],
                         side=Side.BUY if side > 0 else Side.SELL, qty=qty_d, price=money_from_float(price),
                         fee=fee_d))
    for row, txn in zip(rows, ledger_post_many(pending=pending, cohort=cohort)):
        row.transaction = txn
    Fill.objects.bulk_create(rows)
    return _ledger_equity(accounts, agents, window, quantity)


def _ledger_equity(accounts: CohortAccounts, agents: Sequence[Agent], window: BarWindow,
                   quantity: dict[tuple[int, int], Decimal]) -> list[Decimal]:
    balances = account_balances([a.pk for a in accounts.cash])
    closes = [money_from_float(c) for c in window.close[-1]] if len(window.close) else []
    equity = []
    for agent in agents:
        marked = sum((q * closes[s] for (a, s), q in quantity.items() if a == agent.index and q), ZERO)
        equity.append(balances.get(accounts.cash[agent.index].pk, ZERO) + marked)
    return equity


def cohort_settle(*, cohort: Cohort, accounts: CohortAccounts, source_cash: Account, kind: str) -> CohortSettlement:
    """Settles a cohort's capital, once: every agent's cash back to the parent wallet, then the parent's cash
    back to the bankroll, recorded as the cohort's one CohortSettlement (`kind`: return or refund).

    Returns and refunds share one key per account (`cohort:C:settle:…`) and the settlement row is unique
    per cohort, so the database refuses a second settlement however it is attempted. Call it inside the
    transaction that holds the cohort's row lock.
    """
    if CohortSettlement.objects.filter(cohort=cohort).exists():
        raise LedgerError(f"Cohort {cohort.pk} is already settled; its capital cannot be returned twice.")
    txn_kind = TransactionKind.REFUND if kind == SettlementKind.REFUND else TransactionKind.RETURN
    balances = account_balances([a.pk for a in [*accounts.cash, accounts.parent]])
    pending = []
    parent_total = balances.get(accounts.parent.pk, ZERO)
    for index, cash in enumerate(accounts.cash):
        amount = balances.get(cash.pk, ZERO)
        if amount:
            back = PendingTransaction(key=f"cohort:{cohort.pk}:settle:agent:{index}", kind=txn_kind,
                                      memo=f"{kind} of agent {index}'s cash")
            back.add(accounts.parent, amount)
            back.add(cash, -amount)
            pending.append(back)
            parent_total += amount
    if parent_total < 0:
        raise LedgerError(f"Cohort {cohort.pk} ends owing ${-parent_total:,.2f}; its capital cannot be returned.")
    if parent_total:
        home = PendingTransaction(key=f"cohort:{cohort.pk}:settle:parent", kind=txn_kind,
                                  memo=f"{kind} of cohort {cohort.pk} to the bankroll")
        home.add(source_cash, parent_total)
        home.add(accounts.parent, -parent_total)
        pending.append(home)
    if pending:
        ledger_post_many(pending=pending, cohort=cohort)
    return CohortSettlement.objects.create(cohort=cohort, kind=kind, drawn=cohort.wallet.bankroll,
                                           settled=parent_total)


def cohort_refund(*, cohort: Cohort, source_cash: Account) -> CohortSettlement:
    """A failed cohort's capital goes back to its bankroll, exactly as drawn (no fills were written for it)."""
    agents = list(cohort.agents.order_by("index"))
    accounts = cohort_accounts_create(cohort=cohort, agents=agents, symbols=cohort.symbols)
    return cohort_settle(cohort=cohort, accounts=accounts, source_cash=source_cash, kind=SettlementKind.REFUND)
