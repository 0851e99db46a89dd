"""The knowledge page's entry filters: kind, one visible campaign, text; a bad value is explained, not applied."""
from html import unescape

import pytest
from django.urls import reverse

from knowledge.models import EntryKind
from knowledge.services.entries import entry_create
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(maker, outsider):
    mine, theirs = CampaignFactory(created_by=maker), CampaignFactory(created_by=outsider)
    entry_create(kind=EntryKind.DECISION, title="Desk rule: equal weights")
    entry_create(kind=EntryKind.CAMPAIGN_DAY, title="Day 1 of mine", campaign=mine)
    entry_create(kind=EntryKind.CAMPAIGN_DAY, title="Day 1 of theirs", campaign=theirs)
    return mine, theirs


def titles(client, **filters) -> tuple[list[str], str]:
    page = unescape(client.get(reverse("knowledge-index"), filters).content.decode())
    shown = [t for t in ("Desk rule: equal weights", "Day 1 of mine", "Day 1 of theirs") if f"<strong>{t}</strong>" in page]
    return shown, page


@pytest.fixture
def reader(client, maker):
    client.force_login(maker)
    return client


def test_entries_narrow_by_kind_campaign_and_text(reader, history):
    mine, _ = history
    assert titles(reader)[0] == ["Desk rule: equal weights", "Day 1 of mine"]
    assert titles(reader, kind="decision")[0] == ["Desk rule: equal weights"]
    assert titles(reader, campaign=mine.pk)[0] == ["Day 1 of mine"]
    assert titles(reader, q="MINE")[0] == ["Day 1 of mine"]


@pytest.mark.parametrize("value", ["abc", "1.5", "theirs"])
def test_a_campaign_one_may_not_see_or_no_campaign_is_explained(reader, history, value):
    value = history[1].pk if value == "theirs" else value
    shown, page = titles(reader, campaign=value, kind="decision")
    assert "campaign: Select a valid choice." in page
    assert shown == ["Desk rule: equal weights"]  # the other filters still apply; nothing of theirs shows
