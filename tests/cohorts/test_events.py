"""Rule events read as sentences, name their symbol, and the cohort page's counts match its tables."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse

from cohorts import events
from cohorts.engine.simulation import RULES, VALUE_NAMES
from cohorts.models import Cohort, CohortEvent
from cohorts.selectors.events import EVENTS_SHOWN, cohort_event_log
from tests.cohorts.test_cohorts import launch_and_run


def test_every_engine_rule_has_a_sentence_with_its_values():
    for rule in RULES:
        values = dict.fromkeys(VALUE_NAMES[rule], 1.5) | {"symbol": "DOGE-USDT"}
        text = events.sentence(rule, values, 4)
        assert rule in events.SENTENCES and "_" not in text and text.endswith("."), text
        assert "DOGE-USDT" in text or rule not in ("market_exposure_reduce", "market_exposure_entry_cap",
                                                   "liquidity_cap"), text


def test_the_reported_events_read_as_a_trader_would_say_them():
    assert events.sentence("breaker_losses", {"losing_streak": 5.0, "limit": 5.0}, 4) == \
        "Agent 4 paused after 5 losing trades in a row (limit 5)."
    capped = events.sentence("market_exposure_entry_cap", {"requested_gross": 812.3456, "allowed_gross": 500.0,
                                                           "symbol": "DOGE-USDT"}, None,
                             events.Limits(market_exposure_limit=0.5))
    assert capped == ("Exposure cap on DOGE-USDT: new orders trimmed from $812.35 to $500.00 to stay within "
                      "0.50× parent equity.")
    assert events.sentence("daily_stop", {"parent_equity": 949.2, "day_start_equity": 1000}, None) == (
        "Daily stop: the parent wallet fell from $1,000.00 to $949.20 (−5.08%) on the day; all trading halted "
        "and positions were closed.")


@pytest.mark.django_db
def test_cohort_page_counts_match_its_tables_and_explain_paused_agents(operator, maker, crypto_hours):
    cohort = launch_and_run(window={"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T02:00:00Z"})
    Cohort.objects.update(launched_by=maker)
    log = cohort_event_log(cohort)
    assert log.breach_count == cohort.breaches == 1 and log.paused  # the run's own breaker pause
    agents = list(cohort.agents.order_by("index")[:2])
    at = cohort.window_start + timedelta(minutes=30)
    CohortEvent.objects.bulk_create([
        CohortEvent(cohort=cohort, agent=agents[1], ts=at, rule="breaker_losses",
                    values={"losing_streak": 5.0, "limit": 5.0}),
        CohortEvent(cohort=cohort, agent=agents[1], ts=at + timedelta(minutes=40), rule="breaker_loss_limit",
                    values={"equity": 80.0, "reference_equity": 100.0}),
        CohortEvent(cohort=cohort, agent=None, ts=at, rule="market_exposure_entry_cap",
                    values={"requested_gross": 300.0, "allowed_gross": 150.0, "symbol": "ETH-USDT"}),
    ])
    breaches, paused = cohort.breaches + 2, len({e.agent_id for e in cohort.events.filter(
        rule__in=events.BREAKER_RULES)})

    page = operator.get(reverse("cohort-detail", args=[cohort.pk])).content.decode()

    card = re.search(r'<a href="#breaches">Breaches</a><strong>(\d+)</strong>', page)
    assert card and int(card.group(1)) == breaches
    assert f"Breaches ({breaches})" in page
    section = page[page.index('id="breaches"'):page.index('id="paused"')]
    assert section.count("<tr>") - 1 == breaches  # the header row aside
    assert re.search(rf'<a href="#paused">Agents paused</a><strong>{paused}</strong>', page)
    assert f"Agent {agents[1].index}</a>: paused 2 times, first at 6 May 00:30 UTC after 5 losing trades in a row " \
           f"(limit 5)." in page
    assert "Exposure cap on ETH-USDT: new orders trimmed from $300.00 to $150.00" in page
    assert "breaker_losses" not in page and "losing_streak" not in page


@pytest.mark.django_db
def test_the_event_log_lists_every_event_of_a_kind_a_page_at_a_time(operator, maker, crypto_hours):
    cohort = launch_and_run(window={"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T02:00:00Z"})
    Cohort.objects.update(launched_by=maker)
    agent = cohort.agents.order_by("index").first()
    at = cohort.window_start + timedelta(minutes=5)
    CohortEvent.objects.bulk_create(
        CohortEvent(cohort=cohort, agent=agent, ts=at + timedelta(seconds=i), rule="leverage_breach",
                    values={"leverage": 3.0 + i / 1000, "ceiling": 3.0}) for i in range(130))
    breaches = cohort.events.filter(rule__in=events.BREACH_RULES).count()
    url = reverse("cohort-events", args=[cohort.pk])

    detail = operator.get(reverse("cohort-detail", args=[cohort.pk])).content.decode()
    section = detail[detail.index('id="breaches"'):detail.index('id="paused"')]
    assert section.count("<tr>") - 1 == EVENTS_SHOWN and f"The first {EVENTS_SHOWN} of {breaches} are listed" in section
    assert f'href="{url}?kind=breaches">All {breaches} breaches</a>' in section

    first = operator.get(url, {"kind": "breaches"}).content.decode()
    last = operator.get(url, {"kind": "breaches", "page": 2}).content.decode()
    rows = first.count('<tr class="event-breach">') + last.count('<tr class="event-breach">')
    assert rows == breaches and f"{breaches} events · 1–100 shown" in first and "Page 2 of 2" in last
    assert f"Agent {agent.index}</a></td><td>Leverage above ceiling" in first
    assert 'aria-current="page">Breaches</a>' in first

    resumed = operator.get(url, {"kind": "actions"}).content.decode()
    assert "event-breach" not in resumed
    assert operator.get(url, {"kind": "no-such-kind"}).content.decode().count("aria-current=\"page\">Every event") == 1


@pytest.mark.django_db
def test_the_event_log_of_another_users_cohort_is_not_found(client, django_user_model, maker, crypto_hours):
    cohort = launch_and_run(window={"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T01:00:00Z"})
    Cohort.objects.update(launched_by=maker)
    client.force_login(django_user_model.objects.create_user("outsider", password="outsider-pass-1"))
    assert client.get(reverse("cohort-events", args=[cohort.pk])).status_code == 404
