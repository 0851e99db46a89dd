"""The chain the settings configure: order, keys from the lookup, base URLs and timeout, not-configured ones."""
from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from cohorts.models import ProviderCredential
from cohorts.providers import registry
from cohorts.providers.base import Credentials
from neolight.errors import ApplicationError
from tests.providers_chain import fakes
from tests.providers_chain.conftest import FAKES


def test_without_a_credentials_lookup_no_provider_is_configured(settings):
    settings.MARKET_DATA_PROVIDERS = ["alpaca", "finnhub", "twelvedata"]
    settings.PROVIDER_CREDENTIALS_LOOKUP = ""
    rows = registry.market_data().status()
    assert [(r.name, r.configured) for r in rows] == [("alpaca", False), ("finnhub", False), ("twelvedata", False)]
    assert fakes.BUILT == []


def test_providers_with_keys_are_built_in_order_with_their_url_and_timeout(settings, fake_chain, monkeypatch):
    monkeypatch.setitem(registry.ADAPTERS, "alpaca", (f"{FAKES}.FakeAlpaca", "ALPACA_DATA_URL"))
    settings.MARKET_DATA_PROVIDERS = ["alpaca", f"{FAKES}.FakeFinnhub", f"{FAKES}.FakeTwelveData", f"{FAKES}.FakeStored"]
    settings.ALPACA_DATA_URL = "http://127.0.0.1:9/alpaca"
    settings.PROVIDER_TIMEOUT_SECONDS = 2.5
    chain, left_out = registry.provider_chain()
    assert [p.name for p in chain] == ["alpaca", "finnhub", "stored"]  # stored needs no keys
    assert left_out == {"twelvedata": "not configured: provider keys are set in the admin"}
    assert fakes.BUILT[0] == {"name": "alpaca", "credentials": Credentials(key_id="alpaca-key", secret="s3cret"),
                              "base_url": "http://127.0.0.1:9/alpaca", "timeout": 2.5}
    assert fakes.BUILT[2] == {"name": "stored", "credentials": None, "base_url": None, "timeout": 2.5}


def test_unreadable_keys_leave_that_provider_out_with_the_reason(settings, fake_chain, monkeypatch):
    def lookup(name):
        if name == "alpaca":
            raise ApplicationError("The stored key of alpaca cannot be decrypted with FIELD_ENCRYPTION_KEYS.")
        return Credentials(key_id="k")

    monkeypatch.setattr(registry, "credentials", lookup)
    chain, left_out = registry.provider_chain()
    assert [p.name for p in chain] == ["finnhub", "twelvedata"]
    assert left_out["alpaca"] == "its keys cannot be read: The stored key of alpaca cannot be decrypted with FIELD_ENCRYPTION_KEYS."


def test_a_missing_adapter_is_listed_not_configured(settings):
    settings.MARKET_DATA_PROVIDERS = ["cohorts.providers.nowhere.NoProvider"]
    _, left_out = registry.provider_chain()
    assert list(left_out) == ["NoProvider"] and "cannot be imported" in left_out["NoProvider"]


@pytest.mark.django_db
def test_keys_stored_in_the_admin_configure_their_provider(settings, fake_chain):
    settings.PROVIDER_CREDENTIALS_LOOKUP = "cohorts.selectors.credentials.provider_credentials"  # the default
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    ProviderCredential.objects.create(provider="finnhub", key_id="finnhub-api-key")
    ProviderCredential.objects.create(provider="alpaca", key_id="AK", secret="SK", enabled=False)
    chain, left_out = registry.provider_chain()
    assert [p.name for p in chain] == ["finnhub"]
    assert list(left_out) == ["alpaca", "twelvedata"]
    assert fakes.BUILT == [{"name": "finnhub", "credentials": Credentials(key_id="finnhub-api-key"), "base_url": None,
                            "timeout": 5.0}]
