"""The console page: login required; asking through it answers like the API and keeps the conversation in the
session; bad text is refused naming `text`."""
from __future__ import annotations

import json

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_console_needs_a_login(client):
    response = client.get(reverse("assistant-console"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_asking_through_the_console_keeps_the_conversation(client, maker):
    client.force_login(maker)
    page = client.get(reverse("assistant-console")).content.decode()
    assert "Nothing has happened yet" in page and "Start intraday cohort" in page and "Grow $…" in page

    said = client.post(reverse("assistant-console-ask"), json.dumps({"text": "help"}), content_type="application/json")
    empty = client.post(reverse("assistant-console-ask"), json.dumps({"text": ""}), content_type="application/json")

    assert said.status_code == 200 and said.json()["intent"] == "help"
    assert empty.status_code == 400 and list(empty.json()["errors"]) == ["text"]
    page = client.get(reverse("assistant-console")).content.decode()
    assert '<p class="question">help</p>' in page and "Anything that moves money waits for your Confirm." in page
