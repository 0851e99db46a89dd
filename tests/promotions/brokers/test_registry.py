"""broker_for: Alpaca built from its stored keys (and refused clearly without them, never swapped for the paper
broker), NeoLight's paper broker imported when chosen, and no broker for a mode it cannot honour."""
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from cohorts.models import ProviderCredential
from neolight.crypto import UndecryptableValueError
from neolight.errors import ApplicationError
from promotions.brokers.alpaca import AlpacaBroker
from promotions.brokers.registry import broker_for


def refusal(**kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        broker_for(**kwargs)
    return caught.value


def test_alpaca_trades_with_the_keys_stored_for_it(alpaca_trading_stub):
    broker = broker_for("alpaca", mode="PAPER")
    assert isinstance(broker, AlpacaBroker) and broker.name == "alpaca"
    assert broker.account().cash == Decimal("10000")
    sent = alpaca_trading_stub.calls[-1].headers
    assert (sent["APCA-API-KEY-ID"], sent["APCA-API-SECRET-KEY"]) == ("stub-trading-key", "stub-trading-secret")


def test_the_name_and_mode_are_read_loosely_and_kwargs_reach_the_broker(alpaca_trading_stub):
    broker = broker_for(" Alpaca ", mode="paper", timeout=0.2)
    assert broker.timeout == 0.2 and broker.base_url == alpaca_trading_stub.url


def test_alpaca_without_stored_keys_is_refused_not_replaced_by_the_paper_broker(db):
    error = refusal(name="alpaca", mode="PAPER")
    assert error.message.startswith("Alpaca's keys are not stored: enter Alpaca's paper-trading key id and secret")
    assert error.field == "broker"


def test_alpaca_with_disabled_keys_is_refused(alpaca_trading_stub):
    ProviderCredential.objects.filter(provider="alpaca").update(enabled=False)
    assert refusal(name="alpaca", mode="PAPER").message.startswith("Alpaca's keys are disabled:")
    assert alpaca_trading_stub.calls == []


def test_alpaca_without_a_secret_is_refused(db, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    ProviderCredential.objects.create(provider="alpaca", key_id="PKTEST", secret="")
    assert "needs both a key id and a secret" in refusal(name="alpaca", mode="PAPER").message


def test_alpaca_keys_no_configured_key_decrypts_are_a_clear_error(alpaca_trading_stub, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the key they were written with is gone
    with pytest.raises(UndecryptableValueError) as caught:
        broker_for("alpaca", mode="PAPER")
    assert "FIELD_ENCRYPTION_KEYS" in caught.value.message and "gAAAAA" not in caught.value.message


@pytest.mark.parametrize("name", ["alpaca", "paper"])
def test_a_live_mode_is_refused_by_both_paper_accounts(db, name):
    error = refusal(name=name, mode="LIVE")
    assert error.message == f"The {name} broker trades a paper account only: it cannot take LIVE orders."
    assert error.field == "mode"


def test_an_unknown_broker_or_mode_is_named(db):
    assert refusal(name="binance", mode="PAPER").message == "Unknown broker 'binance': one of paper, alpaca."
    assert refusal(name="alpaca", mode="demo").message == "Unknown trading mode 'demo': one of PAPER, LIVE."


def test_paper_is_neolights_own_paper_broker_built_with_the_kwargs_given(db):
    paper = pytest.importorskip("promotions.brokers.paper")  # NeoLight's paper broker, imported only when chosen
    broker = broker_for("paper", mode="PAPER", account="deployment-1")
    assert isinstance(broker, paper.PaperBroker) and broker.name == "paper"
