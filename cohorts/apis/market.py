"""REST endpoints of market data: instruments and bars."""
from datetime import timedelta

from django.conf import settings
from django.utils.http import urlencode
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from cohorts.models.market import VOLUME_DIGITS
from cohorts.selectors.market import TIMEFRAMES, bar_page, instrument_overview, instruments_by_symbol
from neolight.errors import BAD_REQUEST, ApplicationError
from neolight.money import MONEY_DECIMAL


class InstrumentSerializer(serializers.Serializer):
    symbol = serializers.CharField()
    name = serializers.CharField()
    asset_class = serializers.CharField()
    quote_currency = serializers.CharField()
    calendar = serializers.CharField(help_text="24/7 or an exchange calendar such as XNYS")
    session = serializers.CharField(help_text="regular or extended")
    bar_count = serializers.IntegerField()
    first_bar_at = serializers.DateTimeField(allow_null=True)
    last_bar_at = serializers.DateTimeField(allow_null=True)


class InstrumentListApi(APIView):
    @extend_schema(operation_id="market_instruments", responses=InstrumentSerializer(many=True))
    def get(self, request):
        """Every instrument with its number of 1-minute bars and their time span."""
        return Response(InstrumentSerializer(instrument_overview(), many=True).data)


class BarSerializer(serializers.Serializer):
    ts = serializers.DateTimeField(help_text="bar open time, UTC")
    open = serializers.DecimalField(**MONEY_DECIMAL)
    high = serializers.DecimalField(**MONEY_DECIMAL)
    low = serializers.DecimalField(**MONEY_DECIMAL)
    close = serializers.DecimalField(**MONEY_DECIMAL)
    volume = serializers.DecimalField(**{**MONEY_DECIMAL, "max_digits": VOLUME_DIGITS})  # resampled volumes are sums


class BarListApi(APIView):
    class BarQuerySerializer(serializers.Serializer):
        symbol = serializers.CharField(help_text="e.g. BTC-USDT")
        start = serializers.DateTimeField(required=False, help_text="UTC, inclusive; default: the first bar")
        end = serializers.DateTimeField(required=False, help_text="UTC, exclusive; default: start + 1 day")
        timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES), default="1m")
        limit = serializers.IntegerField(min_value=1, max_value=settings.BARS_API_MAX_ROWS,
                                         default=settings.BARS_API_MAX_ROWS)

        def validate(self, data):
            if "start" in data and "end" in data and data["end"] <= data["start"]:
                raise serializers.ValidationError({"end": "end must be after start."})
            return data

    class BarPageSerializer(serializers.Serializer):
        symbol = serializers.CharField()
        timeframe = serializers.CharField()
        start = serializers.DateTimeField()
        end = serializers.DateTimeField()
        count = serializers.IntegerField()
        next = serializers.URLField(allow_null=True, help_text="the next page of this window, if any")
        results = BarSerializer(many=True)

    @extend_schema(operation_id="market_bars", parameters=[BarQuerySerializer],
                   responses={200: BarPageSerializer, 400: BAD_REQUEST})
    def get(self, request):
        """Exact OHLCV bars of one symbol in [start, end), at 1m or resampled to 5m, 15m or 1h."""
        params = self.BarQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        instrument = instruments_by_symbol([query["symbol"].upper()])[query["symbol"].upper()]
        start = query.get("start") or _first_bar_at(instrument)
        end = query.get("end") or start + timedelta(days=1)
        if end <= start:
            raise ApplicationError("end must be after start.", field="end")
        frame, next_start = bar_page(instrument=instrument, start=start, end=end,
                                     timeframe=query["timeframe"], limit=query["limit"])
        next_url = None
        if next_start is not None:
            next_query = {**request.query_params.dict(), "start": next_start.isoformat(), "end": end.isoformat()}
            next_url = request.build_absolute_uri(f"{request.path}?{urlencode(next_query)}")
        results = [{"ts": ts, **row} for ts, row in zip(frame.index, frame.to_dict("records"))]
        return Response(self.BarPageSerializer({
            "symbol": instrument.symbol, "timeframe": query["timeframe"], "start": start, "end": end,
            "count": len(results), "next": next_url, "results": results,
        }).data)


def _first_bar_at(instrument):
    first = instrument.bars.order_by("ts").values_list("ts", flat=True).first()
    if first is None:
        raise ApplicationError(f"{instrument.symbol} has no bars yet.", field="symbol")
    return first
