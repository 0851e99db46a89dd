"""The assistant's reads of cohorts: status, promotion readiness, and the bankroll over 7 days."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.selectors.bankroll import bankroll_summary
from assistant.selectors.readiness import promotion_readiness
from assistant.selectors.status import cohorts_status
from promotions.serializers import CheckSerializer

USD = "USD, a decimal string with cents"


class CohortStatusSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    reason = serializers.CharField()
    mode = serializers.CharField()
    bankroll = serializers.CharField(help_text=USD)
    final_equity = serializers.CharField(allow_null=True, help_text=USD)
    roi = serializers.FloatField(allow_null=True, help_text="fraction")
    max_drawdown = serializers.FloatField(allow_null=True, help_text="fraction")
    progress = serializers.IntegerField(help_text="percent")
    agents = serializers.IntegerField()
    symbols = serializers.ListField(child=serializers.CharField())
    day_number = serializers.IntegerField(allow_null=True)
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    created_at = serializers.DateTimeField()


class CohortsStatusSerializer(serializers.Serializer):
    cohorts = CohortStatusSerializer(many=True)


class ReadinessStepSerializer(serializers.Serializer):
    step = serializers.IntegerField()
    role = serializers.CharField()
    state = serializers.CharField(help_text="approved, rejected, pending or void")
    is_next = serializers.BooleanField()
    user = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField(allow_null=True)


class ReadinessSerializer(serializers.Serializer):
    cohort = serializers.IntegerField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    verdict = serializers.CharField(help_text="not_weighed, not_finished, not_eligible, eligible, "
                                    "awaiting_signatures, approved, rejected, expired, cancelled")
    candidate = serializers.DictField(allow_null=True, help_text="the best candidate: agent, family, rank, "
                                      "allocation (USD string), is_eligible")
    request = serializers.DictField(allow_null=True, help_text="its latest request: id, status, expires_at")
    checks = CheckSerializer(many=True)  # each guard rail and readiness check, as on the Day-3 page
    chain = ReadinessStepSerializer(many=True)


class DaySerializer(serializers.Serializer):
    date = serializers.DateField()
    drawn = serializers.CharField(help_text=f"capital cohorts drew that day; {USD}")
    returned = serializers.CharField(help_text=f"capital that came back that day; {USD}")
    pnl = serializers.CharField(help_text=f"returned − drawn of the cohorts settled that day; {USD}")


class BankrollSummarySerializer(serializers.Serializer):
    bankroll = serializers.CharField()
    days = DaySerializer(many=True)
    totals = serializers.DictField(child=serializers.CharField(), help_text="drawn, returned, pnl")
    cash = serializers.CharField(help_text=f"available now; {USD}")
    at_work = serializers.CharField(help_text=f"held by pending and running cohorts; {USD}")


class CohortsStatusApi(APIView):
    @extend_schema(operation_id="assistant_cohorts_status", responses=CohortsStatusSerializer)
    def get(self, request):
        """The latest 20 cohorts you may see, newest first, with status and figures."""
        return Response(CohortsStatusSerializer({"cohorts": cohorts_status(user=request.user, limit=20)}).data)


class PromotionReadinessApi(APIView):
    @extend_schema(operation_id="assistant_cohort_readiness", responses=ReadinessSerializer)
    def get(self, request, cohort_id: int):
        """Each guard rail and readiness check of the cohort's best candidate, and each signature step."""
        return Response(ReadinessSerializer(promotion_readiness(user=request.user, cohort_id=cohort_id)).data)


class BankrollSummaryApi(APIView):
    @extend_schema(operation_id="assistant_bankroll_summary", responses=BankrollSummarySerializer)
    def get(self, request):
        """The house bankroll over the last 7 UTC days: drawn, returned and PnL per day; cash now."""
        return Response(BankrollSummarySerializer(bankroll_summary(days=7)).data)
