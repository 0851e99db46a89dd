"""Stand-in HTTP servers for Alpaca, Finnhub and Twelve Data, on 127.0.0.1 (an ephemeral port) in a thread.

Each speaks its provider's documented wire format: the paths, the auth header or parameter (a wrong or missing
key gets that provider's real 401 answer), the JSON fields, Alpaca's `next_page_token` pagination, and the
providers' inclusive range ends (an adapter must drop the bar at `end` itself). Data is given in NeoLight's
symbols and the stub reads the provider's spelling back with `cohorts.providers.symbols`; tests that check the
spelling read `stub.requests`.

Use:

    with AlpacaStub() as stub:                       # or the fixtures alpaca_stub, finnhub_stub, twelvedata_stub
        stub.set_quote("SPY", "512.34", ts=..., bid="512.30", ask="512.38")
        stub.set_bars("SPY", [StubBar(ts, "1.5", "1.7", "1.4", "1.6", "100"), ...])   # prices as text
        provider = AlpacaProvider(credentials=stub.credentials, base_url=stub.url, timeout=0.3)

Faults, for the next requests of any path (a request takes the oldest pending fault first):

    stub.fail_next(kind, times=1, retry_after=None)   # the next `times` requests fail with `kind`
    stub.fail_always(kind, retry_after=None)          # every request fails with `kind` until heal()
    stub.heal()                                       # drop every pending and permanent fault
    stub.calls                                        # requests received so far (failed ones too)
    stub.requests                                     # each one: Recorded(method, path, query, headers)
    stub.reset()                                      # heal(), and forget data, calls and requests

Kinds (the `Fault` constants, plain strings):

    "server_error"  HTTP 500 with a plain body                        -> FailureKind.UNAVAILABLE
    "timeout"       answers only after `stub.delay` seconds (1.0; set it above the client's timeout)
                                                                      -> FailureKind.TIMEOUT
    "rate_limited"  the provider's 429 answer (Twelve Data: HTTP 200, code 429), with a Retry-After header when
                    `retry_after` is given                            -> FailureKind.RATE_LIMITED
    "auth"          the provider's answer to a wrong key               -> FailureKind.AUTH
    "malformed"     HTTP 200 with a body that is not JSON              -> FailureKind.BAD_DATA
    "empty"         the provider's answer for no data: no bars, and for a quote no snapshot (Alpaca), an
                    all-zero quote (Finnhub), "symbol not found" (Twelve Data)
    "zero_quote"    a quote whose prices are all zero                  -> FailureKind.BAD_DATA
    "disconnect"    the connection is closed without an answer         -> FailureKind.UNAVAILABLE
"""
from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from cohorts.providers.base import Credentials
from cohorts.providers.symbols import SymbolError, neolight_symbol
from tests.loopback import LoopbackServer


class Fault:
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    AUTH = "auth"
    MALFORMED = "malformed"
    EMPTY = "empty"
    ZERO_QUOTE = "zero_quote"
    DISCONNECT = "disconnect"
    ALL = (SERVER_ERROR, TIMEOUT, RATE_LIMITED, AUTH, MALFORMED, EMPTY, ZERO_QUOTE, DISCONNECT)


@dataclass(frozen=True)
class StubBar:
    """One 1-minute bar as the stub serves it; prices and volume as text (or Decimal), written digit for digit."""

    ts: datetime
    open: str | Decimal
    high: str | Decimal
    low: str | Decimal
    close: str | Decimal
    volume: str | Decimal


@dataclass(frozen=True)
class StubQuote:
    price: str | Decimal | None
    ts: datetime
    bid: str | Decimal | None = None
    ask: str | Decimal | None = None


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]  # the last value of each parameter
    headers: dict[str, str]


@dataclass
class Answer:
    status: int
    body: Any  # a JSON-able value (Decimal written as its digits), or bytes sent as they are
    headers: dict[str, str] = field(default_factory=dict)


class Raw(str):
    """A JSON number's text, written without quotes."""


def to_json(value: Any) -> str:
    """JSON text with Decimal and Raw written as bare numbers, digit for digit (json.dumps would need a float)."""
    if isinstance(value, Decimal | Raw):
        return str(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    return json.dumps(value)


def number(text: str | Decimal) -> Raw:
    return Raw(str(Decimal(str(text))))


class ProviderStub(LoopbackServer):
    """The server, data, faults and request log every provider's stand-in shares; subclasses answer requests."""

    provider = ""
    delay = 1.0  # seconds a "timeout" fault waits before answering

    def __init__(self, *, key_id: str = "stub-key", secret: str = "stub-secret"):
        self.key_id, self.secret = key_id, secret
        self.quotes: dict[str, StubQuote] = {}
        self.bar_data: dict[str, list[StubBar]] = {}
        self.requests: list[Recorded] = []
        self._faults: deque[tuple[str, float | None]] = deque()
        self._always: tuple[str, float | None] | None = None
        self._lock = threading.Lock()
        super().__init__()
        self.name = f"{self.provider}-stub"


    @property
    def credentials(self) -> Credentials:
        return Credentials(key_id=self.key_id, secret=self.secret)

    # --- data ---------------------------------------------------------------------------------------------
    def set_quote(self, symbol: str, price: str | Decimal | None, *, ts: datetime, bid: str | Decimal | None = None,
                  ask: str | Decimal | None = None) -> None:
        """The latest quote of `symbol` (NeoLight's spelling)."""
        self.quotes[symbol] = StubQuote(price=price, ts=ts, bid=bid, ask=ask)

    def set_bars(self, symbol: str, bars: Iterable[StubBar]) -> None:
        """The 1-minute bars of `symbol` (NeoLight's spelling), in any order."""
        self.bar_data[symbol] = sorted(bars, key=lambda bar: bar.ts)

    def bars_between(self, symbol: str, start: datetime, end: datetime) -> list[StubBar]:
        """The bars with start <= ts <= end: the providers' ranges include their end."""
        return [bar for bar in self.bar_data.get(symbol, []) if start <= bar.ts <= end]

    # --- faults -------------------------------------------------------------------------------------------
    def fail_next(self, kind: str, times: int = 1, *, retry_after: float | None = None) -> None:
        self._check(kind)
        with self._lock:
            self._faults.extend([(kind, retry_after)] * times)

    def fail_always(self, kind: str, *, retry_after: float | None = None) -> None:
        self._check(kind)
        with self._lock:
            self._always = (kind, retry_after)

    def heal(self) -> None:
        with self._lock:
            self._faults.clear()
            self._always = None

    def reset(self) -> None:
        self.heal()
        with self._lock:
            self.quotes.clear()
            self.bar_data.clear()
            self.requests.clear()

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)

    @staticmethod
    def _check(kind: str) -> None:
        if kind not in Fault.ALL:
            raise ValueError(f"unknown fault {kind!r}: one of {', '.join(Fault.ALL)}")

    def _take_fault(self) -> tuple[str, float | None] | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            return self._always

    # --- serving ------------------------------------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = {key: values[-1] for key, values in parse_qs(parts.query, keep_blank_values=True).items()}
        record = Recorded("GET", parts.path, query, {k: v for k, v in handler.headers.items()})
        with self._lock:
            self.requests.append(record)
        fault = self._take_fault()
        kind, retry_after = fault if fault else (None, None)
        if kind == Fault.DISCONNECT:
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        if kind == Fault.TIMEOUT:
            self._stopping.wait(self.delay)
            kind = None  # then the ordinary answer, too late for the client
        if kind == Fault.SERVER_ERROR:
            answer = Answer(500, b"Internal Server Error")
        elif kind == Fault.MALFORMED:
            answer = Answer(200, b'{"truncated": [1, 2')
        elif kind == Fault.AUTH:
            answer = self.auth_refusal()
        elif kind == Fault.RATE_LIMITED:
            answer = self.rate_limit_answer()
            if retry_after is not None:
                answer.headers["Retry-After"] = f"{retry_after:g}"
        else:
            answer = self.route(record, kind)
        self._send(handler, answer)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, answer: Answer) -> None:
        body = answer.body if isinstance(answer.body, bytes) else to_json(answer.body).encode()
        try:
            handler.send_response(answer.status)
            content_type = "application/json; charset=utf-8" if not isinstance(answer.body, bytes) else "text/plain"
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its timeout)
            handler.close_connection = True

    def symbol_of(self, spelling: str) -> str | None:
        try:
            return neolight_symbol(self.provider, spelling)
        except SymbolError:
            return None

    # --- what each provider says ------------------------------------------------------------------------
    def route(self, request: Recorded, fault: str | None) -> Answer:
        raise NotImplementedError

    def auth_refusal(self) -> Answer:
        raise NotImplementedError

    def rate_limit_answer(self) -> Answer:
        raise NotImplementedError


def rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


class AlpacaStub(ProviderStub):
    """Alpaca's market-data API as alpaca-py 0.44.0 calls it: /v2/stocks/... (keys required) and
    /v1beta3/crypto/us/... (keys optional, but checked when sent). `page_size` caps a page of bars below the
    `limit` the client asks for, so tests can see `next_page_token` followed."""

    provider = "alpaca"
    page_size = 10_000

    def auth_refusal(self) -> Answer:
        return Answer(401, {"message": "unauthorized."})

    def rate_limit_answer(self) -> Answer:
        return Answer(429, {"message": "too many requests."})

    def route(self, request: Recorded, fault: str | None) -> Answer:
        path, query = request.path, request.query
        stocks = path.startswith("/v2/stocks/")
        crypto = path.startswith("/v1beta3/crypto/us/")
        key, secret = request.headers.get("APCA-API-KEY-ID"), request.headers.get("APCA-API-SECRET-KEY")
        if stocks or (crypto and (key or secret)):
            if (key, secret) != (self.key_id, self.secret):
                return self.auth_refusal()
        if path in ("/v2/stocks/snapshots", "/v1beta3/crypto/us/snapshots"):
            snapshots = self._snapshots(query.get("symbols", ""), fault)
            return Answer(200, snapshots if stocks else {"snapshots": snapshots})
        if path in ("/v2/stocks/trades/latest", "/v1beta3/crypto/us/latest/trades"):
            trades = {}
            for spelling in filter(None, query.get("symbols", "").split(",")):
                quote = self.quotes.get(self.symbol_of(spelling) or "")
                if quote:
                    trades[spelling] = {"t": rfc3339(quote.ts), "p": number(quote.price), "s": 1, "i": 1}
            return Answer(200, {"trades": trades})
        if path in ("/v2/stocks/bars", "/v1beta3/crypto/us/bars"):
            return self._bars(query, fault)
        return Answer(404, {"message": "Not Found"})

    def _snapshots(self, symbols: str, fault: str | None) -> dict:
        snapshots = {}
        for spelling in filter(None, symbols.split(",")):
            quote = self.quotes.get(self.symbol_of(spelling) or "")
            if quote is None or fault == Fault.EMPTY:
                continue
            if fault == Fault.ZERO_QUOTE:
                quote = StubQuote(price="0", ts=quote.ts, bid="0", ask="0")
            snapshot = {}
            if quote.price is not None:  # None: a symbol quoted but not traded yet
                snapshot["latestTrade"] = {"t": rfc3339(quote.ts), "x": "V", "p": number(quote.price), "s": 100,
                                           "c": ["@"], "i": 52983525029461, "z": "A"}
            if quote.bid is not None or quote.ask is not None:
                snapshot["latestQuote"] = {"t": rfc3339(quote.ts), "ax": "V", "ap": number(quote.ask or "0"),
                                           "as": 1, "bx": "V", "bp": number(quote.bid or "0"), "bs": 1,
                                           "c": ["R"], "z": "A"}
            snapshots[spelling] = snapshot
        return snapshots

    def _bars(self, query: dict[str, str], fault: str | None) -> Answer:
        if query.get("timeframe") != "1Min":
            return Answer(400, {"message": f"invalid timeframe: {query.get('timeframe')}"})
        try:
            start, end = _rfc3339_in(query["start"]), _rfc3339_in(query["end"])
        except (KeyError, ValueError):
            return Answer(400, {"message": "invalid start or end"})
        size = min(int(query.get("limit") or 1000), self.page_size)
        offset = 0
        if query.get("page_token"):
            try:
                offset = int(base64.urlsafe_b64decode(query["page_token"]).decode())
            except ValueError:
                return Answer(400, {"message": "invalid page token"})
        rows, total = {}, 0
        symbols = [s for s in query.get("symbols", "").split(",") if s]
        for spelling in symbols:  # one symbol per request from the adapter; the stub pages a single series
            symbol = self.symbol_of(spelling)
            series = [] if fault == Fault.EMPTY or symbol is None else self.bars_between(symbol, start, end)
            total = len(series)
            page = series[offset:offset + size]
            if page:
                rows[spelling] = [{"t": rfc3339(bar.ts).replace(".000000", ""), "o": number(bar.open),
                                   "h": number(bar.high), "l": number(bar.low), "c": number(bar.close),
                                   "v": number(bar.volume), "n": 1, "vw": number(bar.close)} for bar in page]
        token = None
        if offset + size < total:
            token = base64.urlsafe_b64encode(str(offset + size).encode()).decode()
        return Answer(200, {"bars": rows, "next_page_token": token})


def _rfc3339_in(text: str) -> datetime:
    return datetime.fromisoformat(text.replace(" ", "+")).astimezone(UTC)


class FinnhubStub(ProviderStub):
    """Finnhub's REST API under /api/v1: /quote, /stock/candle, /crypto/candle, /stock/market-status; the key
    in the `token` parameter or the X-Finnhub-Token header."""

    provider = "finnhub"
    url_prefix = "/api/v1"

    def auth_refusal(self) -> Answer:
        return Answer(401, {"error": "Invalid API key."})

    def rate_limit_answer(self) -> Answer:
        return Answer(429, {"error": "API limit reached. Please try again later. Remaining Limit: 0"})

    def route(self, request: Recorded, fault: str | None) -> Answer:
        token = request.query.get("token") or request.headers.get("X-Finnhub-Token")
        if not token:
            return Answer(401, {"error": "Please use an API key."})
        if token != self.key_id:
            return self.auth_refusal()
        path = request.path.removeprefix(self.url_prefix)
        if path == "/quote":
            return self._quote(request.query.get("symbol", ""), fault)
        if path in ("/stock/candle", "/crypto/candle"):
            return self._candles(request.query, fault)
        if path == "/stock/market-status":
            return Answer(200, {"exchange": "US", "holiday": None, "isOpen": False, "session": "closed",
                                "t": int(time.time()), "timezone": "America/New_York"})
        return Answer(404, {"error": "Not found"})

    def _quote(self, spelling: str, fault: str | None) -> Answer:
        quote = self.quotes.get(self.symbol_of(spelling) or "")
        if quote is None or fault in (Fault.EMPTY, Fault.ZERO_QUOTE):
            return Answer(200, {"c": 0, "d": None, "dp": None, "h": 0, "l": 0, "o": 0, "pc": 0, "t": 0})
        price = number(quote.price)
        return Answer(200, {"c": price, "d": Raw("0.5"), "dp": Raw("0.1"), "h": price, "l": price, "o": price,
                            "pc": price, "t": int(quote.ts.timestamp())})

    def _candles(self, query: dict[str, str], fault: str | None) -> Answer:
        if query.get("resolution") != "1":
            return Answer(422, {"error": "Wrong resolution"})
        try:
            start = datetime.fromtimestamp(int(query["from"]), tz=UTC)
            end = datetime.fromtimestamp(int(query["to"]), tz=UTC)
        except (KeyError, ValueError):
            return Answer(422, {"error": "Wrong from/to"})
        symbol = self.symbol_of(query.get("symbol", ""))
        series = [] if fault == Fault.EMPTY or symbol is None else self.bars_between(symbol, start, end)
        if not series:
            return Answer(200, {"s": "no_data"})
        return Answer(200, {"c": [number(b.close) for b in series], "h": [number(b.high) for b in series],
                            "l": [number(b.low) for b in series], "o": [number(b.open) for b in series],
                            "s": "ok", "t": [int(b.ts.timestamp()) for b in series],
                            "v": [number(b.volume) for b in series]})


class TwelveDataStub(ProviderStub):
    """Twelve Data's REST API: /quote, /time_series, /api_usage; the key in the `apikey` parameter (or an
    `Authorization: apikey KEY` header); errors as HTTP 200 with {"code", "message", "status": "error"}."""

    provider = "twelvedata"
    max_output = 5000

    def auth_refusal(self) -> Answer:
        return Answer(200, {"code": 401, "message": "**apikey** parameter is incorrect or not specified. You can get "
                                                    "your free API key instantly following this link: "
                                                    "https://twelvedata.com/pricing. If you believe that everything "
                                                    "is correct, you can contact us at "
                                                    "https://twelvedata.com/contact/customer",
                            "status": "error"})

    def rate_limit_answer(self) -> Answer:
        return Answer(200, {"code": 429, "message": "You have run out of API credits for the current minute. 9 API "
                                                    "credits were used, with the current limit being 8. Wait for the "
                                                    "next minute or consider switching to a higher tier plan at "
                                                    "https://twelvedata.com/pricing", "status": "error"})

    def route(self, request: Recorded, fault: str | None) -> Answer:
        key = request.query.get("apikey") or request.headers.get("Authorization", "").removeprefix("apikey ")
        if key != self.key_id:
            return self.auth_refusal()
        if request.path == "/quote":
            return self._quote(request.query.get("symbol", ""), fault)
        if request.path == "/time_series":
            return self._time_series(request.query, fault)
        if request.path == "/api_usage":
            return Answer(200, {"timestamp": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), "current_usage": 1,
                                "plan_limit": 8})
        return Answer(404, {"code": 404, "message": "Not Found", "status": "error"})

    def _not_found(self, spelling: str) -> Answer:
        return Answer(200, {"code": 404, "message": f"**symbol** not found: {spelling}. Please specify it correctly "
                                                    "according to API Documentation.", "status": "error",
                            "meta": {"symbol": spelling, "interval": "", "exchange": ""}})

    def _quote(self, spelling: str, fault: str | None) -> Answer:
        quote = self.quotes.get(self.symbol_of(spelling) or "")
        if quote is None or fault == Fault.EMPTY:
            return self._not_found(spelling)
        price = "0" if fault == Fault.ZERO_QUOTE else str(quote.price)
        stamp = int(quote.ts.timestamp())
        return Answer(200, {"symbol": spelling, "name": spelling, "exchange": "NASDAQ", "currency": "USD",
                            "datetime": f"{quote.ts:%Y-%m-%d}", "timestamp": stamp, "last_quote_at": stamp,
                            "open": price, "high": price, "low": price, "close": price, "volume": "1000",
                            "previous_close": price, "change": "0", "percent_change": "0",
                            "is_market_open": True})

    def _time_series(self, query: dict[str, str], fault: str | None) -> Answer:
        if query.get("interval") != "1min":
            return Answer(200, {"code": 400, "message": "**interval** is invalid.", "status": "error"})
        spelling = query.get("symbol", "")
        symbol = self.symbol_of(spelling)
        if symbol is None or (symbol not in self.bar_data and fault != Fault.EMPTY):
            return self._not_found(spelling)
        zone = UTC if query.get("timezone") == "UTC" else ZoneInfo("America/New_York")  # the exchange's, by default
        try:
            start = datetime.strptime(query["start_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
            end = datetime.strptime(query["end_date"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
        except (KeyError, ValueError):
            return Answer(200, {"code": 400, "message": "**start_date** or **end_date** is invalid.",
                                "status": "error"})
        series = [] if fault == Fault.EMPTY else self.bars_between(symbol, start, end)
        if not series:
            return Answer(200, {"code": 400, "message": "No data is available on the specified dates. Try setting "
                                                        "different start/end dates.", "status": "error",
                                "meta": {"symbol": spelling, "interval": "1min", "exchange": ""}})
        outputsize = min(int(query.get("outputsize") or 30), self.max_output)
        newest_first = list(reversed(series))[:outputsize]  # Twelve Data keeps the latest `outputsize` bars
        values = newest_first if query.get("order", "desc").lower() == "desc" else list(reversed(newest_first))
        rows = [{"datetime": f"{bar.ts.astimezone(zone):%Y-%m-%d %H:%M:%S}", "open": str(bar.open),
                 "high": str(bar.high), "low": str(bar.low), "close": str(bar.close), "volume": str(bar.volume)}
                for bar in values]
        return Answer(200, {"meta": {"symbol": spelling, "interval": "1min", "currency": "USD",
                                     "exchange_timezone": "America/New_York", "exchange": "NASDAQ",
                                     "type": "Common Stock"}, "values": rows, "status": "ok"})


def minute_bars(start: datetime, closes: Iterable[str], *, volume: str = "10") -> list[StubBar]:
    """Consecutive 1-minute bars from `start`, each opening at the previous close (the first at its own close)."""
    bars, previous = [], None
    for i, close in enumerate(closes):
        open_ = previous or close
        high, low = max(Decimal(open_), Decimal(close)), min(Decimal(open_), Decimal(close))
        bars.append(StubBar(start + timedelta(minutes=i), open_, str(high), str(low), close, volume))
        previous = close
    return bars
