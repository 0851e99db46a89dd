"""A replayed campaign is narrated: started, its day's cohort, the day finished, the learning cycle after it, and
its completion — one sentence each."""
from __future__ import annotations

import pytest

from knowledge.models import CampaignStatus
from knowledge.services.campaigns import campaign_create, campaign_input, campaign_replay
from tests.assistant.narration.conftest import events, said

pytestmark = pytest.mark.django_db


def test_a_one_day_campaign_is_narrated_from_start_to_completion(crypto_days, commit):
    campaign = campaign_create(data=campaign_input(bankroll="1000", days=1, start="2021-05-07", agents=10,
                                                   symbols="BTC-USDT,ETH-USDT", lookback_hours=6, trials=3))
    with commit():
        campaign = campaign_replay(campaign_id=campaign.pk)
    assert campaign.status == CampaignStatus.COMPLETED, campaign.status_reason
    day = campaign.campaign_days.get(number=1)
    cohort = day.cohort
    assert events() == ["campaign.started", "cohort.started", "cohort.finished", "campaign.day_finished",
                        "cycle.completed", "campaign.completed"]
    roi = f"{100 * cohort.roi:+.{2 if abs(100 * cohort.roi) < 1 else 1}f} %"
    assert said("campaign.started") == [f"Campaign {campaign.pk} started: $1,000.00 over 1 day."]
    assert said("campaign.day_finished")[0].startswith(
        f"Campaign {campaign.pk}, day 1 of 1 finished: ${cohort.final_equity:,.2f} ({roi}); best agent #")
    assert said("cycle.completed")[0].startswith(f"Campaign {campaign.pk}, learning after day 1: ")
    assert said("cohort.started") == [f"Campaign {campaign.pk}, day 1: Cohort {cohort.pk} started: 10 agents on $1,000.00."]
    assert said("campaign.completed") == [f"Campaign {campaign.pk} completed 1 day: $1,000.00 → "
                                          f"${cohort.final_equity:,.2f} ({roi})."]
