"""Input and output shapes of the promotions API. Serializers validate and render; they never save."""
from __future__ import annotations

from rest_framework import serializers

from promotions.models import RequestStatus

USD = "USD, decimal string"


class RequestCreateSerializer(serializers.Serializer):
    cohort = serializers.IntegerField(min_value=1, help_text="a completed cohort weighed for promotion")
    agent = serializers.IntegerField(min_value=0, help_text="the agent's index in the cohort, 0-based")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="why: required, recorded in the signature and its hash")
    payload_digest = serializers.RegexField(r"^[0-9a-f]{64}$", required=False,
                                            help_text="the payload digest you read: refused if it has changed since")


class RequestFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=RequestStatus.choices, required=False)
    signable = serializers.BooleanField(required=False, default=False,
                                        help_text="only the requests whose next step you may sign now")


class CandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    cohort = serializers.IntegerField(source="cohort_id")
    agent = serializers.IntegerField(source="agent.index")
    rank = serializers.IntegerField()
    family = serializers.CharField()
    allocation = serializers.DecimalField(max_digits=20, decimal_places=2, help_text=USD)
    is_eligible = serializers.BooleanField()


class RequestSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    status_reason = serializers.CharField()
    candidate = CandidateSerializer()
    roles = serializers.ListField(child=serializers.CharField(), help_text="the ordered groups that sign")
    requested_by = serializers.CharField(source="requested_by.username", allow_null=True, default=None,
                                         help_text="empty: the Day-3 go/no-go")
    payload_digest = serializers.CharField(help_text="SHA-256 of the canonical (RFC 8785) payload")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class CheckSerializer(serializers.Serializer):
    kind = serializers.CharField()
    name = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    threshold = serializers.FloatField()
    comparison = serializers.CharField()
    passed = serializers.BooleanField()
    detail = serializers.CharField()


class MetricsSerializer(serializers.Serializer):
    roi = serializers.FloatField(allow_null=True, help_text="fraction: 0.01 is +1%")
    sharpe = serializers.FloatField(allow_null=True)
    max_drawdown = serializers.FloatField(allow_null=True, help_text="fraction")
    trades = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True)


class ChainStepSerializer(serializers.Serializer):
    step = serializers.IntegerField(help_text="0-based")
    role = serializers.CharField()
    state = serializers.ChoiceField(choices=["approved", "rejected", "pending", "void"])
    is_next = serializers.BooleanField(help_text="this step awaits its signature now")
    user = serializers.CharField(allow_null=True)
    signed_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()
    voided = serializers.IntegerField(help_text="signatures of this step over an earlier payload")


class SignatureSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="signature.id")
    step = serializers.IntegerField(source="signature.step")
    role = serializers.CharField(source="signature.role")
    user = serializers.CharField(source="signature.user.username")
    decision = serializers.CharField(source="signature.decision")
    note = serializers.CharField(source="signature.note")
    signed_at = serializers.DateTimeField(source="signature.signed_at")
    payload_digest = serializers.CharField(source="signature.payload_digest")
    previous_hash = serializers.CharField(source="signature.previous_hash")
    hash = serializers.CharField(source="signature.hash")
    is_current = serializers.BooleanField(help_text="over the request's current payload (else void)")
    verified = serializers.BooleanField()
    problems = serializers.ListField(child=serializers.CharField())


class RequestDetailSerializer(serializers.Serializer):
    request = RequestSerializer()
    payload = serializers.JSONField(source="request.payload", help_text="the exact snapshot signed (money as strings)")
    is_expired = serializers.BooleanField(help_text="pending but past its expiry: no longer signable")
    checks = CheckSerializer(many=True)
    metrics = MetricsSerializer(help_text="the candidate agent's figures on its day")
    chain = ChainStepSerializer(many=True)
    signatures = SignatureSerializer(many=True)
    verified = serializers.BooleanField(help_text="every signature's hash and link recompute")
    problems = serializers.ListField(child=serializers.CharField(),
                                     help_text="what does not verify about the request itself (e.g. approved without its chain)")
    deployment = serializers.IntegerField(allow_null=True)
