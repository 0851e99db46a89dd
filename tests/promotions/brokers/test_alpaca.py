"""AlpacaBroker (alpaca-py's TradingClient) against the paper-trading stand-in: orders, the account, positions,
flattening, idempotent resubmission, exact Decimals, symbols and the headers sent."""
import logging
from decimal import Decimal

import pytest

from promotions.brokers.alpaca import AlpacaBroker
from promotions.brokers.base import BrokerError, BrokerFailure, OrderRequest


def buy(symbol: str, qty: str, coid: str = "nl-dep1-0001", *, side: str = "buy", mode: str = "PAPER") -> OrderRequest:
    return OrderRequest(client_order_id=coid, symbol=symbol, side=side, qty=Decimal(qty), mode=mode)


def test_a_crypto_buy_fills_at_the_price_with_exact_decimals(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("BTC/USD", Decimal("43000.12345678"))
    order = alpaca.submit_order(buy("BTC-USD", "0.1"))
    assert order.is_filled and order.symbol == "BTC-USD" and order.side == "buy"
    assert order.qty == Decimal("0.1") and str(order.qty) == "0.1"
    assert order.filled_qty == Decimal("0.1") and str(order.filled_avg_price) == "43000.12345678"
    assert order.client_order_id == "nl-dep1-0001" and order.broker_order_id == alpaca_trading_stub.orders[0]["id"]
    account = alpaca.account()
    assert account.cash == Decimal("10000") - Decimal("0.1") * Decimal("43000.12345678")
    assert str(account.cash) == "5699.987654322" and account.buying_power == account.cash


def test_the_quantity_goes_on_the_wire_as_its_digits_not_a_float(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("ETH/USD", Decimal("2000"))
    order = alpaca.submit_order(buy("ETH-USD", "0.123456789012345678"))
    sent = alpaca_trading_stub.calls_to("POST", "/v2/orders")[-1].body
    assert sent["qty"] == "0.123456789012345678"  # a float would have kept 17 significant digits at most
    assert order.qty == Decimal("0.123456789012345678")
    assert alpaca.positions()[0].qty == Decimal("0.123456789012345678")


def test_orders_carry_the_keys_the_client_order_id_and_alpacas_spelling(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("BTC/USDT", Decimal("43000"))
    alpaca_trading_stub.set_price("SPY", Decimal("512.25"))
    alpaca.submit_order(buy("BTC-USDT", "0.01", "crypto-1"))
    alpaca.submit_order(buy("SPY", "2.5", "stock-1"))
    crypto, stock = (call.body for call in alpaca_trading_stub.calls_to("POST", "/v2/orders"))
    assert crypto == {"symbol": "BTC/USDT", "qty": "0.01", "side": "buy", "type": "market", "time_in_force": "gtc",
                      "client_order_id": "crypto-1"}
    assert stock["symbol"] == "SPY" and stock["time_in_force"] == "day" and stock["client_order_id"] == "stock-1"
    for call in alpaca_trading_stub.calls:
        assert call.headers["APCA-API-KEY-ID"] == "stub-trading-key"
        assert call.headers["APCA-API-SECRET-KEY"] == "stub-trading-secret"


def test_positions_read_alpacas_crypto_spelling_back_as_neolights(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("BTC/USDT", Decimal("43000"))
    alpaca_trading_stub.set_price("SPY", Decimal("500"))
    alpaca.submit_order(buy("BTC-USDT", "0.02", "a"))
    alpaca.submit_order(buy("BTC-USDT", "0.02", "b"))
    alpaca_trading_stub.set_position("SPY", "-3", "510.5")  # a short held already
    # Alpaca spells the pair "BTCUSDT" in positions (asset class crypto) and "BTC/USDT" in orders
    positions = {p.symbol: p for p in alpaca.positions()}
    assert positions["BTC-USDT"].qty == Decimal("0.04") and positions["BTC-USDT"].avg_entry_price == Decimal("43000")
    assert positions["SPY"].qty == Decimal("-3") and positions["SPY"].avg_entry_price == Decimal("510.5")


def test_an_unmappable_symbol_is_refused_before_any_request(alpaca, alpaca_trading_stub):
    with pytest.raises(BrokerError) as caught:
        alpaca.submit_order(buy("BTC-EUR", "1"))
    assert caught.value.kind == BrokerFailure.REJECTED and "Alpaca has no BTC-EUR" in caught.value.message
    assert alpaca_trading_stub.calls == []


@pytest.mark.parametrize(("qty", "side", "mode", "words"), [
    ("0", "buy", "PAPER", "positive"), ("-1", "sell", "PAPER", "positive"), ("NaN", "buy", "PAPER", "positive"),
    ("1", "hold", "PAPER", "buy or sell"), ("1", "buy", "LIVE", "LIVE order cannot go to Alpaca's paper account"),
])
def test_an_order_that_cannot_be_valid_is_refused_without_a_request(alpaca, alpaca_trading_stub, qty, side, mode,
                                                                     words):
    alpaca_trading_stub.set_price("SPY", Decimal("500"))
    with pytest.raises(BrokerError) as caught:
        alpaca.submit_order(buy("SPY", qty, side=side, mode=mode))
    assert caught.value.kind == BrokerFailure.REJECTED and words in caught.value.message
    assert alpaca_trading_stub.calls == []


def test_resubmitting_a_client_order_id_returns_the_order_alpaca_already_has(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("BTC/USD", Decimal("43000"))
    first = alpaca.submit_order(buy("BTC-USD", "0.05", "retry-1"))
    again = alpaca.submit_order(buy("BTC-USD", "0.05", "retry-1"))
    assert again == first
    assert len(alpaca_trading_stub.orders) == 1 and alpaca.positions()[0].qty == Decimal("0.05")
    lookup = alpaca_trading_stub.calls_to("GET", "/v2/orders:by_client_order_id")
    assert [call.query for call in lookup] == [{"client_order_id": "retry-1"}]


def test_a_submission_that_timed_out_is_placed_once_when_retried(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("SPY", Decimal("500"))
    alpaca_trading_stub.slow_next(1.0)  # Alpaca places the order but answers after the client gave up
    with pytest.raises(BrokerError) as caught:
        alpaca.submit_order(buy("SPY", "2", "late-1"))
    assert caught.value.kind == BrokerFailure.UNAVAILABLE
    assert caught.value.message == ("Alpaca gave no answer within 0.5 s (the order may have been placed: resubmit it "
                                    "with the same client order id)")
    order = alpaca.submit_order(buy("SPY", "2", "late-1"))
    assert order.is_filled and order.client_order_id == "late-1"
    assert len(alpaca_trading_stub.orders) == 1 and alpaca_trading_stub.position_qty("SPY") == Decimal("2")


def test_a_client_order_id_used_by_another_order_is_refused(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("SPY", Decimal("500"))
    alpaca.submit_order(buy("SPY", "2", "same-id"))
    with pytest.raises(BrokerError) as caught:
        alpaca.submit_order(buy("SPY", "3", "same-id"))
    assert caught.value.kind == BrokerFailure.REJECTED
    assert caught.value.message == "client order id same-id is already used by buy 2 SPY"
    assert alpaca_trading_stub.position_qty("SPY") == Decimal("2")


def test_get_order_reads_an_order_by_client_order_id(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("ETH/USD", Decimal("2000.10"))
    alpaca_trading_stub.hold_orders = True  # the order stays open
    placed = alpaca.submit_order(buy("ETH-USD", "1.5", "open-1"))
    assert placed.status == "accepted" and placed.filled_qty == 0 and placed.filled_avg_price is None
    read = alpaca.get_order("open-1")
    assert read == placed and read.symbol == "ETH-USD"


def test_get_order_of_an_unknown_client_order_id_is_not_found(alpaca):
    with pytest.raises(BrokerError) as caught:
        alpaca.get_order("never-sent")
    assert (caught.value.kind, caught.value.message, caught.value.status) == (BrokerFailure.NOT_FOUND,
                                                                               "order not found", 404)


def test_the_account_values_positions_at_the_current_price(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("BTC/USD", Decimal("40000"))
    alpaca.submit_order(buy("BTC-USD", "0.1"))
    alpaca_trading_stub.set_price("BTC/USD", Decimal("36000"))  # the price drops
    account = alpaca.account()
    assert account.cash == Decimal("6000") and account.equity == Decimal("9600")


def test_close_all_positions_flattens_the_account_and_cancels_open_orders(alpaca, alpaca_trading_stub):
    stub = alpaca_trading_stub
    stub.set_price("BTC/USD", Decimal("40000"))
    stub.set_price("SPY", Decimal("500"))
    alpaca.submit_order(buy("BTC-USD", "0.1", "a"))
    alpaca.submit_order(buy("SPY", "4", "b"))
    stub.hold_orders = True
    alpaca.submit_order(buy("SPY", "1", "c", side="sell"))  # an open sell would hold shares back
    stub.hold_orders = False
    stub.set_price("BTC/USD", Decimal("39000"))
    closing = alpaca.close_all_positions()
    assert stub.calls_to("DELETE", "/v2/positions")[0].query == {"cancel_orders": "True"}
    assert {(o.symbol, o.side, o.qty, o.filled_avg_price) for o in closing} == {
        ("BTC-USD", "sell", Decimal("0.1"), Decimal("39000")), ("SPY", "sell", Decimal("4"), Decimal("500"))}
    assert alpaca.positions() == [] and alpaca.get_order("c").status == "canceled"
    assert alpaca.account().cash == Decimal("9900")


def test_close_all_positions_names_each_position_alpaca_did_not_close(alpaca, alpaca_trading_stub):
    stub = alpaca_trading_stub
    stub.set_price("BTC/USD", Decimal("40000"))
    stub.set_price("SPY", Decimal("500"))
    alpaca.submit_order(buy("BTC-USD", "0.1", "a"))
    alpaca.submit_order(buy("SPY", "4", "b"))
    stub.refuse_close("BTC/USD", 403, {"code": 40310000, "message": "asset is not tradable"})
    with pytest.raises(BrokerError) as caught:
        alpaca.close_all_positions()
    assert caught.value.kind == BrokerFailure.REJECTED
    assert caught.value.message == "positions not closed: BTCUSD: asset is not tradable"
    assert [p.symbol for p in alpaca.positions()] == ["BTC-USD"]  # SPY was closed all the same


def test_cancel_open_orders_counts_the_orders_cancelled(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("SPY", Decimal("500"))
    alpaca.submit_order(buy("SPY", "1", "filled"))
    alpaca_trading_stub.hold_orders = True
    alpaca.submit_order(buy("SPY", "1", "open-1"))
    alpaca.submit_order(buy("SPY", "2", "open-2"))
    assert alpaca.cancel_open_orders() == 2
    assert [alpaca.get_order(c).status for c in ("filled", "open-1", "open-2")] == ["filled", "canceled", "canceled"]
    assert alpaca.cancel_open_orders() == 0


def test_every_order_names_its_mode_in_the_log(alpaca, alpaca_trading_stub, caplog):
    alpaca_trading_stub.set_price("BTC/USDT", Decimal("4300"))
    with caplog.at_level(logging.INFO, logger="promotions.brokers.alpaca"):
        alpaca.submit_order(buy("BTC-USDT", "0.5", "log-1"))
        alpaca.close_all_positions()
    lines = [record.getMessage() for record in caplog.records]
    assert any(line.startswith("PAPER BUY 0.5 BTC-USDT") for line in lines)
    assert any(line.startswith("PAPER SELL 0.5 BTC-USDT") for line in lines)


def test_the_broker_reaches_the_url_and_timeout_in_the_settings(alpaca_trading_stub, settings):
    broker = AlpacaBroker(key_id="stub-trading-key", secret="stub-trading-secret")
    assert broker.base_url == alpaca_trading_stub.url and broker.timeout == 0.5
    assert broker.account().cash == Decimal("10000")
    assert alpaca_trading_stub.calls[-1].path == "/v2/account"


def test_an_order_alpaca_could_no_longer_cancel_is_not_counted(alpaca, alpaca_trading_stub, caplog):
    alpaca_trading_stub.fail_next(207, [
        {"id": "0c7d6b3e-1f1a-4b8e-9d7b-2a9f3c1e5d40", "status": 200, "body": None},
        {"id": "7e2f0a51-8c34-4d5e-b6a1-9f0e2d3c4b58", "status": 500,
         "body": {"code": 50010000, "message": "order is not cancelable"}},
    ], path="/v2/orders", method="DELETE")
    with caplog.at_level(logging.WARNING, logger="promotions.brokers.alpaca"):
        assert alpaca.cancel_open_orders() == 1
    assert "did not cancel order 7e2f0a51-8c34-4d5e-b6a1-9f0e2d3c4b58: order is not cancelable" in caplog.text


def test_close_all_positions_buys_back_a_short(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("SPY", Decimal("500"))
    alpaca_trading_stub.set_position("SPY", "-3", "510")
    [closing] = alpaca.close_all_positions()
    assert (closing.symbol, closing.side, closing.qty, closing.is_filled) == ("SPY", "buy", Decimal("3"), True)
    assert alpaca.positions() == [] and alpaca.account().cash == Decimal("8500")
