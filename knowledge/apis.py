"""REST endpoints of campaigns: start one (it replays on a worker), read its report, cancel it."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from cohorts.models import AllocationPolicy
from knowledge.selectors import campaign_get, campaign_report
from knowledge.services.campaigns import campaign_cancel, campaign_input_all, campaign_start

BAD_REQUEST = OpenApiResponse(description="Invalid input: `detail` says what is wrong first, `errors` names every bad field.")
FORBIDDEN = OpenApiResponse(description="You may not start or cancel campaigns.")


class CanStartCampaigns(BasePermission):
    message = "You may not start or cancel campaigns."

    def has_permission(self, request, view):
        return request.method != "POST" or request.user.has_perm("knowledge.add_campaign")


class CampaignStartSerializer(serializers.Serializer):
    """The same inputs as `manage.py run_campaign`, checked by the same `campaign_input`."""

    bankroll = serializers.CharField(help_text="Day 1's bankroll in USD, a decimal string, e.g. \"1000.00\" ($50–$100,000 by default)")
    days = serializers.IntegerField(help_text="Day 1 … Day N, 1–30 by default")
    start = serializers.DateField(help_text="UTC date of Day 1, YYYY-MM-DD")
    policy = serializers.ChoiceField(choices=AllocationPolicy.values, required=False,
                                     default=AllocationPolicy.PERFORMANCE_WEIGHTED)
    symbols = serializers.ListField(child=serializers.CharField(), required=False, allow_empty=True,
                                    help_text="default: every symbol with bars on Day 1")
    agents = serializers.IntegerField(required=False, help_text="agents per day, 10–300, default 30")
    seed = serializers.IntegerField(required=False, help_text="seed of Day 1's roster and of the learning, default 7")
    lookback_hours = serializers.IntegerField(required=False, help_text="hours, 1–72: tune on 2L…L before a day's end, "
                                                                       "score on the last L")
    trials = serializers.IntegerField(required=False, help_text="optuna trials per genome family per cycle, 1–5,000")
    name = serializers.CharField(required=False, allow_blank=True, default="", help_text="at most 120 characters")


class CampaignDaySerializer(serializers.Serializer):
    day = serializers.IntegerField()
    date = serializers.DateField()
    cohort = serializers.IntegerField()
    status = serializers.CharField()
    bankroll = serializers.CharField(help_text="USD, decimal string with cents")
    final_equity = serializers.CharField(allow_null=True, help_text="USD, decimal string with cents")
    roi = serializers.FloatField(allow_null=True, help_text="fraction: 0.01 is +1%")
    cycle = serializers.DictField(allow_null=True, help_text="the learning cycle after the day")


class CampaignSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    status = serializers.CharField()
    reason = serializers.CharField()
    bankroll = serializers.CharField(help_text="USD, decimal string with cents")
    days = serializers.IntegerField()
    start = serializers.DateField()
    policy = serializers.CharField()
    symbols = serializers.ListField(child=serializers.CharField())
    agents = serializers.IntegerField()
    lookback_hours = serializers.IntegerField()
    trials_per_family = serializers.IntegerField()
    final_equity = serializers.CharField(allow_null=True, help_text="USD, after the latest finished day")
    roi = serializers.FloatField(allow_null=True, help_text="fraction: 0.01 is +1%")
    day_results = CampaignDaySerializer(many=True)


class CampaignStartApi(APIView):
    permission_classes = [*APIView.permission_classes, CanStartCampaigns]

    @extend_schema(operation_id="campaigns_start", request=CampaignStartSerializer,
                   responses={202: CampaignSerializer, 400: BAD_REQUEST, 403: FORBIDDEN})
    def post(self, request):
        """Starts a replay campaign: validates like `run_campaign`, then a worker advances it day by day (202)."""
        body = CampaignStartSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        campaign = campaign_start(data=campaign_input_all(**body.validated_data), user=request.user)
        return Response(CampaignSerializer(campaign_report(campaign)).data, status=status.HTTP_202_ACCEPTED)


class CampaignDetailApi(APIView):
    @extend_schema(operation_id="campaigns_detail", responses=CampaignSerializer)
    def get(self, request, campaign_id: int):
        """A campaign and its days so far: each day's cohort, result and the learning cycle after it."""
        return Response(CampaignSerializer(campaign_report(campaign_get(user=request.user, campaign_id=campaign_id))).data)


class CampaignCancelApi(APIView):
    permission_classes = [*APIView.permission_classes, CanStartCampaigns]

    @extend_schema(operation_id="campaigns_cancel", request=None,
                   responses={200: CampaignSerializer, 400: BAD_REQUEST, 403: FORBIDDEN})
    def post(self, request, campaign_id: int):
        """Cancels a pending or running campaign: the day under way finishes, or is refunded if it has not run."""
        campaign = campaign_get(user=request.user, campaign_id=campaign_id)
        campaign = campaign_cancel(campaign_id=campaign.pk, user=request.user)
        return Response(CampaignSerializer(campaign_report(campaign)).data)
