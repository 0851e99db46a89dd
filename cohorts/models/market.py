"""Market data: instruments and their 1-minute OHLCV bars, stored exactly (NUMERIC)."""
from django.db import models

from neolight.money import MONEY_PLACES, MoneyField

VOLUME_DIGITS = 28


class AssetClass(models.TextChoices):
    CRYPTO = "crypto", "Crypto"
    EQUITY = "equity", "Equity"
    SYNTHETIC = "synthetic", "Synthetic"


class Session(models.TextChoices):
    REGULAR = "regular", "Regular session"
    EXTENDED = "extended", "Extended (pre- and after-market)"


class Instrument(models.Model):
    symbol = models.CharField(max_length=32, unique=True, help_text="e.g. BTC-USDT or SPY")
    name = models.CharField(max_length=100, blank=True)
    asset_class = models.CharField(max_length=16, choices=AssetClass.choices, default=AssetClass.CRYPTO)
    quote_currency = models.CharField(max_length=8, default="USD")
    calendar = models.CharField(max_length=16, default="24/7",
                                help_text="24/7 (crypto) or an exchange calendar such as XNYS")
    session = models.CharField(max_length=8, choices=Session.choices, default=Session.REGULAR,
                               help_text="which minutes of an exchange's day trade (ignored for 24/7)")
    ingest = models.BooleanField("ingest", default=False, help_text="fetch new bars each minute")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(symbol=""), name="instrument_symbol_not_empty"),
        ]

    def __str__(self) -> str:
        return self.symbol


class Bar(models.Model):
    """One 1-minute bar; `ts` is the bar's open time in UTC."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="bars")
    ts = models.DateTimeField("open time (UTC)")
    open = MoneyField()
    high = MoneyField()
    low = MoneyField()
    close = MoneyField()
    volume = models.DecimalField(max_digits=VOLUME_DIGITS, decimal_places=MONEY_PLACES)

    class Meta:
        ordering = ["instrument", "ts"]
        constraints = [
            # The unique index on (instrument, ts) also serves every range read.
            models.UniqueConstraint(fields=["instrument", "ts"], name="bar_unique_instrument_ts"),
            models.CheckConstraint(
                condition=models.Q(open__gt=0, high__gt=0, low__gt=0, close__gt=0), name="bar_prices_positive"
            ),
            models.CheckConstraint(condition=models.Q(volume__gte=0), name="bar_volume_not_negative"),
            models.CheckConstraint(
                condition=models.Q(high__gte=models.F("open"))
                & models.Q(high__gte=models.F("close"))
                & models.Q(low__lte=models.F("open"))
                & models.Q(low__lte=models.F("close")),
                name="bar_ohlc_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.ts:%Y-%m-%d %H:%M}"
