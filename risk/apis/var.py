"""`GET /api/risk/var`: historical and Monte Carlo VaR/CVaR and stress losses of a cohort, deployment or bankroll."""
from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from neolight.errors import BAD_REQUEST
from risk.selectors.var import KINDS, var_report, var_subject

USD = "USD, a decimal string with cents (a loss is positive)"
FORBIDDEN = OpenApiResponse(description="A bankroll, without the right to see every cohort.")
NOT_FOUND = OpenApiResponse(description="No such cohort, deployment or bankroll you may see (as the cohorts API, a "
                                        "cohort you may not see is answered as one that is not there).")


class VarQuerySerializer(serializers.Serializer):
    cohort = serializers.IntegerField(required=False, min_value=1, help_text="a cohort's id: its parent wallet")
    deployment = serializers.IntegerField(required=False, min_value=1, help_text="a deployment's id")
    bankroll = serializers.IntegerField(required=False, min_value=1, help_text="a bankroll's id")
    horizon = serializers.IntegerField(required=False, min_value=1, help_text="1-minute steps (default RISK_VAR_HORIZON)")
    paths = serializers.IntegerField(required=False, min_value=1000, help_text="Monte Carlo paths (default RISK_VAR_PATHS)")

    def validate_horizon(self, value: int) -> int:
        if value > settings.RISK_VAR_MAX_HORIZON:
            raise serializers.ValidationError(f"Ensure this value is less than or equal to {settings.RISK_VAR_MAX_HORIZON}.")
        return value

    def validate_paths(self, value: int) -> int:
        if value > settings.RISK_VAR_MAX_PATHS:
            raise serializers.ValidationError(f"Ensure this value is less than or equal to {settings.RISK_VAR_MAX_PATHS}.")
        return value

    def validate(self, attrs: dict) -> dict:
        named = [kind for kind in KINDS if kind in attrs]
        if len(named) != 1:
            raise serializers.ValidationError({"subject": [f"Name exactly one of {', '.join(KINDS)} "
                                                           f"(got {', '.join(named) or 'none'})."]})
        return attrs


class VarSubjectSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=KINDS)
    id = serializers.IntegerField()
    label = serializers.CharField()


class FigureSerializer(serializers.Serializer):
    var = serializers.CharField(help_text=USD)
    cvar = serializers.CharField(help_text=f"expected shortfall, {USD}")
    var_fraction = serializers.FloatField(help_text="VaR as a fraction of the value (0.031 = 3.1%)")
    cvar_fraction = serializers.FloatField()
    method = serializers.CharField()
    samples = serializers.IntegerField(help_text="horizon returns the figures come from (windows or paths)")


LevelsSerializer = type("VarLevelsSerializer", (serializers.Serializer,), {
    "95": FigureSerializer(required=False), "99": FigureSerializer(required=False),
    "__doc__": "One entry per confidence level; empty when there is no data."})


class StressSerializer(serializers.Serializer):
    name = serializers.CharField()
    loss = serializers.CharField(help_text=USD)
    loss_fraction = serializers.FloatField()
    shocks = serializers.DictField(child=serializers.FloatField(), help_text="symbol → return applied")


class VarSerializer(serializers.Serializer):
    subject = VarSubjectSerializer()
    value = serializers.CharField(help_text="the value at risk's base: equity now, USD")
    horizon = serializers.IntegerField(help_text="1-minute steps")
    paths = serializers.IntegerField()
    seed = serializers.IntegerField()
    observations = serializers.IntegerField(help_text="1-minute returns measured")
    as_of = serializers.DateTimeField(allow_null=True, help_text="the end of the last bar measured")
    historical = LevelsSerializer()
    monte_carlo = LevelsSerializer()
    stress = StressSerializer(many=True)
    positions = serializers.DictField(child=serializers.FloatField(), help_text="symbol → fraction of the value")
    explanation = serializers.CharField(allow_blank=True, help_text="why the figures are empty (no data yet)")
    notes = serializers.ListField(child=serializers.CharField())


class VarApi(APIView):
    @extend_schema(operation_id="risk_var", parameters=[VarQuerySerializer],
                   responses={200: VarSerializer, 400: BAD_REQUEST, 403: FORBIDDEN, 404: NOT_FOUND})
    def get(self, request):
        """Historical and Monte Carlo VaR/CVaR at 95% and 99% over `horizon` minutes and the stress losses (the
        2021-05-19 crash replayed, ± gaps, correlation to one) of exactly one of `cohort` (its parent wallet),
        `deployment` or `bankroll`. Without data yet: 200 with empty figures and an `explanation`."""
        query = VarQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        kind = next(k for k in KINDS if k in params)
        subject = var_subject(user=request.user, kind=kind, subject_id=params[kind])
        return Response(VarSerializer(var_report(subject, horizon=params.get("horizon"),
                                                 paths=params.get("paths"))).data)
