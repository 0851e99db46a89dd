"""Launching a live-paper cohort: the command on the replay clock prints a replay's summary; the API and the
Advanced form take `mode`, refuse a bad one with every other bad field, and queue the live run."""
from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.urls import reverse

from cohorts.models import Cohort, CohortMode, CohortStatus
from tests.live.helpers import comparable, equity_of, fills_of

URL = "/api/experiments/cohorts"
ARGS = ["--bankroll", "5000", "--agents", "10", "--symbols", "BTC-USDT,ETH-USDT", "--start", "2021-05-06T00:00:00Z",
        "--end", "2021-05-06T02:00:00Z", "--seed", "3", "--json"]
LAUNCH = {"bankroll": "1000", "agents": 10, "symbols": ["BTC-USDT", "ETH-USDT"], "start": "2021-05-06T00:00:00Z",
          "end": "2021-05-06T02:00:00Z", "seed": 5}
VARYING = ("cohort", "runtime_seconds", "elapsed_seconds")


def run_command(*extra: str) -> dict:
    out = StringIO()
    call_command("run_intraday_cohort", *ARGS, *extra, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue())


def test_the_command_runs_a_live_cohort_on_the_replay_clock_with_the_replays_summary(crypto_hours):
    replay = run_command()
    live = run_command("--mode", "live", "--clock", "replay", "--speed", "1000000")

    assert live["status"] == "completed" and live["reconciled"] and live["ledger_balanced"]
    assert {k: v for k, v in live.items() if k not in VARYING} == {k: v for k, v in replay.items() if k not in VARYING}
    replayed, stepped = Cohort.objects.get(pk=replay["cohort"]), Cohort.objects.get(pk=live["cohort"])
    assert stepped.mode == CohortMode.LIVE and replayed.mode == CohortMode.REPLAY
    assert comparable(fills_of(stepped), stepped) == comparable(fills_of(replayed), replayed)


def test_the_command_refuses_a_bad_mode_with_the_other_bad_fields(crypto_hours):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as refused:
        call_command("run_intraday_cohort", *[a if a != "10" else "3" for a in ARGS], "--mode", "streaming",
                     stdout=StringIO(), stderr=StringIO())
    assert "mode" in str(refused.value).lower() and "agents" in str(refused.value).lower()
    assert not Cohort.objects.exists()


@pytest.fixture
def launcher(maker, api):
    maker.user_permissions.add(Permission.objects.get(codename="add_cohort"))
    return api


@pytest.mark.django_db(transaction=True)
def test_a_live_launch_through_the_api_runs_on_the_worker_and_matches_the_replay(launcher, crypto_hours, eager):
    """A past window on the wall clock: every bar is already stored, so the worker steps through all of them."""
    replay = launcher.post(URL, LAUNCH, format="json")
    live = launcher.post(URL, {**LAUNCH, "mode": "live"}, format="json")

    assert live.status_code == 202, live.json()
    assert live.json()["mode"] == "live" and replay.json()["mode"] == "replay"
    replayed, stepped = Cohort.objects.get(pk=replay.json()["id"]), Cohort.objects.get(pk=live.json()["id"])
    assert stepped.mode == CohortMode.LIVE and stepped.status == CohortStatus.COMPLETED, stepped.status_reason
    assert comparable(fills_of(stepped), stepped) == comparable(fills_of(replayed), replayed)
    assert equity_of(stepped) == equity_of(replayed)


@pytest.mark.django_db
def test_a_bad_mode_is_refused_by_the_api_with_every_other_bad_field(launcher, crypto_hours):
    response = launcher.post(URL, {**LAUNCH, "mode": "streaming", "agents": 400, "bankroll": "20"}, format="json")
    assert response.status_code == 400
    assert {"mode", "agents", "bankroll"} <= set(response.json()["errors"])
    assert not Cohort.objects.exists()


@pytest.mark.django_db
def test_a_live_window_still_to_come_needs_its_symbols_ingested(launcher, crypto_hours):
    from datetime import timedelta

    from django.utils import timezone

    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
    future = {**LAUNCH, "mode": "live", "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    response = launcher.post(URL, future, format="json")
    assert response.status_code == 400 and "not ingested" in response.json()["errors"]["symbols"][0]
    assert launcher.post(URL, {**future, "mode": "replay"}, format="json").status_code == 400  # no bars: refused


@pytest.mark.django_db
def test_the_advanced_form_offers_the_mode_and_refuses_a_bad_one(operator, crypto_hours):
    page = operator.get(reverse("cohort-launch") + "?mode=advanced")
    assert page.status_code == 200 and b'name="run_mode"' in page.content and b'value="live"' in page.content
    form = {"bankroll": "1000", "agents": "3", "policy": "equal", "symbols": ["BTC-USDT"], "start": "2021-05-06T00:00",
            "end": "2021-05-06T02:00", "seed": "7", "exposure_limit": "1.0", "leverage_ceiling": "2.0",
            "daily_stop": "0.05", "mode": "advanced", "run_mode": "streaming"}
    refused = operator.post(reverse("cohort-launch"), form)
    assert refused.status_code == 400
    errors = refused.context["form"].errors
    assert "run_mode" in errors and "agents" in errors
    assert not Cohort.objects.exists()
