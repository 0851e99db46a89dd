"""`POST /api/assistant/ask` and `POST /api/assistant/confirm`: plain English in, an answer out; money moves only
on a confirmation."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from assistant.intents import INTENTS
from assistant.services.ask import Answer, ask, ask_confirm
from neolight.errors import BAD_REQUEST
from neolight.throttles import LaunchThrottle


class AskSerializer(serializers.Serializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="a question or command, 1–500 "
                                 "characters, e.g. “grow $1,000 over 10 days”")


class ConfirmSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="the `confirm` token of an answer")


class AnswerSerializer(serializers.Serializer):
    intent = serializers.ChoiceField(choices=INTENTS)
    arguments = serializers.DictField(help_text="bankroll (USD, decimal string), days, max_leverage, cohort, campaign, "
                                      "agents, date (YYYY-MM-DD), as heard")
    answer = serializers.CharField(help_text="plain words")
    needs_confirmation = serializers.BooleanField(help_text="true when the answer proposes moving money")
    confirm = serializers.CharField(allow_null=True, help_text="signed token for /api/assistant/confirm (short-lived)")
    data = serializers.DictField(help_text="the figures behind the answer (plans, rows), amounts as decimal strings")


def answered(answer: Answer) -> Response:
    return Response(AnswerSerializer(answer).data)


class AskApi(APIView):
    @extend_schema(operation_id="assistant_ask", request=AskSerializer,
                   responses={200: AnswerSerializer, 400: BAD_REQUEST})
    def post(self, request):
        """Answers a question or proposes an action (with a `confirm` token); never acts on its own."""
        body = AskSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return answered(ask(user=request.user, text=body.validated_data["text"]))


class ConfirmApi(APIView):
    throttle_classes = [*APIView.throttle_classes, LaunchThrottle]  # counted as launches, like the launch API

    @extend_schema(operation_id="assistant_confirm", request=ConfirmSerializer,
                   responses={200: AnswerSerializer, 400: BAD_REQUEST,
                              403: OpenApiResponse(description="You may not do what the token names.")})
    def post(self, request):
        """Performs the action a `confirm` token names, once; the same token again answers what was done."""
        body = ConfirmSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return answered(ask_confirm(user=request.user, token=body.validated_data["token"]))
