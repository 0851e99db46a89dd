"""Cancelling a campaign is clean: a day that has not run is failed and refunded, a day that runs
finishes, no further day or cycle starts (even when the cancel lands while a step is under way), the
campaign says who cancelled it and when, and the ledger stays sound."""
from __future__ import annotations

import pytest

from cohorts.models import CohortStatus
from cohorts.selectors.cohorts import bankroll_badge
from cohorts.selectors.ledger_check import ledger_check
from cohorts.services import cohorts as cohort_services
from knowledge.models import Campaign, CampaignStatus, EntryKind, KnowledgeEntry, LearningCycle
from knowledge.services import campaigns as campaign_services
from knowledge.services.campaigns import campaign_advance, campaign_cancel, campaign_create, campaign_input
from neolight.errors import ApplicationError

SMALL = {"agents": 10, "symbols": "BTC-USDT,ETH-USDT", "lookback_hours": 6, "trials": 3}


def small_campaign(days=3) -> Campaign:
    return campaign_create(data=campaign_input(bankroll="1000", days=days, start="2021-05-07", **SMALL))


def assert_ledger_sound():
    report = ledger_check()
    assert report.is_sound, report.problems


@pytest.mark.django_db
def test_cancel_fails_and_refunds_the_day_that_has_not_run(crypto_days, maker):
    campaign = small_campaign()
    assert campaign_advance(campaign_id=campaign.pk) == "launched day 1"
    assert bankroll_badge()["at_work"] == 1000

    cancelled = campaign_cancel(campaign_id=campaign.pk, user=maker)

    day1 = cancelled.campaign_days.get(number=1).cohort
    day1.refresh_from_db()
    assert cancelled.status == CampaignStatus.CANCELLED
    assert cancelled.cancelled_by == maker and cancelled.cancelled_at is not None
    assert day1.status == CohortStatus.FAILED and "cancelled by maker" in day1.status_reason
    assert bankroll_badge()["at_work"] == 0  # the capital is back in the bankroll
    assert_ledger_sound()
    assert campaign_advance(campaign_id=campaign.pk) == "finished"
    assert cancelled.campaign_days.count() == 1 and not LearningCycle.objects.exists()
    assert KnowledgeEntry.objects.filter(kind=EntryKind.CAMPAIGN, title__contains="cancelled by maker").exists()


@pytest.mark.django_db
def test_cancel_while_a_day_runs_lets_it_finish_and_nothing_follows(crypto_days, maker, monkeypatch):
    campaign = small_campaign()
    campaign_advance(campaign_id=campaign.pk)
    simulate = cohort_services._simulate

    def cancel_mid_run(*args, **kwargs):  # the operator presses Cancel while the day trades
        campaign_cancel(campaign_id=campaign.pk, user=maker)
        return simulate(*args, **kwargs)

    monkeypatch.setattr(cohort_services, "_simulate", cancel_mid_run)
    assert campaign_advance(campaign_id=campaign.pk) == "ran day 1"
    monkeypatch.setattr(cohort_services, "_simulate", simulate)

    day1 = Campaign.objects.get(pk=campaign.pk).campaign_days.get(number=1).cohort
    assert day1.status == CohortStatus.COMPLETED and day1.final_equity is not None
    assert campaign_advance(campaign_id=campaign.pk) == "finished"
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED and campaign.campaign_days.count() == 1
    assert not LearningCycle.objects.exists()  # no cycle after the cancel
    assert KnowledgeEntry.objects.filter(kind=EntryKind.CAMPAIGN_DAY, cohort=day1).exists()  # the day is on record
    assert KnowledgeEntry.objects.filter(kind=EntryKind.CAMPAIGN, body__contains="was trading: it finishes").exists()
    assert bankroll_badge()["at_work"] == 0
    assert_ledger_sound()


@pytest.mark.django_db
def test_a_cancel_landing_while_a_step_launches_the_next_day_stops_it(crypto_days, maker, monkeypatch):
    campaign = small_campaign()
    steps = [campaign_advance(campaign_id=campaign.pk) for _ in range(3)]
    assert steps == ["launched day 1", "ran day 1", "learned after day 1"]
    window = campaign_services.day_window

    def cancel_then_window(*args, **kwargs):  # the step has read "running"; the cancel commits now
        campaign_cancel(campaign_id=campaign.pk, user=maker)
        return window(*args, **kwargs)

    monkeypatch.setattr(campaign_services, "day_window", cancel_then_window)
    assert campaign_advance(campaign_id=campaign.pk) == "finished"

    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert list(campaign.campaign_days.values_list("number", flat=True)) == [1]  # no second day launched
    assert bankroll_badge()["at_work"] == 0
    assert_ledger_sound()


@pytest.mark.django_db
def test_a_cancel_landing_before_the_cycle_is_claimed_starts_no_cycle(crypto_days, maker, monkeypatch):
    campaign = small_campaign()
    campaign_advance(campaign_id=campaign.pk)
    campaign_advance(campaign_id=campaign.pk)
    record = campaign_services._record_day

    def cancel_then_record(*args, **kwargs):
        campaign_cancel(campaign_id=campaign.pk, user=maker)
        return record(*args, **kwargs)

    monkeypatch.setattr(campaign_services, "_record_day", cancel_then_record)
    assert campaign_advance(campaign_id=campaign.pk) == "finished"
    assert not LearningCycle.objects.exists()
    assert Campaign.objects.get(pk=campaign.pk).campaign_days.count() == 1


@pytest.mark.django_db
def test_cancel_refuses_an_ended_campaign_and_writes_nothing(crypto_days, maker):
    campaign = small_campaign(days=1)
    campaign_cancel(campaign_id=campaign.pk, user=maker)  # pending: cancelled before any day
    entries = KnowledgeEntry.objects.count()

    with pytest.raises(ApplicationError, match="this one is cancelled"):
        campaign_cancel(campaign_id=campaign.pk, user=maker)

    assert KnowledgeEntry.objects.count() == entries
    assert campaign_advance(campaign_id=campaign.pk) == "finished"
    assert not Campaign.objects.get(pk=campaign.pk).campaign_days.exists()


@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_a_step_that_launches_a_day_waits_for_it_and_refunds_that_day(crypto_days, maker,
                                                                                       monkeypatch):
    """Two connections at once (PostgreSQL): the step holds the campaign's row lock while it launches day
    2; the cancel waits for it, then finds day 2 not yet run and refunds it. Never a day 3."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs a database with row locks shared by two connections")
    import threading

    campaign = small_campaign()
    for _ in range(3):
        campaign_advance(campaign_id=campaign.pk)
    launch, inside, results = campaign_services._launch_cohort, threading.Event(), {}

    def slow_launch(*args, **kwargs):  # the step is inside its locked transaction
        inside.set()
        cohort = launch(*args, **kwargs)
        threading.Event().wait(1.0)
        return cohort

    def run(name, work):
        try:
            results[name] = work()
        finally:
            connection.close()

    monkeypatch.setattr(campaign_services, "_launch_cohort", slow_launch)
    step = threading.Thread(target=run, args=("step", lambda: campaign_advance(campaign_id=campaign.pk)))
    step.start()
    assert inside.wait(10)
    cancel = threading.Thread(target=run, args=("cancel", lambda: campaign_cancel(campaign_id=campaign.pk, user=maker)))
    cancel.start()
    step.join(30)
    cancel.join(30)

    assert results["step"] == "launched day 2" and results["cancel"].status == CampaignStatus.CANCELLED
    day2 = Campaign.objects.get(pk=campaign.pk).campaign_days.get(number=2).cohort
    assert day2.status == CohortStatus.FAILED  # launched before the cancel, refunded by it
    assert campaign_advance(campaign_id=campaign.pk) == "finished"
    assert Campaign.objects.get(pk=campaign.pk).campaign_days.count() == 2
    assert bankroll_badge()["at_work"] == 0
    assert_ledger_sound()


@pytest.mark.django_db(transaction=True)
def test_a_step_that_read_running_before_a_cancel_committed_launches_no_day(crypto_days, maker, monkeypatch):
    """Two connections at once (PostgreSQL): the cancel holds the campaign's row lock; a step that read
    "running" just before waits for the lock, re-reads the status and launches nothing."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs a database with row locks shared by two connections")
    import threading

    campaign = small_campaign()
    for _ in range(3):
        campaign_advance(campaign_id=campaign.pk)
    entry, holding, results = campaign_services.entry_create, threading.Event(), {}

    def slow_entry(**kwargs):  # the cancel has moved the status and still holds the lock
        if kwargs.get("title", "").startswith(f"Campaign {campaign.pk} cancelled"):
            holding.set()
            threading.Event().wait(1.5)
        return entry(**kwargs)

    def run(name, work):
        try:
            results[name] = work()
        finally:
            connection.close()

    monkeypatch.setattr(campaign_services, "entry_create", slow_entry)
    cancel = threading.Thread(target=run, args=("cancel", lambda: campaign_cancel(campaign_id=campaign.pk, user=maker)))
    cancel.start()
    assert holding.wait(10)
    step = threading.Thread(target=run, args=("step", lambda: campaign_advance(campaign_id=campaign.pk)))
    step.start()
    cancel.join(30)
    step.join(30)

    assert results["cancel"].status == CampaignStatus.CANCELLED and results["step"] == "finished"
    assert list(Campaign.objects.get(pk=campaign.pk).campaign_days.values_list("number", flat=True)) == [1]
    assert_ledger_sound()


@pytest.mark.django_db
def test_a_replay_step_that_breaks_fails_the_campaign_and_refunds_the_day_not_yet_run(crypto_days, monkeypatch):
    from knowledge.tasks import campaign_replay_task

    campaign = small_campaign()
    assert campaign_advance(campaign_id=campaign.pk) == "launched day 1"
    assert bankroll_badge()["at_work"] == 1000

    def lost_connection(**kwargs):
        raise ConnectionError("server closed the connection unexpectedly")

    monkeypatch.setattr(campaign_services, "cohort_run", lost_connection)
    assert campaign_replay_task(campaign.pk) == "failed"

    campaign.refresh_from_db()
    day1 = campaign.campaign_days.get(number=1).cohort
    assert campaign.status == CampaignStatus.FAILED
    assert "ConnectionError: server closed the connection unexpectedly" in campaign.status_reason
    assert day1.status == CohortStatus.FAILED and bankroll_badge()["at_work"] == 0
    assert_ledger_sound()
    assert campaign_advance(campaign_id=campaign.pk) == "finished"  # nothing more starts
