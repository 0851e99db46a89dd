"""What a request and its signatures record: the canonical payload and its digest, the hash chain,
`verify_signatures`, the final-approval hook, expiry on the beat, and who is offered what to sign."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from assistant.services.narration import narrate
from neolight.errors import ApplicationError
from promotions.canonical import (
    GENESIS,
    payload_canonical,
    payload_digest,
    payload_genome,
    payload_normalise,
    signature_hash,
)
from promotions.models import Deployment, LogKind, PromotionLog, PromotionPolicy, RequestStatus, Signature
from promotions.permissions import holds_sign_permission
from promotions.selectors.requests import request_detail, requests_signable_by
from promotions.services.requests import on_final_approval, promotion_reject, promotion_request_create, promotion_sign
from promotions.tasks import promotion_expire_due_task


def verify(*args) -> tuple[int, str]:
    """Runs verify_signatures; (exit code, everything it printed)."""
    from io import StringIO

    out, err = StringIO(), StringIO()
    try:
        call_command("verify_signatures", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, out.getvalue() + err.getvalue()


def approved(people, request_of):
    request = promotion_sign(request_id=request_of().pk, user=people["ops"], note="figures checked")
    return promotion_sign(request_id=request.pk, user=people["risk"], note="within limits")


def test_canonical_payload_sorts_keys_and_carries_money_and_floats_as_strings():
    payload = {"b": Decimal("50.10"), "a": {"z": 0.1, "y": [1, True, None]}}
    assert payload_canonical(payload) == b'{"a":{"y":[1,true,null],"z":"0.1"},"b":"50.10"}'
    assert payload_digest(payload) == payload_digest({"a": {"y": [1, True, None], "z": "0.1"}, "b": "50.10"})
    assert len(payload_digest(payload)) == 64


@pytest.mark.parametrize("bad", [float("inf"), Decimal("NaN"), 2**60, {1: "x"}, {"s": {1, 2}}])
def test_canonical_payload_refuses_what_json_cannot_say_exactly(bad):
    with pytest.raises(ApplicationError):
        payload_digest({"x": bad})


def test_a_request_is_bound_to_its_payload_snapshot(people, candidate, request_of):
    request = request_of()
    request.refresh_from_db()  # what the database gives back canonicalises to the same digest
    assert request.payload_digest == payload_digest(request.payload)
    assert request.payload["candidate"] == candidate.pk
    assert request.payload["agent"] == 0 and request.payload["cohort"] == candidate.cohort_id
    assert Decimal(request.payload["allocation"]) == candidate.allocation
    assert request.payload["params"] == payload_normalise(candidate.params)  # the genome, floats as strings
    assert request.payload["limits"] == {"max_drawdown": repr(settings.DEPLOYMENT_MAX_DRAWDOWN),
                                         "max_return_variance": repr(settings.DEPLOYMENT_MAX_RETURN_VARIANCE),
                                         "hours": settings.DEPLOYMENT_HOURS}
    assert request.payload["trading_mode"] == settings.TRADING_MODE
    assert request.payload["bankroll"]["id"] == candidate.cohort.source_id
    assert request.roles == ["ops", "risk"]
    assert request.expires_at - request.created_at == pytest.approx(
        timedelta(hours=settings.PROMOTION_REQUEST_TTL_HOURS), abs=timedelta(seconds=5))
    assert PromotionLog.objects.get(kind=LogKind.REQUESTED, request=request).actor == people["requester"]


def test_the_roles_groups_and_only_they_hold_the_permission_to_sign(people, request_of):
    request = request_of()
    assert holds_sign_permission(people["ops"], request) and holds_sign_permission(people["risk"], request)
    assert not holds_sign_permission(people["outsider"], request)
    assert not holds_sign_permission(people["superuser"], request)


def test_a_policy_fixes_its_own_chain(people, groups, candidate):
    from django.contrib.auth.models import Group

    Group.objects.create(name="compliance")
    policy = PromotionPolicy.objects.create(name="three eyes", approval_roles=["risk", "ops", "compliance"])
    request = promotion_request_create(candidate=candidate, user=people["requester"], policy=policy)
    assert request.roles == ["risk", "ops", "compliance"]
    with pytest.raises(ApplicationError, match="awaits step 1 \\(risk\\)"):
        promotion_sign(request_id=request.pk, user=people["ops"], note="me first")
    assert promotion_sign(request_id=request.pk, user=people["risk"], note="ok").status == RequestStatus.PENDING


def test_the_day3_go_no_go_may_request_without_a_user(people, candidate):
    request = promotion_request_create(candidate=candidate)
    assert request.requested_by is None
    promotion_sign(request_id=request.pk, user=people["ops"], note="ok")
    assert promotion_sign(request_id=request.pk, user=people["risk"], note="ok").status == RequestStatus.APPROVED


def test_signatures_chain_their_hashes_from_64_zeros(people, request_of):
    request = approved(people, request_of)
    first, second = request.signatures.order_by("id")
    assert first.previous_hash == GENESIS and second.previous_hash == first.hash
    for sig in (first, second):
        sig.refresh_from_db()
        assert sig.hash == signature_hash(request_id=request.pk, step=sig.step, role=sig.role, user_id=sig.user_id,
                                          decision=sig.decision, note=sig.note, signed_at=sig.signed_at,
                                          payload_digest=request.payload_digest, previous_hash=sig.previous_hash)
    assert [s.role for s in (first, second)] == ["ops", "risk"]
    assert (first.requested_by, second.requested_by) == (people["requester"], people["requester"])


def test_the_last_approval_calls_the_final_approval_hook_after_commit(people, request_of,
                                                                      django_capture_on_commit_callbacks):
    request = promotion_sign(request_id=request_of().pk, user=people["ops"], note="ok")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        done = promotion_sign(request_id=request.pk, user=people["risk"], note="ok")
    assert callbacks[0].func is on_final_approval  # the hook first; the deployment's own writes follow it
    assert Deployment.objects.filter(request=request).count() == 1  # it started the deployment
    assert done.status == RequestStatus.APPROVED and done.decided_at is not None
    log = PromotionLog.objects.get(kind=LogKind.APPROVED, request=request)
    assert log.data["signers"] == [people["ops"].pk, people["risk"].pk]
    on_final_approval(request.pk)  # a task run twice
    assert PromotionLog.objects.filter(kind=LogKind.APPROVED, request=request).count() == 1


def test_a_rejection_ends_the_request_and_calls_no_hook(people, request_of, django_capture_on_commit_callbacks):
    request = request_of()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        done = promotion_reject(request_id=request.pk, user=people["ops"], note="too volatile")
    assert [c.func for c in callbacks] == [narrate]  # no hook, and nobody left to notify: only the narration
    assert (done.status, done.status_reason) == (RequestStatus.REJECTED, "too volatile")
    assert not PromotionLog.objects.filter(kind=LogKind.APPROVED).exists()


def test_verify_signatures_passes_an_untouched_chain(people, request_of, make_candidate):
    approved(people, request_of)
    promotion_sign(request_id=promotion_request_create(candidate=make_candidate(1), user=people["requester"]).pk,
                   user=people["ops2"], note="ok")
    code, out = verify()
    assert (code, out.strip()) == (0, "3 signatures on 2 requests verify")
    code, out = verify("--json")
    assert code == 0 and json.loads(out) == {"requests": 2, "signatures": 3, "verified": True, "broken": []}


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL refuses the UPDATE (next test)")
def test_verify_signatures_names_a_signature_changed_by_raw_sql(people, request_of):
    request = approved(people, request_of)
    ops_signature = request.signatures.get(role="ops")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE promotions_signature SET note = %s WHERE id = %s", ["rubber stamp", ops_signature.pk])
    code, out = verify()
    assert code == 1
    assert f"request {request.pk}, signature {ops_signature.pk}: its hash does not match" in out
    assert f"signature {request.signatures.get(role='risk').pk}" not in out  # its link still matches the stored hash
    assert not request_detail(request)["verified"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the append-only trigger is PostgreSQL's")
def test_postgresql_refuses_changing_a_signature_by_raw_sql(people, request_of):
    request = approved(people, request_of)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE promotions_signature SET note = %s WHERE request_id = %s", ["rubber stamp", request.pk])
    assert verify()[0] == 0


def test_expiry_runs_on_the_beat(people, request_of):
    assert settings.CELERY_BEAT_SCHEDULE["promotions-expire-due"]["task"] == "promotions.tasks.promotion_expire_due_task"
    request, other = request_of(), None
    with time_machine.travel(request.expires_at + timedelta(minutes=1), tick=False):
        assert promotion_expire_due_task.apply().get() == [request.pk]
        assert promotion_expire_due_task.apply().get() == []
    request.refresh_from_db()
    assert request.status == RequestStatus.EXPIRED and other is None
    assert PromotionLog.objects.get(kind=LogKind.EXPIRED).request == request


def test_signable_requests_are_those_whose_next_step_the_user_may_sign(people, request_of, make_candidate):
    request = request_of()
    assert requests_signable_by(people["ops"]) == [request]
    for persona in ("requester", "risk", "outsider", "superuser"):
        assert requests_signable_by(people[persona]) == [], persona
    promotion_sign(request_id=request.pk, user=people["ops"], note="ok")
    assert requests_signable_by(people["ops"]) == [] and requests_signable_by(people["ops2"]) == []
    assert requests_signable_by(people["risk"]) == [request]
    with time_machine.travel(request.expires_at, tick=False):
        assert requests_signable_by(people["risk"]) == []


def test_request_detail_shows_each_role_signed_pending_or_void(people, request_of):
    request = promotion_sign(request_id=request_of().pk, user=people["ops"], note="ok")
    chain = request_detail(request)["chain"]
    assert [(s["role"], s["state"], s["user"], s["is_next"]) for s in chain] == [
        ("ops", "approved", "ops", False), ("risk", "pending", None, True)]
    request = promotion_reject(request_id=request.pk, user=people["risk"], note="no")
    assert [s["state"] for s in request_detail(request)["chain"]] == ["approved", "rejected"]
    expired = promotion_request_create(candidate=request.candidate, user=people["requester"])
    with time_machine.travel(timezone.now() + timedelta(days=2), tick=False):
        assert [s["state"] for s in request_detail(expired)["chain"]] == ["void", "void"]
    assert Signature.objects.count() == 2


@pytest.mark.skipif(connection.vendor == "postgresql", reason="PostgreSQL refuses the UPDATE (test_chain_bypass)")
def test_verify_signatures_names_a_request_approved_by_raw_sql(people, request_of):
    request = promotion_sign(request_id=request_of().pk, user=people["ops"], note="ok")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE promotions_promotionrequest SET status = 'approved' WHERE id = %s", [request.pk])
    code, out = verify()
    assert code == 1
    assert f"request {request.pk}, the request: approved with 1 of 2 approvals over its payload" in out
    assert request_detail(request.pk)["problems"] == ["approved with 1 of 2 approvals over its payload"]


def test_the_signed_payload_gives_back_the_genome_it_deploys(people, make_candidate, cohort):
    agent = next(a for a in cohort.agents.order_by("index") if any(isinstance(v, float) for v in a.params.values()))
    request = promotion_request_create(candidate=make_candidate(agent.index), user=people["requester"])
    request.refresh_from_db()
    assert any(isinstance(v, str) and v[0].isdigit() for v in request.payload["params"].values())  # floats as text
    assert payload_genome(request.payload) == (agent.family, agent.params)
