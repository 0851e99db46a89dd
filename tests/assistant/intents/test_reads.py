"""The assistant's reads: cohorts status, promotion readiness (each guard rail and signature step), the
bankroll over 7 days, what to fund tomorrow and pending approvals — over the API and in the ask's words."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from promotions.services.requests import promotion_request_create
from tests.assistant.intents.conftest import client_of
from tests.promotions.chain.conftest import candidate_maker, cohort_completed, member

pytestmark = pytest.mark.django_db
ASK = reverse("api-assistant-ask")


@pytest.fixture
def weighed(tmp_path, groups):
    """A completed cohort with an eligible candidate and a request awaiting ops then risk."""
    cohort = cohort_completed(tmp_path)
    candidate = candidate_maker(cohort)(0)
    requester = member("requester", groups["ops"])
    request = promotion_request_create(candidate=candidate, user=requester)
    return cohort, request, requester


@pytest.fixture
def groups(db):
    from django.contrib.auth.models import Group

    return {name: Group.objects.get_or_create(name=name)[0] for name in ("ops", "risk")}


def test_cohorts_status_and_readiness_with_each_check_and_step(weighed, superuser):
    cohort, request, _ = weighed
    api = client_of(superuser)
    rows = api.get(reverse("api-assistant-cohorts-status")).json()["cohorts"]
    assert rows[0]["id"] == cohort.pk and rows[0]["status"] == "completed" and rows[0]["bankroll"] == "1000.00"

    ready = api.get(reverse("api-assistant-readiness", args=[cohort.pk])).json()
    assert ready["verdict"] == "awaiting_signatures" and ready["request"]["id"] == request.pk
    assert [(c["name"], c["passed"]) for c in ready["checks"]] == [
        ("min_trades", True), ("max_drawdown", True), ("min_deflated_sharpe", True)]
    assert [(s["role"], s["state"]) for s in ready["chain"]] == [(r, "pending") for r in request.roles]

    said = api.post(ASK, {"text": f"is cohort {cohort.pk} ready for promotion?"}, format="json").json()
    assert said["intent"] == "promotion_readiness" and "is awaiting signatures" in said["answer"]
    assert "✓ min trades: 12 >= 10" in said["answer"]


def test_readiness_of_a_cohort_one_may_not_see_is_a_404(weighed, outsider):
    cohort, _, _ = weighed
    assert client_of(outsider).get(reverse("api-assistant-readiness", args=[cohort.pk])).status_code == 404
    said = client_of(outsider).post(ASK, {"text": f"status of cohort {cohort.pk}"}, format="json").json()
    assert said["answer"] == f"I found no cohort {cohort.pk} you may see."


def test_bankroll_summary_over_seven_days(weighed, superuser):
    cohort, _, _ = weighed
    summary = client_of(superuser).get(reverse("api-assistant-bankroll-summary")).json()
    today = datetime.now(UTC).date().isoformat()
    assert len(summary["days"]) == 7 and summary["days"][-1]["date"] == today
    pnl = cohort.settlement.settled - cohort.settlement.drawn
    assert summary["days"][-1] == {"date": today, "drawn": "1000.00", "returned": f"{cohort.settlement.settled:.2f}",
                                   "pnl": f"{pnl:.2f}"}
    assert summary["totals"]["drawn"] == "1000.00" and summary["at_work"] == "0.00"


def test_pending_approvals_say_what_blocks_them(weighed, groups):
    _, request, requester = weighed
    ops = member("ops", groups["ops"])
    from guardian.shortcuts import assign_perm

    for user in (ops,):
        assign_perm("promotions.sign_promotionrequest", user, request)
    mine = client_of(requester).post(ASK, {"text": "pending approvals"}, format="json").json()
    theirs = client_of(ops).post(ASK, {"text": "what needs my signature?"}, format="json").json()
    assert "you requested it, so others must sign" in mine["answer"]
    assert "you can sign it now" in theirs["answer"] and "1 yours to sign" in theirs["answer"]


def test_fund_tomorrow_has_outcomes_governor_proposals_and_approvals(weighed):
    cohort, request, requester = weighed
    requester.user_permissions.add(Permission.objects.get(codename="view_cohort"))
    said = client_of(requester).post(ASK, {"text": "what should I fund tomorrow?"}, format="json").json()
    fund = said["data"]["fund"]
    assert said["intent"] == "fund_tomorrow" and fund["outcomes"][0]["id"] == cohort.pk
    assert fund["allocation"]["cohort"] == cohort.pk and len(fund["allocation"]["agents"]) == 10
    assert sum(float(f["proposed"]) for f in fund["allocation"]["families"]) + float(fund["allocation"]["cash"]) \
        == pytest.approx(1000.0)
    assert f"{request.pk} waits for" in said["answer"] and "The capital governor would split" in said["answer"]
