"""What the HTTP adapters share: one `requests` session that applies the timeout, turns every transport or HTTP
failure into a `ProviderError`, and parses JSON bodies with Decimal; plus the helpers that read prices and times.

Prices become Decimal once, from the provider's text: `json.loads(..., parse_float=Decimal)` keeps a JSON number's
digits, and a JSON string is read by `Decimal(text)`. A float never reaches `decimal_from`."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from cohorts.providers.base import FailureKind, ProviderError
from cohorts.providers.symbols import SymbolError, provider_symbol

AUTH_STATUSES = {401, 403}
NOT_FOUND_STATUSES = {400, 404, 422}  # every parameter but the symbol is the adapter's own: these refuse the symbol


class ProviderSession(requests.Session):
    """A session whose every request has `timeout` (connect and read, in seconds) and ends in either a 2xx
    response whose `json()` gives the body parsed with Decimal numbers, or a `ProviderError`.

    `message_keys` are the body fields a provider's error message is in (Alpaca and TwelveData: `message`,
    Finnhub: `error`)."""

    def __init__(self, *, provider: str, timeout: float, message_keys: tuple[str, ...] = ("message", "error")):
        super().__init__()
        self.provider = provider
        self.timeout = timeout
        self.message_keys = message_keys

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.Timeout as exc:  # before ConnectionError: ConnectTimeout is both
            raise ProviderError(self.provider, FailureKind.TIMEOUT, f"no answer within {self.timeout:g} s") from exc
        except requests.ConnectionError as exc:
            raise ProviderError(self.provider, FailureKind.UNAVAILABLE,
                                f"connection to {_host(url)} failed ({transport_reason(exc)})") from exc
        except requests.RequestException as exc:
            raise ProviderError(self.provider, FailureKind.UNAVAILABLE, f"request failed ({transport_reason(exc)})") from exc
        if not 200 <= response.status_code < 300:
            raise self.status_error(response)
        payload = decimal_json(self.provider, response.text)
        response.json = lambda **_: payload  # what the SDKs call; the body is parsed once, with Decimal
        return response

    def status_error(self, response: requests.Response) -> ProviderError:
        """The `ProviderError` an HTTP error status means, with the provider's own message."""
        status = response.status_code
        said = self.body_message(response)
        if status in AUTH_STATUSES:
            return ProviderError(self.provider, FailureKind.AUTH, f"HTTP {status}, the key was refused: {said}")
        if status == 429:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            return rate_limited(self.provider, f"HTTP 429: {said}", retry_after)
        if status >= 500:
            return ProviderError(self.provider, FailureKind.UNAVAILABLE, f"HTTP {status}: {said}")
        if status in NOT_FOUND_STATUSES:
            return ProviderError(self.provider, FailureKind.NOT_FOUND, f"HTTP {status}: {said}")
        return ProviderError(self.provider, FailureKind.UNAVAILABLE, f"unexpected HTTP {status}: {said}")

    def body_message(self, response: requests.Response) -> str:
        return body_message(response.text, self.message_keys, fallback=response.reason or "no message")


def body_message(text: str, keys: tuple[str, ...], *, fallback: str = "no message") -> str:
    """The service's own error message: the first of `keys` a JSON object body holds, else the body's first words."""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in keys:
            if body.get(key):
                return str(body[key])
    return " ".join(text.split())[:200] or fallback


def rate_limited(provider: str, message: str, retry_after: float | None) -> ProviderError:
    if retry_after is not None:
        message = f"{message} (retry after {retry_after:g} s)"
    return ProviderError(provider, FailureKind.RATE_LIMITED, f"rate limited, {message}", retry_after=retry_after)


def retry_after_seconds(header: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not header:
        return None
    header = header.strip()
    try:
        return max(float(header), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def decimal_json(provider: str, text: str) -> Any:
    """The body parsed with every JSON number that has a fraction or exponent as Decimal (integers stay int)."""
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        snippet = " ".join(text.split())[:80]
        raise ProviderError(provider, FailureKind.BAD_DATA, f"the answer is not JSON ({exc.msg}): {snippet!r}") from exc


def decimal_from(provider: str, value: Any, what: str) -> Decimal:
    """A Decimal from a JSON number already parsed as Decimal or int, or from a numeric string; else BAD_DATA."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):  # never a float: digits would be lost
        raise ProviderError(provider, FailureKind.BAD_DATA, f"{what} is {value!r}, not a number")
    try:
        number = Decimal(value) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise ProviderError(provider, FailureKind.BAD_DATA, f"{what} is {value!r}, not a number") from exc
    if not number.is_finite():
        raise ProviderError(provider, FailureKind.BAD_DATA, f"{what} is {value!r}, not a finite number")
    return number


def positive_price(provider: str, value: Any, what: str) -> Decimal:
    price = decimal_from(provider, value, what)
    if price <= 0:
        raise ProviderError(provider, FailureKind.BAD_DATA, f"{what} is {value}, not a positive price")
    return price


def utc_from_unix(provider: str, value: Any, what: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ProviderError(provider, FailureKind.BAD_DATA, f"{what} is {value!r}, not a Unix time")
    try:
        return datetime.fromtimestamp(int(Decimal(value)), tz=UTC)
    except (InvalidOperation, ValueError, OverflowError, OSError) as exc:
        raise ProviderError(provider, FailureKind.BAD_DATA, f"{what} is {value!r}, not a Unix time") from exc


def utc_from_text(provider: str, value: Any, what: str) -> datetime:
    """An ISO 8601 / RFC 3339 time (a trailing Z, nanoseconds cut to microseconds); naive text is read as UTC."""
    if not isinstance(value, str):
        raise ProviderError(provider, FailureKind.BAD_DATA, f"{what} is {value!r}, not a time")
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ProviderError(provider, FailureKind.BAD_DATA, f"{what} is {value!r}, not a time") from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def aware_utc(when: datetime, what: str) -> datetime:
    """`when` in UTC; a naive datetime is a programming error (NeoLight's times are always aware)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {when!r}")
    return when.astimezone(UTC)


def mapped_symbol(provider: str, symbol: str) -> str:
    """The provider's spelling of a NeoLight symbol; an unmappable symbol is this provider's NOT_FOUND."""
    try:
        return provider_symbol(provider, symbol)
    except SymbolError as exc:
        raise ProviderError(provider, FailureKind.NOT_FOUND, exc.message) from exc


def field(provider: str, record: Any, key: str, what: str) -> Any:
    """`record[key]`, or BAD_DATA naming what is missing."""
    if not isinstance(record, dict) or record.get(key) is None:
        raise ProviderError(provider, FailureKind.BAD_DATA, f"{what} has no '{key}' field")
    return record[key]


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def transport_reason(exc: Exception) -> str:
    """The cause in a few words: urllib3 wraps it (MaxRetryError → NewConnectionError: "... Connection refused")."""
    cause = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", cause)
    return str(cause).rsplit(": ", 1)[-1][:160]
