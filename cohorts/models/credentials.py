"""Market-data providers' API keys, encrypted at rest (see neolight/crypto.py)."""
from django.conf import settings
from django.db import models

from neolight.crypto import EncryptedTextField


class CredentialProvider(models.TextChoices):
    ALPACA = "alpaca", "Alpaca"
    FINNHUB = "finnhub", "Finnhub"
    TWELVEDATA = "twelvedata", "TwelveData"


class ProviderCredential(models.Model):
    """One provider's keys. Alpaca uses both; Finnhub and TwelveData only `key_id` (their API key)."""

    provider = models.CharField(max_length=16, choices=CredentialProvider.choices, unique=True)
    key_id = EncryptedTextField("key id", help_text="Alpaca's key id, or the API key of Finnhub and TwelveData")
    secret = EncryptedTextField(blank=True, help_text="Alpaca's secret key; empty for Finnhub and TwelveData")
    enabled = models.BooleanField(default=True, help_text="unticked: the provider is used without these keys")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["provider"]

    def __str__(self) -> str:
        return self.get_provider_display()
