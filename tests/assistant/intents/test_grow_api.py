"""`POST /api/assistant/intents/grow`: every bad field named in one 400 with nothing written; prerequisites
(stored bars for the days, no campaign of the user under way) checked; a good request starts a replay campaign
and answers its day-by-day plan."""
from __future__ import annotations

import pytest
from django.urls import reverse

from knowledge.models import Campaign, EntryKind, KnowledgeEntry
from tests.assistant.intents.conftest import client_of
from tests.cohorts.test_cohorts import launch_and_run

pytestmark = pytest.mark.django_db
GROW = reverse("api-assistant-grow")


def test_every_bad_field_is_named_in_one_400_and_nothing_is_written(two_days, grower):
    response = client_of(grower).post(GROW, {"bankroll": "10", "days": 61, "max_leverage": "11"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"bankroll", "days", "max_leverage"}
    assert "between $50 and $100,000" in response.json()["errors"]["bankroll"][0]
    garbage = client_of(grower).post(GROW, {"bankroll": "lots", "days": "ten", "max_leverage": "0.5"}, format="json")
    assert set(garbage.json()["errors"]) == {"bankroll", "days", "max_leverage"}
    missing = client_of(grower).post(GROW, {}, format="json")
    assert set(missing.json()["errors"]) == {"bankroll", "days"}
    assert not Campaign.objects.exists() and not KnowledgeEntry.objects.exists()


def test_a_good_grow_starts_a_replay_campaign_and_answers_its_plan(two_days, grower, settings):
    settings.PROMOTION_DAY = 2
    response = client_of(grower).post(GROW, {"bankroll": "1000.00", "days": 2, "max_leverage": "3"}, format="json")

    assert response.status_code == 201, response.json()
    plan = response.json()
    campaign = Campaign.objects.get(pk=plan["campaign"])
    assert (campaign.bankroll, campaign.days, campaign.mode, campaign.created_by) == (1000, 2, "replay", grower)
    assert plan["start"] == "2021-05-06" and plan["symbols"] == ["BTC-USDT"]
    assert [(r["day"], r["date"], r["is_review"]) for r in plan["rows"]] == [(1, "2021-05-06", False),
                                                                             (2, "2021-05-07", True)]
    assert plan["rows"][0]["leverage_tier"] == "2" and plan["rows"][1]["leverage_tier"] == "3"  # ladder +1×, cap 3×
    assert plan["rows"][0]["at_risk"] == "50.00"  # the 5% daily stop on $1,000
    assert plan["history"]["count"] == 0 and plan["rows"][0]["return_low"] is None and "no history" in plan["note"]
    entry = KnowledgeEntry.objects.get(kind=EntryKind.DECISION, campaign=campaign)
    assert entry.data["plan"] == plan  # on record in the knowledge base


def test_the_plan_expects_returns_from_completed_cohorts(two_days, grower):
    done = launch_and_run(agents=10, symbols="BTC-USDT")
    plan = client_of(grower).post(GROW, {"bankroll": "1000", "days": 1}, format="json").json()
    assert plan["history"]["count"] == 1 and plan["history"]["low"] == pytest.approx(done.roi)
    assert plan["rows"][0]["return_low"] == pytest.approx(done.roi) and plan["rows"][0]["end_low"] is not None


def test_prerequisites_more_days_than_bars_and_a_campaign_under_way(two_days, grower):
    api = client_of(grower)
    short = api.post(GROW, {"bankroll": "1000", "days": 5}, format="json")
    assert short.status_code == 400 and "Stored bars cover 2 days" in short.json()["errors"]["days"][0]
    assert api.post(GROW, {"bankroll": "1000", "days": 1}, format="json").status_code == 201
    busy = api.post(GROW, {"bankroll": "1000", "days": 1}, format="json")
    assert busy.status_code == 400 and "still pending" in busy.json()["detail"]
    assert Campaign.objects.count() == 1


def test_growing_needs_the_campaign_permission(two_days, api):
    assert api.post(GROW, {"bankroll": "1000", "days": 1}, format="json").status_code == 403
    assert not Campaign.objects.exists()
