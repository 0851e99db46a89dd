"""The Day-3 go/no-go: weighs each due campaign day once, proposes its best eligible agent, tells the approvers."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from promotions.models import PromotionCandidate, PromotionRequest, RequestStatus
from promotions.services.day3 import day3_go_no_go
from tests.promotions.smtp_stub import SmtpStub


@pytest.fixture
def smtp(settings):
    with SmtpStub() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        yield server


@pytest.mark.django_db
def test_day3_proposes_the_best_agent_once_and_mails_the_ops_group(campaign_done, policy, approvers, smtp, eager,
                                                                    django_capture_on_commit_callbacks, client):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("day3_go_no_go", "--campaign", str(campaign_done.pk), "--json", stdout=out)
    [verdict] = json.loads(out.getvalue())["days"]

    day3 = campaign_done.campaign_days.get(number=3)
    assert verdict["day"] == 3 and verdict["cohort"] == day3.cohort_id and verdict["outcome"] == "proposed"
    request = PromotionRequest.objects.get(pk=verdict["request"])
    assert request.status == RequestStatus.PENDING and request.requested_by is None
    assert request.candidate.rank == min(c.rank for c in PromotionCandidate.objects.filter(is_eligible=True))
    assert PromotionCandidate.objects.filter(cohort=day3.cohort).count() == verdict["candidates"] == 10
    assert not PromotionCandidate.objects.filter(cohort__campaign_day__number__lt=3).exists()  # days 1–2 not weighed

    [(sender, recipients, mail)] = smtp.messages  # ops only: risk's step is not due yet
    assert sorted(recipients) == ["olivia@desk.example", "oscar@desk.example"]
    assert mail["Subject"] == f"[PAPER] Promotion request {request.pk} awaits the ops sign-off"
    assert reverse("promotion-request", args=[request.pk]) in mail.get_payload()

    assert day3_go_no_go(campaign_id=campaign_done.pk) == []  # idempotent: the day was weighed
    assert PromotionRequest.objects.count() == 1 and len(smtp.messages) == 1

    page = reverse("promotion-request", args=[request.pk])
    for persona, may_sign in [("ops", True), ("risk", False), ("outsider", False)]:
        client.force_login(approvers[persona])
        html = client.get(page).content.decode()
        assert ('name="decision" value="approve"' in html) is may_sign, persona
        assert "Guard rails" in html and "Go-live readiness" in html and "deflated" in html.lower()

    client.force_login(approvers["ops"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("promotion-decide", args=[request.pk]),
                               {"decision": "approve", "note": "Checks reviewed; slippage fine."}, follow=True)
    assert "ops</strong>: approved by olivia" in response.content.decode()
    [(_, recipients, mail)] = smtp.messages[1:]  # now risk's step is due
    assert recipients == ["rita@desk.example"] and "awaits the risk sign-off" in mail["Subject"]
    out = StringIO()
    call_command("promotion_status", "--json", stdout=out)
    [row] = json.loads(out.getvalue())["requests"]
    assert [(s["role"], s["state"], s["user"]) for s in row["chain"]] == [("ops", "approved", "olivia"),
                                                                        ("risk", "pending", None)]
    client.force_login(approvers["risk"])
    assert 'name="decision" value="approve"' in client.get(page).content.decode()
    client.force_login(approvers["ops2"])  # the other ops member cannot take risk's step
    assert 'name="decision" value="approve"' not in client.get(page).content.decode()
    response = client.post(reverse("promotion-decide", args=[request.pk]), {"decision": "approve", "note": "me too"},
                           follow=True)
    assert PromotionRequest.objects.get(pk=request.pk).status == RequestStatus.PENDING
    assert f"oscar is not a member of risk, which signs step 2 of request {request.pk}." in response.content.decode()


@pytest.mark.django_db
def test_day3_says_which_guard_rails_stopped_every_agent(campaign_done, policy):
    policy.guards = {**policy.guards, "min_trades": 1_000_000}
    policy.save()

    [verdict] = day3_go_no_go(campaign_id=campaign_done.pk)

    assert verdict.outcome == "no candidate" and verdict.request is None and verdict.eligible == 0
    assert "min_trades" in verdict.reason
    assert not PromotionRequest.objects.exists()
    out = StringIO()
    call_command("promotion_status", stdout=out)
    assert "No promotion requests yet" in out.getvalue()

