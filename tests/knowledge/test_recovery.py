"""Embedded start-up after a stop: campaign steps the stop cut short are failed with their reason."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from cohorts.models import CohortStatus
from cohorts.selectors.ledger import account_balance
from cohorts.services.ledger import bankroll_cash_account
from knowledge.models import CampaignMode, CampaignStatus, CycleKind, CycleStatus, EntryKind, KnowledgeEntry, LearningCycle
from knowledge.services.campaigns import campaign_advance, campaign_create, campaign_input

SMALL = {"agents": 10, "symbols": "BTC-USDT,ETH-USDT", "lookback_hours": 6, "trials": 3}


def campaign(mode=CampaignMode.REPLAY, start="2021-05-07"):
    return campaign_create(data=campaign_input(bankroll="1000", days=2, start=start, mode=mode, **SMALL))


def start_up() -> dict:
    """What the embedded start-up runs: cohorts first, then the campaign steps."""
    call_command("recover_runs", "--orphaned", stdout=StringIO())
    out = StringIO()
    call_command("recover_campaigns", "--orphaned", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_a_replay_cut_short_mid_day_is_failed_with_its_cohorts_reason_and_the_capital_is_back(crypto_days):
    replay = campaign()
    assert campaign_advance(campaign_id=replay.pk) == "launched day 1"  # day 1's cohort drew its bankroll
    cohort = replay.campaign_days.get(number=1).cohort

    report = start_up()

    replay.refresh_from_db()
    cohort.refresh_from_db()
    assert report["campaigns"] == [replay.pk]
    assert cohort.status == CohortStatus.FAILED and cohort.settlement.kind == "refund"
    assert replay.status == CampaignStatus.FAILED
    assert replay.status_reason.startswith(f"Day 1's cohort {cohort.pk} failed: The server stopped")
    assert account_balance(bankroll_cash_account(cohort.source)) == D(1_000_000)
    assert KnowledgeEntry.objects.filter(kind=EntryKind.CAMPAIGN, campaign=replay, title__contains="failed").exists()


@pytest.mark.django_db
def test_a_replay_not_yet_started_is_failed_and_a_waiting_live_campaign_is_left_to_resume(crypto_days):
    replay = campaign()
    live = campaign(mode=CampaignMode.LIVE)

    report = start_up()

    replay.refresh_from_db()
    live.refresh_from_db()
    assert report["campaigns"] == [replay.pk]
    assert replay.status == CampaignStatus.FAILED and "before day 1" in replay.status_reason
    assert "Start it again" in replay.status_reason
    assert live.status == CampaignStatus.PENDING and live.status_reason == ""
    assert start_up() == {"campaigns": [], "cycles": []}  # once


@pytest.mark.django_db
def test_a_learning_cycle_left_running_is_failed_so_the_next_step_redoes_it(crypto_days):
    live = campaign(mode=CampaignMode.LIVE)
    at = datetime(2021, 5, 8, tzinfo=UTC)
    cycle = LearningCycle.objects.create(
        campaign=live, kind=CycleKind.INTRADAY, slot=at, day_number=1, lookback_hours=6, trials=3, seed=1,
        tune_start=at, tune_end=at, score_start=at, score_end=at)

    report = start_up()

    cycle.refresh_from_db()
    assert report["cycles"] == [cycle.pk]
    assert cycle.status == CycleStatus.FAILED and cycle.status_reason == "The server stopped while this learning cycle ran."


@pytest.mark.django_db
def test_recover_campaigns_refuses_to_run_without_orphaned():
    with pytest.raises(CommandError, match="--orphaned"):
        call_command("recover_campaigns", stdout=StringIO())
