"""Fixtures: one running stand-in server per provider (see stubs.py for the data and fault API), healed, emptied
and stopped after each test. Another folder's tests can use them with
`pytest_plugins = ["tests.providers.conftest"]` in their conftest.py, or `from tests.providers.stubs import ...`."""
from __future__ import annotations

import pytest

from tests.providers.stubs import AlpacaStub, FinnhubStub, TwelveDataStub


@pytest.fixture
def alpaca_stub():
    """Alpaca's market-data API on 127.0.0.1: `AlpacaProvider(credentials=alpaca_stub.credentials,
    base_url=alpaca_stub.url, timeout=...)`."""
    with AlpacaStub() as stub:
        yield stub


@pytest.fixture
def finnhub_stub():
    """Finnhub's REST API on 127.0.0.1 (`finnhub_stub.url` ends in /api/v1, like Finnhub's base URL)."""
    with FinnhubStub() as stub:
        yield stub


@pytest.fixture
def twelvedata_stub():
    """Twelve Data's REST API on 127.0.0.1."""
    with TwelveDataStub() as stub:
        yield stub
