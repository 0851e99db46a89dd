"""The admin shows figures in the pages' vocabulary, and names paused agents for what they are."""
from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from tests.cohorts.test_cohorts import launch_and_run


@pytest.mark.django_db
def test_admin_cohort_and_agent_pages_read_like_the_dashboard(client, crypto_hours):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "x"))
    cohort = launch_and_run(window={"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T02:00:00Z"})
    agent = cohort.agents.order_by("index").first()

    change = client.get(f"/admin/cohorts/cohort/{cohort.pk}/change/").content.decode()
    assert "$1,000.00" in change and "Agents paused by a circuit breaker" in change
    assert "Failed agents" not in change and "1000.00000000" not in change

    page = client.get(f"/admin/cohorts/agent/{agent.pk}/change/").content.decode()
    params = re.search(r"Parameters:</label>\s*<div class=\"readonly\">([^<]*)</div>", page)
    assert params and "=" in params.group(1) and not re.search(r"\d\.\d{5,}", params.group(1))
    assert "$" in client.get("/admin/cohorts/agent/").content.decode()
