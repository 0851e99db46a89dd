"""The cohort pages: list with filters and empty state, guided launch, detail, agent drill-down."""
from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from cohorts.models import Cohort
from tests.cohorts.test_cohorts import launch_and_run


@pytest.mark.django_db
def test_empty_list_explains_how_to_start(operator):
    page = operator.get(reverse("cohort-list")).content.decode()
    assert "No cohorts yet" in page and reverse("cohort-launch") in page


@pytest.mark.django_db
def test_easy_launch_refuses_a_small_bankroll_beside_the_field(operator, crypto_day):
    response = operator.post(reverse("cohort-launch"), {"mode": "easy", "bankroll": "10", "day": "2021-05-06"})
    assert response.status_code == 400
    error = re.search(r'id="id_bankroll-error"[^>]*><li>([^<]+)', response.content.decode())
    assert error and "between $50 and $100,000" in error.group(1)
    assert not Cohort.objects.exists()


@pytest.mark.django_db
def test_advanced_launch_refuses_a_reversed_window_beside_the_end(operator, crypto_day):
    response = operator.post(reverse("cohort-launch"), {
        "mode": "advanced", "bankroll": "1000", "agents": "10", "policy": "equal", "symbols": ["BTC-USDT"],
        "start": "2021-05-06 06:00", "end": "2021-05-06 01:00", "seed": "7", "exposure_limit": "1",
        "leverage_ceiling": "2", "daily_stop": "0.05"})
    assert response.status_code == 400
    assert re.search(r'id="id_end-error"[^>]*><li>The window must end after it starts', response.content.decode())


@pytest.mark.smoke
@pytest.mark.django_db
def test_easy_launch_runs_a_cohort_and_opens_its_page(operator, crypto_day, eager, django_capture_on_commit_callbacks):
    form = operator.get(reverse("cohort-launch")).content.decode()
    assert '<option value="2021-05-06">' in form

    with django_capture_on_commit_callbacks(execute=True):
        response = operator.post(reverse("cohort-launch"), {"mode": "easy", "bankroll": "2500", "day": "2021-05-06"})

    cohort = Cohort.objects.get()
    assert response.url == reverse("cohort-detail", args=[cohort.pk])
    page = operator.get(response.url).content.decode()
    assert cohort.status == "completed" and cohort.agents.count() == 30 and len(cohort.symbols) == 6
    assert "Leaderboard" in page and "reconciled ✓" in page and 'id="cohort-chart-data"' in page
    chart = json.loads(re.search(r'<script id="cohort-chart-data" type="application/json">(.+?)</script>', page).group(1))
    assert len(chart["parent"]) <= 1000 and len(chart["agents_cents"]) == 30 and len(chart["families"]) == 30


@pytest.mark.django_db
def test_launch_page_needs_the_permission(client, outsider):
    client.force_login(outsider)
    assert client.get(reverse("cohort-launch")).status_code == 403


@pytest.fixture
def finished(maker, crypto_day):
    cohort = launch_and_run()
    Cohort.objects.update(launched_by=maker)
    return cohort


@pytest.mark.django_db
def test_leaderboard_sorts_by_the_column_asked(operator, finished):
    def order(sort):
        page = operator.get(reverse("cohort-detail", args=[finished.pk]), {"sort": sort}).content.decode()
        table = page[page.index('id="leaderboard"'):]
        table = table[:table.index("</table>")]
        return [int(i) for i in re.findall(r">Agent (\d+)</a>", table)]

    by_trades = order("trades")
    trades = dict(finished.agents.values_list("index", "trades"))
    assert [trades[i] for i in by_trades] == sorted(trades.values(), reverse=True)
    assert order("agent") == list(range(10))


@pytest.mark.django_db
def test_agent_page_marks_fills_on_candles(operator, finished):
    agent = max(finished.agents.all(), key=lambda a: a.fills.filter(instrument__symbol="ETH-USDT").count())
    eth_fills = agent.fills.filter(instrument__symbol="ETH-USDT")
    assert eth_fills.exists()
    page = operator.get(reverse("agent-detail", args=[finished.pk, agent.index]), {"symbol": "ETH-USDT"}).content.decode()
    data = json.loads(re.search(r'<script id="agent-chart-data" type="application/json">(.+?)</script>', page).group(1))
    assert len(data["candles"]) == 180 and len(data["equity"]) == 180
    assert len(data["markers"]) == eth_fills.count()
    for side in {f.side for f in agent.fills.all()}:
        assert f"PAPER {side.upper()}" in page  # every fill is labelled with its trading mode


@pytest.mark.django_db
def test_filters_narrow_the_list(operator, finished):
    assert f"#{finished.pk}" in operator.get(reverse("cohort-list"), {"status": "completed"}).content.decode()
    empty = operator.get(reverse("cohort-list"), {"status": "failed"}).content.decode()
    assert "No cohort matches these filters" in empty


@pytest.mark.django_db
def test_pages_query_the_database_a_fixed_number_of_times(operator, maker, crypto_day, django_assert_max_num_queries):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(url) -> int:
        cache.clear()  # a finished cohort's results are rendered once, then cached: count a full render
        with CaptureQueriesContext(connection) as captured:
            assert operator.get(url).status_code == 200
        return len(captured)

    first = launch_and_run()
    Cohort.objects.update(launched_by=maker)
    few = queries(reverse("cohort-list")), queries(reverse("cohort-detail", args=[first.pk]))
    launch_and_run(agents=20)
    launch_and_run(agents=30)
    Cohort.objects.update(launched_by=maker)
    many = queries(reverse("cohort-list")), queries(reverse("cohort-detail", args=[first.pk]))

    assert few == many  # no query per cohort, per agent or per event
    # uncached, the cohort page reads its results and families once, its events in six bounded queries, and
    # whether it was weighed for promotion in one
    assert many[0] <= 10 and many[1] <= 19
