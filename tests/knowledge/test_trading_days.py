"""Campaigns and learning windows on an exchange calendar: Day N is the Nth trading day, weekends are
skipped and said so, learning lookbacks count trading hours, and their errors name the empty window."""
from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from cohorts.models import CohortStatus
from knowledge.models import CampaignStatus, EntryKind, KnowledgeEntry, LearningCycle
from knowledge.services.campaigns import campaign_create, campaign_input, campaign_replay

EQUITY = {"agents": 10, "symbols": "EQ001,EQ002", "lookback_hours": 3, "trials": 2}


@pytest.fixture
def equity_fortnight(db):
    """Two synthetic XNYS symbols from Wednesday 2024-01-03 to Thursday 2024-01-11 (a weekend between)."""
    call_command("generate_bars", "--symbols", "2", "--prefix", "EQ", "--equity", "--days", "9",
                 "--start", "2024-01-03", "--seed", "21", stdout=StringIO())


@pytest.mark.django_db
def test_a_five_trading_day_campaign_spans_a_weekend_on_trading_days(equity_fortnight):
    campaign = campaign_create(data=campaign_input(bankroll="1000", days=5, start="2024-01-04", **EQUITY))

    campaign = campaign_replay(campaign_id=campaign.pk)

    assert campaign.status == CampaignStatus.COMPLETED, campaign.status_reason
    days = list(campaign.campaign_days.order_by("number"))
    assert [d.date for d in days] == [dt.date(2024, 1, 4), dt.date(2024, 1, 5), dt.date(2024, 1, 8),
                                      dt.date(2024, 1, 9), dt.date(2024, 1, 10)]
    assert all(d.cohort.status == CohortStatus.COMPLETED for d in days)
    monday = days[2].cohort
    assert "Skipped 2024-01-06, 2024-01-07: not XNYS trading days" in monday.compliance_notes
    record = KnowledgeEntry.objects.get(kind=EntryKind.CAMPAIGN_DAY, cohort=monday)
    assert record.data["date"] == "2024-01-08" and "2024-01-06" in record.data["skipped"]
    assert LearningCycle.objects.filter(campaign=campaign, status="completed").count() == 5


@pytest.mark.django_db
def test_a_campaign_starting_on_a_saturday_begins_on_monday(equity_fortnight):
    campaign = campaign_create(data=campaign_input(bankroll="1000", days=1, start="2024-01-06", **EQUITY))

    campaign = campaign_replay(campaign_id=campaign.pk)

    assert campaign.status == CampaignStatus.COMPLETED, campaign.status_reason
    day = campaign.campaign_days.get()
    assert day.date == dt.date(2024, 1, 8)
    assert "Skipped 2024-01-06, 2024-01-07" in day.cohort.compliance_notes


@pytest.mark.django_db
def test_learning_lookbacks_skip_the_weekend(equity_fortnight):
    campaign = campaign_create(data=campaign_input(bankroll="1000", days=1, start="2024-01-08",
                                                   **{**EQUITY, "lookback_hours": 6}))

    campaign_replay(campaign_id=campaign.pk)

    cycle = LearningCycle.objects.get(campaign=campaign, day_number=1)
    assert cycle.status == "completed", cycle.status_reason
    # 6 trading hours scored on Monday (14:30-21:00 UTC), the 6 before them tuned: Monday's first half
    # hour and Friday's last five and a half
    assert cycle.score_start == dt.datetime(2024, 1, 8, 15, 0, tzinfo=dt.UTC)
    assert cycle.tune_end == cycle.score_start
    assert cycle.tune_start == dt.datetime(2024, 1, 5, 15, 30, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_a_learning_window_without_bars_is_named_in_the_error(db):
    call_command("generate_bars", "--symbols", "2", "--prefix", "EQ", "--equity", "--days", "2",
                 "--start", "2024-01-04", "--seed", "21", stdout=StringIO())
    campaign = campaign_create(data=campaign_input(bankroll="1000", days=1, start="2024-01-04",
                                                   **{**EQUITY, "lookback_hours": 7}))

    campaign = campaign_replay(campaign_id=campaign.pk)

    cycle = LearningCycle.objects.get(campaign=campaign, day_number=1)
    assert cycle.status == "failed"
    # scored on Thursday's 6.5 session hours and Wednesday's last half hour; tuned on Wednesday and
    # Tuesday's last hour, before the first bar
    assert "tuning window, 2024-01-02 20:00 to 2024-01-03 20:30 UTC" in cycle.status_reason
    assert campaign.status == CampaignStatus.FAILED and "tuning window" in campaign.status_reason


@pytest.mark.django_db
def test_learning_scores_equities_annualised_by_their_sessions_minutes(equity_fortnight):
    from knowledge.services.cycles import cycle_config

    campaign = campaign_create(data=campaign_input(bankroll="1000", days=1, start="2024-01-08", **EQUITY))

    assert cycle_config(campaign=campaign, kind="daily", seed=1).setup.periods_per_year == 252 * 390


@pytest.mark.django_db
def test_a_campaign_mixing_crypto_and_equities_trades_only_on_the_exchanges_days(equity_fortnight):
    call_command("generate_bars", "--symbols", "1", "--prefix", "CC", "--days", "9", "--start", "2024-01-03",
                 "--seed", "22", stdout=StringIO())  # a 24/7 symbol over the same days, weekend included
    mixed = {**EQUITY, "symbols": "CC001,EQ001"}
    campaign = campaign_create(data=campaign_input(bankroll="1000", days=3, start="2024-01-05", **mixed))

    campaign = campaign_replay(campaign_id=campaign.pk)

    assert campaign.status == CampaignStatus.COMPLETED, campaign.status_reason
    days = list(campaign.campaign_days.order_by("number"))
    assert [d.date for d in days] == [dt.date(2024, 1, 5), dt.date(2024, 1, 8), dt.date(2024, 1, 9)]
    assert "Skipped 2024-01-06, 2024-01-07: not XNYS trading days" in days[1].cohort.compliance_notes
