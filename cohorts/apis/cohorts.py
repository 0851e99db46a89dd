"""REST endpoints of cohorts: launch, list, detail, agent drill-down and CSV exports."""
from __future__ import annotations

import csv
from decimal import ROUND_HALF_UP

from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.fields import SkipField, empty
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.views import APIView

from cohorts.filters import CohortFilter
from cohorts.models import AllocationPolicy, Cohort, CohortMode
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
from cohorts.services.inputs import LaunchInput, cohort_input
from neolight import formats
from neolight.csvsafe import csv_row
from neolight.errors import BAD_REQUEST, ApplicationError
from neolight.money import MONEY_DECIMAL as MONEY  # exact ledger amounts (fills, entries)
from neolight.throttles import LaunchThrottle

CENTS = {"max_digits": 20, "decimal_places": 2, "rounding": ROUND_HALF_UP}  # summary amounts, USD with cents
USD = "USD, a decimal string with cents"
FRACTION = "a fraction (0.0123 = 1.23%)"
LAUNCH_EXAMPLE = {  # the first full day of the bundled sample data (`manage.py load_sample_data`)
    "bankroll": "1000.00", "agents": 30, "policy": "equal",
    "symbols": ["ADA-USDT", "BTC-USDT", "DOGE-USDT", "ETH-USDT", "LTC-USDT", "XRP-USDT"],
    "start": "2021-05-06T00:00:00Z", "end": "2021-05-07T00:00:00Z", "seed": 7,
    "exposure_limit": "1.0", "leverage_ceiling": "2.0", "daily_stop": "0.05", "compliance_notes": "",
}


# Launch inputs travel as JSON strings (no binary float touches an amount) and are checked by `cohort_input`;
# the schema types them tightly, with examples that work as given in /api/docs/.
@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,6}(\.[0-9]{1,2})?$",
                      "example": LAUNCH_EXAMPLE["bankroll"]})
class BankrollText(serializers.CharField):
    """USD with at most two decimal places."""


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^[0-9]{1,2}(\.[0-9]{1,6})?$",
                      "example": "1.0"})
class MultipleText(serializers.CharField):
    """A multiple of equity with at most six decimal places."""


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^0?\.[0-9]{1,6}$",
                      "example": LAUNCH_EXAMPLE["daily_stop"]})
class FractionText(serializers.CharField):
    """A fraction strictly between 0 and 1, with at most six decimal places."""


@extend_schema_field({"type": "string", "format": "date-time", "example": LAUNCH_EXAMPLE["start"]})
class StartText(serializers.CharField):
    """An ISO-8601 date and time."""


@extend_schema_field({"type": "string", "format": "date-time", "example": LAUNCH_EXAMPLE["end"]})
class EndText(serializers.CharField):
    """An ISO-8601 date and time."""


@extend_schema_field({"type": "integer", "example": LAUNCH_EXAMPLE["agents"]})
class AgentCount(serializers.IntegerField):
    """How many agents (bounds checked by `cohort_input`)."""


@extend_schema_field({"type": "array", "items": {"type": "string"}, "minItems": 1,
                      "example": LAUNCH_EXAMPLE["symbols"]})
class SymbolList(serializers.ListField):
    """Symbols to trade."""


@extend_schema_field({"type": "number", "format": "double", "nullable": True})
class FractionOfPercent(serializers.FloatField):
    """A figure stored in percent points, given out as a fraction like every other ratio."""

    def to_representation(self, value):
        return None if value is None else float(value) / 100.0


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
    mode = serializers.CharField(help_text="replay or live (paper trading bar by bar)")
    bankroll = serializers.DecimalField(source="wallet.bankroll", help_text=f"drawn from the house bankroll; {USD}",
                                        **CENTS)
    policy = serializers.CharField(source="wallet.policy")
    symbols = serializers.ListField(child=serializers.CharField())
    window_start = serializers.DateTimeField(help_text="UTC")
    window_end = serializers.DateTimeField(help_text="UTC, exclusive")
    day_number = serializers.IntegerField(allow_null=True)
    agent_count = serializers.IntegerField()
    progress = serializers.IntegerField(help_text="percent of bars simulated, 0–100")
    final_equity = serializers.DecimalField(allow_null=True, help_text=f"parent equity at the end; {USD}", **CENTS)
    roi = serializers.FloatField(allow_null=True, help_text=f"return on the bankroll, {FRACTION}")
    max_drawdown = serializers.FloatField(allow_null=True, help_text=f"of parent equity, {FRACTION}")
    utilisation = FractionOfPercent(allow_null=True, help_text=f"mean gross exposure / parent equity, {FRACTION}")
    breaches = serializers.IntegerField(help_text="limits breached: daily stop, circuit breakers, leverage ceiling")
    agents_paused = serializers.IntegerField(source="failed_agents",
                                             help_text="agents a circuit breaker paused at least once")
    is_ledger_balanced = serializers.BooleanField(allow_null=True)
    is_reconciled = serializers.BooleanField(allow_null=True)
    runtime_seconds = serializers.FloatField(allow_null=True, help_text="seconds")
    created_at = serializers.DateTimeField()


class AgentScoreSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    family = serializers.CharField()
    params = serializers.DictField(help_text="the genome's parameters, at full precision")
    is_short_horizon = serializers.BooleanField()
    capital = serializers.DecimalField(help_text=f"drawn from the parent wallet; {USD}", **CENTS)
    final_equity = serializers.DecimalField(allow_null=True, help_text=USD, **CENTS)
    realised_pnl = serializers.DecimalField(allow_null=True, help_text=USD, **CENTS)
    unrealised_pnl = serializers.DecimalField(allow_null=True, help_text=USD, **CENTS)
    roi = serializers.FloatField(allow_null=True, help_text=f"return on capital, {FRACTION}")
    sharpe = serializers.FloatField(allow_null=True, help_text="annualised")
    sortino = serializers.FloatField(allow_null=True, help_text="annualised")
    variance = serializers.FloatField(allow_null=True, help_text="of per-bar returns")
    max_drawdown = serializers.FloatField(allow_null=True, help_text=f"of the agent's equity, {FRACTION}")
    max_drawdown_vs_parent = serializers.FloatField(allow_null=True, help_text=f"of the parent bankroll, {FRACTION}")
    utilisation = FractionOfPercent(allow_null=True, help_text=f"mean gross exposure / equity, {FRACTION}")
    leverage_breaches = serializers.IntegerField()
    trades = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True, help_text=f"closed trades that won, {FRACTION}")
    confidence = serializers.FloatField(allow_null=True, help_text="0–1")


class CohortDetailSerializer(CohortSerializer):
    compliance_notes = serializers.CharField()
    summary = serializers.DictField()
    agents = AgentScoreSerializer(many=True)


class LaunchSerializer(serializers.Serializer):
    bankroll = BankrollText(help_text="USD, a decimal string with at most 2 places, e.g. \"1000.00\" "
                                      "(bounds $50–$100,000 by default)")
    agents = AgentCount(required=False, help_text="10–300, default 30")
    policy = serializers.ChoiceField(choices=AllocationPolicy.values, required=False, default=AllocationPolicy.EQUAL)
    symbols = SymbolList(child=serializers.CharField(), min_length=1, help_text="at most 50 by default")
    start = StartText(help_text="ISO-8601; without an offset it is UTC")
    end = EndText(help_text="ISO-8601, exclusive; the window holds ≥ 2 bars of every symbol")
    seed = serializers.IntegerField(required=False, default=7, help_text="0–2,147,483,647, default 7")
    exposure_limit = MultipleText(required=False, help_text="gross notional / parent equity, a multiple (1.0 = "
                                  "100% of equity); 0.000001–10 by default, at most 6 decimal places")
    leverage_ceiling = MultipleText(required=False, help_text="per agent, a multiple of its equity; 0.000001–10 by "
                                    "default, at most 6 decimal places")
    daily_stop = FractionText(required=False, help_text=f"loss on the day that halts all, {FRACTION}; strictly "
                          "between 0 and 1, at most 6 decimal places")
    compliance_notes = serializers.CharField(required=False, allow_blank=True, default="",
                                             help_text="at most 2,000 characters by default")
    mode = serializers.ChoiceField(choices=CohortMode.values, required=False, default=CohortMode.REPLAY,
                                   help_text="replay (default): the stored bars at once; live: paper trading bar "
                                             "by bar as each minute's bar is stored")


def launch_input(data) -> LaunchInput:
    """Every fault of a launch request at once: the serializer's type checks, then `cohort_input`'s checks of
    the fields that passed them; one ApplicationError (one entry per field) when anything is wrong."""
    body = LaunchSerializer(data=data)
    if body.is_valid():
        return cohort_input(**body.validated_data)
    if not isinstance(data, dict):
        raise serializers.ValidationError(body.errors)
    errors = {name: _messages(problem) for name, problem in body.errors.items()}
    values = {"bankroll": None, "symbols": None, "start": None, "end": None}
    for name, field in body.fields.items():
        try:
            if name not in errors:
                values[name] = field.run_validation(data.get(name, empty))
        except (SkipField, serializers.ValidationError):
            pass
    try:
        cohort_input(**values)
    except ApplicationError as exc:
        for name, messages in exc.errors.items():
            errors.setdefault(name, messages)
    raise ApplicationError(errors=errors)


def _messages(problem) -> list[str]:
    """DRF's error detail for one field (a list, or per item of a list) as plain messages."""
    if isinstance(problem, dict):
        return [f"Item {key}: {m}" for key, item in problem.items() for m in _messages(item)]
    if isinstance(problem, list):
        return [m for item in problem for m in _messages(item)]
    return [str(problem)]


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
                   examples=[OpenApiExample("A day of the bundled sample data", value=LAUNCH_EXAMPLE, request_only=True)],
                   responses={202: CohortSerializer, 400: BAD_REQUEST, 403: OpenApiResponse(description="Forbidden")})
    def post(self, request):
        """Launches a cohort: validates (reporting every bad field at once), draws its bankroll, and queues the
        run; answers at once (202)."""
        cohort = cohort_launch(data=launch_input(request.data), user=request.user)
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
        "id", "status", "status_reason", "mode", "wallet", "symbols", "window_start", "window_end", "day_number",
        "agent_count", "progress", "final_equity", "roi", "max_drawdown", "utilisation", "breaches", "failed_agents",
        "is_ledger_balanced", "is_reconciled", "runtime_seconds", "created_at", "compliance_notes"]}


class FillSerializer(serializers.Serializer):
    ts = serializers.DateTimeField(help_text="open time of the bar filled at, UTC")
    symbol = serializers.CharField(source="instrument.symbol")
    side = serializers.CharField()
    qty = serializers.DecimalField(help_text="units of the symbol, 8 decimal places", **MONEY)
    price = serializers.DecimalField(help_text="USD per unit, 8 decimal places", **MONEY)
    fee = serializers.DecimalField(help_text="USD, exact to 8 decimal places", **MONEY)


class EntrySerializer(serializers.Serializer):
    transaction = serializers.CharField(source="transaction.idempotency_key")
    kind = serializers.CharField(source="transaction.kind")
    account = serializers.CharField(source="account.code")
    amount = serializers.DecimalField(help_text="USD, exact to 8 decimal places; debits positive", **MONEY)


class AgentDetailSerializer(AgentScoreSerializer):
    fills = FillSerializer(many=True)
    ledger = EntrySerializer(many=True)
    equity = serializers.ListField(child=serializers.ListField(), help_text="[[epoch seconds, equity in USD], …]")


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


# The CSV exports' columns, in this order (documented in the README): amounts in USD to the cent, ratios as
# plain-decimal fractions, times in ISO-8601 UTC, parameters as JSON; a missing value is an empty cell.
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


def _flag(value: bool | None) -> str:
    return "" if value is None else str(value).lower()


def cohort_csv_row(c) -> list:
    """One cohort as its CSV row, in COHORT_CSV_COLUMNS order."""
    return [c.pk, c.status, formats.cents(c.wallet.bankroll), c.wallet.policy, " ".join(c.symbols),
            c.window_start.isoformat(), c.window_end.isoformat(), c.agent_count, formats.cents(c.final_equity),
            formats.plain(c.roi), formats.plain(c.max_drawdown), formats.plain(formats.from_percent(c.utilisation)),
            c.breaches, _flag(c.is_ledger_balanced), _flag(c.is_reconciled), formats.plain(c.runtime_seconds),
            c.compliance_notes]


def agent_csv_row(cohort_id: int, a) -> list:
    """One agent as its CSV row, in AGENT_CSV_COLUMNS order."""
    return [cohort_id, a.index, a.family, formats.params_json(a.params), formats.cents(a.capital),
            formats.cents(a.final_equity), formats.cents(a.realised_pnl), formats.cents(a.unrealised_pnl),
            formats.plain(a.roi), formats.plain(a.sharpe), formats.plain(a.sortino), formats.plain(a.max_drawdown),
            formats.plain(formats.from_percent(a.utilisation)), a.leverage_breaches, a.trades,
            formats.plain(a.win_rate), formats.plain(a.confidence)]


class CohortListCsvApi(APIView):
    filter_backends, filterset_class = [DjangoFilterBackend], CohortFilter
    queryset = Cohort.objects.none()  # names the model for the schema; reads go through cohort_list

    @extend_schema(operation_id="cohorts_export", filters=True,
                   responses={(200, "text/csv"): OpenApiTypes.STR, 400: BAD_REQUEST})
    def get(self, request):
        """The filtered cohort list as CSV (every page); columns as documented in the README."""
        cohorts = DjangoFilterBackend().filter_queryset(request, cohort_list(user=request.user), self)
        rows = (cohort_csv_row(c) for c in cohorts)
        return _csv("cohorts.csv", COHORT_CSV_COLUMNS, rows)


class CohortAgentsCsvApi(APIView):
    @extend_schema(operation_id="cohorts_agents_export", responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request, cohort_id: int):
        """A cohort's agents and their scores as CSV; columns as documented in the README."""
        cohort = cohort_get(user=request.user, cohort_id=cohort_id)
        rows = (agent_csv_row(cohort.pk, a) for a in cohort.agents.order_by("index"))
        return _csv(f"cohort-{cohort.pk}-agents.csv", AGENT_CSV_COLUMNS, rows)
