"""A cohort's run is narrated when it starts and when it finishes, with its figures as a trader reads them; a
failure is narrated once it commits and never if it rolls back; an unknown event or a failing narration is
logged and undoes nothing."""
from __future__ import annotations

import logging

import pytest
from django.db import transaction

from assistant.services.narration import narrate, narrate_on_commit
from cohorts.models import CohortStatus
from cohorts.services.cohorts import cohort_fail, cohort_launch, cohort_run
from cohorts.services.inputs import cohort_input
from knowledge.models import KnowledgeEntry
from tests.assistant.narration.conftest import events, said
from tests.cohorts.conftest import HOURS

pytestmark = pytest.mark.django_db


def launch(bankroll="1000"):
    return cohort_launch(data=cohort_input(bankroll=bankroll, agents=10, symbols="BTC-USDT,ETH-USDT", **HOURS), run=False)


def test_a_cohort_run_is_narrated_when_it_starts_and_when_it_finishes(crypto_hours, commit):
    with commit():
        cohort = launch()
        cohort = cohort_run(cohort_id=cohort.pk)

    assert cohort.status == CohortStatus.COMPLETED
    best = cohort.summary["leaderboard"][0]
    roi = 100 * cohort.roi
    assert events() == ["cohort.started", "cohort.finished"]
    assert said("cohort.started") == [f"Cohort {cohort.pk} started: 10 agents on $1,000.00."]
    assert said("cohort.finished") == [
        f"Cohort {cohort.pk} finished: ${cohort.final_equity:,.2f} ({roi:+.{2 if abs(roi) < 1 else 1}f} %); "
        f"best agent #{best['agent']} {best['family']}."]
    finished = KnowledgeEntry.objects.get(data__event="cohort.finished")
    assert finished.cohort == cohort and finished.data["links"] == {"cohort": cohort.pk}


def test_a_failure_is_narrated_after_its_commit_and_never_when_it_rolls_back(crypto_hours, commit):
    cohort = launch(bankroll="750")
    with commit(), pytest.raises(RuntimeError), transaction.atomic():
        cohort_fail(cohort_id=cohort.pk, reason="the feed stopped")
        raise RuntimeError("the caller gave up")
    assert said() == []

    with commit():
        cohort_fail(cohort_id=cohort.pk, reason="the feed stopped")
    assert said() == [f"Cohort {cohort.pk} failed: the feed stopped. $750.00 went back to the bankroll."]


def test_an_unknown_event_or_a_failing_narration_is_logged_and_undoes_nothing(crypto_hours, commit, caplog):
    cohort = launch()
    caplog.set_level(logging.WARNING, logger="assistant.services.narration")
    assert narrate("cohort.teleported", cohort=cohort) is None
    with commit(), transaction.atomic():
        cohort_fail(cohort_id=cohort.pk, reason="stopped by hand")
        narrate_on_commit("cohort.finished", cohort=10**9)  # no such cohort: its facts cannot be read

    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.FAILED  # the work stands
    assert events() == ["cohort.failed"]
    assert "no sentence for event cohort.teleported" in caplog.text
    assert "narration of cohort.finished failed" in caplog.text
