"""Alpaca's paper-trading API as a Broker, through alpaca-py's `TradingClient(paper=True, url_override=...)` pointed at
ALPACA_TRADING_URL.

Wire format (read from alpaca-py 0.44.0 and Alpaca's API reference): every request carries the headers APCA-API-KEY-ID
and APCA-API-SECRET-KEY. `POST /v2/orders` takes `{"symbol", "qty", "side", "type": "market", "time_in_force",
"client_order_id"}`; `GET /v2/orders:by_client_order_id?client_order_id=...` reads an order back; `GET /v2/account`,
`GET /v2/positions`; `DELETE /v2/positions?cancel_orders=True` and `DELETE /v2/orders` answer 207 with one result per
position (`{"symbol", "status", "body"}`: the closing order, or the error when that position was not closed) or per
order (`{"id", "status", "body"}`). Quantities and prices travel as strings ("0.1"). Errors are JSON
`{"code": 40310000, "message": "insufficient buying power"}`. Crypto pairs are spelled "BTC/USD" in orders and
"BTCUSD" in positions.

The SDK's client has no timeout and retries 429 and 504 three times, three seconds apart. Its HTTP session is replaced
by a `BrokerSession` (alpaca-py's one seam, its `_session` attribute): every request then has
PROVIDER_TIMEOUT_SECONDS, and every failure becomes a `BrokerError` before the SDK sees the status, so nothing is
retried behind the caller's back: a deployment decides. The client runs with `raw_data=True` and the session parses
bodies with Decimal numbers, so the SDK's pydantic models (which hold floats) are never built: every quantity and
price is a Decimal made once from Alpaca's text. For the same reason an order's quantity is written as text into the
request `MarketOrderRequest` builds, never as the float that model holds.

A submission is idempotent: the order carries NeoLight's `client_order_id`, and when Alpaca answers a resubmission
with 422 "client_order_id must be unique", the order it already has is read back and returned (after checking it is
the same order)."""
from __future__ import annotations

import json
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest
from django.conf import settings

from cohorts.providers.symbols import ALPACA_CRYPTO_QUOTES, SymbolError, is_crypto, neolight_symbol, provider_symbol
from cohorts.providers.wire import body_message, transport_reason
from promotions.brokers.base import (
    BrokerAccount,
    BrokerError,
    BrokerFailure,
    BrokerOrder,
    BrokerPosition,
    OrderRequest,
    order_label,
)

log = logging.getLogger(__name__)

DUPLICATE_CLIENT_ORDER_ID = "client_order_id must be unique"
FUNDS_WORDS = ("buying power", "insufficient balance")  # Alpaca's 403 when the account cannot pay for the order
AUTH_WORDS = ("unauthorized", "forbidden", "not authorized", "not authenticated")


class BrokerSession(requests.Session):
    """A session whose every request has `timeout` (connect and read, in seconds) and ends in either a 2xx response
    whose `json()` is the body parsed with Decimal numbers, or a `BrokerError` carrying Alpaca's own message."""

    def __init__(self, *, timeout: float):
        super().__init__()
        self.timeout = timeout

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.Timeout as exc:  # before ConnectionError: ConnectTimeout is both
            message = f"Alpaca gave no answer within {self.timeout:g} s"
            if method.upper() == "POST":  # Alpaca may have placed it: the same client order id finds it again
                message += " (the order may have been placed: resubmit it with the same client order id)"
            raise BrokerError(BrokerFailure.UNAVAILABLE, message) from exc
        except requests.RequestException as exc:
            raise BrokerError(BrokerFailure.UNAVAILABLE, f"Alpaca could not be reached ({transport_reason(exc)})") from exc
        if not 200 <= response.status_code < 300:
            raise status_error(response.status_code, response.text, retry_after=response.headers.get("Retry-After"))
        if response.text:
            payload = decimal_json(response.text)
            response.json = lambda **_: payload  # what the SDK calls; the body is parsed once, with Decimal
        return response


def status_error(status: int, text: str, *, retry_after: str | None = None) -> BrokerError:
    """The BrokerError an HTTP error status and body mean, with Alpaca's own message."""
    body = _json_or_none(text)
    message = body_message(text, ("message",))
    lowered = message.lower()
    if status == 401:
        kind = BrokerFailure.AUTH
    elif status == 403:
        if any(words in lowered for words in FUNDS_WORDS):
            kind = BrokerFailure.INSUFFICIENT_FUNDS
        elif any(words in lowered for words in AUTH_WORDS) or not (isinstance(body, dict) and body.get("code")):
            kind = BrokerFailure.AUTH  # the keys, not the order: Alpaca gives trading refusals a code
        else:
            kind = BrokerFailure.REJECTED  # e.g. "insufficient qty available for order", pattern day trading
    elif status == 404:
        kind = BrokerFailure.NOT_FOUND
    elif status in (400, 422):
        kind = BrokerFailure.REJECTED
    elif status == 429:
        kind = BrokerFailure.RATE_LIMITED
        if retry_after:
            message = f"{message} (retry after {retry_after} s)"
    else:  # 5xx and anything Alpaca does not document
        kind = BrokerFailure.UNAVAILABLE
    return BrokerError(kind, message, status=status)


def decimal_json(text: str) -> Any:
    """A body parsed with every JSON number with a fraction as Decimal; text that is not JSON is MALFORMED."""
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        snippet = " ".join(text.split())[:80]
        raise BrokerError(BrokerFailure.MALFORMED, f"Alpaca's answer is not JSON: {snippet!r}") from exc


def trading_symbol(symbol: str) -> str:
    """NeoLight's symbol as Alpaca's orders spell it (BTC-USD → BTC/USD, SPY → SPY); REJECTED when it has none."""
    try:
        return provider_symbol("alpaca", symbol)
    except SymbolError as exc:
        raise BrokerError(BrokerFailure.REJECTED, exc.message) from exc


def symbol_from_alpaca(spelling: str, asset_class: str | None = None) -> str:
    """Alpaca's spelling as NeoLight's symbol: "BTC/USD" (orders) or "BTCUSD" (positions, asset class crypto) →
    "BTC-USD". A spelling NeoLight cannot read stays as Alpaca wrote it, so a reconciliation sees a stranger."""
    if asset_class == "crypto" and "/" not in spelling:
        for quote in sorted(ALPACA_CRYPTO_QUOTES, key=len, reverse=True):
            if spelling.endswith(quote) and len(spelling) > len(quote):
                spelling = f"{spelling.removesuffix(quote)}/{quote}"
                break
    try:
        return neolight_symbol("alpaca", spelling)
    except SymbolError:
        log.warning("Alpaca reports %r, which is not a NeoLight symbol", spelling)
        return spelling


class AlpacaBroker:
    """One Alpaca paper-trading account. Every method raises BrokerError on failure, with Alpaca's message."""

    name = "alpaca"
    mode = "PAPER"  # the endpoint is Alpaca's paper API (or a stand-in); a LIVE order is refused

    def __init__(self, *, key_id: str, secret: str, base_url: str | None = None, timeout: float | None = None):
        self.base_url = (base_url or settings.ALPACA_TRADING_URL).rstrip("/")
        self.timeout = float(settings.PROVIDER_TIMEOUT_SECONDS if timeout is None else timeout)
        self._client = TradingClient(api_key=key_id, secret_key=secret, paper=True, raw_data=True,
                                     url_override=self.base_url)
        self._client._session = BrokerSession(timeout=self.timeout)

    def submit_order(self, order: OrderRequest) -> BrokerOrder:
        """Send a market order (DAY for stocks, GTC for crypto). Resubmitting the same `client_order_id` returns the
        order Alpaca already has instead of placing a second one."""
        fields = self._order_fields(order)
        log.info("%s %s %s to Alpaca (client order id %s)", order.label, fields["qty"], order.symbol,
                 order.client_order_id)
        try:
            record = self._call(self._client.post, "/orders", fields)
        except BrokerError as exc:
            if exc.status != 422 or DUPLICATE_CLIENT_ORDER_ID not in exc.message:
                log.warning("%s %s %s refused by Alpaca: %s", order.label, fields["qty"], order.symbol, exc)
                raise
            return self._resubmitted(order)
        placed = self._order(record)
        log.info("%s %s %s at Alpaca: %s, filled %s at %s", order.label, placed.qty, order.symbol, placed.status,
                 placed.filled_qty, placed.filled_avg_price)
        return placed

    def get_order(self, client_order_id: str) -> BrokerOrder:
        """The order with NeoLight's `client_order_id`, as Alpaca has it now; NOT_FOUND when Alpaca has none."""
        return self._order(self._call(self._client.get_order_by_client_id, client_order_id))

    def account(self) -> BrokerAccount:
        record = self._record(self._call(self._client.get_account), "the account")
        return BrokerAccount(cash=_decimal(record, "cash", "the account"),
                             equity=_decimal(record, "equity", "the account"),
                             buying_power=_decimal(record, "buying_power", "the account"))

    def positions(self) -> list[BrokerPosition]:
        """Every open position; a short one has a negative quantity."""
        return [self._position(record) for record in self._list(self._call(self._client.get_all_positions),
                                                                "the positions")]

    def close_all_positions(self) -> list[BrokerOrder]:
        """Cancel every open order and send a market order closing each position; the closing orders. When Alpaca
        refuses to close any position, BrokerError names each refusal (the others are closed all the same)."""
        results = self._list(self._call(self._client.close_all_positions, True), "the closed positions")
        closing, refusals = [], []
        for result in results:
            result = self._record(result, "a closed position")
            if _status(result) == 200:
                order = self._order(result.get("body"))
                log.info("%s %s %s at Alpaca: closing the position (%s)", order_label(self.mode, order.side),
                         order.qty, order.symbol, order.status)
                closing.append(order)
            else:
                refusals.append((str(result.get("symbol")), self._refusal(result)))  # Alpaca's spelling
        if refusals:
            kind = refusals[0][1].kind
            said = "; ".join(f"{symbol}: {error.message}" for symbol, error in refusals)
            log.warning("%s: Alpaca did not close every position: %s", self.mode, said)
            raise BrokerError(kind, f"positions not closed: {said}", status=refusals[0][1].status)
        return closing

    def cancel_open_orders(self) -> int:
        """Cancel every open order; how many were cancelled. An order Alpaca can no longer cancel (filled
        meanwhile) is logged, not raised: nothing of it is left open."""
        results = self._list(self._call(self._client.cancel_orders), "the cancelled orders")
        cancelled = 0
        for result in results:
            result = self._record(result, "a cancelled order")
            if 200 <= _status(result) < 300:
                cancelled += 1
            else:
                log.warning("%s: Alpaca did not cancel order %s: %s", self.mode, result.get("id"),
                            self._refusal(result).message)
        log.info("%s: cancelled %d open order(s) at Alpaca", self.mode, cancelled)
        return cancelled

    # --- requests -----------------------------------------------------------------------------------------
    def _order_fields(self, order: OrderRequest) -> dict[str, Any]:
        """The JSON of a market order, refused (REJECTED, nothing sent) when it cannot be a valid one."""
        if order.mode.upper() != self.mode:
            raise BrokerError(BrokerFailure.REJECTED, f"a {order.mode.upper()} order cannot go to Alpaca's paper "
                                                      "account")
        if not isinstance(order.qty, Decimal) or not order.qty.is_finite() or order.qty <= 0:
            raise BrokerError(BrokerFailure.REJECTED, f"the quantity must be a positive Decimal, not {order.qty!r}")
        try:
            side = OrderSide(order.side.lower())
        except ValueError as exc:
            raise BrokerError(BrokerFailure.REJECTED, f"the side must be buy or sell, not {order.side!r}") from exc
        if not order.client_order_id or len(order.client_order_id) > 128:  # Alpaca's limit
            raise BrokerError(BrokerFailure.REJECTED, "the client order id must have 1 to 128 characters")
        request = MarketOrderRequest(symbol=trading_symbol(order.symbol), qty=order.qty, side=side,
                                     time_in_force=TimeInForce.GTC if is_crypto(order.symbol) else TimeInForce.DAY,
                                     client_order_id=order.client_order_id)
        fields = request.to_request_fields()
        fields["qty"] = format(order.qty, "f")  # the digits themselves, not the float the request model holds
        return fields

    def _resubmitted(self, order: OrderRequest) -> BrokerOrder:
        """The order Alpaca already has under `order.client_order_id`, when it is this order."""
        existing = self.get_order(order.client_order_id)
        same = (existing.symbol, existing.side, existing.qty) == (order.symbol, order.side.lower(), order.qty)
        if not same:
            raise BrokerError(BrokerFailure.REJECTED, f"client order id {order.client_order_id} is already used by "
                                                      f"{existing.side} {existing.qty} {existing.symbol}", status=422)
        log.info("%s %s %s was already at Alpaca (client order id %s): %s", order.label, order.qty, order.symbol,
                 order.client_order_id, existing.status)
        return existing

    def _call(self, method, *args):
        """One SDK call: the session raises BrokerError first; what the SDK itself raises is mapped too."""
        try:
            return method(*args)
        except BrokerError:
            raise
        except APIError as exc:  # not reached while the session raises first; kept for a changed SDK
            raise status_error(exc.status_code or 0, str(exc)) from exc
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BrokerError(BrokerFailure.MALFORMED, f"unexpected answer from Alpaca ({exc})") from exc

    # --- answers ------------------------------------------------------------------------------------------
    def _order(self, record: Any) -> BrokerOrder:
        record = self._record(record, "an order")
        what = f"order {record.get('id')}"
        filled_price = record.get("filled_avg_price")
        return BrokerOrder(
            client_order_id=_text(record, "client_order_id", what),
            broker_order_id=_text(record, "id", what),
            symbol=symbol_from_alpaca(_text(record, "symbol", what), record.get("asset_class")),
            side=_text(record, "side", what),
            qty=_decimal(record, "qty", what),
            filled_qty=_decimal(record, "filled_qty", what),
            filled_avg_price=None if filled_price is None else _decimal(record, "filled_avg_price", what),
            status=_text(record, "status", what),
        )

    def _position(self, record: Any) -> BrokerPosition:
        record = self._record(record, "a position")
        what = f"the position in {record.get('symbol')}"
        qty = _decimal(record, "qty", what)
        if record.get("side") == "short" and qty > 0:  # Alpaca signs short quantities; kept signed either way
            qty = -qty
        return BrokerPosition(symbol=symbol_from_alpaca(_text(record, "symbol", what), record.get("asset_class")),
                              qty=qty, avg_entry_price=_decimal(record, "avg_entry_price", what))

    @staticmethod
    def _refusal(result: dict) -> BrokerError:
        body = result.get("body")
        return status_error(_status(result), json.dumps(body, default=str) if body is not None else "")

    @staticmethod
    def _record(value: Any, what: str) -> dict:
        if not isinstance(value, dict):
            raise BrokerError(BrokerFailure.MALFORMED, f"{what} from Alpaca is not a JSON object: {value!r:.80}")
        return value

    @staticmethod
    def _list(value: Any, what: str) -> list:
        if value is None:  # an empty body: nothing to report
            return []
        if not isinstance(value, list):
            raise BrokerError(BrokerFailure.MALFORMED, f"{what} from Alpaca are not a JSON list: {value!r:.80}")
        return value


def _text(record: dict, key: str, what: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise BrokerError(BrokerFailure.MALFORMED, f"{what} from Alpaca has no '{key}'")
    return value


def _decimal(record: dict, key: str, what: str) -> Decimal:
    """`record[key]` as a Decimal made once from Alpaca's text (or a JSON number already read as Decimal)."""
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):  # never a float: digits would be lost
        raise BrokerError(BrokerFailure.MALFORMED, f"{what} from Alpaca: '{key}' is {value!r}, not a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(value)
    except InvalidOperation as exc:
        raise BrokerError(BrokerFailure.MALFORMED, f"{what} from Alpaca: '{key}' is {value!r}, not a number") from exc
    if not number.is_finite():
        raise BrokerError(BrokerFailure.MALFORMED, f"{what} from Alpaca: '{key}' is {value!r}, not a number")
    return number


def _status(result: dict) -> int:
    status = result.get("status")
    return status if isinstance(status, int) and not isinstance(status, bool) else 0


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
