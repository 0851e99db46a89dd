"""The configured provider chain: which adapters, in which order, with which keys.

MARKET_DATA_PROVIDERS names the chain in order ("alpaca,finnhub,twelvedata" by default; "stored" serves the
bars in the database; a dotted path names any other MarketDataProvider class). Each adapter is imported only
when the chain is built, with its base URL setting and PROVIDER_TIMEOUT_SECONDS. Keys come from `credentials`,
the one place they are looked up: it calls the function named by PROVIDER_CREDENTIALS_LOOKUP. A provider
without keys (or whose adapter cannot be built) is listed as not configured and never called."""
from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from cohorts.providers.base import Credentials, MarketDataProvider
from cohorts.providers.service import NOT_CONFIGURED, QuoteService
from neolight.errors import ApplicationError

# name → (adapter class, setting holding its base URL or None)
ADAPTERS: dict[str, tuple[str, str | None]] = {
    "alpaca": ("cohorts.providers.alpaca.AlpacaProvider", "ALPACA_DATA_URL"),
    "finnhub": ("cohorts.providers.finnhub.FinnhubProvider", "FINNHUB_URL"),
    "twelvedata": ("cohorts.providers.twelvedata.TwelveDataProvider", "TWELVEDATA_URL"),
    "stored": ("cohorts.providers.stored.StoredBarsProvider", None),
}
NEEDS_NO_CREDENTIALS = {"stored"}  # reads NeoLight's own database


def credentials(name: str) -> Credentials | None:
    """`name`'s keys from the function PROVIDER_CREDENTIALS_LOOKUP names (`lookup(name) -> Credentials | None`);
    None while no lookup is set."""
    path = settings.PROVIDER_CREDENTIALS_LOOKUP
    return import_string(path)(name) if path else None


def provider_chain() -> tuple[list[MarketDataProvider], dict[str, str]]:
    """The providers to try, in order, and those left out with why (name → reason)."""
    chain: list[MarketDataProvider] = []
    left_out: dict[str, str] = {}
    for entry in settings.MARKET_DATA_PROVIDERS:
        name, provider, why = provider_build(entry.strip())
        if provider is not None:
            chain.append(provider)
        else:
            left_out[name] = why
    return chain, left_out


def market_data() -> QuoteService:
    """The QuoteService of the configured chain. Cheap to build: breakers and quotes live in the cache."""
    chain, left_out = provider_chain()
    return QuoteService(chain, not_configured=left_out)


def provider_build(entry: str) -> tuple[str, MarketDataProvider | None, str]:
    """One provider as the chain builds it: (its name, the adapter or None, why it was left out)."""
    class_path, url_setting = ADAPTERS.get(entry, (entry, None))
    name = entry if entry in ADAPTERS else entry.rsplit(".", 1)[-1]
    try:
        adapter = import_string(class_path)
    except ImportError as exc:
        return name, None, f"adapter {class_path} cannot be imported ({exc})"
    name = getattr(adapter, "name", name)
    try:
        keys = credentials(name)
    except ApplicationError as exc:  # e.g. stored keys that cannot be decrypted: say so, keep the others
        return name, None, f"its keys cannot be read: {exc.message}"
    if keys is None and name not in NEEDS_NO_CREDENTIALS and getattr(adapter, "needs_credentials", True):
        return name, None, NOT_CONFIGURED
    base_url = (getattr(settings, url_setting, "") or None) if url_setting else None
    timeout = float(getattr(settings, "PROVIDER_TIMEOUT_SECONDS", 5.0))
    return name, adapter(credentials=keys, base_url=base_url, timeout=timeout), ""
