"""Campaigns from the web: the start form refuses what the command refuses, every bad field beside its
field and nothing written; a good one starts a replay that advances on the worker; cancel and re-run."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from cohorts.models import Cohort, CohortStatus, LedgerTransaction
from knowledge.models import Campaign, CampaignStatus, KnowledgeEntry
from knowledge.services.campaigns import campaign_advance, campaign_create, campaign_input

GOOD = {"name": "", "bankroll": "1000", "days": "2", "start_date": "2021-05-07", "policy": "performance_weighted",
        "symbols": ["BTC-USDT", "ETH-USDT"], "agents": "10", "lookback_hours": "6", "trials": "3", "seed": "7"}


@pytest.fixture
def starter(maker, client):
    maker.user_permissions.add(Permission.objects.get(codename="add_campaign"))
    client.force_login(maker)
    return maker


def errors_of(html: str) -> dict[str, str]:
    """The error shown beside each field, by field name."""
    return {name: re.sub(r"<[^>]+>", "", text).strip()
            for name, text in re.findall(r'id="id_(\w+)-error">(.*?)</ul>', html, flags=re.S)}


@pytest.mark.django_db
def test_start_form_proposes_a_day_with_data_and_ticks_its_symbols(crypto_days, client, starter):
    html = client.get(reverse("knowledge-campaign-new")).content.decode()

    assert 'type="date"' in html and 'value="2021-05-07"' in html  # the day after the first bars
    assert re.search(r'value="BTC-USDT"[^>]*checked', html) and re.search(r'value="ETH-USDT"[^>]*checked', html)


@pytest.mark.django_db
def test_start_form_shows_every_bad_field_beside_it_and_writes_nothing(crypto_days, client, starter):
    response = client.post(reverse("knowledge-campaign-new"), {**GOOD, "bankroll": "10", "days": "0", "trials": "0",
                                                               "lookback_hours": "99"})

    errors = errors_of(response.content.decode())
    assert response.status_code == 400
    assert set(errors) == {"bankroll", "days", "trials", "lookback_hours"}
    assert "between $50 and $100,000" in errors["bankroll"] and "from 1 to 30" in errors["days"]
    assert not Campaign.objects.exists() and not Cohort.objects.exists() and not KnowledgeEntry.objects.exists()


@pytest.mark.django_db
def test_start_form_refuses_a_campaign_past_the_stored_bars_beside_the_start_date(crypto_days, client, starter):
    response = client.post(reverse("knowledge-campaign-new"), {**GOOD, "days": "9"})

    assert response.status_code == 400 and "start_date" in errors_of(response.content.decode())
    assert not Campaign.objects.exists() and not LedgerTransaction.objects.filter(cohort__isnull=False).exists()


@pytest.mark.django_db
def test_starting_from_the_web_replays_the_campaign_day_by_day(crypto_days, client, starter, eager,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("knowledge-campaign-new"), GOOD)

    campaign = Campaign.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("knowledge-campaign", args=[campaign.pk])
    assert campaign.status == CampaignStatus.COMPLETED and campaign.created_by == starter
    page = client.get(response["Location"]).content.decode()
    for day in campaign.campaign_days.all():
        assert day.cohort.status == CohortStatus.COMPLETED
        assert f'href="{reverse("cohort-detail", args=[day.cohort_id])}"' in page
    assert 'id="campaign-chart-data"' in page and "Re-run with the same inputs" in page


@pytest.mark.django_db
def test_rerun_prefills_the_start_form_with_the_campaigns_inputs(crypto_days, client, starter):
    campaign = campaign_create(data=campaign_input(bankroll="2500", days=2, start="2021-05-08", agents=12,
                                                   symbols="ETH-USDT", lookback_hours=5, trials=4), user=starter)
    html = client.get(reverse("knowledge-campaign-new"), {"from": campaign.pk}).content.decode()

    assert f"Re-run {campaign}" in html
    for name, value in [("bankroll", "2500.00"), ("days", "2"), ("start_date", "2021-05-08"), ("agents", "12"),
                        ("lookback_hours", "5"), ("trials", "4")]:
        assert re.search(rf'name="{name}" value="{re.escape(value)}"', html), name
    assert re.search(r'value="ETH-USDT"[^>]*checked', html) and not re.search(r'value="BTC-USDT"[^>]*checked', html)


@pytest.mark.django_db
def test_cancel_from_the_page_stops_the_campaign_and_says_who(crypto_days, client, starter):
    campaign = campaign_create(data=campaign_input(bankroll="1000", days=2, start="2021-05-07", agents=10,
                                                   symbols="BTC-USDT", lookback_hours=6, trials=3), user=starter)
    campaign_advance(campaign_id=campaign.pk)
    page = client.get(reverse("knowledge-campaign", args=[campaign.pk])).content.decode()
    assert "Cancel campaign" in page and "confirm(" in page

    assert client.get(reverse("knowledge-campaign-cancel", args=[campaign.pk])).status_code == 405
    response = client.post(reverse("knowledge-campaign-cancel", args=[campaign.pk]), follow=True)

    html = response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.CANCELLED
    assert "Cancelled by maker" in html and "Re-run with the same inputs" in html and "Cancel campaign" not in html


@pytest.mark.django_db
def test_starting_and_cancelling_need_the_permission(crypto_days, client, maker, outsider):
    campaign = campaign_create(data=campaign_input(bankroll="1000", days=1, start="2021-05-07", agents=10,
                                                   symbols="BTC-USDT"), user=outsider)
    client.force_login(outsider)

    assert client.get(reverse("knowledge-campaign-new")).status_code == 403
    assert client.post(reverse("knowledge-campaign-new"), GOOD).status_code == 403
    assert client.post(reverse("knowledge-campaign-cancel", args=[campaign.pk])).status_code == 403
    index = client.get(reverse("knowledge-index")).content.decode()
    assert "Start a campaign" not in index
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.PENDING and Campaign.objects.count() == 1


@pytest.mark.django_db
def test_knowledge_empty_state_offers_the_start_form_not_the_command_line(client, starter):
    html = client.get(reverse("knowledge-index")).content.decode()

    assert "No campaigns yet" in html and "manage.py" not in html
    assert html.count(f'href="{reverse("knowledge-campaign-new")}"') == 2  # the header and the empty state


@pytest.mark.django_db
def test_start_form_checks_the_other_fields_when_a_required_one_is_empty(crypto_days, client, starter):
    response = client.post(reverse("knowledge-campaign-new"), {**GOOD, "days": "", "trials": "0", "agents": "5"})

    errors = errors_of(response.content.decode())
    assert response.status_code == 400 and set(errors) == {"days", "trials", "agents"}
    assert not Campaign.objects.exists()
