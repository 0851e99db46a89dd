"""Fixtures: Alpaca's paper-trading API as a local stand-in (tests/promotions/alpaca_stub.py), reached the way
deployments reach it."""
from __future__ import annotations

from decimal import Decimal

import pytest

from promotions.brokers.alpaca import AlpacaBroker
from tests.promotions.alpaca_stub import AlpacaTradingStub, alpaca_trading_account


@pytest.fixture
def alpaca_trading_stub(db, settings):
    """A running stand-in with $10,000 cash: ALPACA_TRADING_URL points at it, its keys are stored as Alpaca's
    ProviderCredential, and calls time out after 0.5 s."""
    with alpaca_trading_account(settings, cash=Decimal("10000")) as stub:
        yield stub


@pytest.fixture
def alpaca(alpaca_trading_stub) -> AlpacaBroker:
    """An AlpacaBroker on the stand-in, built from the settings as the registry builds it."""
    stub: AlpacaTradingStub = alpaca_trading_stub
    return AlpacaBroker(key_id=stub.key_id, secret=stub.secret)
