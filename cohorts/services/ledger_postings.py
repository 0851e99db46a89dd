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
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd
from django.db import connection

from cohorts import engine
from cohorts.models import (
    Account,
    AccountKind,
    Agent,
    Cohort,
    CohortSettlement,
    Fill,
    LedgerTransaction,
    SettlementKind,
    Side,
    TransactionKind,
)
from cohorts.selectors.ledger import account_balances
from cohorts.selectors.market import BarWindow, instruments_by_symbol
from cohorts.services.ledger import (
    LedgerError,
    PendingTransaction,
    bankroll_announce,
    ledger_copy,
    ledger_copy_new,
    ledger_post_many,
    position_relief,
)
from neolight.money import MONEY_PLACES, from_units, units_from_floats

ZERO = Decimal(0)
CLOSE = -2  # engine fill kind: the fill closes the position
CHUNK = 65_536  # fills handled at a time in Python


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


@dataclass(frozen=True)
class FillAmounts:
    """Every fill's exact ledger amounts as int64 counts of 1e-8, each array of shape (N,)."""

    qty: np.ndarray
    price: np.ndarray
    fee: np.ndarray
    cash: np.ndarray  # −(V + F), V = +notional for a buy, −notional for a sell
    position: np.ndarray  # +V opening or adding; minus the cost relieved reducing; minus all of it closing
    pnl: np.ndarray  # the balancing amount
    quantity: dict[tuple[int, int], int]  # open quantity left per (agent, symbol index), in units


@dataclass
class OpenCosts:
    """The open positions the fills so far leave: quantity and average cost per (agent, symbol index), in
    units of 1e-8. A live run carries one from bar to bar, so each bar's postings read only its new fills."""

    held: dict[tuple[int, int], int] = field(default_factory=dict)
    cost: dict[tuple[int, int], int] = field(default_factory=dict)


def fill_amounts(fills: engine.Fills, costs: OpenCosts | None = None) -> FillAmounts:
    """The postings of the fills, computed once: conversions vectorised, average cost in one pass. `costs`, when
    given, holds the positions the earlier fills left, and is carried on past these fills."""
    qty, price, fee = units_from_floats(fills.qty), units_from_floats(fills.price), units_from_floats(fills.fee)
    notional = units_from_floats(fills.qty * fills.price)
    buy = fills.side > 0
    value = np.where(buy, notional, -notional)
    position = np.empty_like(value)
    costs = costs if costs is not None else OpenCosts()
    held, cost = costs.held, costs.cost
    for start in range(0, len(value), CHUNK):  # in chunks: a few Python objects per fill, never all at once
        part = slice(start, start + CHUNK)
        amounts = []
        for pair, is_buy, kind, q, v in zip(zip(fills.agent[part].tolist(), fills.symbol[part].tolist()),
                                            buy[part].tolist(), fills.kind[part].tolist(), qty[part].tolist(),
                                            value[part].tolist()):
            was, basis = held.get(pair, 0), cost.get(pair, 0)
            if kind == CLOSE:  # the engine closed the position: all its cost goes, whatever rounding left in qty
                amount, held[pair] = -basis, 0
            elif was == 0 or (was > 0) == is_buy:
                amount, held[pair] = v, was + (q if is_buy else -q)
            else:
                amount, held[pair] = -_relief(basis, was, min(q, abs(was))), was + (q if is_buy else -q)
            cost[pair] = basis + amount
            amounts.append(amount)
        position[part] = amounts
    cash = -value - fee
    return FillAmounts(qty=qty, price=price, fee=fee, cash=cash, position=position, pnl=-(cash + fee + position),
                       quantity=held)


def _relief(cost: int, position: int, closed: int) -> int:
    """position_relief in units of 1e-8 (through Decimal, so it rounds exactly as the ledger always has)."""
    return int(position_relief(from_units(cost), from_units(position), from_units(closed)).scaleb(MONEY_PLACES))


def cohort_post_fills(*, cohort: Cohort, agents: Sequence[Agent], accounts: CohortAccounts, window: BarWindow,
                      fills: engine.Fills) -> list[Decimal]:
    """Posts every fill (one transaction each, in bulk) and stores the Fill rows.

    On PostgreSQL a first posting goes in with COPY, every database guard in force; a retry, and
    SQLite, go through `ledger_post_many`, which checks each key. Returns each agent's equity
    according to the ledger: its cash balance plus its open positions marked at the window's last close.
    """
    amounts = fill_amounts(fills)
    symbols = list(window.symbols)
    instruments = instruments_by_symbol(symbols)
    posted = LedgerTransaction.objects.filter(cohort=cohort, kind=TransactionKind.FILL).exists()
    if connection.vendor == "postgresql" and not posted:
        _copy_fills(cohort, agents, accounts, window, fills, amounts, instruments)
    else:
        _post_fills(cohort, agents, accounts, window, fills, amounts, instruments)
    return _ledger_equity(accounts, agents, window, amounts.quantity)


def cohort_post_new_fills(*, cohort: Cohort, agents: Sequence[Agent], accounts: CohortAccounts, window: BarWindow,
                          fills: engine.Fills, start: int, costs: OpenCosts) -> None:
    """A live run's postings as it goes: `fills` are the run's fills numbered from `start` on (one transaction
    each, keys `cohort:C:fill:N` as a replay's, so a repeat is checked, not written), with their Fill rows.

    `costs` holds the positions the fills before `start` left and is carried past these, so each fill posts
    exactly what a replay posts for it while a bar's work grows only with its new fills; `window` holds the
    bars the fills were made on.
    """
    amounts = fill_amounts(fills, costs)
    if len(fills):
        _post_fills(cohort, agents, accounts, window, fills, amounts, instruments_by_symbol(list(window.symbols)),
                    first=start)


class FillKeys(Sequence[str]):
    """The idempotency keys of a cohort's fills, `cohort:C:fill:N`, made as they are read."""

    def __init__(self, cohort_id: int, count: int):
        self.cohort_id, self.count = cohort_id, count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[n] for n in range(*index.indices(self.count))]
        if not -self.count <= index < self.count:
            raise IndexError(index)
        return f"cohort:{self.cohort_id}:fill:{index % self.count}"


def _memos(agents: Sequence[Agent], symbols: list[str]) -> np.ndarray:
    """Memo of a fill by (agent, symbol, is_buy)."""
    memos = np.empty((len(agents), len(symbols), 2), dtype=object)
    for a in range(len(agents)):
        for s, symbol in enumerate(symbols):
            memos[a, s, 0], memos[a, s, 1] = f"agent {a} sell {symbol}", f"agent {a} buy {symbol}"
    return memos


def _entry_columns(accounts: CohortAccounts, agents: Sequence[Agent], symbols: list[str], fills: engine.Fills,
                   amounts: FillAmounts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fill index, account id, amount) of every non-zero entry, grouped by fill: cash, fees, position, pnl."""
    cash = np.array([a.pk for a in accounts.cash], dtype=np.int64)
    fees = np.array([a.pk for a in accounts.fees], dtype=np.int64)
    pnl = np.array([a.pk for a in accounts.pnl], dtype=np.int64)
    position = np.array([[accounts.position[(agent.index, s)].pk for s in symbols] for agent in agents], dtype=np.int64)
    agent, symbol = fills.agent, fills.symbol
    account = np.stack([cash[agent], fees[agent], position[agent, symbol], pnl[agent]], axis=1).ravel()
    units = np.stack([amounts.cash, amounts.fee, amounts.position, amounts.pnl], axis=1).ravel()
    index = np.repeat(np.arange(len(agent)), 4)
    keep = units != 0
    return index[keep], account[keep], units[keep]


def _copy_fills(cohort, agents, accounts, window, fills, amounts, instruments) -> None:
    symbols = list(window.symbols)
    count = len(fills.agent)
    index, account, units = _entry_columns(accounts, agents, symbols, fills, amounts)
    memos = _memos(agents, symbols)[fills.agent, fills.symbol, (fills.side > 0).astype(np.int64)]
    ids = ledger_copy_new(keys=FillKeys(cohort.pk, count), kind=TransactionKind.FILL,
                          memos=memos, cohort=cohort, entry_transaction=index, entry_account=account,
                          entry_units=units)
    agent_ids = np.array([a.pk for a in agents], dtype=np.int64)[fills.agent]
    instrument_ids = np.array([instruments[s].pk for s in symbols], dtype=np.int64)[fills.symbol]
    stamps = np.char.add(np.datetime_as_string(window.timestamps.astype("datetime64[s]"), unit="s"), "+00:00")
    side = np.where(fills.side > 0, str(Side.BUY), str(Side.SELL))
    with connection.cursor() as cursor:
        ledger_copy(cursor, f"COPY {Fill._meta.db_table} (cohort_id, agent_id, instrument_id, ts, side, qty, price, fee, "
                    "transaction_id) FROM STDIN", f"{cohort.pk}\t{{}}\t{{}}\t{{}}\t{{}}\t{{}}e-8\t{{}}e-8\t{{}}e-8\t{{}}\n",
                    [agent_ids, instrument_ids, stamps[fills.bar], side, amounts.qty, amounts.price, amounts.fee, ids])


def _post_fills(cohort, agents, accounts, window, fills, amounts, instruments, first: int = 0) -> None:
    """The portable path: one PendingTransaction per fill through ledger_post_many, then the Fill rows; the
    fills are numbered from `first` (`amounts` are theirs, in the same order)."""
    symbols = list(window.symbols)
    bars = np.unique(fills.bar)  # only the bars filled at: a live bar converts one or two, not the window's
    stamps = dict(zip(bars.tolist(), pd.to_datetime(window.timestamps[bars], utc=True).to_pydatetime()))
    pending, rows = [], []
    for n, (a, bar, s, buy) in enumerate(zip(fills.agent.tolist(), fills.bar.tolist(), fills.symbol.tolist(),
                                             (fills.side > 0).tolist())):
        posting = PendingTransaction(key=f"cohort:{cohort.pk}:fill:{first + n}", kind=TransactionKind.FILL,
                                     memo=f"agent {a} {'buy' if buy else 'sell'} {symbols[s]}")
        posting.add(accounts.cash[a], from_units(amounts.cash[n]))
        posting.add(accounts.fees[a], from_units(amounts.fee[n]))
        posting.add(accounts.position[(a, symbols[s])], from_units(amounts.position[n]))
        posting.add(accounts.pnl[a], from_units(amounts.pnl[n]))
        pending.append(posting)
        rows.append(Fill(cohort=cohort, agent=agents[a], instrument=instruments[symbols[s]], ts=stamps[bar],
                         side=Side.BUY if buy else Side.SELL, qty=from_units(amounts.qty[n]),
                         price=from_units(amounts.price[n]), fee=from_units(amounts.fee[n])))
    transactions = ledger_post_many(pending=pending, cohort=cohort)
    known = set(Fill.objects.filter(transaction__in=transactions).values_list("transaction_id", flat=True))
    for row, txn in zip(rows, transactions):
        row.transaction = txn
    Fill.objects.bulk_create([row for row in rows if row.transaction_id not in known])


def _ledger_equity(accounts: CohortAccounts, agents: Sequence[Agent], window: BarWindow,
                   quantity: dict[tuple[int, int], int]) -> list[Decimal]:
    balances = account_balances([a.pk for a in accounts.cash])
    closes = units_from_floats(window.close[-1]).tolist() if len(window.close) else []
    marked: dict[int, int] = {}
    for (a, s), q in quantity.items():
        marked[a] = marked.get(a, 0) + q * closes[s]  # units² of 1e-16: exact
    return [balances.get(accounts.cash[agent.index].pk, ZERO) + Decimal(marked.get(agent.index, 0)).scaleb(-2 * MONEY_PLACES)
            for agent in agents]


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
    else:  # nothing comes back, yet the capital is no longer at work: the header's badge must still move
        bankroll_announce(cohort.source_id)
    if pending:
        ledger_post_many(pending=pending, cohort=cohort)
    return CohortSettlement.objects.create(cohort=cohort, kind=kind, drawn=cohort.wallet.bankroll,
                                           settled=parent_total)


def cohort_refund(*, cohort: Cohort, source_cash: Account) -> CohortSettlement:
    """A failed cohort's capital goes back to its bankroll, exactly as drawn (no fills were written for it)."""
    agents = list(cohort.agents.order_by("index"))
    accounts = cohort_accounts_create(cohort=cohort, agents=agents, symbols=cohort.symbols)
    return cohort_settle(cohort=cohort, accounts=accounts, source_cash=source_cash, kind=SettlementKind.REFUND)
