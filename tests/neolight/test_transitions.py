"""The locked transition helper: only allowed moves, only when the guard holds, event after commit."""
from __future__ import annotations

import uuid
from itertools import product

import pytest
from django.db import transaction
from django.utils import timezone

from cohorts.models import COHORT_STATES, COHORT_TRANSITIONS, Cohort, CohortStatus
from tests.factories import CohortFactory

pytestmark = pytest.mark.django_db


def cohort_in(status: str) -> Cohort:
    return CohortFactory(status=status)


@pytest.mark.parametrize("current,to", list(product(CohortStatus.values, CohortStatus.values)))
def test_a_status_moves_only_along_its_allowed_moves(current, to):
    cohort = cohort_in(current)
    stamps = {"lease_token": uuid.uuid4(), "lease_expires_at": timezone.now()} if to == CohortStatus.RUNNING else {}

    moved = COHORT_STATES.move(cohort.pk, to, status_reason="why", **stamps)

    cohort.refresh_from_db()
    if to in COHORT_TRANSITIONS[current]:
        assert moved is not None and cohort.status == to and cohort.status_reason == "why"
    else:
        assert moved is None and cohort.status == current and cohort.status_reason == ""


def test_a_failing_guard_writes_nothing():
    cohort = cohort_in(CohortStatus.RUNNING)
    assert COHORT_STATES.move(cohort.pk, CohortStatus.FAILED, guard=lambda c: c.lease_token is None,
                              status_reason="late") is None
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.RUNNING and cohort.status_reason == ""


def test_the_event_runs_only_when_the_move_commits(django_capture_on_commit_callbacks):
    seen: list[str] = []
    cohort = cohort_in(CohortStatus.PENDING)
    with pytest.raises(RuntimeError), transaction.atomic():
        COHORT_STATES.move(cohort.pk, CohortStatus.FAILED, event=lambda c: seen.append(c.status))
        raise RuntimeError("rolled back")
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.PENDING

    with django_capture_on_commit_callbacks(execute=True):
        COHORT_STATES.move(cohort.pk, CohortStatus.FAILED, event=lambda c: seen.append(c.status))
    assert seen == [CohortStatus.FAILED]
