"""Every state of a request × every action × every persona, on the services: what the rules allow happens,
and every refusal leaves nothing behind but one `refused` log row."""
from __future__ import annotations

import pytest

from neolight.errors import ApplicationError
from promotions.models import LogKind, PromotionLog, PromotionRequest, RequestStatus, Signature
from promotions.services.requests import (
    promotion_cancel,
    promotion_expire_due,
    promotion_payload_change,
    promotion_reject,
    promotion_sign,
)
from tests.promotions.chain.conftest import PERSONAS

STATES = ("pending_step0", "pending_step1", "approved", "rejected", "expired", "cancelled", "payload_changed")
ACTIONS = ("sign", "reject", "cancel")
MAY_CANCEL = {"requester", "ops", "ops2"}
ALLOWED = {  # (state, action) → the personas it succeeds for; every other cell is refused
    ("pending_step0", "sign"): {"ops", "ops2"},
    ("pending_step0", "reject"): {"ops", "ops2"},
    ("pending_step0", "cancel"): MAY_CANCEL,
    ("pending_step1", "sign"): {"risk"},
    ("pending_step1", "reject"): {"risk"},
    ("pending_step1", "cancel"): MAY_CANCEL,
    # the chain starts again at ops, even for the ops who signed; ops2 changed the payload, so may not sign it
    ("payload_changed", "sign"): {"ops"},
    ("payload_changed", "reject"): {"ops"},
    ("payload_changed", "cancel"): MAY_CANCEL,
}


def reach(state: str, people, request_of) -> PromotionRequest:
    """A request of the requester brought to `state` through the services."""
    request = request_of()
    if state in ("pending_step1", "approved", "rejected", "payload_changed"):
        decide = promotion_reject if state == "rejected" else promotion_sign
        request = decide(request_id=request.pk, user=people["ops"], note="figures checked")
    if state == "approved":
        request = promotion_sign(request_id=request.pk, user=people["risk"], note="within limits")
    elif state == "expired":
        assert promotion_expire_due(now=request.expires_at) == [request.pk]
    elif state == "cancelled":
        request = promotion_cancel(request_id=request.pk, user=people["requester"], reason="market closed")
    elif state == "payload_changed":
        payload = {**request.payload, "allocation": "40.00"}
        request = promotion_payload_change(request_id=request.pk, user=people["ops2"], payload=payload,
                                           reason="smaller allocation")
    request.refresh_from_db()
    return request


def act(action: str, request: PromotionRequest, user) -> PromotionRequest:
    if action == "cancel":
        return promotion_cancel(request_id=request.pk, user=user, reason="no longer wanted")
    service = promotion_sign if action == "sign" else promotion_reject
    return service(request_id=request.pk, user=user, note=f"{action} by {user.username}")


def expected_status(state: str, action: str) -> str:
    if action == "cancel":
        return RequestStatus.CANCELLED
    if action == "reject":
        return RequestStatus.REJECTED
    return RequestStatus.APPROVED if state == "pending_step1" else RequestStatus.PENDING


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("state", STATES)
def test_every_state_action_and_persona_does_what_the_rules_say(state, action, persona, people, request_of):
    request = reach(state, people, request_of)
    user = people[persona]
    before = {"status": request.status, "digest": request.payload_digest, "decided_at": request.decided_at,
              "signatures": Signature.objects.count(), "log": PromotionLog.objects.count()}

    if persona in ALLOWED.get((state, action), ()):
        done = act(action, request, user)
        assert done.status == expected_status(state, action)
        signed = 0 if action == "cancel" else 1
        assert Signature.objects.count() == before["signatures"] + signed
        kinds = set(PromotionLog.objects.filter(request=request, actor=user).values_list("kind", flat=True))
        assert {"sign": LogKind.SIGNED, "reject": LogKind.REJECTED, "cancel": LogKind.CANCELLED}[action] in kinds
        assert not PromotionLog.objects.filter(kind=LogKind.REFUSED).exists()
        return

    with pytest.raises(ApplicationError) as refused:
        act(action, request, user)
    request.refresh_from_db()
    assert (request.status, request.payload_digest, request.decided_at) == (before["status"], before["digest"],
                                                                           before["decided_at"])
    assert Signature.objects.count() == before["signatures"]
    new_log = list(PromotionLog.objects.order_by("-id")[: PromotionLog.objects.count() - before["log"]])
    assert [(row.kind, row.actor_id, row.request_id) for row in new_log] == [(LogKind.REFUSED, user.pk, request.pk)]
    assert refused.value.message in new_log[0].message
