"""What every broker adapter offers a deployment: orders, the account, positions, flattening.

Adapters (`paper.py`: NeoLight's own paper broker; `alpaca.py`: Alpaca's paper-trading API) map their
fields and errors to these types. Quantities and prices are Decimal from the moment they leave the
broker's wire format; every order and message names its trading mode (`PAPER BUY`, `LIVE SELL`).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class BrokerFailure(enum.StrEnum):
    AUTH = "auth"  # bad or missing keys (401/403 without a trading reason)
    INSUFFICIENT_FUNDS = "insufficient_funds"  # e.g. Alpaca's 403 "insufficient buying power"
    REJECTED = "rejected"  # the broker refused the order (422, unknown symbol, size)
    RATE_LIMITED = "rate_limited"  # 429
    UNAVAILABLE = "unavailable"  # 5xx, timeouts, refused connections
    MALFORMED = "malformed"  # an answer that does not parse as the broker documents it
    NOT_FOUND = "not_found"  # no such order
    RISK = "risk"  # refused before the broker by the pre-trade risk check (promotions/brokers/guarded.py)


class BrokerError(Exception):
    """A broker call that failed, with its kind and the broker's own words."""

    def __init__(self, kind: BrokerFailure, message: str, *, status: int | None = None):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.status = status


@dataclass(frozen=True)
class OrderRequest:
    """A market order. `client_order_id` makes a retried submission the same order at the broker."""

    client_order_id: str
    symbol: str
    side: str  # "buy" or "sell"
    qty: Decimal
    mode: str  # "PAPER" or "LIVE"

    @property
    def label(self) -> str:
        return order_label(self.mode, self.side)


@dataclass(frozen=True)
class BrokerOrder:
    client_order_id: str
    broker_order_id: str
    symbol: str
    side: str
    qty: Decimal
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    status: str  # the broker's word: new, accepted, partially_filled, filled, canceled, rejected, …

    @property
    def is_filled(self) -> bool:
        return self.status == "filled"


@dataclass(frozen=True)
class BrokerPosition:
    symbol: str
    qty: Decimal  # signed: negative is short
    avg_entry_price: Decimal


@dataclass(frozen=True)
class BrokerAccount:
    cash: Decimal
    equity: Decimal
    buying_power: Decimal


class Broker(Protocol):
    """One broker account as a deployment sees it."""

    name: str

    def submit_order(self, order: OrderRequest) -> BrokerOrder: ...
    def get_order(self, client_order_id: str) -> BrokerOrder: ...
    def account(self) -> BrokerAccount: ...
    def positions(self) -> list[BrokerPosition]: ...
    def close_all_positions(self) -> list[BrokerOrder]: ...
    def cancel_open_orders(self) -> int: ...


def order_label(mode: str, side: str) -> str:
    """How an order reads in every message and log line: 'PAPER BUY', 'LIVE SELL'."""
    return f"{mode.upper()} {side.upper()}"
