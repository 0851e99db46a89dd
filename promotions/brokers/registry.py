"""Which broker a deployment trades through: `broker_for(name, mode=...)`, the one place brokers are built.

    broker_for("paper", mode="PAPER", **kwargs)   NeoLight's own paper broker, `promotions.brokers.paper.PaperBroker(
                                                  **kwargs)`, imported only when asked for
    broker_for("alpaca", mode="PAPER")            Alpaca's paper-trading API at ALPACA_TRADING_URL, with the keys
                                                  stored for provider "alpaca" (ProviderCredential: key id and
                                                  secret, encrypted at rest); kwargs go to AlpacaBroker
                                                  (`timeout=`, `base_url=`)

`mode` is the trading mode the deployment runs in and labels every order with ("PAPER" or "LIVE"). Both brokers are
paper accounts, so a LIVE mode is refused rather than sent to a paper account under a LIVE label. Every refusal is an
ApplicationError that says what to do: an unknown name, Alpaca without enabled keys (never a silent fallback to the
paper broker), keys that cannot be decrypted."""
from __future__ import annotations

from typing import Any

from cohorts.models import ProviderCredential
from cohorts.selectors.credentials import provider_credentials
from neolight.errors import ApplicationError
from promotions.brokers.base import Broker

MODES = ("PAPER", "LIVE")
BROKER_MODES = {"paper": ("PAPER",), "alpaca": ("PAPER",)}  # the modes each broker can honour
ADMIN_KEYS = "the admin's Provider credentials page"


def broker_for(name: str, *, mode: str, **kwargs: Any) -> Broker:
    """The broker called `name` ("paper" or "alpaca"), ready for orders labelled `mode`; ApplicationError (nothing
    built) for an unknown name, a mode the broker cannot honour, or Alpaca without usable keys."""
    key = (name or "").strip().lower()
    if key not in BROKER_MODES:
        raise ApplicationError(f"Unknown broker '{name}': one of {', '.join(BROKER_MODES)}.", field="broker")
    wanted = (mode or "").strip().upper()
    if wanted not in MODES:
        raise ApplicationError(f"Unknown trading mode '{mode}': one of {', '.join(MODES)}.", field="mode")
    if wanted not in BROKER_MODES[key]:
        raise ApplicationError(f"The {key} broker trades a paper account only: it cannot take {wanted} orders.",
                               field="mode")
    if key == "paper":
        from promotions.brokers.paper import PaperBroker  # built only when chosen

        return PaperBroker(**kwargs)
    return _alpaca(**kwargs)


def _alpaca(**kwargs: Any) -> Broker:
    from promotions.brokers.alpaca import AlpacaBroker  # alpaca-py is imported only when Alpaca is chosen

    keys = provider_credentials("alpaca")  # UndecryptableValueError (an ApplicationError) when no key decrypts them
    if keys is None:
        stored = ProviderCredential.objects.filter(provider="alpaca").exists()
        state = "are disabled" if stored else "are not stored"
        raise ApplicationError(f"Alpaca's keys {state}: enter Alpaca's paper-trading key id and secret, enabled, in "
                               f"{ADMIN_KEYS}, or deploy on the paper broker.", field="broker")
    if not keys.key_id or not keys.secret:
        raise ApplicationError(f"Alpaca's trading API needs both a key id and a secret: complete them in {ADMIN_KEYS}.",
                               field="broker")
    return AlpacaBroker(key_id=keys.key_id, secret=keys.secret, **kwargs)
