"""`POST /api/assistant/intents/grow`: start growing a bankroll over N days and get the day-by-day plan."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.services.grow import grow_input, grow_start
from neolight.errors import BAD_REQUEST
from neolight.throttles import LaunchThrottle


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,6}(\.[0-9]{1,2})?$",
                      "example": "1000.00"})
class BankrollText(serializers.CharField):
    """USD with at most two decimal places."""


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,2}(\.[0-9]{1,2})?$", "example": "3"})
class LeverageText(serializers.CharField):
    """A multiple (×), 1–10."""


class GrowSerializer(serializers.Serializer):
    bankroll = BankrollText(help_text="USD, a decimal string ($50–$100,000 by default)")
    days = serializers.IntegerField(help_text="1–60 (a campaign spans at most CAMPAIGN_MAX_DAYS, 30 by default)")
    max_leverage = LeverageText(required=False, help_text="1–10 (×), default 10: the ladder's tiers stop there")


class PlanRowSerializer(serializers.Serializer):
    day = serializers.IntegerField()
    date = serializers.DateField()
    start_low = serializers.CharField(help_text="USD, the day's starting bankroll at the low end of the range")
    start_high = serializers.CharField(help_text="USD, at the high end")
    return_low = serializers.FloatField(allow_null=True, help_text="fraction, 10th percentile of daily ROI on record")
    return_high = serializers.FloatField(allow_null=True, help_text="fraction, 90th percentile")
    end_low = serializers.CharField(allow_null=True, help_text="USD")
    end_high = serializers.CharField(allow_null=True, help_text="USD")
    leverage_tier = serializers.CharField(help_text="× the ladder could allow on that day (capped by max_leverage)")
    at_risk = serializers.CharField(help_text="USD, an estimate of the bankroll at risk that day: its starting bankroll (high end) × the "
                                    "larger of the daily stop and the worst daily loss on record")
    is_review = serializers.BooleanField(help_text="the Day-3 promotion review happens after this day")


class PlanSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    bankroll = serializers.CharField(help_text="USD")
    days = serializers.IntegerField()
    start = serializers.DateField()
    mode = serializers.CharField()
    symbols = serializers.ListField(child=serializers.CharField())
    max_leverage = serializers.CharField()
    ladder = serializers.DictField()
    daily_stop = serializers.FloatField()
    history = serializers.DictField(help_text="count, low, median, high, worst: daily ROI of completed cohorts")
    review_day = serializers.IntegerField(allow_null=True)
    note = serializers.CharField()
    rows = PlanRowSerializer(many=True)


class GrowApi(APIView):
    throttle_classes = [*APIView.throttle_classes, LaunchThrottle]  # counted as launches, like the launch API

    @extend_schema(operation_id="assistant_grow", request=GrowSerializer,
                   responses={201: PlanSerializer, 400: BAD_REQUEST,
                              403: OpenApiResponse(description="You may not start campaigns.")})
    def post(self, request):
        """Checks every field (all bad ones named at once) and the prerequisites (stored bars, no campaign of
        yours under way), starts a replay campaign and answers its day-by-day plan (201)."""
        data = request.data if isinstance(request.data, dict) else {}
        grown = grow_start(data=grow_input(bankroll=data.get("bankroll"), days=data.get("days"),
                                           max_leverage=data.get("max_leverage")), user=request.user)
        return Response(PlanSerializer(grown.plan).data, status=status.HTTP_201_CREATED)
