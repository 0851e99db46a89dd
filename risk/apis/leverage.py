"""`GET /api/risk/leverage`: a subject's tier, the next tier and what triggers a move, the ladder, and its
decision log (a page at a time). Reads only; the decisions are written by the schedule (risk/tasks/leverage.py)."""
from __future__ import annotations

import math

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from neolight.errors import BAD_REQUEST, ApplicationError
from risk.models import DecisionStatus
from risk.selectors.leverage import (
    SUBJECTS,
    current_tier,
    decisions_all,
    decisions_of,
    house_bankroll,
    ladder_default,
    ladder_triggers,
    leverage_subject,
    next_tier,
)

PAGE_SIZE = 50
TIER = {"max_digits": 6, "decimal_places": 2}
NOT_FOUND = OpenApiResponse(description="No such subject: `errors` names the field.")


class LeverageQuerySerializer(serializers.Serializer):
    bankroll = serializers.IntegerField(min_value=1, required=False, help_text="a bankroll's id")
    cohort = serializers.IntegerField(min_value=1, required=False, help_text="a cohort's id")
    campaign = serializers.IntegerField(min_value=1, required=False, help_text="a campaign's id")
    deployment = serializers.IntegerField(min_value=1, required=False, help_text="a deployment's id")
    page = serializers.IntegerField(min_value=1, required=False, default=1, help_text=f"{PAGE_SIZE} decisions a page")

    def validate(self, attrs):
        given = [kind for kind in SUBJECTS if kind in attrs]
        if len(given) > 1:
            raise serializers.ValidationError({kind: [f"Ask about one subject at a time (got {', '.join(given)})."]
                                               for kind in given})
        return attrs


class LadderSerializer(serializers.Serializer):
    name = serializers.CharField()
    start = serializers.DecimalField(**TIER)
    step_up = serializers.DecimalField(**TIER)
    step_down = serializers.DecimalField(**TIER)
    cap = serializers.DecimalField(**TIER)
    floor = serializers.DecimalField(**TIER)
    up_sharpe = serializers.FloatField()
    up_max_drawdown = serializers.FloatField(help_text="fraction")
    window = serializers.IntegerField(help_text="observations in the rolling window")
    down_drawdown = serializers.FloatField(help_text="fraction")
    down_consecutive_losses = serializers.IntegerField()


class SubjectSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SUBJECTS)
    id = serializers.IntegerField()


class DecisionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.SerializerMethodField()
    rule = serializers.CharField(help_text="risk.engine.Rule, or hold_awaiting_approval")
    from_tier = serializers.DecimalField(**TIER)
    to_tier = serializers.DecimalField(**TIER)
    status = serializers.ChoiceField(choices=DecisionStatus.choices)
    rationale = serializers.CharField()
    inputs = serializers.DictField(help_text="rolling_sharpe, drawdown, max_drawdown, consecutive_losses, "
                                             "observations, periods_per_year, and what the series was read from")
    request = serializers.IntegerField(source="request_id", allow_null=True,
                                       help_text="the promotions request a LIVE step up waits for")
    created_at = serializers.DateTimeField()
    applied_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(SubjectSerializer)
    def get_subject(self, decision) -> dict:
        return {"kind": decision.subject_kind, "id": getattr(decision, f"{decision.subject_kind}_id")}


class TriggersSerializer(serializers.Serializer):
    step_up = serializers.CharField()
    step_down = serializers.CharField()


class LeverageSerializer(serializers.Serializer):
    subject = SubjectSerializer(allow_null=True, help_text="null: every subject's decisions")
    tier = serializers.DecimalField(**TIER, allow_null=True)
    next_tier = serializers.DecimalField(**TIER, allow_null=True, help_text="null at the cap")
    triggers = TriggersSerializer()
    ladder = LadderSerializer()
    decisions = DecisionSerializer(many=True)
    count = serializers.IntegerField(help_text="decisions in all")
    page = serializers.IntegerField()
    pages = serializers.IntegerField()


class LeverageApi(APIView):
    @extend_schema(operation_id="risk_leverage", parameters=[LeverageQuerySerializer],
                   responses={200: LeverageSerializer, 400: BAD_REQUEST, 404: NOT_FOUND})
    def get(self, request):
        """The leverage ladder for one subject (`bankroll`, `cohort`, `campaign` or `deployment`; none: the house
        bankroll, else every subject's decisions): its tier and the next one, what triggers a move, the ladder's
        thresholds and the decision log, newest first, a page at a time."""
        query = LeverageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        given = {kind: query.validated_data[kind] for kind in SUBJECTS if kind in query.validated_data}
        if not given and (house := house_bankroll()) is not None:
            given = {"bankroll": house.pk}
        ladder = ladder_default()
        if given:
            (kind, subject_id), = given.items()
            leverage_subject(kind, subject_id)
            decisions, tier = decisions_of(kind, subject_id), current_tier(**given)
            subject = {"kind": kind, "id": subject_id}
        else:
            decisions, tier, subject = decisions_all(), None, None
        count = decisions.count()
        pages = max(1, math.ceil(count / PAGE_SIZE))
        page = query.validated_data["page"]
        if page > pages:
            raise ApplicationError(f"There are {pages} page(s) of decisions, not {page}.", field="page")
        return Response(LeverageSerializer({
            "subject": subject, "tier": tier, "next_tier": None if tier is None else next_tier(ladder, tier),
            "triggers": ladder_triggers(ladder), "ladder": ladder,
            "decisions": decisions[(page - 1) * PAGE_SIZE: page * PAGE_SIZE], "count": count, "page": page,
            "pages": pages}).data)

