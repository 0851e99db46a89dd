"""REST endpoints of cohorts: launch, list, detail, agent drill-down and CSV exports."""
from __future__ import annotations

import csv

from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from cohorts.filters import CohortFilter
from cohorts.models import AllocationPolicy, Cohort
from cohorts.selectors.cohorts import (
    agent_entries,
    agent_fills,
    agent_get,
    cohort_curves,
    cohort_get,
    cohort_list,
    cohort_summary,
)
from cohorts.services.cohorts import cohort_launch
from cohorts.services.inputs import cohort_input
from neolight.csvsafe import csv_row
from neolight.errors import BAD_REQUEST
from neolight.money import MONEY_DECIMAL as MONEY
from neolight.throttles import LaunchThrottle


class CanLaunchCohorts(BasePermission):
    message = "You may not launch cohorts."

    def has_permission(self, request, view):
        return request.method != "POST" or request.user.has_perm("cohorts.add_cohort")


class CohortPagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


class CohortSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    status_reason = serializers.CharField()
    bankroll = serializers.DecimalField(source="wallet.bankroll", **MONEY)
    policy = serializers.CharField(source="wallet.policy")
    symbols = serializers.ListField(child=serializers.CharField())
    window_start = serializers.DateTimeField()
    window_end = serializers.DateTimeField()
    day_number = serializers.IntegerField(allow_null=True)
    agent_count = serializers.IntegerField()
    progress = serializers.IntegerField()
    final_equity = serializers.DecimalField(allow_null=True, **MONEY)
    roi = serializers.FloatField(allow_null=True)
    max_drawdown = serializers.FloatField(allow_null=True)
    utilisation = serializers.FloatField(allow_null=True)
    breaches = serializers.IntegerField()
    is_ledger_balanced = serializers.BooleanField(allow_null=True)
    is_reconciled = serializers.BooleanField(allow_null=True)
    runtime_seconds = serializers.FloatField(allow_null=True)
    created_at = serializers.DateTimeField()


class AgentScoreSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    family = serializers.CharField()
    params = serializers.DictField()
    is_short_horizon = serializers.BooleanField()
    capital = serializers.DecimalField(**MONEY)
    final_equity = serializers.DecimalField(allow_null=True, **MONEY)
    realised_pnl = serializers.DecimalField(allow_null=True, **MONEY)
    unrealised_pnl = serializers.DecimalField(allow_null=True, **MONEY)
    roi = serializers.FloatField(allow_null=True)
    sharpe = serializers.FloatField(allow_null=True)
    sortino = serializers.FloatField(allow_null=True)
    variance = serializers.FloatField(allow_null=True)
    max_drawdown = serializers.FloatField(allow_null=True)
    max_drawdown_vs_parent = serializers.FloatField(allow_null=True)
    utilisation = serializers.FloatField(allow_null=True)
    leverage_breaches = serializers.IntegerField()
    trades = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True)
    confidence = serializers.FloatField(allow_null=True)


class CohortDetailSerializer(CohortSerializer):
    compliance_notes = serializers.CharField()
    summary = serializers.DictField()
    agents = AgentScoreSerializer(many=True)


class LaunchSerializer(serializers.Serializer):
    bankroll = serializers.CharField(help_text="USD, e.g. \"1000\" (bounds $50–$100,000 by default)")
    agents = serializers.IntegerField(required=False, help_text="10–300, default 30")
    policy = serializers.ChoiceField(choices=AllocationPolicy.values, required=False, default=AllocationPolicy.EQUAL)
    symbols = serializers.ListField(child=serializers.CharField(), min_length=1, help_text="at most 50 by default")
    start = serializers.CharField(help_text="ISO-8601, UTC")
    end = serializers.CharField(help_text="ISO-8601, UTC, exclusive; the window holds ≥ 2 bars of every symbol")
    seed = serializers.IntegerField(required=False, default=7, help_text="0–2,147,483,647, default 7")
    exposure_limit = serializers.CharField(required=False, help_text="gross notional / parent equity, "
                                           "0.000001–10 by default, at most 6 decimal places")
    leverage_ceiling = serializers.CharField(required=False, help_text="per agent, 0.000001–10 by default, "
                                             "at most 6 decimal places")
    daily_stop = serializers.CharField(required=False, help_text="fraction of equity, strictly between 0 and 1, "
                                       "at most 6 decimal places")
    compliance_notes = serializers.CharField(required=False, allow_blank=True, default="",
                                             help_text="at most 2,000 characters by default")


class CohortListApi(APIView):
    permission_classes = [*APIView.permission_classes, CanLaunchCohorts]
    throttle_classes = [*APIView.throttle_classes, LaunchThrottle]
    filter_backends, filterset_class = [DjangoFilterBackend], CohortFilter
    queryset = Cohort.objects.none()  # names the model for the schema; reads go through cohort_list

    @extend_schema(operation_id="cohorts_list", filters=True,
                   responses={200: CohortSerializer(many=True), 400: BAD_REQUEST})
    def get(self, request):
        """Cohorts, newest first; filter by `date` (window day), `bankroll` and `status`; paginated."""
        cohorts = DjangoFilterBackend().filter_queryset(request, cohort_list(user=request.user), self)
        paginator = CohortPagination()
        page = paginator.paginate_queryset(cohorts, request, view=self)
        return paginator.get_paginated_response(CohortSerializer(page, many=True).data)

    @extend_schema(operation_id="cohorts_launch", request=LaunchSerializer,
                   responses={202: CohortSerializer, 400: BAD_REQUEST, 403: OpenApiResponse(description="Forbidden")})
    def post(self, request):
        """Launches a cohort: validates, draws its bankroll, and queues the run; answers at once (202)."""
        body = LaunchSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cohort = cohort_launch(data=cohort_input(**body.validated_data), user=request.user)
        cohort = cohort_get(user=request.user, cohort_id=cohort.pk)
        return Response(CohortSerializer(cohort).data, status=status.HTTP_202_ACCEPTED)


class CohortDetailApi(APIView):
    @extend_schema(operation_id="cohorts_detail", responses=CohortDetailSerializer)
    def get(self, request, cohort_id: int):
        """One cohort with its summary and every agent's scores."""
        cohort = cohort_get(user=request.user, cohort_id=cohort_id)
        data = CohortDetailSerializer({**_fields(cohort), "summary": cohort_summary(cohort),
                                       "agents": cohort.agents.order_by("index")}).data
        return Response(data)


def _fields(cohort) -> dict:
    return {name: getattr(cohort, name) for name in [
        "id", "status", "status_reason", "wallet", "symbols", "window_start", "window_end", "day_number",
        "agent_count", "progress", "final_equity", "roi", "max_drawdown", "utilisation", "breaches",
        "is_ledger_balanced", "is_reconciled", "runtime_seconds", "created_at", "compliance_notes"]}


class FillSerializer(serializers.Serializer):
    ts = serializers.DateTimeField()
    symbol = serializers.CharField(source="instrument.symbol")
    side = serializers.CharField()
    qty = serializers.DecimalField(**MONEY)
    price = serializers.DecimalField(**MONEY)
    fee = serializers.DecimalField(**MONEY)


class EntrySerializer(serializers.Serializer):
    transaction = serializers.CharField(source="transaction.idempotency_key")
    kind = serializers.CharField(source="transaction.kind")
    account = serializers.CharField(source="account.code")
    amount = serializers.DecimalField(**MONEY)


class AgentDetailSerializer(AgentScoreSerializer):
    fills = FillSerializer(many=True)
    ledger = EntrySerializer(many=True)
    equity = serializers.ListField(child=serializers.ListField(), help_text="[[epoch seconds, equity], …]")


class AgentDetailApi(APIView):
    @extend_schema(operation_id="cohorts_agent_detail", responses=AgentDetailSerializer)
    def get(self, request, cohort_id: int, index: int):
        """One agent of a cohort: scores, trades, ledger entries and its full equity curve."""
        cohort = cohort_get(user=request.user, cohort_id=cohort_id)
        agent = agent_get(cohort=cohort, index=index)
        curves = cohort_curves(cohort)
        equity = [] if curves is None else [[int(t), round(float(v), 8)] for t, v in
                                            zip(curves["timestamps"], curves["agents"][index])]
        data = AgentDetailSerializer({**{f: getattr(agent, f) for f in AgentScoreSerializer().fields},
                                      "fills": agent_fills(agent), "ledger": agent_entries(agent), "equity": equity}).data
        return Response(data)


COHORT_CSV_COLUMNS = ["id", "status", "bankroll", "policy", "symbols", "window_start", "window_end", "agents",
                      "final_equity", "roi", "max_drawdown", "utilisation", "breaches", "ledger_balanced",
                      "reconciled", "runtime_seconds", "compliance_notes"]
AGENT_CSV_COLUMNS = ["cohort", "agent", "family", "params", "capital", "final_equity", "realised_pnl",
                     "unrealised_pnl", "roi", "sharpe", "sortino", "max_drawdown", "utilisation",
                     "leverage_breaches", "trades", "win_rate", "confidence"]


def _csv(filename: str, header: list[str], rows) -> HttpResponse:
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(csv_row(row) for row in rows)  # text that a spreadsheet would run is quoted
    return response


class CohortListCsvApi(APIView):
    filter_backends, filterset_class = [DjangoFilterBackend], CohortFilter
    queryset = Cohort.objects.none()  # names the model for the schema; reads go through cohort_list

    @extend_schema(operation_id="cohorts_export", filters=True,
                   responses={(200, "text/csv"): OpenApiTypes.STR, 400: BAD_REQUEST})
    def get(self, request):
        """The filtered cohort list as CSV (every page)."""
        cohorts = DjangoFilterBackend().filter_queryset(request, cohort_list(user=request.user), self)
        rows = ([c.pk, c.status, c.wallet.bankroll, c.wallet.policy, " ".join(c.symbols), c.window_start.isoformat(),
                 c.window_end.isoformat(), c.agent_count, c.final_equity, c.roi, c.max_drawdown, c.utilisation,
                 c.breaches, c.is_ledger_balanced, c.is_reconciled, c.runtime_seconds, c.compliance_notes]
                for c in cohorts)
        return _csv("cohorts.csv", COHORT_CSV_COLUMNS, rows)


class CohortAgentsCsvApi(APIView):
    @extend_schema(operation_id="cohorts_agents_export", responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, cohort_id: int):
        """A cohort's agents and their scores as CSV."""
        cohort = cohort_get(user=request.user, cohort_id=cohort_id)
        rows = ([cohort.pk, a.index, a.family, a.params, a.capital, a.final_equity, a.realised_pnl, a.unrealised_pnl,
                 a.roi, a.sharpe, a.sortino, a.max_drawdown, a.utilisation, a.leverage_breaches, a.trades, a.win_rate,
                 a.confidence] for a in cohort.agents.order_by("index"))
        return _csv(f"cohort-{cohort.pk}-agents.csv", AGENT_CSV_COLUMNS, rows)
