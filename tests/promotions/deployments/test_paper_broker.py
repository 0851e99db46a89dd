"""NeoLight's paper broker: market orders fill at the latest stored close (as of the broker's moment) moved by
the slippage, pay the fee, refuse what the cash cannot pay, and answer a repeated client order id with the
order it first made."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from cohorts.models import Bar
from promotions.brokers.base import BrokerError, BrokerFailure, OrderRequest
from promotions.brokers.paper import PaperBroker, paper_account_open
from promotions.models import PaperOrder
from tests.promotions.deployments.conftest import START

pytestmark = pytest.mark.usefixtures("crypto_hours")
MOMENT = START + timedelta(minutes=10)  # bars 00:00–00:09 have closed


@pytest.fixture
def broker(db):
    paper_account_open(name="book", cash=Decimal(1000), fee_bps=Decimal(10), slippage_bps=Decimal(5))
    return PaperBroker(account="book", as_of=MOMENT)


def close_at(symbol: str, minute: int) -> Decimal:
    return Bar.objects.get(instrument__symbol=symbol, ts=START + timedelta(minutes=minute)).close


def order(client: str, side: str, qty: str, symbol: str = "BTC-USDT") -> OrderRequest:
    return OrderRequest(client_order_id=client, symbol=symbol, side=side, qty=Decimal(qty), mode="PAPER")


def test_a_buy_fills_at_the_last_close_plus_slippage_and_pays_its_fee(broker):
    filled = broker.submit_order(order("a", "buy", "0.01"))
    price = (close_at("BTC-USDT", 9) * Decimal("1.0005")).quantize(Decimal("1e-8"))
    assert filled.is_filled and filled.filled_qty == Decimal("0.01") and filled.filled_avg_price == price
    notional = (Decimal("0.01") * price).quantize(Decimal("1e-8"))
    fee = (notional * Decimal("0.001")).quantize(Decimal("1e-8"))
    assert broker.account().cash == Decimal(1000) - notional - fee
    [position] = broker.positions()
    assert (position.symbol, position.qty, position.avg_entry_price) == ("BTC-USDT", Decimal("0.01"), price)
    assert broker.account().equity == broker.account().cash + Decimal("0.01") * close_at("BTC-USDT", 9)


def test_a_repeated_client_order_id_is_the_same_order(broker):
    first = broker.submit_order(order("same", "buy", "0.01"))
    cash = broker.account().cash
    assert broker.submit_order(order("same", "buy", "0.01")) == first == broker.get_order("same")
    assert broker.account().cash == cash and PaperOrder.objects.count() == 1
    with pytest.raises(BrokerError) as missing:
        broker.get_order("never-sent")
    assert missing.value.kind == BrokerFailure.NOT_FOUND


def test_a_buy_beyond_the_cash_is_refused_and_leaves_the_books_alone(broker):
    with pytest.raises(BrokerError) as refused:
        broker.submit_order(order("big", "buy", "1"))
    assert refused.value.kind == BrokerFailure.INSUFFICIENT_FUNDS and refused.value.status == 403
    assert broker.account().cash == Decimal(1000) and broker.positions() == []
    assert not PaperOrder.objects.exists()


def test_selling_part_keeps_the_entry_price_and_flattening_closes_everything(broker):
    broker.submit_order(order("a", "buy", "0.01"))
    broker.submit_order(order("b", "buy", "0.1", symbol="ETH-USDT"))
    entry = broker.positions()[0].avg_entry_price
    later = PaperBroker(account="book", as_of=MOMENT + timedelta(minutes=5))
    sold = later.submit_order(order("c", "sell", "0.004"))
    assert sold.filled_avg_price == (close_at("BTC-USDT", 14) * Decimal("0.9995")).quantize(Decimal("1e-8"))
    btc = next(p for p in later.positions() if p.symbol == "BTC-USDT")
    assert btc.qty == Decimal("0.006") and btc.avg_entry_price == entry

    flattened = later.close_all_positions()
    assert sorted((o.symbol, o.side, o.qty) for o in flattened) == [
        ("BTC-USDT", "sell", Decimal("0.006")), ("ETH-USDT", "sell", Decimal("0.1"))]
    assert later.positions() == [] and later.cancel_open_orders() == 0
    assert later.account().cash == later.account().equity


def test_an_unknown_account_is_an_auth_failure(db):
    with pytest.raises(BrokerError) as refused:
        PaperBroker(account="nobody").account()
    assert refused.value.kind == BrokerFailure.AUTH
