"""A stand-in for Alpaca's paper-trading API on 127.0.0.1 (an ephemeral port, a thread), speaking its wire format:
the subset NeoLight's AlpacaBroker (alpaca-py's TradingClient) uses.

    GET    /v2/account                                   cash, equity, buying_power (a cash account: = cash), ...
    POST   /v2/orders                                    market orders; filled at once at the symbol's set price
    GET    /v2/orders?status=open|closed|all&limit=N     newest first
    GET    /v2/orders/{id}
    GET    /v2/orders:by_client_order_id?client_order_id=...
    DELETE /v2/orders                                    207: [{"id", "status": 200, "body": order}] per open order
    GET    /v2/positions                                 crypto spelled "BTCUSD" here, "BTC/USD" in orders
    DELETE /v2/positions[?cancel_orders=true]            207: [{"symbol", "status", "body"}] per position

Every request needs the headers APCA-API-KEY-ID and APCA-API-SECRET-KEY (else 401 {"message": "unauthorized."}).
Refusals are Alpaca's: 403 {"code": 40310000, "message": "insufficient buying power"} for a buy the cash cannot
pay; 403 "insufficient qty available for order (...)" for a sell beyond the position (no shorting); 422 with code
40010001 for an invalid order (a duplicate client_order_id: "client_order_id must be unique"; an unknown asset;
a crypto order that is not GTC/IOC; a fractional stock order that is not DAY); 404 {"code": 40410000, "message":
"order not found"}. Quantities and prices are strings in every answer, written from Decimal digit for digit.

Use (or `alpaca_trading_account(settings)` below, as the fixture `alpaca_trading_stub` of
tests/promotions/brokers/conftest.py does, which also points the settings at it and stores its keys):

    with AlpacaTradingStub(cash=Decimal("10000")) as stub:
        stub.set_price("BTC/USD", Decimal("43000.5"))     # or NeoLight's "BTC-USD"; a test may drop it later
        stub.set_position("SPY", Decimal("3"), Decimal("500"))
        broker = AlpacaBroker(key_id=stub.key_id, secret=stub.secret, base_url=stub.url)

    stub.hold_orders = True              # market orders stay open ("accepted"), as when the market is closed
    stub.fail_next(503, body, times=1, path="/v2/orders", method="POST")   # next matching requests fail
    stub.fail_always(500)                # every request fails until heal()
    stub.slow_next(1.0, times=1)         # the next requests are carried out, answered only after 1 s
    stub.refuse_close("BTC/USD", 403, body)   # DELETE /v2/positions does not close this one
    stub.calls                           # every request received: Call(method, path, query, headers, body)
    stub.heal()                          # drop pending and permanent faults and slowness

A fault's body is a JSON-able value (Decimal written as its digits) or bytes sent as they are; without one, the
status's usual Alpaca body."""
from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer
from tests.providers.stubs import Answer, rfc3339, to_json

INVALID = 40010001
FORBIDDEN = 40310000
NOT_FOUND = 40410000
DEFAULT_BODIES = {
    401: {"message": "unauthorized."},
    403: {"message": "forbidden."},
    404: {"code": NOT_FOUND, "message": "order not found"},
    422: {"code": INVALID, "message": "invalid order"},
    429: {"code": 42910000, "message": "rate limit exceeded"},
    500: {"code": 50010000, "message": "internal server error occurred"},
    503: b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
}
OPEN = ("new", "accepted", "pending_new", "partially_filled")


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]  # the last value of each parameter
    headers: dict[str, str]
    body: Any  # the JSON body parsed with Decimal numbers, or None


@dataclass(frozen=True)
class Fault:
    status: int
    body: Any
    path: str | None
    method: str | None

    def matches(self, call: Call) -> bool:
        return (self.path is None or call.path == self.path) and (self.method is None or call.method == self.method)


def alpaca_spelling(symbol: str) -> str:
    """'BTC-USD' (NeoLight) or 'BTC/USD' → 'BTC/USD'; a ticker stays as it is."""
    return symbol.replace("-", "/")


def position_spelling(spelling: str) -> str:
    return spelling.replace("/", "")  # Alpaca's positions write crypto pairs without the slash


def text(number: Decimal) -> str:
    return format(number, "f")


class AlpacaTradingStub(LoopbackServer):
    """Alpaca's paper-trading API with one account: a cash balance, positions and orders it keeps."""

    name = "alpaca-trading-stub"
    methods = ("GET", "POST", "DELETE")

    def __init__(self, *, key_id: str = "stub-trading-key", secret: str = "stub-trading-secret",
                 cash: Decimal = Decimal("100000")):
        self.key_id, self.secret = key_id, secret
        self.cash = Decimal(cash)
        self.prices: dict[str, Decimal] = {}  # Alpaca's order spelling → the price a market order fills at
        self.holdings: dict[str, tuple[Decimal, Decimal]] = {}  # order spelling → (signed qty, average entry price)
        self.orders: list[dict] = []  # oldest first
        self.hold_orders = False
        self.calls: list[Call] = []
        self._faults: deque[Fault] = deque()
        self._always: Fault | None = None
        self._slow: deque[float] = deque()
        self._close_refusals: dict[str, tuple[int, Any]] = {}
        self._lock = threading.RLock()
        super().__init__()

    # --- the account --------------------------------------------------------------------------------------
    def set_price(self, symbol: str, price: Decimal | str) -> None:
        """The price market orders in `symbol` fill at from now on (and positions are valued at)."""
        with self._lock:
            self.prices[alpaca_spelling(symbol)] = Decimal(price)

    def set_position(self, symbol: str, qty: Decimal | str, avg_entry_price: Decimal | str) -> None:
        """A position held already (its cost is not taken from the cash); qty 0 removes it."""
        with self._lock:
            spelling = alpaca_spelling(symbol)
            if Decimal(qty) == 0:
                self.holdings.pop(spelling, None)
            else:
                self.holdings[spelling] = (Decimal(qty), Decimal(avg_entry_price))

    def position_qty(self, symbol: str) -> Decimal:
        with self._lock:
            return self.holdings.get(alpaca_spelling(symbol), (Decimal(0), Decimal(0)))[0]

    def equity(self) -> Decimal:
        with self._lock:
            return self.cash + sum((qty * self._price_or(spelling, entry) for spelling, (qty, entry)
                                    in self.holdings.items()), Decimal(0))

    def open_orders(self) -> list[dict]:
        with self._lock:
            return [order for order in self.orders if order["status"] in OPEN]

    # --- faults -------------------------------------------------------------------------------------------
    def fail_next(self, status: int, body: Any = None, *, times: int = 1, path: str | None = None,
                  method: str | None = None) -> None:
        """The next `times` requests (matching `path` and `method` when given) are answered `status` and `body`,
        and not carried out."""
        with self._lock:
            self._faults.extend([Fault(status, body, path, method)] * times)

    def fail_always(self, status: int, body: Any = None) -> None:
        with self._lock:
            self._always = Fault(status, body, None, None)

    def slow_next(self, seconds: float = 1.0, *, times: int = 1) -> None:
        """The next `times` requests are carried out, then answered only after `seconds` (a client's timeout)."""
        with self._lock:
            self._slow.extend([seconds] * times)

    def refuse_close(self, symbol: str, status: int = 403, body: Any = None) -> None:
        """DELETE /v2/positions reports this position as not closed, with `status` and `body`."""
        with self._lock:
            self._close_refusals[alpaca_spelling(symbol)] = (status, body or {"code": FORBIDDEN, "message":
                                                                              "position is not closable"})

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()
            self._always = None
            self._slow.clear()
            self._close_refusals.clear()

    def calls_to(self, method: str, path: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if (call.method, call.path) == (method, path)]

    # --- serving ------------------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw, parse_float=Decimal) if raw else None
        except ValueError:
            body = raw
        call = Call(handler.command, parts.path, query, dict(handler.headers.items()), body)
        with self._lock:
            self.calls.append(call)
            fault = self._take_fault(call)
            delay = self._slow.popleft() if self._slow else 0.0
            if fault is not None:
                answer = Answer(fault.status, fault.body if fault.body is not None else DEFAULT_BODIES.get(
                    fault.status, {"message": f"HTTP {fault.status}"}))
            elif (call.headers.get("APCA-API-KEY-ID"), call.headers.get("APCA-API-SECRET-KEY")) != (self.key_id,
                                                                                                    self.secret):
                answer = Answer(401, {"message": "unauthorized."})
            else:
                answer = self._route(call)
        if delay:
            self._stopping.wait(delay)
        self._send(handler, answer)

    def _take_fault(self, call: Call) -> Fault | None:
        for fault in self._faults:
            if fault.matches(call):
                self._faults.remove(fault)
                return fault
        return self._always

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        body = answer.body if isinstance(answer.body, bytes) else to_json(answer.body).encode()
        try:
            handler.send_response(answer.status)
            is_json = not isinstance(answer.body, bytes)
            handler.send_header("Content-Type", "application/json; charset=UTF-8" if is_json else "text/html")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            handler.close_connection = True

    def _route(self, call: Call) -> Answer:
        route = (call.method, call.path)
        if route == ("GET", "/v2/account"):
            return Answer(200, self._account())
        if route == ("POST", "/v2/orders"):
            return self._submit(call.body)
        if route == ("GET", "/v2/orders"):
            return self._list_orders(call.query)
        if route == ("DELETE", "/v2/orders"):
            return Answer(207, [{"id": order["id"], "status": 200, "body": self._cancel(order)}
                                for order in self.open_orders()])
        if route == ("GET", "/v2/orders:by_client_order_id"):
            return self._found(lambda order: order["client_order_id"] == call.query.get("client_order_id"))
        if call.method == "GET" and call.path.startswith("/v2/orders/"):
            return self._found(lambda order: order["id"] == call.path.removeprefix("/v2/orders/"))
        if route == ("GET", "/v2/positions"):
            return Answer(200, [self._position(spelling) for spelling in sorted(self.holdings)])
        if route == ("DELETE", "/v2/positions"):
            return self._close_all(call.query.get("cancel_orders", "").lower() == "true")
        return Answer(404, {"message": "Not Found"})

    # --- orders -------------------------------------------------------------------------------------------
    def _submit(self, body: Any) -> Answer:
        if not isinstance(body, dict):
            return _invalid("request body format is invalid")
        spelling, side, tif = body.get("symbol"), body.get("side"), body.get("time_in_force")
        coid = body.get("client_order_id") or str(uuid.uuid4())
        if any(order["client_order_id"] == coid for order in self.orders):
            return _invalid("client_order_id must be unique")
        qty = _quantity(body.get("qty"))
        if qty is None:
            return _invalid("qty must be > 0")
        if side not in ("buy", "sell") or body.get("type") != "market":
            return _invalid(f"invalid side or order type: {side} {body.get('type')}")
        if spelling not in self.prices:
            return _invalid(f'asset "{spelling}" not found')
        crypto = "/" in spelling
        if crypto and tif not in ("gtc", "ioc"):
            return _invalid("invalid crypto time_in_force")
        if not crypto and qty != qty.to_integral_value() and tif != "day":
            return _invalid("fractional orders must be DAY orders")
        price = self.prices[spelling]
        if side == "buy" and qty * price > self.cash:
            return Answer(403, {"code": FORBIDDEN, "message": "insufficient buying power"})
        available = self._available(spelling)
        if side == "sell" and qty > available:
            return Answer(403, {"code": FORBIDDEN, "message": f"insufficient qty available for order (requested: "
                                                              f"{text(qty)}, available: {text(available)})",
                                "symbol": position_spelling(spelling)})
        order = self._new_order(spelling, side, qty, tif, coid)
        return Answer(200, order)

    def _new_order(self, spelling: str, side: str, qty: Decimal, tif: str, coid: str) -> dict:
        now = rfc3339(datetime.now(UTC))
        order = {"id": str(uuid.uuid4()), "client_order_id": coid, "created_at": now, "updated_at": now,
                 "submitted_at": now, "filled_at": None, "expired_at": None, "canceled_at": None, "failed_at": None,
                 "replaced_at": None, "replaced_by": None, "replaces": None, "asset_id": str(uuid.uuid5(
                     uuid.NAMESPACE_DNS, spelling)), "symbol": spelling,
                 "asset_class": "crypto" if "/" in spelling else "us_equity", "notional": None, "qty": text(qty),
                 "filled_qty": "0", "filled_avg_price": None, "order_class": "", "order_type": "market",
                 "type": "market", "side": side, "position_intent": f"{side}_to_{'open' if side == 'buy' else 'close'}",
                 "time_in_force": tif, "limit_price": None, "stop_price": None, "status": "accepted",
                 "extended_hours": False, "legs": None, "trail_percent": None, "trail_price": None, "hwm": None,
                 "subtag": None, "source": None}
        self.orders.append(order)
        if not self.hold_orders:
            self._fill(order)
        return order

    def _fill(self, order: dict) -> None:
        spelling, qty = order["symbol"], Decimal(order["qty"])
        price = self.prices[spelling]
        held, entry = self.holdings.get(spelling, (Decimal(0), Decimal(0)))
        signed = qty if order["side"] == "buy" else -qty
        self.cash -= signed * price
        after = held + signed
        if held == 0 or (held > 0) == (signed > 0):  # opening or adding: the average entry moves
            entry = (held * entry + signed * price) / after
        elif (after > 0) != (held > 0):  # through zero: what is left was opened at this price
            entry = price
        if after == 0:
            self.holdings.pop(spelling, None)
        else:
            self.holdings[spelling] = (after, entry)
        order.update(status="filled", filled_qty=text(qty), filled_avg_price=text(price),
                     filled_at=rfc3339(datetime.now(UTC)), updated_at=rfc3339(datetime.now(UTC)))

    def _cancel(self, order: dict) -> dict:
        now = rfc3339(datetime.now(UTC))
        order.update(status="canceled", canceled_at=now, updated_at=now)
        return order

    def _available(self, spelling: str) -> Decimal:
        """The position's quantity not held for open sell orders."""
        held = self.holdings.get(spelling, (Decimal(0), Decimal(0)))[0]
        selling = sum((Decimal(order["qty"]) for order in self.open_orders()
                       if order["symbol"] == spelling and order["side"] == "sell"), Decimal(0))
        return held - selling

    def _list_orders(self, query: dict[str, str]) -> Answer:
        status = query.get("status", "open")
        orders = [order for order in reversed(self.orders)
                  if status == "all" or (order["status"] in OPEN) == (status == "open")]
        return Answer(200, orders[:int(query.get("limit") or 50)])

    def _found(self, wanted) -> Answer:
        for order in self.orders:
            if wanted(order):
                return Answer(200, order)
        return Answer(404, {"code": NOT_FOUND, "message": "order not found"})

    # --- positions ----------------------------------------------------------------------------------------
    def _position(self, spelling: str) -> dict:
        qty, entry = self.holdings[spelling]
        price = self._price_or(spelling, entry)
        cost, value = qty * entry, qty * price
        crypto = "/" in spelling
        return {"asset_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, spelling)), "symbol": position_spelling(spelling),
                "exchange": "CRYPTO" if crypto else "ARCA", "asset_class": "crypto" if crypto else "us_equity",
                "asset_marginable": not crypto, "qty": text(qty), "qty_available": text(self._available(spelling)),
                "avg_entry_price": text(entry), "side": "long" if qty > 0 else "short", "market_value": text(value),
                "cost_basis": text(cost), "unrealized_pl": text(value - cost),
                "unrealized_plpc": text((value - cost) / cost) if cost else "0", "unrealized_intraday_pl":
                    text(value - cost), "unrealized_intraday_plpc": text((value - cost) / cost) if cost else "0",
                "current_price": text(price), "lastday_price": text(price), "change_today": "0"}

    def _close_all(self, cancel_orders: bool) -> Answer:
        if cancel_orders:
            for order in self.open_orders():
                self._cancel(order)
        results = []
        for spelling in sorted(self.holdings):
            qty = self.holdings[spelling][0]
            refusal = self._close_refusals.get(spelling)
            available = self._available(spelling)
            if refusal is None and abs(qty) > abs(available):
                refusal = (403, {"code": FORBIDDEN, "message": f"insufficient qty available for order (requested: "
                                                               f"{text(abs(qty))}, available: {text(available)})"})
            if refusal is not None:
                results.append({"symbol": position_spelling(spelling), "status": refusal[0], "body": refusal[1]})
                continue
            tif = "gtc" if "/" in spelling else "day"
            order = self._new_order(spelling, "sell" if qty > 0 else "buy", abs(qty), tif, str(uuid.uuid4()))
            results.append({"symbol": position_spelling(spelling), "status": 200, "body": order})
        return Answer(207, results)

    def _account(self) -> dict:
        equity = self.equity()
        long_value = sum((qty * self._price_or(s, e) for s, (qty, e) in self.holdings.items() if qty > 0),
                         Decimal(0))
        return {"id": "3f2c9a4e-0b51-4d2a-9b6e-5d1f0c7a8e21", "account_number": "PA3STUB00001", "status": "ACTIVE",
                "crypto_status": "ACTIVE", "currency": "USD", "buying_power": text(self.cash),
                "regt_buying_power": text(self.cash), "daytrading_buying_power": "0",
                "non_marginable_buying_power": text(self.cash), "cash": text(self.cash),
                "portfolio_value": text(equity), "equity": text(equity), "last_equity": text(equity),
                "long_market_value": text(long_value), "short_market_value": "0", "initial_margin": "0",
                "maintenance_margin": "0", "multiplier": "1", "pattern_day_trader": False, "trading_blocked": False,
                "transfers_blocked": False, "account_blocked": False, "shorting_enabled": False,
                "trade_suspended_by_user": False, "daytrade_count": 0, "sma": "0",
                "created_at": "2026-01-02T14:30:00.000000Z"}

    def _price_or(self, spelling: str, fallback: Decimal) -> Decimal:
        return self.prices.get(spelling, fallback)


def _invalid(message: str) -> Answer:
    return Answer(422, {"code": INVALID, "message": message})


def _quantity(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    try:
        qty = Decimal(value)
    except InvalidOperation:
        return None
    return qty if qty.is_finite() and qty > 0 else None


@contextmanager
def alpaca_trading_account(settings, *, timeout: float = 0.5, **kwargs) -> Iterator[AlpacaTradingStub]:
    """A running stub that `broker_for("alpaca", mode="PAPER")` reaches: ALPACA_TRADING_URL points at it, its keys are
    Alpaca's stored ProviderCredential, and calls time out after `timeout` seconds. `settings` is pytest-django's
    fixture; the database must be open (`db`). `kwargs` go to AlpacaTradingStub (e.g. `cash=Decimal("500")`).
    Without FIELD_ENCRYPTION_KEYS (PostgreSQL or Redis mode refuses to encrypt then) a fresh key is configured."""
    from cryptography.fernet import Fernet

    from cohorts.models import ProviderCredential

    with AlpacaTradingStub(**kwargs) as stub:
        if not settings.FIELD_ENCRYPTION_KEYS:
            settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
        settings.ALPACA_TRADING_URL = stub.url
        settings.PROVIDER_TIMEOUT_SECONDS = timeout
        ProviderCredential.objects.update_or_create(provider="alpaca", defaults={
            "key_id": stub.key_id, "secret": stub.secret, "enabled": True})
        yield stub
