"""`POST /api/assistant/ask` and `/confirm`: reads answer at once; money moves only on a confirmation, once per
token, for the user it was given to and with the launch API's permissions; bad text is a 400 naming `text`."""
from __future__ import annotations

import pytest
from django.urls import reverse

from cohorts.models import Cohort
from knowledge.models import Campaign, KnowledgeEntry
from tests.assistant.intents.conftest import client_of
from tests.assistant.intents.test_parsing import MISSING, UNCLEAR
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
ASK, CONFIRM = reverse("api-assistant-ask"), reverse("api-assistant-confirm")


def test_asking_needs_a_login_or_a_token(anonymous_api):
    assert anonymous_api.post(ASK, {"text": "help"}, format="json").status_code in (401, 403)


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 501}, {"text": None}])
def test_bad_text_is_a_400_naming_text(api, body):
    response = api.post(ASK, body, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["text"]


def test_help_lists_what_it_can_do_with_examples(api):
    said = api.post(ASK, {"text": "what can you do?"}, format="json").json()
    assert said["intent"] == "help" and not said["needs_confirmation"] and said["confirm"] is None
    assert "grow $1,000 over 10 days" in said["answer"] and "status of cohort 12" in said["answer"]


def test_twenty_unclear_sentences_get_helpful_answers_and_nothing_is_done(two_days, grower):
    api = client_of(grower)
    for text, _ in [*UNCLEAR[3:], *MISSING]:  # the empty and over-long ones are 400s (above)
        response = api.post(ASK, {"text": text}, format="json")
        said = response.json()
        assert response.status_code == 200, text
        assert not said["needs_confirmation"] and said["confirm"] is None, text
        assert "for example" in said["answer"].lower() or "try" in said["answer"].lower(), text
    assert len(UNCLEAR[3:]) + len(MISSING) >= 18
    for text in ["grow $10 over 3 days", "grow $1,000 over 99 days at most 20x", "start a cohort with $1,000 on 2030-01-01"]:
        said = api.post(ASK, {"text": text}, format="json").json()
        assert said["answer"].startswith("I cannot do that") and said["confirm"] is None, text
    assert not Campaign.objects.exists() and not Cohort.objects.exists() and not KnowledgeEntry.objects.exists()


@pytest.mark.parametrize("text", ["status of cohort 99999999999999999999", "is cohort 99999999999999 ready to go live?",
                                  "how is campaign 99999999999 doing", "bankroll summary over 100000 days",
                                  "grow $999999999999999 over 3 days", "start a cohort with $1,000 on 9999-12-31"])
def test_odd_numbers_get_answers_never_a_server_error(api, text):
    response = api.post(ASK, {"text": text}, format="json")
    assert response.status_code == 200 and response.json()["confirm"] is None


def test_a_grow_is_proposed_then_confirmed_once(two_days, grower):
    api = client_of(grower)
    said = api.post(ASK, {"text": "grow $1,000 over 2 days at most 3x"}, format="json").json()
    assert said["intent"] == "grow" and said["arguments"] == {"bankroll": "1000.00", "days": 2, "max_leverage": "3"}
    assert said["needs_confirmation"] and said["confirm"] and "$1,000.00 over 2 days" in said["answer"]
    assert not Campaign.objects.exists()  # nothing before the confirmation
    assert "(from 2021-05-06)" in said["answer"]

    first = api.post(CONFIRM, {"token": said["confirm"]}, format="json").json()
    again = api.post(CONFIRM, {"token": said["confirm"]}, format="json").json()

    campaign = Campaign.objects.get()
    assert campaign.bankroll == 1000 and campaign.days == 2 and campaign.created_by == grower
    assert first["data"]["campaign"] == campaign.pk and first["data"]["is_new"] is True
    assert again["data"]["campaign"] == campaign.pk and again["data"]["is_new"] is False
    assert again["answer"].startswith("Already started")
    assert [r["day"] for r in first["data"]["plan"]["rows"]] == [1, 2]
    busy = api.post(ASK, {"text": "grow $500 over 1 day"}, format="json").json()
    assert busy["confirm"] is None and f"Your campaign {campaign.pk} is still pending" in busy["answer"]


def test_a_cohort_start_is_confirmed_once_through_the_launch_service(two_days, grower):
    api = client_of(grower)
    said = api.post(ASK, {"text": "start an intraday cohort with $2,000 and 10 agents on 2021-05-07"},
                    format="json").json()
    assert said["intent"] == "start_cohort" and said["needs_confirmation"]
    assert "on BTC-USDT, trading" in said["answer"] and "2021-05-07" in said["answer"]

    first = api.post(CONFIRM, {"token": said["confirm"]}, format="json").json()
    again = api.post(CONFIRM, {"token": said["confirm"]}, format="json").json()

    cohort = Cohort.objects.get()
    assert cohort.wallet.bankroll == 2000 and cohort.agent_count == 10 and cohort.launched_by == grower
    assert cohort.window_start.date().isoformat() == "2021-05-07"
    assert first["data"] == {"cohort": cohort.pk, "is_new": True} and again["data"] == {"cohort": cohort.pk, "is_new": False}


def test_a_token_is_good_only_for_its_user_and_unaltered(two_days, grower):
    said = client_of(grower).post(ASK, {"text": "grow $1,000 over 2 days"}, format="json").json()
    other = client_of(UserFactory(username="other"))

    stolen = other.post(CONFIRM, {"token": said["confirm"]}, format="json")
    forged = client_of(grower).post(CONFIRM, {"token": said["confirm"][:-2] + "xx"}, format="json")

    assert stolen.status_code == 400 and list(stolen.json()["errors"]) == ["token"]
    assert forged.status_code == 400 and list(forged.json()["errors"]) == ["token"]
    assert not Campaign.objects.exists()


def test_an_expired_token_is_refused(two_days, grower, settings):
    said = client_of(grower).post(ASK, {"text": "grow $1,000 over 2 days"}, format="json").json()
    settings.ASSISTANT_CONFIRM_SECONDS = -1
    response = client_of(grower).post(CONFIRM, {"token": said["confirm"]}, format="json")
    assert response.status_code == 400 and "expired" in response.json()["detail"]
    assert not Campaign.objects.exists()


def test_money_moves_only_with_the_launch_permissions(two_days, api):
    grow = api.post(ASK, {"text": "grow $1,000 over 2 days"}, format="json").json()
    start = api.post(ASK, {"text": "start a cohort with $1,000"}, format="json").json()
    assert grow["confirm"] is None and "may not start campaigns" in grow["answer"]
    assert start["confirm"] is None and "may not launch cohorts" in start["answer"]
    assert not Campaign.objects.exists() and not Cohort.objects.exists()
