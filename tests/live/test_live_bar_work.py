"""A live bar's work grows with its own new fills, not with the run so far; and a page read mid-run shows
each agent's running equity, ROI and trades, which the final scoring replaces with a replay's scores."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from cohorts import engine
from cohorts.models import Agent, CohortCheckpoint, CohortMode, CohortStatus
from cohorts.services import ledger_postings
from cohorts.services import live as live_service
from cohorts.services.clocks import ReplayClock
from cohorts.services.cohorts import cohort_run
from cohorts.services.live import cohort_run_live
from cohorts.services.scoring import AGENT_SCORE_FIELDS
from neolight import faults
from tests.live.helpers import HOUR_INPUT, launch


def test_each_bar_reads_only_its_new_fills(crypto_hours, monkeypatch):
    handled, results = [], []
    fill_amounts, result = ledger_postings.fill_amounts, engine.Simulation.result

    def amounts(fills, *args):
        handled.append(len(fills))
        return fill_amounts(fills, *args)

    def whole_result(simulation):
        results.append(simulation.bar)
        return result(simulation)

    monkeypatch.setattr(ledger_postings, "fill_amounts", amounts)
    monkeypatch.setattr(engine.Simulation, "result", whole_result)

    live = cohort_run_live(cohort_id=launch(CohortMode.LIVE, data=HOUR_INPUT).pk, clock=ReplayClock(0))

    assert live.status == CohortStatus.COMPLETED, live.status_reason
    posted_during_bars = CohortCheckpoint.objects.get(cohort=live).fills
    assert posted_during_bars > 10
    # each fill's amounts are worked out once as its bar posts it (the replay's own posting at the end aside),
    # and the whole result is copied once, after the close-out, not at every bar
    assert sum(handled[:-1]) == posted_during_bars and len(handled) == 60 + 1
    assert results == [60]


@pytest.fixture
def reader(maker):
    """The API client of the maker who launches the cohorts, reading them as a page reload would."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(maker)
    return client


def test_a_reload_mid_run_shows_each_agents_running_scores_and_the_end_a_replays(crypto_hours, maker, reader,
                                                                                  monkeypatch, settings, client):
    settings.COHORT_LIVE_SCORES_EVERY_BARS = 5
    replayed = cohort_run(cohort_id=launch(CohortMode.REPLAY, data=HOUR_INPUT, user=maker).pk)
    live = launch(CohortMode.LIVE, data=HOUR_INPUT, user=maker)
    broadcast, reads = [], {}
    announce = live_service._announce

    def noted(cohort, event, **payload):
        if "leaders" in payload:
            broadcast.append(payload)
        announce(cohort, event, **payload)

    def reload_page(name):
        bar = CohortCheckpoint.objects.get(cohort=live).bar if name == "live.after_bar" else None
        if bar in (27, 30):
            reads[bar] = reader.get(f"/api/experiments/cohorts/{live.pk}").json()
        if bar == 30:
            client.force_login(maker)
            reads["page"] = client.get(f"/trading/cohorts/{live.pk}/").content.decode()

    monkeypatch.setattr(live_service, "_announce", noted)
    monkeypatch.setattr(faults, "point", reload_page)
    live = cohort_run_live(cohort_id=live.pk, clock=ReplayClock(0))
    assert live.status == CohortStatus.COMPLETED, live.status_reason

    seen = reads[30]
    assert seen["status"] == "running"
    agents = {a["index"]: a for a in seen["agents"]}
    assert all(a["final_equity"] is not None and a["roi"] is not None for a in agents.values())
    assert 0 < sum(a["trades"] for a in agents.values()) <= CohortCheckpoint.objects.get(cohort=live).fills
    # the figures of bar 30 (written every 5 bars): the leaders the page was sent then, and the parent's equity
    at_30 = broadcast[29]
    for leader in at_30["leaders"]:
        assert agents[leader["agent"]]["roi"] == pytest.approx(leader["roi"], abs=1e-6)
    idle = live.wallet.bankroll - sum(a.capital for a in live.agents.all())
    agents_equity = sum(Decimal(a["final_equity"]) for a in agents.values())
    assert abs(agents_equity + idle - Decimal(at_30["equity"])) <= Decimal("0.01") * (len(agents) + 1)
    # the cohort page, reloaded then, shows the same figures before the next bar's broadcast arrives
    page = " ".join(reads["page"].split())
    assert "Bars done<strong>30</strong>" in page
    shown = Decimal(re.search(r"Parent equity<strong>\$([\d,]+\.\d\d)</strong>", page).group(1).replace(",", ""))
    assert abs(shown - Decimal(at_30["equity"])) <= Decimal("0.01") * (len(agents) + 1)
    assert all(f'/agents/{leader["agent"]}/">#{leader["agent"]}</a>' in page for leader in at_30["leaders"])
    # a reload between two writes shows the last one (bar 25's)
    assert all(a["final_equity"] is not None for a in reads[27]["agents"])
    assert reads[27]["agents"] != seen["agents"]

    # at the end the scores are exactly a replay's
    assert _scores(live) == _scores(replayed)


def _scores(cohort) -> list[tuple]:
    return list(Agent.objects.filter(cohort=cohort).order_by("index").values_list(*AGENT_SCORE_FIELDS))
