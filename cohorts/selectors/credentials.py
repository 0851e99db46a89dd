"""Reads of providers' keys (decrypted only here, for the adapters that call the provider)."""
from __future__ import annotations

from cohorts.models import ProviderCredential
from cohorts.providers.base import Credentials


def provider_credentials(name: str) -> Credentials | None:
    """The keys of provider `name` (alpaca, finnhub, twelvedata), or None when none are stored or they are
    disabled. A stored value no configured key decrypts raises UndecryptableValueError, never passes as a key."""
    row = ProviderCredential.objects.filter(provider=name.strip().lower(), enabled=True).first()
    return None if row is None else Credentials(key_id=row.key_id, secret=row.secret or "")
