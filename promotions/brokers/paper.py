"""NeoLight's own paper broker: books (cash, positions, orders) kept in the database, one account per deployment.

A market order fills at once, whole, at the latest stored 1-minute close of its symbol at the broker's
moment (`as_of`: a deployment passes the close time of the last bar it stepped, so a replayed market is
priced as it was then; the wall clock otherwise), moved against the order by the account's slippage, and
pays the account's fee on its notional. Amounts are Decimal at the ledger's precision (8 places):

    price = close × (1 ± slippage_bps / 10,000)      notional = qty × price      fee = notional × fee_bps / 10,000

A buy whose notional and fee exceed the cash is refused (INSUFFICIENT_FUNDS, nothing written); a sell may
open a short (no margin is modelled). A repeated client order id returns the order it first made.
"""
from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from cohorts.models import Bar
from neolight.money import quantize
from promotions.brokers.base import (
    BrokerAccount,
    BrokerError,
    BrokerFailure,
    BrokerOrder,
    BrokerPosition,
    OrderRequest,
)
from promotions.models import PaperAccount, PaperOrder, PaperPosition

BPS = Decimal(10_000)
ZERO = Decimal(0)


def paper_fee(notional: Decimal, fee_bps: Decimal) -> Decimal:
    """The fee the paper broker charges on `notional` (ledger precision)."""
    return quantize(abs(notional) * Decimal(fee_bps) / BPS)


def order_cash(side: str, qty: Decimal, price: Decimal, fee_bps: Decimal) -> Decimal:
    """Cash an order filled at `price` moves (signed: a buy pays its notional and fee, a sell receives its
    notional less the fee), as the paper broker books it."""
    notional = quantize(qty * price)
    return (-notional if side == "buy" else notional) - paper_fee(notional, fee_bps)


@transaction.atomic
def paper_account_open(*, name: str, cash: Decimal, fee_bps: Decimal, slippage_bps: Decimal) -> PaperAccount:
    """The paper account called `name`, opened with `cash` if new (a second call returns it unchanged)."""
    account, _ = PaperAccount.objects.get_or_create(
        name=name, defaults={"cash": quantize(cash), "fee_bps": fee_bps, "slippage_bps": slippage_bps})
    return account


class PaperBroker:
    """The Broker protocol over a `PaperAccount`: `account` names it; `as_of` is the broker's moment (a
    datetime or a callable returning one; the wall clock when None)."""

    name = "paper"

    def __init__(self, *, account: str, as_of: datetime | Callable[[], datetime | None] | None = None, **_ignored):
        self.account_name, self._as_of = account, as_of

    # --- the protocol --------------------------------------------------------------------------
    def submit_order(self, order: OrderRequest) -> BrokerOrder:
        if order.side not in ("buy", "sell") or order.qty <= 0:
            raise BrokerError(BrokerFailure.REJECTED, f"invalid order: {order.side} {order.qty}", status=422)
        with transaction.atomic():
            account = self._locked()
            known = PaperOrder.objects.filter(account=account, client_order_id=order.client_order_id).first()
            if known is not None:
                return _order(known)
            return _order(self._fill(account, order.client_order_id, order.symbol, order.side, quantize(order.qty)))

    def get_order(self, client_order_id: str) -> BrokerOrder:
        row = PaperOrder.objects.filter(account__name=self.account_name, client_order_id=client_order_id).first()
        if row is None:
            raise BrokerError(BrokerFailure.NOT_FOUND, f"no order {client_order_id}", status=404)
        return _order(row)

    def account(self) -> BrokerAccount:
        account = self._row()
        equity = account.cash + sum((p.qty * self._close(p.symbol) for p in account.positions.all()), ZERO)
        return BrokerAccount(cash=account.cash, equity=quantize(equity), buying_power=account.cash)

    def positions(self) -> list[BrokerPosition]:
        return [BrokerPosition(symbol=p.symbol, qty=p.qty, avg_entry_price=p.avg_entry_price)
                for p in self._row().positions.all()]

    def close_all_positions(self) -> list[BrokerOrder]:
        with transaction.atomic():
            account = self._locked()
            return [_order(self._fill(account, f"flatten-{uuid.uuid4().hex[:20]}", p.symbol,
                                      "sell" if p.qty > 0 else "buy", abs(p.qty), checked=False))
                    for p in list(account.positions.all())]

    def cancel_open_orders(self) -> int:
        return 0  # every paper order fills (or is refused) when it is submitted: none is ever open

    # --- the books -----------------------------------------------------------------------------
    def _row(self) -> PaperAccount:
        try:
            return PaperAccount.objects.get(name=self.account_name)
        except PaperAccount.DoesNotExist:
            raise BrokerError(BrokerFailure.AUTH, f"no paper account {self.account_name}", status=401) from None

    def _locked(self) -> PaperAccount:
        self._row()
        return PaperAccount.objects.select_for_update().get(name=self.account_name)

    def moment(self) -> datetime:
        value = self._as_of() if callable(self._as_of) else self._as_of
        return value or timezone.now()

    def _close(self, symbol: str) -> Decimal:
        """The latest close stored for `symbol` among the bars closed by the broker's moment."""
        close = (Bar.objects.filter(instrument__symbol=symbol, ts__lte=self.moment() - timedelta(minutes=1))
                 .order_by("-ts").values_list("close", flat=True).first())
        if close is None:
            raise BrokerError(BrokerFailure.REJECTED, f"no price for {symbol}", status=422)
        return close

    def _fill(self, account: PaperAccount, client_order_id: str, symbol: str, side: str, qty: Decimal,
              checked: bool = True) -> PaperOrder:
        sign = 1 if side == "buy" else -1
        price = quantize(self._close(symbol) * (1 + sign * account.slippage_bps / BPS))
        cash = order_cash(side, qty, price, account.fee_bps)
        if checked and account.cash + cash < 0:
            raise BrokerError(BrokerFailure.INSUFFICIENT_FUNDS,
                              f"insufficient buying power: {side} {qty} {symbol} needs {-cash}, cash {account.cash}",
                              status=403)
        account.cash += cash
        account.save(update_fields=["cash"])
        _position_move(account, symbol, sign * qty, price)
        return PaperOrder.objects.create(
            account=account, client_order_id=client_order_id, broker_order_id=uuid.uuid4().hex, symbol=symbol,
            side=side, qty=qty, filled_qty=qty, filled_avg_price=price,
            fee=paper_fee(quantize(qty * price), account.fee_bps), status="filled")


def _position_move(account: PaperAccount, symbol: str, delta: Decimal, price: Decimal) -> None:
    """Adds signed `delta` at `price` to the position: adding averages the entry, reducing keeps it,
    crossing zero starts a new one at `price`, reaching zero removes the row."""
    position = PaperPosition.objects.filter(account=account, symbol=symbol).first()
    held = position.qty if position else ZERO
    after = held + delta
    if after == 0:
        if position:
            position.delete()
        return
    if held == 0 or (held > 0) != (after > 0):
        entry = price
    elif (held > 0) == (delta > 0):
        entry = quantize((abs(held) * position.avg_entry_price + abs(delta) * price) / abs(after))
    else:
        entry = position.avg_entry_price
    PaperPosition.objects.update_or_create(account=account, symbol=symbol,
                                           defaults={"qty": after, "avg_entry_price": entry})


def _order(row: PaperOrder) -> BrokerOrder:
    return BrokerOrder(client_order_id=row.client_order_id, broker_order_id=row.broker_order_id, symbol=row.symbol,
                       side=row.side, qty=row.qty, filled_qty=row.filled_qty, filled_avg_price=row.filled_avg_price,
                       status=row.status)
