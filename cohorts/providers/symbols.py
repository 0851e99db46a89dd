"""NeoLight's symbols in each provider's spelling, and back: the one place that knows them.

A NeoLight symbol with a dash is a crypto pair (`BTC-USDT`, `ETH-USD`: base, then quote currency); anything else is
an equity ticker (`SPY`, `BRK.B`).

| NeoLight   | alpaca     | finnhub            | twelvedata | stored   |
|------------|------------|--------------------|------------|----------|
| SPY        | SPY        | SPY                | SPY        | SPY      |
| BTC-USDT   | BTC/USDT   | BINANCE:BTCUSDT    | BTC/USDT   | BTC-USDT |
| ETH-USD    | ETH/USD    | COINBASE:ETH-USD   | ETH/USD    | ETH-USD  |
"""
from __future__ import annotations

import re

from neolight.errors import ApplicationError

PROVIDERS = ("alpaca", "finnhub", "twelvedata", "stored")

EQUITY = re.compile(r"^[A-Z][A-Z0-9]{0,5}(\.[A-Z]{1,2})?$")
PAIR = re.compile(r"^([A-Z0-9]{2,10})-([A-Z0-9]{2,10})$")

ALPACA_CRYPTO_QUOTES = ("USD", "USDT", "USDC", "BTC")  # the quote currencies of Alpaca's crypto pairs
FINNHUB_CRYPTO_EXCHANGE = {"USD": "COINBASE", "USDT": "BINANCE", "USDC": "BINANCE", "BTC": "BINANCE", "ETH": "BINANCE"}


class SymbolError(ApplicationError):
    """A symbol a provider has no spelling for (or a provider spelling NeoLight cannot read)."""

    def __init__(self, message: str):
        super().__init__(message, field="symbol")


def is_crypto(symbol: str) -> bool:
    return "-" in symbol


def provider_symbol(provider: str, symbol: str) -> str:
    """`symbol` (NeoLight's) as `provider` spells it, or SymbolError."""
    _known(provider)
    if EQUITY.match(symbol):
        return symbol
    pair = PAIR.match(symbol)
    if not pair:
        raise SymbolError(f"'{symbol}' is not a NeoLight symbol: an equity ticker such as SPY or a crypto pair "
                          "such as BTC-USDT.")
    base, quote = pair.groups()
    if provider == "stored":
        return symbol
    if provider == "alpaca":
        if quote not in ALPACA_CRYPTO_QUOTES:
            raise SymbolError(f"Alpaca has no {symbol}: its crypto pairs are quoted in {', '.join(ALPACA_CRYPTO_QUOTES)}.")
        return f"{base}/{quote}"
    if provider == "finnhub":
        exchange = FINNHUB_CRYPTO_EXCHANGE.get(quote)
        if exchange is None:
            raise SymbolError(f"Finnhub has no {symbol}: NeoLight maps crypto pairs quoted in "
                              f"{', '.join(FINNHUB_CRYPTO_EXCHANGE)}.")
        return f"COINBASE:{base}-{quote}" if exchange == "COINBASE" else f"{exchange}:{base}{quote}"
    return f"{base}/{quote}"  # twelvedata


def neolight_symbol(provider: str, spelling: str) -> str:
    """A provider's spelling (as `provider_symbol` writes it) as NeoLight's symbol, or SymbolError."""
    _known(provider)
    if EQUITY.match(spelling) or (provider == "stored" and PAIR.match(spelling)):
        return spelling
    if provider in ("alpaca", "twelvedata") and spelling.count("/") == 1:
        symbol = spelling.replace("/", "-")
    elif provider == "finnhub" and spelling.startswith("COINBASE:"):
        symbol = spelling.removeprefix("COINBASE:")
    elif provider == "finnhub" and spelling.startswith("BINANCE:"):
        symbol = _split_binance(spelling.removeprefix("BINANCE:"))
    else:
        raise SymbolError(f"'{spelling}' is not a symbol NeoLight reads from {provider}.")
    try:
        if provider_symbol(provider, symbol) == spelling:
            return symbol
    except SymbolError:
        pass
    raise SymbolError(f"'{spelling}' is not a symbol NeoLight reads from {provider}.")


def _split_binance(joined: str) -> str:
    for quote in sorted((q for q, exchange in FINNHUB_CRYPTO_EXCHANGE.items() if exchange == "BINANCE"),
                        key=len, reverse=True):
        if joined.endswith(quote) and len(joined) > len(quote):
            return f"{joined.removesuffix(quote)}-{quote}"
    raise SymbolError(f"'BINANCE:{joined}' is not a symbol NeoLight reads from finnhub.")


def _known(provider: str) -> None:
    if provider not in PROVIDERS:
        raise SymbolError(f"Unknown provider '{provider}': one of {', '.join(PROVIDERS)}.")
