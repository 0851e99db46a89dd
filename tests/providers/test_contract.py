"""Every adapter has the same keyword-only constructor and a `name`: the quote chain builds them from settings."""
import inspect

import pytest

from cohorts.providers.alpaca import AlpacaProvider
from cohorts.providers.base import MarketDataProvider
from cohorts.providers.finnhub import FinnhubProvider
from cohorts.providers.stored import StoredBarsProvider
from cohorts.providers.twelvedata import TwelveDataProvider


@pytest.mark.parametrize(("cls", "name"), [(AlpacaProvider, "alpaca"), (FinnhubProvider, "finnhub"),
                                           (TwelveDataProvider, "twelvedata"), (StoredBarsProvider, "stored")])
def test_constructor_and_name(cls, name):
    assert issubclass(cls, MarketDataProvider) and cls.name == name
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert [(p.name, p.kind) for p in parameters] == [(n, inspect.Parameter.KEYWORD_ONLY)
                                                       for n in ("credentials", "base_url", "timeout")]
    assert parameters[0].default is inspect.Parameter.empty
    assert parameters[1].default is None and parameters[2].default == 5.0
    provider = cls(credentials=None)  # builds offline with no keys and the public URL
    assert provider.name == name


def test_public_urls_are_the_defaults(settings):
    assert (settings.ALPACA_DATA_URL, settings.FINNHUB_URL, settings.TWELVEDATA_URL) == (
        "https://data.alpaca.markets", "https://finnhub.io/api/v1", "https://api.twelvedata.com")
    assert settings.PROVIDER_TIMEOUT_SECONDS == 5.0
    assert AlpacaProvider(credentials=None).base_url == "https://data.alpaca.markets"
    assert FinnhubProvider(credentials=None).base_url == "https://finnhub.io/api/v1"
    assert TwelveDataProvider(credentials=None).base_url == "https://api.twelvedata.com"
