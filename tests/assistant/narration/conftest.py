"""Fixtures of the narration tests: the deployment tests' approved requests and bars, the ladder tests' small ladder
and scripted campaign days, the guardian tests' permitted user; `said(event)` reads back what was narrated."""
from __future__ import annotations

import pytest

from knowledge.models import EntryKind, KnowledgeEntry
from tests.cohorts.conftest import crypto_hours  # noqa: F401
from tests.knowledge.conftest import crypto_days  # noqa: F401
from tests.promotions.deployments.conftest import (  # noqa: F401
    approved,
    at_start,
    desk,
    ops_user,
    queued,
    quick_passwords,
    risk_user,
)
from tests.risk.guardian.conftest import operator  # noqa: F401
from tests.risk.ladder.conftest import campaign_days, deployment_of, groups, ladder  # noqa: F401


def said(event: str | None = None) -> list[str]:
    """The narrations' sentences, oldest first (of `event` only, if given)."""
    entries = KnowledgeEntry.objects.filter(kind=EntryKind.NARRATION).order_by("created_at", "id")
    if event is not None:
        entries = entries.filter(data__event=event)
    return list(entries.values_list("title", flat=True))


def events() -> list[str]:
    return list(KnowledgeEntry.objects.filter(kind=EntryKind.NARRATION).order_by("created_at", "id")
                .values_list("data__event", flat=True))


def post_mortems() -> list[KnowledgeEntry]:
    return list(KnowledgeEntry.objects.filter(kind=EntryKind.POST_MORTEM).order_by("id"))


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """`with commit():` runs what the block queues for after its commit, as a committed transaction would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
