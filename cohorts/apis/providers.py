"""REST endpoints of the quote chain: each provider's breaker state, and a symbol's latest quote."""
import re

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cohorts.providers.registry import market_data
from neolight.errors import BAD_REQUEST, ApplicationError
from neolight.money import MONEY_DECIMAL

SYMBOL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,31}$")
NO_PROVIDER = OpenApiResponse(description="No provider answered and no last-known quote is younger than "
                                          "QUOTE_STALE_SECONDS: `detail` names each provider's reason, and "
                                          "`errors.provider` lists them one by one.")


class ProviderStatusSerializer(serializers.Serializer):
    name = serializers.CharField()
    configured = serializers.BooleanField(help_text="false: no keys (or no adapter); the provider is not called")
    detail = serializers.CharField(help_text="why it is not configured; empty when it is")
    state = serializers.ChoiceField(choices=["closed", "open", "half_open"], help_text="its circuit breaker")
    last_error = serializers.CharField()
    last_error_at = serializers.DateTimeField(allow_null=True)
    last_latency_ms = serializers.FloatField(allow_null=True)
    calls = serializers.IntegerField()
    successes = serializers.IntegerField()
    failures = serializers.IntegerField(help_text="failures that count towards opening the breaker")
    failures_in_window = serializers.IntegerField()
    opened_at = serializers.DateTimeField(allow_null=True)
    retry_at = serializers.DateTimeField(allow_null=True, help_text="when an open breaker lets one trial call through")


class ProviderStatusApi(APIView):
    @extend_schema(operation_id="market_providers", responses=ProviderStatusSerializer(many=True))
    def get(self, request):
        """Each market-data provider in the order quotes try them, then those not configured. Calls no provider."""
        return Response(ProviderStatusSerializer(market_data().status(), many=True).data)


class QuoteSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    price = serializers.DecimalField(**MONEY_DECIMAL, help_text="last trade, or the mid of bid and ask")
    bid = serializers.DecimalField(**MONEY_DECIMAL, allow_null=True)
    ask = serializers.DecimalField(**MONEY_DECIMAL, allow_null=True)
    ts = serializers.DateTimeField(help_text="the provider's time of the quote, UTC")
    provider = serializers.CharField(help_text="the provider that served it")
    cached = serializers.BooleanField(help_text="served from the cache rather than a provider call just now")
    stale = serializers.BooleanField(help_text="the last-known quote, served because no provider answered")
    age_seconds = serializers.FloatField(help_text="seconds since it was fetched from the provider")


class QuoteApi(APIView):
    @extend_schema(operation_id="market_quote", responses={200: QuoteSerializer, 400: BAD_REQUEST, 503: NO_PROVIDER})
    def get(self, request, symbol: str):
        """The latest quote of a symbol through the provider chain; it says where it came from and how old it is."""
        if not SYMBOL.match(symbol):
            raise ApplicationError("A symbol is letters, digits, '.' and '-' (at most 32), e.g. SPY or BTC-USDT.",
                                   field="symbol")
        return Response(QuoteSerializer(market_data().quote(symbol)).data)  # none available: 503 (NoProviderAvailable)
