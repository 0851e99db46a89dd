"""The approval chain through its interfaces: the REST API, the admin's request page with its buttons, and
the policy admin's validation. The services behind them are tested exhaustively elsewhere."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from promotions.models import LogKind, PromotionLog, PromotionPolicy, PromotionRequest, RequestStatus


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def admin_as(user) -> Client:
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_promotionrequest"))
    client = Client()
    client.force_login(user)
    return client


def test_api_request_by_hand_then_ops_and_risk_approve(people, candidate):
    created = api_as(people["requester"]).post("/api/promotions/requests",
                                               {"cohort": candidate.cohort_id, "agent": 0}, format="json")
    assert created.status_code == 201, created.data
    request_id = created.data["request"]["id"]
    assert created.data["payload"]["candidate"] == candidate.pk
    assert [c["name"] for c in created.data["checks"]] == ["min_trades", "max_drawdown", "min_deflated_sharpe"]
    assert set(created.data["metrics"]) == {"roi", "sharpe", "max_drawdown", "trades", "win_rate"}

    signed = api_as(people["ops"]).post(f"/api/promotions/requests/{request_id}/approve", {"note": "ok"},
                                        format="json")
    assert signed.status_code == 200, signed.data
    assert [s["state"] for s in signed.data["chain"]] == ["approved", "pending"]
    done = api_as(people["risk"]).post(f"/api/promotions/requests/{request_id}/approve", {"note": "ok"},
                                       format="json")
    assert done.data["request"]["status"] == "approved"
    detail = api_as(people["ops2"]).get(f"/api/promotions/requests/{request_id}")
    assert detail.status_code == 200
    assert detail.data["verified"] is True and detail.data["deployment"] is None
    assert [(s["role"], s["user"], s["verified"]) for s in detail.data["signatures"]] == [
        ("ops", "ops", True), ("risk", "risk", True)]


def test_api_reject_ends_the_request(people, request_of):
    request = request_of()
    response = api_as(people["ops"]).post(f"/api/promotions/requests/{request.pk}/reject", {"note": "too risky"},
                                          format="json")
    assert response.status_code == 200
    assert response.data["request"]["status"] == "rejected"
    assert response.data["request"]["status_reason"] == "too risky"


def test_api_lists_requests_filtered_by_status(people, request_of, make_candidate):
    pending = request_of()
    make_candidate(1)
    created = api_as(people["ops"]).post("/api/promotions/requests",
                                         {"cohort": pending.candidate.cohort_id, "agent": 1}, format="json")
    other = PromotionRequest.objects.get(pk=created.data["request"]["id"])
    api_as(people["ops2"]).post(f"/api/promotions/requests/{other.pk}/reject", {"note": "no"}, format="json")
    client = api_as(people["risk"])
    assert [r["id"] for r in client.get("/api/promotions/requests").data] == [other.pk, pending.pk]
    assert [r["id"] for r in client.get("/api/promotions/requests?status=pending").data] == [pending.pk]
    assert client.get("/api/promotions/requests?status=bogus").status_code == 400
    assert client.get("/api/promotions/requests?signable=true").data == []  # ops has not signed yet
    assert [r["id"] for r in api_as(people["ops2"]).get("/api/promotions/requests?signable=true").data] == [pending.pk]


@pytest.mark.parametrize("persona", ["outsider", "superuser"])
def test_api_requests_are_for_ops_and_approvers_only(people, request_of, persona):
    request = request_of()
    assert api_as(people[persona]).get("/api/promotions/requests").status_code == 403
    assert api_as(people[persona]).get(f"/api/promotions/requests/{request.pk}").status_code == 403


def test_api_request_for_a_cohort_that_does_not_exist_is_a_400(people, cohort, candidate):
    response = api_as(people["ops"]).post("/api/promotions/requests", {"cohort": cohort.pk + 1000, "agent": 0},
                                          format="json")
    assert response.status_code == 400
    assert response.data["detail"] == f"There is no cohort {cohort.pk + 1000}."
    assert list(response.data["errors"]) == ["cohort"]


def test_api_request_for_a_failing_candidate_names_each_failed_check(people, make_candidate):
    candidate = make_candidate(2, failing=("max_drawdown", "min_deflated_sharpe"))
    response = api_as(people["ops"]).post("/api/promotions/requests", {"cohort": candidate.cohort_id, "agent": 2},
                                          format="json")
    assert response.status_code == 400
    assert list(response.data["errors"]) == ["max_drawdown", "min_deflated_sharpe"]
    assert not PromotionRequest.objects.exists()


def test_admin_request_page_shows_payload_checks_metrics_and_chain(people, request_of):
    request = request_of()
    page = admin_as(people["ops"]).get(f"/admin/promotions/promotionrequest/{request.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    for shown in (request.payload_digest, '&quot;allocation&quot;: &quot;50.00000000&quot;', "min_deflated_sharpe", "win_rate",
                  "every signature verifies", "Approve", "Reject"):
        assert shown in html, shown
    assert "Approve" not in admin_as(people["risk"]).get(
        f"/admin/promotions/promotionrequest/{request.pk}/change/").content.decode()  # not risk's turn yet


def test_admin_buttons_sign_through_the_same_services(people, request_of):
    request = request_of()
    url = f"/admin/promotions/promotionrequest/{request.pk}/"
    page = admin_as(people["ops"]).post(url + "approve/", {"note": "checked in the admin"}, follow=True)
    assert "you approved its step" in page.content.decode()
    page = admin_as(people["risk"]).post(url + "approve/", {"note": "limits fine"}, follow=True)
    request.refresh_from_db()
    assert request.status == RequestStatus.APPROVED
    html = page.content.decode()
    assert "checked in the admin" in html and "limits fine" in html and "verifies" in html
    assert PromotionLog.objects.filter(request=request, kind=LogKind.SIGNED).count() == 2


def test_admin_reject_button_ends_the_request(people, request_of):
    request = request_of()
    admin_as(people["ops"]).post(f"/admin/promotions/promotionrequest/{request.pk}/reject/", {"note": "no"})
    request.refresh_from_db()
    assert request.status == RequestStatus.REJECTED


@pytest.mark.parametrize("guards, roles, error", [
    ('{"min_trades": 5, "max_leverage": 3}', '["ops", "risk"]', "Unknown guards: max_leverage"),
    ('{"min_trades": "five", "max_drawdown": true}', '["ops"]', "Not numbers: max_drawdown, min_trades"),
    ('{}', '["ops", "compliance"]', "No such groups: compliance"),
    ('{}', '["ops", "ops"]', "named twice"),
])
def test_policy_admin_refuses_unknown_guards_non_numbers_and_missing_groups(people, guards, roles, error):
    client = Client()
    client.force_login(people["superuser"])
    response = client.post("/admin/promotions/promotionpolicy/add/",
                           {"name": "p", "guards": guards, "approval_roles": roles})
    assert response.status_code == 200 and error in response.content.decode()
    assert not PromotionPolicy.objects.exists()


def test_policy_admin_saves_a_valid_policy(people):
    client = Client()
    client.force_login(people["superuser"])
    response = client.post("/admin/promotions/promotionpolicy/add/",
                           {"name": "tight", "guards": '{"min_trades": 20, "max_drawdown": 0.03}',
                            "approval_roles": '["ops", "risk"]', "is_default": "on"})
    assert response.status_code == 302
    assert PromotionPolicy.objects.get().guards == {"min_trades": 20, "max_drawdown": 0.03}


@pytest.mark.parametrize("model", ["signature", "promotionlog", "promotioncandidate", "promotionrequest"])
def test_the_trail_lists_in_the_admin_but_cannot_be_added_to(people, request_of, model):
    request_of()
    client = Client()
    client.force_login(people["superuser"])
    assert client.get(f"/admin/promotions/{model}/").status_code == 200
    assert client.get(f"/admin/promotions/{model}/add/").status_code == 403


def test_every_promotions_admin_but_the_policy_is_read_only():
    from django.contrib import admin

    from neolight.admin import ReadOnlyAdmin

    shown = {model.__name__: model_admin for model, model_admin in admin.site._registry.items()
             if model._meta.app_label == "promotions"}
    assert set(shown) >= {"PromotionPolicy", "PromotionCandidate", "PromotionRequest", "Signature", "PromotionLog"}
    assert [name for name, model_admin in shown.items()
            if name != "PromotionPolicy" and not isinstance(model_admin, ReadOnlyAdmin)] == []


def test_api_request_runs_on_the_gates_own_candidates_and_names_each_failed_rail(people, cohort):
    from promotions.services.candidates import promote_intraday_candidate

    weighed = {c.agent.index: c for c in promote_intraday_candidate(cohort)}
    index, candidate = next((i, c) for i, c in weighed.items() if not c.is_eligible)  # an hour is no paper record
    failed = list(candidate.checks.filter(passed=False).values_list("name", flat=True))
    response = api_as(people["ops"]).post("/api/promotions/requests", {"cohort": cohort.pk, "agent": index},
                                          format="json")
    assert response.status_code == 400
    assert list(response.data["errors"]) == failed and "min_paper_days" in failed
    assert not PromotionRequest.objects.exists()
