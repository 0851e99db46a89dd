"""Every way an Alpaca call fails becomes a BrokerError of the right kind with Alpaca's own message, at once:
nothing is retried behind the caller's back (alpaca-py would retry 429 and 504 three times, 3 s apart)."""
import socket
import time
from decimal import Decimal

import pytest

from promotions.brokers.alpaca import AlpacaBroker
from promotions.brokers.base import BrokerError, BrokerFailure, OrderRequest

F = BrokerFailure


def order(symbol: str = "SPY", qty: str = "1", side: str = "buy") -> OrderRequest:
    return OrderRequest(client_order_id="err-1", symbol=symbol, side=side, qty=Decimal(qty), mode="PAPER")


def failure(call) -> BrokerError:
    with pytest.raises(BrokerError) as caught:
        call()
    return caught.value


def test_a_buy_the_cash_cannot_pay_is_insufficient_funds(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("SPY", Decimal("500"))
    error = failure(lambda: alpaca.submit_order(order(qty="20.01")))
    assert (error.kind, error.message, error.status) == (F.INSUFFICIENT_FUNDS, "insufficient buying power", 403)
    assert alpaca_trading_stub.orders == [] and alpaca.account().cash == Decimal("10000")


def test_a_crypto_buy_beyond_the_usd_balance_is_insufficient_funds(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("BTC/USD", Decimal("43000"))
    said = "insufficient balance for USD (requested: 43000, available: 10000)"
    alpaca_trading_stub.fail_next(403, {"code": 40310000, "message": said}, path="/v2/orders")
    error = failure(lambda: alpaca.submit_order(order(symbol="BTC-USD")))
    assert (error.kind, error.message) == (F.INSUFFICIENT_FUNDS, said)


def test_selling_more_than_held_is_rejected_with_alpacas_words(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("SPY", Decimal("500"))
    alpaca_trading_stub.set_position("SPY", "2", "480")
    error = failure(lambda: alpaca.submit_order(order(qty="3", side="sell")))
    assert error.kind == F.REJECTED
    assert error.message == "insufficient qty available for order (requested: 3, available: 2)"


def test_an_unknown_asset_is_rejected(alpaca, alpaca_trading_stub):
    error = failure(lambda: alpaca.submit_order(order(symbol="NOPE")))
    assert (error.kind, error.message, error.status) == (F.REJECTED, 'asset "NOPE" not found', 422)


def test_wrong_keys_are_auth(alpaca_trading_stub):
    broker = AlpacaBroker(key_id="stub-trading-key", secret="wrong")
    error = failure(broker.account)
    assert (error.kind, error.message, error.status) == (F.AUTH, "unauthorized.", 401)


def test_a_403_without_a_trading_reason_is_auth(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.fail_next(403, {"message": "forbidden."})
    error = failure(alpaca.positions)
    assert (error.kind, error.message) == (F.AUTH, "forbidden.")


def test_a_403_with_another_trading_reason_is_rejected(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.set_price("SPY", Decimal("500"))
    alpaca_trading_stub.fail_next(403, {"code": 40310100, "message": "trade denied due to pattern day trading "
                                                                     "protection"}, path="/v2/orders")
    error = failure(lambda: alpaca.submit_order(order()))
    assert error.kind == F.REJECTED and error.message.startswith("trade denied due to pattern day trading")


def test_a_rate_limit_is_reported_at_once_with_its_body(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.fail_next(429, {"code": 42910000, "message": "rate limit exceeded"})
    started = time.perf_counter()
    error = failure(alpaca.account)
    assert (error.kind, error.message, error.status) == (F.RATE_LIMITED, "rate limit exceeded", 429)
    assert time.perf_counter() - started < 1 and len(alpaca_trading_stub.calls) == 1  # no SDK retry
    assert alpaca.account().cash == Decimal("10000")  # the next call goes through


@pytest.mark.parametrize(("status", "body", "message"), [
    (500, None, "internal server error occurred"),
    (503, None, "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"),
    (504, b"Gateway Timeout", "Gateway Timeout"),
])
def test_server_errors_are_unavailable_and_not_retried(alpaca, alpaca_trading_stub, status, body, message):
    alpaca_trading_stub.fail_next(status, body)
    error = failure(alpaca.positions)
    assert (error.kind, error.message, error.status) == (F.UNAVAILABLE, message, status)
    assert len(alpaca_trading_stub.calls) == 1


def test_an_outage_fails_every_call_until_it_heals(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.fail_always(500)
    for call in (alpaca.account, alpaca.positions, alpaca.cancel_open_orders, alpaca.close_all_positions,
                 lambda: alpaca.get_order("x"), lambda: alpaca.submit_order(order())):
        assert failure(call).kind == F.UNAVAILABLE
    alpaca_trading_stub.heal()
    assert alpaca.positions() == []


def test_no_answer_within_the_timeout_is_unavailable(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.slow_next(1.0)
    started = time.perf_counter()
    error = failure(alpaca.account)
    assert time.perf_counter() - started < 0.9  # gave up at the client's 0.5 s, not the server's answer
    assert (error.kind, error.message) == (F.UNAVAILABLE, "Alpaca gave no answer within 0.5 s")


def test_a_refused_connection_is_unavailable():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    broker = AlpacaBroker(key_id="k", secret="s", base_url=f"http://127.0.0.1:{port}", timeout=0.5)
    error = failure(broker.account)
    assert error.kind == F.UNAVAILABLE and "Connection refused" in error.message


def test_an_answer_that_is_not_json_is_malformed(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.fail_next(200, b'{"cash": "10000", "equity": ')
    error = failure(alpaca.account)
    assert error.kind == F.MALFORMED and "not JSON" in error.message


@pytest.mark.parametrize(("body", "words"), [
    ({"cash": "10000", "equity": "10000"}, "'buying_power' is None"),
    ({"cash": "ten", "equity": "10000", "buying_power": "10000"}, "'cash' is 'ten'"),
    ({"cash": "10000", "equity": "10000", "buying_power": "Infinity"}, "'buying_power' is 'Infinity'"),
    ({"cash": 10000.5, "equity": "1", "buying_power": "1"}, None),  # a JSON number is read exactly, as Decimal
    (["not", "an", "object"], "not a JSON object"),
])
def test_an_account_alpaca_does_not_document_is_malformed(alpaca, alpaca_trading_stub, body, words):
    alpaca_trading_stub.fail_next(200, body)
    if words is None:
        assert alpaca.account().cash == Decimal("10000.5")
        return
    error = failure(alpaca.account)
    assert error.kind == F.MALFORMED and words in error.message


def test_an_order_without_its_fields_is_malformed(alpaca, alpaca_trading_stub):
    alpaca_trading_stub.fail_next(200, {"id": "4b6c", "symbol": "SPY", "side": "buy", "qty": "1"}, path="/v2/orders")
    error = failure(lambda: alpaca.submit_order(order()))
    assert error.kind == F.MALFORMED and "order 4b6c from Alpaca has no 'client_order_id'" in error.message
