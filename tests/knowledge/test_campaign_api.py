"""The campaigns API: start (202, refused like the command with the field named, nothing written),
read, cancel; starting and cancelling need the permission."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from cohorts.models import Cohort
from knowledge.models import Campaign, CampaignStatus, KnowledgeEntry

BODY = {"bankroll": "1000.00", "days": 2, "start": "2021-05-07", "symbols": ["BTC-USDT"], "agents": 10,
        "lookback_hours": 6, "trials": 3}


@pytest.fixture
def starter_api(api, maker):
    maker.user_permissions.add(Permission.objects.get(codename="add_campaign"))
    return api


@pytest.mark.django_db
def test_start_answers_202_and_the_worker_replays_the_campaign(crypto_days, starter_api, eager,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = starter_api.post(reverse("api-campaigns"), BODY, format="json")

    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["bankroll"] == "1000.00"
    campaign = Campaign.objects.get(pk=response.json()["campaign"])
    assert campaign.status == CampaignStatus.COMPLETED  # queued after commit, run by the (eager) worker
    report = starter_api.get(reverse("api-campaign", args=[campaign.pk])).json()
    assert [d["day"] for d in report["day_results"]] == [1, 2] and report["final_equity"] is not None


@pytest.mark.django_db
def test_start_refuses_bad_input_naming_the_field_and_writes_nothing(crypto_days, starter_api):
    response = starter_api.post(reverse("api-campaigns"), {**BODY, "days": 0}, format="json")
    bankroll = starter_api.post(reverse("api-campaigns"), {**BODY, "bankroll": "10"}, format="json")

    assert response.status_code == 400 and list(response.json()["errors"]) == ["days"]
    assert bankroll.status_code == 400 and "between $50 and $100,000" in bankroll.json()["errors"]["bankroll"][0]
    assert not Campaign.objects.exists() and not Cohort.objects.exists() and not KnowledgeEntry.objects.exists()


@pytest.mark.django_db
def test_cancel_through_the_api_and_twice_is_refused(crypto_days, starter_api):
    campaign_id = starter_api.post(reverse("api-campaigns"), BODY, format="json").json()["campaign"]

    first = starter_api.post(reverse("api-campaign-cancel", args=[campaign_id]))
    again = starter_api.post(reverse("api-campaign-cancel", args=[campaign_id]))

    assert first.status_code == 200 and first.json()["status"] == "cancelled"
    assert again.status_code == 400 and "this one is cancelled" in again.json()["detail"]


@pytest.mark.django_db
def test_starting_needs_the_permission(crypto_days, api):
    assert api.post(reverse("api-campaigns"), BODY, format="json").status_code == 403
    assert not Campaign.objects.exists()


@pytest.mark.django_db
def test_start_reports_every_bad_field_at_once(crypto_days, starter_api):
    response = starter_api.post(reverse("api-campaigns"), {**BODY, "bankroll": "10", "agents": 5, "trials": 0,
                                                           "symbols": ["NOPE-USDT"]}, format="json")

    errors = response.json()["errors"]
    assert response.status_code == 400 and set(errors) == {"bankroll", "agents", "trials", "symbols"}
    assert all(len(messages) == 1 for messages in errors.values())
    assert not Campaign.objects.exists() and not KnowledgeEntry.objects.exists()
