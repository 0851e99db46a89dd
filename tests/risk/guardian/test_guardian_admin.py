"""The guardian's admin: breakers, events, the kill switch and mode changes are read-only; a breaker's Reset button
needs a reason and calls the service as the signed-in user."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from cohorts.models import CohortMode
from risk.models import Breaker, BreakerEvent, BreakerRule, SubjectKind, TradingState
from risk.services.guardian import breaker_open
from tests.factories import CohortFactory


@pytest.fixture
def halted(db):
    breaker = Breaker.objects.create(subject_kind=SubjectKind.COHORT, cohort=CohortFactory(mode=CohortMode.LIVE),
                                     rule=BreakerRule.CAPITAL_STOP)
    return breaker_open(breaker, TradingState.HALTED, "the day's loss is 6%", at=datetime(2021, 5, 6, tzinfo=UTC),
                        recovers_at=None)


def test_a_breaker_is_reset_from_its_page_with_a_reason_by_an_approval_role(client, superuser, halted):
    client.force_login(superuser)
    page = client.get(reverse("admin:risk_breaker_change", args=[halted.pk]))
    assert page.status_code == 200 and b"Reset this breaker" in page.content
    assert client.get(reverse("admin:risk_breaker_add")).status_code == 403

    url = reverse("admin:risk_breaker_reset", args=[halted.pk])
    client.post(url, {"reason": "checked the books"})  # a superuser outside the approval roles
    halted.refresh_from_db()
    assert halted.state == TradingState.HALTED
    superuser.groups.add(Group.objects.get_or_create(name="risk")[0])
    client.post(url, {"reason": ""})
    halted.refresh_from_db()
    assert halted.state == TradingState.HALTED
    answer = client.post(url, {"reason": "checked the books"}, follow=True)
    assert b"reset to active" in answer.content
    halted.refresh_from_db()
    assert halted.state == TradingState.ACTIVE
    assert BreakerEvent.objects.filter(breaker=halted).latest("id").actor == superuser
    for name in ("breakerevent", "killswitch", "killswitchevent", "modechange"):
        assert client.get(reverse(f"admin:risk_{name}_changelist")).status_code == 200
