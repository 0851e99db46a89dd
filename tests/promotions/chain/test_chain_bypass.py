"""Attempts to get around the approval chain — through the services, the API, the admin, the database and
concurrency — and what stops each: a refusal that leaves nothing but a `refused` log row, or the database."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.db import IntegrityError, connection, transaction
from django.test import Client
from guardian.shortcuts import assign_perm, remove_perm
from rest_framework.test import APIClient

from neolight.errors import ApplicationError
from promotions.models import (
    Decision,
    LogKind,
    PromotionLog,
    PromotionPolicy,
    PromotionRequest,
    RequestStatus,
    Signature,
)
from promotions.permissions import SIGN_PERMISSION, PromotionForbidden
from promotions.selectors.requests import chains_verify
from promotions.services.requests import (
    promotion_cancel,
    promotion_expire_due,
    promotion_payload_change,
    promotion_reject,
    promotion_request_create,
    promotion_sign,
)

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's triggers and row locks")


def snapshot(request: PromotionRequest) -> tuple:
    request.refresh_from_db()
    return (request.status, request.payload_digest, request.decided_at, request.signatures.count(),
            Signature.objects.count())


def assert_refused(call, request: PromotionRequest, user, *, says: str = "", error=ApplicationError):
    """`call()` is refused with a message containing `says`; the request and the signatures are untouched and
    the only new log row is one `refused` row of `user`."""
    before, logged = snapshot(request), PromotionLog.objects.count()
    with pytest.raises(error) as refused:
        call()
    assert says.lower() in refused.value.message.lower()
    assert snapshot(request) == before
    new = list(PromotionLog.objects.order_by("-id")[: PromotionLog.objects.count() - logged])
    assert [(row.kind, row.actor_id) for row in new] == [(LogKind.REFUSED, getattr(user, "pk", None))]
    return refused.value


def signed_by_ops(request, people, who="ops"):
    return promotion_sign(request_id=request.pk, user=people[who], note="figures checked")


# --- direct service calls ---------------------------------------------------------------------------------

def test_requester_may_not_sign_their_own_request(people, request_of):
    request = request_of()
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["requester"], note="mine"), request,
                   people["requester"], says="may not sign", error=PromotionForbidden)


def test_requester_may_not_reject_their_own_request_either(people, request_of):
    request = request_of()
    assert_refused(lambda: promotion_reject(request_id=request.pk, user=people["requester"], note="mine"), request,
                   people["requester"], says="may not sign")


def test_a_requester_who_is_also_risk_may_not_sign_the_risk_step(people, groups, request_of):
    people["requester"].groups.add(groups["risk"])
    request = signed_by_ops(request_of(), people)
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["requester"], note="ok"), request,
                   people["requester"], says="requested promotion")


def test_one_person_in_both_groups_signs_one_step_only(people, groups, request_of):
    people["ops"].groups.add(groups["risk"])
    request = signed_by_ops(request_of(), people)
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops"], note="again"), request,
                   people["ops"], says="one person never signs two steps")


def test_risk_may_not_skip_ops(people, request_of):
    request = request_of()
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["risk"], note="skip"), request,
                   people["risk"], says="signed in order")


def test_risk_may_not_reject_before_ops_either(people, request_of):
    request = request_of()
    assert_refused(lambda: promotion_reject(request_id=request.pk, user=people["risk"], note="no"), request,
                   people["risk"], says="signed in order")


def test_a_second_ops_member_may_not_sign_the_risk_step(people, request_of):
    request = signed_by_ops(request_of(), people)
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops2"], note="me too"), request,
                   people["ops2"], says="not a member of risk")


@pytest.mark.parametrize("step", [0, 1])
def test_superuser_outside_the_group_gets_no_bypass(people, request_of, step):
    request = request_of()
    if step:
        request = signed_by_ops(request, people)
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["superuser"], note="I am root"),
                   request, people["superuser"], says="superusers get no bypass")


def test_superuser_may_not_reject_either(people, request_of):
    request = request_of()
    assert_refused(lambda: promotion_reject(request_id=request.pk, user=people["superuser"], note="no"), request,
                   people["superuser"], says="no bypass")


def test_superuser_holding_the_object_permission_but_no_group_is_refused(people, request_of):
    request = request_of()
    assign_perm(SIGN_PERMISSION, people["superuser"], request)
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["superuser"], note="granted"), request,
                   people["superuser"], says="not a member of ops")


def test_an_outsider_holding_the_object_permission_directly_is_refused(people, request_of):
    request = request_of()
    assign_perm(SIGN_PERMISSION, people["outsider"], request)
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["outsider"], note="granted"), request,
                   people["outsider"], says="not a member of ops")


def test_a_group_member_without_the_object_permission_is_refused(people, groups, request_of):
    request = request_of()
    remove_perm(SIGN_PERMISSION, groups["ops"], request)
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops"], note="ok"), request,
                   people["ops"], says="no permission to sign")


def test_the_model_wide_permission_does_not_stand_in_for_the_object_permission(people, groups, request_of):
    request = request_of()
    remove_perm(SIGN_PERMISSION, groups["ops"], request)
    people["ops"].user_permissions.add(Permission.objects.get(codename="sign_promotionrequest"))
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops"], note="global"), request,
                   people["ops"], says="no permission to sign")


def test_an_outsider_may_not_sign(people, request_of):
    request = request_of()
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["outsider"], note="hi"), request,
                   people["outsider"], says="not a member of ops")


def test_an_inactive_ops_member_may_not_sign(people, request_of):
    request = request_of()
    people["ops"].is_active = False
    people["ops"].save()
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops"], note="ok"), request,
                   people["ops"], says="inactive")


def test_an_account_switched_off_after_it_was_loaded_may_not_sign(people, request_of):
    request = request_of()
    stale = people["ops"]
    type(stale).objects.filter(pk=stale.pk).update(is_active=False)
    assert stale.is_active  # the instance in hand still says active
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=stale, note="ok"), request, stale,
                   says="inactive")


@pytest.mark.parametrize("note", ["", "   \n\t", None])
def test_a_signature_needs_a_note(people, request_of, note):
    request = request_of()
    error = assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops"], note=note), request,
                           people["ops"], says="note is required")
    assert error.field == "note"


def test_a_rejection_needs_a_note(people, request_of):
    request = request_of()
    assert_refused(lambda: promotion_reject(request_id=request.pk, user=people["ops"], note=" "), request,
                   people["ops"], says="note is required")


def test_an_overdue_request_cannot_be_signed_before_the_beat_marks_it(people, request_of):
    request = request_of()
    with time_machine.travel(request.expires_at + timedelta(seconds=1), tick=False):
        assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops"], note="late"), request,
                       people["ops"], says="expired")
        assert_refused(lambda: promotion_reject(request_id=request.pk, user=people["ops"], note="late"), request,
                       people["ops"], says="expired")
    assert request.status == RequestStatus.PENDING
    assert promotion_expire_due(now=request.expires_at + timedelta(seconds=1)) == [request.pk]
    assert promotion_expire_due(now=request.expires_at + timedelta(seconds=2)) == []  # once
    request.refresh_from_db()
    assert request.status == RequestStatus.EXPIRED


def test_the_risk_step_cannot_be_signed_once_the_request_is_overdue(people, request_of):
    request = signed_by_ops(request_of(), people)
    with time_machine.travel(request.expires_at, tick=False):
        assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["risk"], note="late"), request,
                       people["risk"], says="expired")


def test_nothing_is_signed_after_a_rejection(people, request_of):
    request = promotion_reject(request_id=request_of().pk, user=people["ops"], note="drawdown too deep")
    assert request.status == RequestStatus.REJECTED
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops2"], note="overrule"), request,
                   people["ops2"], says="rejected")
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["risk"], note="overrule"), request,
                   people["risk"], says="rejected")


def test_an_approved_request_takes_no_further_signature(people, groups, request_of):
    request = promotion_sign(request_id=signed_by_ops(request_of(), people).pk, user=people["risk"], note="ok")
    assert request.status == RequestStatus.APPROVED
    people["ops2"].groups.add(groups["risk"])
    assert_refused(lambda: promotion_reject(request_id=request.pk, user=people["ops2"], note="undo"), request,
                   people["ops2"], says="approved")


def test_a_cancelled_request_cannot_be_signed(people, request_of):
    request = promotion_cancel(request_id=request_of().pk, user=people["requester"], reason="not today")
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops"], note="still"), request,
                   people["ops"], says="cancelled")


def test_changed_payload_voids_ops_signature_so_risk_cannot_complete_it(people, request_of):
    request = signed_by_ops(request_of(), people)
    first = request.signatures.get()
    changed = promotion_payload_change(request_id=request.pk, user=people["ops2"], reason="bigger allocation",
                                       payload={**request.payload, "allocation": "900.00"})
    assert changed.payload_digest != first.payload_digest
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["risk"], note="ok"), request,
                   people["risk"], says="signed in order")
    again = promotion_sign(request_id=request.pk, user=people["ops"], note="re-checked at 900")
    assert again.status == RequestStatus.PENDING
    done = promotion_sign(request_id=request.pk, user=people["risk"], note="ok at 900")
    assert done.status == RequestStatus.APPROVED
    assert request.signatures.count() == 3  # the voided one stays
    assert chains_verify().broken == []


@pytest.mark.parametrize("persona", ["risk", "outsider", "superuser"])
def test_only_the_requester_or_ops_may_change_the_payload(people, request_of, persona):
    request = request_of()
    assert_refused(lambda: promotion_payload_change(request_id=request.pk, user=people[persona], reason="mine",
                                                    payload={**request.payload, "allocation": "999.00"}),
                   request, people[persona], says="may not change", error=PromotionForbidden)


@pytest.mark.parametrize("change, says", [
    (lambda p: {**p, "candidate": p["candidate"] + 1000}, "must name the request's candidate"),
    (lambda p: dict(p), "unchanged"),
    (lambda p: {**p, "allocation": float("nan")}, "not a finite number"),
    (lambda p: ["not", "an", "object"], "json object"),
])
def test_a_payload_change_must_be_a_real_change_of_the_same_candidate(people, request_of, change, says):
    request = request_of()
    assert_refused(lambda: promotion_payload_change(request_id=request.pk, user=people["ops"], reason="edit",
                                                    payload=change(request.payload)),
                   request, people["ops"], says=says)


def test_a_signed_request_cannot_have_its_payload_changed_after_approval(people, request_of):
    request = promotion_sign(request_id=signed_by_ops(request_of(), people).pk, user=people["risk"], note="ok")
    assert_refused(lambda: promotion_payload_change(request_id=request.pk, user=people["ops"], reason="swap",
                                                    payload={**request.payload, "allocation": "1000.00"}),
                   request, people["ops"], says="approved")


@pytest.mark.parametrize("persona", ["risk", "outsider", "superuser"])
def test_only_the_requester_or_ops_may_cancel(people, request_of, persona):
    request = request_of()
    assert_refused(lambda: promotion_cancel(request_id=request.pk, user=people[persona], reason="stop"), request,
                   people[persona], says="may not cancel")


def test_a_cancel_needs_a_reason(people, request_of):
    request = request_of()
    assert_refused(lambda: promotion_cancel(request_id=request.pk, user=people["requester"], reason=""), request,
                   people["requester"], says="reason is required")


def test_signing_a_request_that_does_not_exist_is_refused_and_logged(people):
    with pytest.raises(ApplicationError) as refused:
        promotion_sign(request_id=999_999, user=people["ops"], note="ghost")
    assert refused.value.status_code == 404
    assert PromotionLog.objects.get(kind=LogKind.REFUSED).request_id is None


@pytest.mark.parametrize("persona", ["outsider", "superuser"])
def test_only_ops_and_approval_roles_may_request(people, candidate, persona):
    with pytest.raises(PromotionForbidden, match="may not request promotions"):
        promotion_request_create(candidate=candidate, user=people[persona])
    assert not PromotionRequest.objects.exists()
    assert PromotionLog.objects.get().kind == LogKind.REFUSED


def test_a_second_open_request_for_a_candidate_is_refused(people, candidate, request_of):
    first = request_of()
    with pytest.raises(ApplicationError, match=f"already has an open request \\({first.pk}\\)"):
        promotion_request_create(candidate=candidate, user=people["ops"])
    assert PromotionRequest.objects.count() == 1


def test_the_open_request_constraint_holds_even_if_the_service_check_is_bypassed(people, candidate, request_of):
    first = request_of()
    with pytest.raises(IntegrityError), transaction.atomic():
        PromotionRequest.objects.create(candidate=candidate, payload=first.payload, payload_digest=first.payload_digest,
                                        roles=first.roles, requested_by=people["ops"], expires_at=first.expires_at)


def test_an_ineligible_candidate_is_refused_naming_every_failed_check(people, make_candidate):
    candidate = make_candidate(3, failing=("min_trades", "min_deflated_sharpe"))
    with pytest.raises(ApplicationError) as refused:
        promotion_request_create(candidate=candidate, user=people["requester"])
    assert list(refused.value.errors) == ["min_trades", "min_deflated_sharpe"]
    assert "min_trades: not measured, needs >= 10" in refused.value.message
    assert not PromotionRequest.objects.exists()


def test_a_policy_naming_a_missing_group_cannot_open_a_request(people, candidate):
    policy = PromotionPolicy.objects.create(name="strict", approval_roles=["ops", "compliance"])
    with pytest.raises(ApplicationError, match="do not exist: compliance"):
        promotion_request_create(candidate=candidate, user=people["requester"], policy=policy)
    assert not PromotionRequest.objects.exists()


# --- the database, written to directly ----------------------------------------------------------------------

def forged(request, sig: Signature | None = None, **fields) -> Signature:
    """A signature row written straight to the database, copying `sig` (or made up) with `fields` changed."""
    base = {"request": request, "step": 0, "role": "ops", "user": None, "requested_by_id": request.requested_by_id,
            "decision": Decision.APPROVE, "note": "forged", "payload_digest": request.payload_digest,
            "previous_hash": "0" * 64, "hash": "f" * 64, "signed_at": request.created_at + timedelta(minutes=1)}
    if sig is not None:
        base.update({name: getattr(sig, name) for name in ("step", "role", "user", "requested_by_id", "decision",
                                                           "note", "payload_digest", "previous_hash", "hash",
                                                           "signed_at")})
    with transaction.atomic():
        return Signature.objects.create(**{**base, **fields})


def test_a_replayed_signature_is_refused_by_the_database(people, request_of):
    request = signed_by_ops(request_of(), people)
    with pytest.raises(IntegrityError):
        forged(request, request.signatures.get())
    with pytest.raises(IntegrityError):  # the same hash on another step, as another user
        forged(request, request.signatures.get(), step=1, role="risk", user=people["risk"])
    assert request.signatures.count() == 1


def test_a_forged_signature_row_is_named_by_verify_signatures(people, request_of):
    request = signed_by_ops(request_of(), people)
    fake = forged(request, step=1, role="risk", user=people["risk"], previous_hash=request.signatures.get().hash,
                  hash="ab" * 32)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING  # a row does not approve anything
    broken = chains_verify().broken
    assert {(b.request_id, b.signature_id) for b in broken} == {(request.pk, fake.pk)}
    assert any("hash does not match" in b.reason for b in broken)
    assert any("no promotion log row" in b.reason for b in broken)
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["risk"], note="ok"), request,
                   people["risk"], says="nothing left to sign")


def test_the_database_refuses_the_requester_as_signer(people, request_of):
    request = request_of()
    with pytest.raises(IntegrityError):
        forged(request, user=people["requester"])


def test_the_database_refuses_a_signature_without_a_note(people, request_of):
    request = request_of()
    with pytest.raises(IntegrityError):
        forged(request, user=people["ops"], note="")


def test_the_database_refuses_one_person_on_two_steps(people, groups, request_of):
    people["ops"].groups.add(groups["risk"])
    request = signed_by_ops(request_of(), people)
    with pytest.raises(IntegrityError):
        forged(request, step=1, role="risk", user=people["ops"])


@on_postgresql
def test_the_database_refuses_a_signature_naming_another_requester(people, request_of):
    request = request_of()
    with pytest.raises(IntegrityError, match="requester"):
        forged(request, user=people["ops"], requested_by_id=people["ops2"].pk)


@on_postgresql
def test_the_database_refuses_a_signature_that_skips_a_step(people, request_of):
    request = request_of()
    with pytest.raises(IntegrityError, match="in order"):
        forged(request, step=1, role="risk", user=people["risk"])


@on_postgresql
def test_the_database_refuses_a_signature_in_the_wrong_role(people, request_of):
    request = request_of()
    with pytest.raises(IntegrityError, match="role"):
        forged(request, role="risk", user=people["risk"])


@on_postgresql
def test_the_database_refuses_a_signature_over_an_old_payload(people, request_of):
    request = request_of()
    with pytest.raises(IntegrityError, match="current payload"):
        forged(request, user=people["ops"], payload_digest="0" * 64)


@on_postgresql
def test_the_database_refuses_a_signature_on_a_decided_request(people, request_of):
    request = promotion_cancel(request_id=request_of().pk, user=people["requester"], reason="stop")
    with pytest.raises(IntegrityError, match="cancelled"):
        forged(request, user=people["ops"])


@on_postgresql
def test_the_database_refuses_a_signature_on_an_overdue_request(people, candidate):
    import time

    from django.utils import timezone

    request = PromotionRequest.objects.create(candidate=candidate, payload={"candidate": candidate.pk},
                                              payload_digest="1" * 64, roles=["ops", "risk"],
                                              requested_by=people["requester"],
                                              expires_at=timezone.now() + timedelta(milliseconds=50))
    time.sleep(0.1)
    with pytest.raises(IntegrityError, match="expired"):
        forged(request, user=people["ops"])


@on_postgresql
def test_the_database_refuses_approving_a_request_without_its_signatures(people, request_of):
    request = request_of()
    with pytest.raises(IntegrityError, match="approvals"), transaction.atomic():
        PromotionRequest.objects.filter(pk=request.pk).update(status=RequestStatus.APPROVED)


@on_postgresql
def test_the_database_refuses_reopening_a_decided_request(people, request_of):
    request = promotion_reject(request_id=request_of().pk, user=people["ops"], note="no")
    with pytest.raises(IntegrityError, match="does not change"), transaction.atomic():
        PromotionRequest.objects.filter(pk=request.pk).update(status=RequestStatus.PENDING)


@on_postgresql
def test_the_database_refuses_rewriting_a_requests_requester_or_roles(people, request_of):
    request = request_of()
    with pytest.raises(IntegrityError, match="fixed"), transaction.atomic():
        PromotionRequest.objects.filter(pk=request.pk).update(requested_by=people["outsider"])
    with pytest.raises(IntegrityError, match="fixed"), transaction.atomic():
        PromotionRequest.objects.filter(pk=request.pk).update(roles=["ops"])


@on_postgresql
def test_the_database_refuses_deleting_a_signature(people, request_of):
    request = signed_by_ops(request_of(), people)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        request.signatures.all().delete()


# --- through the API and the admin ----------------------------------------------------------------------------

def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize("persona, step, code", [
    ("requester", 0, 403), ("risk", 0, 403), ("superuser", 0, 403), ("outsider", 0, 403), ("ops", 1, 403),
    ("ops2", 1, 403),
])
def test_api_approval_by_the_wrong_person_is_forbidden(people, request_of, persona, step, code):
    request = request_of()
    if step:
        request = signed_by_ops(request, people)
    before = snapshot(request)
    response = api_as(people[persona]).post(f"/api/promotions/requests/{request.pk}/approve", {"note": "ok"},
                                            format="json")
    assert response.status_code == code, response.data
    assert snapshot(request) == before
    assert PromotionLog.objects.filter(kind=LogKind.REFUSED, actor=people[persona], request=request).count() == 1


@pytest.mark.parametrize("body", [{}, {"note": ""}, {"note": "   "}])
def test_api_approval_without_a_note_is_a_400_naming_note(people, request_of, body):
    request = request_of()
    response = api_as(people["ops"]).post(f"/api/promotions/requests/{request.pk}/approve", body, format="json")
    assert response.status_code == 400
    assert list(response.data["errors"]) == ["note"]
    assert request.signatures.count() == 0


def test_api_rejection_without_signing_in_is_refused(request_of):
    request = request_of()
    response = APIClient().post(f"/api/promotions/requests/{request.pk}/reject", {"note": "x"}, format="json")
    assert response.status_code in (401, 403)
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING


def test_api_request_by_an_outsider_is_forbidden(people, candidate):
    response = api_as(people["outsider"]).post("/api/promotions/requests", {"cohort": candidate.cohort_id,
                                                                              "agent": 0}, format="json")
    assert response.status_code == 403
    assert not PromotionRequest.objects.exists()


def staff(user):
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_promotionrequest"))
    client = Client()
    client.force_login(user)
    return client


def test_admin_approval_by_a_superuser_outside_the_group_is_refused(people, request_of):
    request = request_of()
    client = Client()
    client.force_login(people["superuser"])
    response = client.post(f"/admin/promotions/promotionrequest/{request.pk}/approve/", {"note": "root"}, follow=True)
    assert "Superusers get no bypass" in response.content.decode()
    assert request.signatures.count() == 0


def test_admin_approval_by_the_requester_is_refused(people, request_of):
    request = request_of()
    response = staff(people["requester"]).post(f"/admin/promotions/promotionrequest/{request.pk}/approve/",
                                               {"note": "mine"}, follow=True)
    assert "may not sign" in response.content.decode()
    assert request.signatures.count() == 0


def test_admin_approval_needs_a_post(people, request_of):
    request = request_of()
    response = staff(people["ops"]).get(f"/admin/promotions/promotionrequest/{request.pk}/approve/?note=ok")
    assert response.status_code == 405
    assert request.signatures.count() == 0


def test_admin_approval_needs_the_csrf_token(people, request_of):
    request = request_of()
    client = Client(enforce_csrf_checks=True)
    people["ops"].is_staff = True
    people["ops"].save()
    client.force_login(people["ops"])
    response = client.post(f"/admin/promotions/promotionrequest/{request.pk}/approve/", {"note": "ok"})
    assert response.status_code == 403
    assert request.signatures.count() == 0


def test_admin_approval_without_a_note_is_refused(people, request_of):
    request = request_of()
    response = staff(people["ops"]).post(f"/admin/promotions/promotionrequest/{request.pk}/approve/", {"note": ""},
                                         follow=True)
    assert "A note is required" in response.content.decode()
    assert request.signatures.count() == 0


def test_admin_change_form_cannot_edit_the_status(people, request_of):
    request = request_of()
    client = Client()
    client.force_login(people["superuser"])
    response = client.post(f"/admin/promotions/promotionrequest/{request.pk}/change/",
                           {"status": "approved", "status_reason": "forced"})
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING
    assert client.post(f"/admin/promotions/promotionrequest/{request.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/promotions/signature/add/").status_code == 403
    assert PromotionRequest.objects.filter(pk=request.pk).exists()


# --- concurrency (PostgreSQL: real row locks across connections) ----------------------------------------------

def race(*calls):
    """Runs `calls` at once in threads of their own connections (a barrier lines them up); returns each
    one's result or the exception it raised."""
    barrier, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # the loser's refusal is the point
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def race_people():
    ops, risk = Group.objects.get_or_create(name="ops")[0], Group.objects.get_or_create(name="risk")[0]
    from tests.promotions.chain.conftest import member

    return {"requester": member("requester", ops), "ops": member("ops", ops), "ops2": member("ops2", ops),
            "risk": member("risk", risk)}


@on_postgresql
def test_two_ops_racing_to_sign_the_same_step_one_wins(make_fresh_candidate):
    people = race_people()
    request = promotion_request_create(candidate=make_fresh_candidate(0), user=people["requester"])
    results = race(*[lambda u=people[who]: promotion_sign(request_id=request.pk, user=u, note="first!")
                     for who in ("ops", "ops2")])
    wins = [r for r in results if isinstance(r, PromotionRequest)]
    losses = [r for r in results if isinstance(r, ApplicationError)]
    assert len(wins) == 1 and len(losses) == 1, results
    assert Signature.objects.filter(request=request).count() == 1
    assert PromotionLog.objects.filter(request=request, kind=LogKind.REFUSED).count() == 1
    assert chains_verify().broken == []


@on_postgresql
def test_one_person_double_clicking_approve_signs_once(make_fresh_candidate):
    people = race_people()
    request = promotion_request_create(candidate=make_fresh_candidate(0), user=people["requester"])
    results = race(*[lambda: promotion_sign(request_id=request.pk, user=people["ops"], note="click")] * 2)
    assert sum(isinstance(r, PromotionRequest) for r in results) == 1, results
    assert Signature.objects.filter(request=request).count() == 1


@on_postgresql
def test_two_requests_for_one_candidate_at_once_open_one(make_fresh_candidate):
    people = race_people()
    candidate = make_fresh_candidate(0)
    results = race(*[lambda u=people[who]: promotion_request_create(candidate=candidate, user=u)
                     for who in ("requester", "ops")])
    assert sum(isinstance(r, PromotionRequest) for r in results) == 1, results
    assert PromotionRequest.objects.filter(candidate=candidate).count() == 1


def test_whoever_changed_the_payload_may_not_sign_it(people, request_of):
    request = request_of()
    promotion_payload_change(request_id=request.pk, user=people["ops2"], reason="round down",
                             payload={**request.payload, "allocation": "45.00"})
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops2"], note="mine now"), request,
                   people["ops2"], says="changed request", error=PromotionForbidden)


def test_a_signer_who_read_an_earlier_payload_is_refused(people, request_of):
    request = request_of()
    read = request.payload_digest
    promotion_payload_change(request_id=request.pk, user=people["requester"], reason="bigger",
                             payload={**request.payload, "allocation": "800.00"})
    assert_refused(lambda: promotion_sign(request_id=request.pk, user=people["ops"], note="ok", payload_digest=read),
                   request, people["ops"], says="changed since you read it")


def test_api_approval_of_a_payload_changed_since_it_was_read_is_refused(people, request_of):
    request = request_of()
    read = api_as(people["ops"]).get(f"/api/promotions/requests/{request.pk}").data["request"]["payload_digest"]
    promotion_payload_change(request_id=request.pk, user=people["requester"], reason="bigger",
                             payload={**request.payload, "allocation": "800.00"})
    response = api_as(people["ops"]).post(f"/api/promotions/requests/{request.pk}/approve",
                                          {"note": "ok", "payload_digest": read}, format="json")
    assert response.status_code == 400 and list(response.data["errors"]) == ["payload_digest"]
    assert request.signatures.count() == 0


def test_admin_approval_of_a_payload_changed_since_the_page_was_read_is_refused(people, request_of):
    request = request_of()
    client = staff(people["ops"])
    page = client.get(f"/admin/promotions/promotionrequest/{request.pk}/change/").content.decode()
    assert f'name="payload_digest" value="{request.payload_digest}"' in page
    promotion_payload_change(request_id=request.pk, user=people["requester"], reason="bigger",
                             payload={**request.payload, "allocation": "800.00"})
    response = client.post(f"/admin/promotions/promotionrequest/{request.pk}/approve/",
                           {"note": "ok", "payload_digest": request.payload_digest}, follow=True)
    assert "changed since you read it" in response.content.decode()
    assert request.signatures.count() == 0
