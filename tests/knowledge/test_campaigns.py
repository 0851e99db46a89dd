"""Campaigns and learning cycles end to end: the replay command, restarts, idempotent beat runs, pages."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

import neolight.celery
from cohorts.models import Cohort, CohortStatus
from knowledge import tasks
from knowledge.models import Campaign, CampaignStatus, CycleKind, EntryKind, KnowledgeEntry, LearningCycle
from knowledge.services import campaigns as campaign_services
from knowledge.services.campaigns import campaign_advance, campaign_create, campaign_input, campaign_replay
from knowledge.services.cycles import cycle_daily_run
from neolight.errors import ApplicationError

SMALL = {"agents": 10, "symbols": "BTC-USDT,ETH-USDT", "lookback_hours": 6, "trials": 3}


def small_campaign(days=3, start="2021-05-07", **extra) -> Campaign:
    return campaign_create(data=campaign_input(bankroll="1000", days=days, start=start, **{**SMALL, **extra}))


@pytest.mark.django_db
def test_run_campaign_replays_three_days_and_reports_each(crypto_days):
    out = StringIO()
    call_command("run_campaign", "--bankroll", "1000", "--days", "3", "--start", "2021-05-07", "--agents", "10",
                 "--lookback", "6", "--trials", "3", "--json", stdout=out)
    report = json.loads(out.getvalue())

    assert report["status"] == "completed"
    assert [d["day"] for d in report["day_results"]] == [1, 2, 3]
    for day in report["day_results"]:
        cohort = Cohort.objects.get(pk=day["cohort"])
        assert cohort.status == CohortStatus.COMPLETED and cohort.day_number == day["day"]
        assert day["roi"] == cohort.roi and day["best_agent"]["agent"] in range(10)
        assert day["cycle"]["status"] == "completed"
        assert day["cycle"]["in_sample"] is not None and day["cycle"]["out_of_sample"] is not None
    days = report["day_results"]
    assert days[1]["bankroll"] == days[0]["final_equity"]  # each day starts from the day before's equity
    assert "Thompson sampling" in Cohort.objects.get(pk=days[1]["cohort"]).compliance_notes
    assert KnowledgeEntry.objects.filter(kind=EntryKind.LEARNING_CYCLE).count() == 3
    assert KnowledgeEntry.objects.filter(kind=EntryKind.DECISION).exists()


@pytest.mark.django_db
def test_next_day_runs_the_genomes_and_weights_the_cycle_chose(crypto_days):
    campaign = small_campaign(days=2)
    campaign_replay(campaign_id=campaign.pk)
    cycle = LearningCycle.objects.get(campaign=campaign, day_number=1)
    day2 = campaign.campaign_days.get(number=2).cohort
    agents = list(day2.agents.order_by("index"))

    assert [{"family": a.family, "params": {k: v for k, v in a.params.items() if k != "side"},
             "side": a.params["side"]} for a in agents] == cycle.genomes
    capitals = [float(a.capital) for a in agents]
    heaviest = max(range(10), key=lambda i: cycle.weights[i])
    assert capitals.index(max(capitals)) == heaviest


@pytest.mark.django_db
def test_campaign_survives_a_restart_between_days(crypto_days):
    campaign = small_campaign()
    steps = [campaign_advance(campaign_id=campaign.pk) for _ in range(4)]
    assert steps == ["launched day 1", "ran day 1", "learned after day 1", "launched day 2"]

    # The process stops here, with day 2 launched but not run; a new one picks the campaign up.
    campaign = campaign_replay(campaign_id=Campaign.objects.get(pk=campaign.pk).pk)

    assert campaign.status == CampaignStatus.COMPLETED
    assert list(campaign.campaign_days.values_list("number", flat=True)) == [1, 2, 3]
    assert Cohort.objects.count() == 3
    assert LearningCycle.objects.filter(campaign=campaign, kind=CycleKind.DAILY).count() == 3
    assert campaign_advance(campaign_id=campaign.pk) == "finished"


@pytest.mark.django_db
def test_a_cycle_stuck_by_a_dead_worker_is_redone(crypto_days, settings):
    campaign = small_campaign(days=1)
    for _ in range(2):
        campaign_advance(campaign_id=campaign.pk)
    cycle = cycle_daily_run(campaign_id=campaign.pk, day_number=1)
    LearningCycle.objects.filter(pk=cycle.pk).update(status="running", in_sample_score=None)

    assert cycle_daily_run(campaign_id=campaign.pk, day_number=1) is None  # still within its time: left alone
    settings.LEARNING_CYCLE_TIMEOUT_SECONDS = 0
    redone = cycle_daily_run(campaign_id=campaign.pk, day_number=1)

    assert redone.pk == cycle.pk and redone.status == "completed" and redone.in_sample_score is not None


@pytest.mark.django_db
def test_daily_cycle_for_a_day_already_learnt_does_nothing(crypto_days):
    campaign = small_campaign(days=1)
    campaign_replay(campaign_id=campaign.pk)
    entries = KnowledgeEntry.objects.count()

    assert cycle_daily_run(campaign_id=campaign.pk, day_number=1) is None
    assert LearningCycle.objects.count() == 1 and KnowledgeEntry.objects.count() == entries


@pytest.mark.django_db
def test_live_campaign_advances_on_the_clock_and_a_duplicate_intraday_slot_is_a_noop(
        crypto_days, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setitem(neolight.celery.app.conf, "task_always_eager", True)
    campaign = small_campaign(days=2, start="2021-05-07", mode="live")

    assert campaign_advance(campaign_id=campaign.pk, now=datetime(2021, 5, 7, 20, tzinfo=UTC)) == "waiting"
    with time_machine.travel(datetime(2021, 5, 8, 0, 30, tzinfo=UTC)), django_capture_on_commit_callbacks(execute=True):
        tasks.campaign_tick_task()  # the clock is past day 1: it is launched and, on commit, run
    assert Campaign.objects.get(pk=campaign.pk).campaign_days.get(number=1).cohort.status == CohortStatus.COMPLETED

    first = tasks.learning_intraday_task("2021-05-08T01:30:00+00:00")
    again = tasks.learning_intraday_task("2021-05-08T02:59:00+00:00")  # same 3-hour slot

    assert len(first) == 1 and again == []
    cycle = LearningCycle.objects.get(pk=first[0])
    assert cycle.kind == CycleKind.INTRADAY and cycle.status == "completed"
    long_horizon = [c["action"] for c in cycle.changes if c["genome"]["family"] in ("donchian_breakout", "pairs_zscore")]
    assert long_horizon and set(long_horizon) == {"carried"}  # intraday cycles only evolve short-horizon genomes


@pytest.mark.django_db
def test_bad_campaign_input_is_refused_and_nothing_written(crypto_days):
    with pytest.raises(ApplicationError) as bad_days:
        campaign_input(bankroll="1000", days=0, start="2021-05-07")
    with pytest.raises(ApplicationError) as past_data:
        campaign_input(bankroll="1000", days=9, start="2021-05-07")
    with pytest.raises(CommandError, match="bankroll"):
        call_command("run_campaign", "--bankroll", "10", "--days", "2", "--start", "2021-05-07")

    assert bad_days.value.field == "days" and past_data.value.field == "start"
    assert not Campaign.objects.exists() and not Cohort.objects.exists()


@pytest.mark.django_db
def test_a_failed_day_fails_the_campaign_with_its_reason(crypto_days, monkeypatch):
    campaign = small_campaign(days=2)

    def broken(*, cohort_id, **_):
        from cohorts.services.cohorts import cohort_fail

        return cohort_fail(cohort_id=cohort_id, reason="engine exploded")

    monkeypatch.setattr(campaign_services, "cohort_run", broken)
    campaign = campaign_replay(campaign_id=campaign.pk)

    assert campaign.status == CampaignStatus.FAILED and "engine exploded" in campaign.status_reason


@pytest.mark.django_db
def test_knowledge_pages_list_campaigns_cycles_and_decisions(crypto_days, client, maker):
    campaign = small_campaign(days=1)
    campaign.created_by = maker
    campaign.save(update_fields=["created_by"])
    campaign_replay(campaign_id=campaign.pk)
    client.force_login(maker)

    index = client.get(reverse("knowledge-index"))
    decisions = client.get(reverse("knowledge-index"), {"kind": "decision"})
    detail = client.get(reverse("knowledge-campaign", args=[campaign.pk]))

    assert index.status_code == 200 and f"Campaign {campaign.pk}" in index.content.decode()
    assert "Decision" in decisions.content.decode() and "Day 1:" not in decisions.content.decode()
    assert detail.status_code == 200 and "Day 1" in detail.content.decode() and "Out-of-sample" in detail.content.decode()


@pytest.mark.django_db
def test_knowledge_page_empty_state_and_other_users_campaigns_hidden(client, maker, outsider, crypto_days):
    client.force_login(outsider)
    assert "No campaigns yet" in client.get(reverse("knowledge-index")).content.decode()
    campaign = small_campaign(days=1)
    campaign.created_by = maker
    campaign.save(update_fields=["created_by"])
    assert client.get(reverse("knowledge-campaign", args=[campaign.pk])).status_code == 404
