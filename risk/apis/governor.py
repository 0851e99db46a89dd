"""`GET /api/governor/allocations`: the capital governor's current and proposed allocations, each with its reason."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from neolight.errors import BAD_REQUEST
from risk.apis.var import FORBIDDEN, NOT_FOUND, USD
from risk.selectors.governor import governor_allocations


class GovernorQuerySerializer(serializers.Serializer):
    cohort = serializers.IntegerField(required=False, min_value=1,
                                      help_text="a completed cohort's id (default: the latest you may see)")


class _Allocation(serializers.Serializer):
    family = serializers.CharField()
    current = serializers.CharField(help_text=USD)
    proposed = serializers.CharField(help_text=USD)
    sharpe = serializers.FloatField(allow_null=True)
    roi = serializers.FloatField(allow_null=True, help_text="a fraction")
    volatility = serializers.FloatField(allow_null=True, help_text="standard deviation of 1-minute returns")
    reason = serializers.CharField()


class AgentAllocationSerializer(_Allocation):
    agent = serializers.IntegerField(help_text="the agent's index in its cohort")
    group = serializers.ListField(child=serializers.IntegerField(), help_text="agents sharing its cap (itself included)")


class DeploymentAllocationSerializer(_Allocation):
    deployment = serializers.IntegerField()
    mode = serializers.CharField()
    group = serializers.ListField(child=serializers.IntegerField(), help_text="deployments sharing its cap")


class CohortAllocationsSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    label = serializers.CharField()
    total = serializers.CharField(help_text=f"the parent wallet, {USD}")
    cash = serializers.CharField(help_text=f"left unallocated by the caps, {USD}; proposals + cash = total")
    agents = AgentAllocationSerializer(many=True)
    explanation = serializers.CharField(allow_blank=True)


class DeploymentAllocationsSerializer(serializers.Serializer):
    total = serializers.CharField(help_text=f"the running deployments' capital, at most their bankrolls', {USD}")
    cash = serializers.CharField(help_text=USD)
    items = DeploymentAllocationSerializer(many=True)
    explanation = serializers.CharField(allow_blank=True)


class AllocationsSerializer(serializers.Serializer):
    max_correlation = serializers.FloatField(help_text="above it, components share one cap")
    group_cap = serializers.FloatField(help_text="the most of the total one group may get (a fraction)")
    cohort = CohortAllocationsSerializer(allow_null=True, help_text="null: no completed cohort you may see")
    deployments = DeploymentAllocationsSerializer()


class AllocationsApi(APIView):
    @extend_schema(operation_id="governor_allocations", parameters=[GovernorQuerySerializer],
                   responses={200: AllocationsSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND})
    def get(self, request):
        """Current and proposed allocations per agent of the latest completed cohort you may see (or `cohort`) and
        per running deployment you may see: performance-weighted (Sharpe, ROI), volatility-scaled, correlation-aware
        caps, bounded by the money there is; each with its reason. Amounts add up exactly to the total."""
        query = GovernorQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(AllocationsSerializer(governor_allocations(user=request.user,
                                                                   cohort_id=query.validated_data.get("cohort"))).data)
