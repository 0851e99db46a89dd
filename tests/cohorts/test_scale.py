"""Pages at scale: lists never read curves or summaries, a 300-agent cohort's page stays light, and its
charts are bounded by the window with a labelled canvas heat-map."""
from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cohorts.models import Cohort, CohortResult
from cohorts.selectors.charts import agent_points, envelope
from cohorts.services.cohorts import cohort_launch
from cohorts.services.inputs import cohort_input
from tests.cohorts.test_cohorts import DAY, launch_and_run
from tests.conftest import CRYPTO

HEAVY_COLUMNS = ('"equity_curves"', '"summary"', '"correlation"', '"genomes"', "cohorts_cohortresult")


def embedded(page: str, element_id: str):
    found = re.search(rf'<script id="{element_id}" type="application/json">(.+?)</script>', page)
    assert found, f"no {element_id} on the page"
    return json.loads(found.group(1))


def epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC).timestamp() * 1000)


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("desk", "desk@example.com", "desk-password-1"))
    return client


@pytest.mark.django_db
def test_list_api_and_csv_read_neither_curves_nor_summaries_nor_count_agents(staff, crypto_day):
    cohort = launch_and_run()
    assert cohort.result.equity_curves and cohort.result.correlation  # there is something heavy not to read

    for url in [reverse("cohort-list"), reverse("api-cohorts"), reverse("api-cohorts-csv")]:
        with CaptureQueriesContext(connection) as captured:
            response = staff.get(url)
        assert response.status_code == 200
        sql = " ".join(q["sql"] for q in captured)
        assert not [column for column in HEAVY_COLUMNS if column in sql], url
        assert "COUNT(" not in sql.replace('COUNT(*)', ""), url  # the agent count is stored, not counted
        assert "cohorts_agent" not in sql, url


@pytest.mark.django_db
def test_agent_count_is_written_at_launch_and_shown_by_list_and_api(staff, crypto_day):
    data = cohort_input(bankroll="1000", agents=12, symbols="BTC-USDT", start=DAY["start"], end=DAY["end"])
    cohort = cohort_launch(data=data, run=False)

    assert Cohort.objects.get(pk=cohort.pk).agent_count == 12
    assert staff.get(reverse("api-cohorts")).json()["results"][0]["agent_count"] == 12
    row = re.search(rf'<tr id="cohort-row-{cohort.pk}">(.+?)</tr>', staff.get(reverse("cohort-list")).content.decode(),
                    re.S).group(1)
    assert '<td class="num">12</td>' in row


@pytest.mark.django_db
def test_api_detail_still_gives_the_whole_summary(staff, crypto_day):
    cohort = launch_and_run(agents=10)
    summary = staff.get(reverse("api-cohort", args=[cohort.pk])).json()["summary"]

    assert len(summary["correlation"]) == 10 and all(len(row) == 10 for row in summary["correlation"])
    assert [g["agent"] for g in summary["genomes"]] == list(range(10))
    assert summary["leaderboard"] and summary["rollups"]["final_equity"]


@pytest.mark.django_db
def test_a_300_agent_cohort_page_weighs_under_a_megabyte_with_a_labelled_canvas_heat_map(staff, crypto_day):
    cohort = launch_and_run(bankroll="100000", agents=300, symbols=",".join(CRYPTO), window=DAY)
    assert cohort.status == "completed", cohort.status_reason

    response = staff.get(reverse("cohort-detail", args=[cohort.pk]))
    page = response.content.decode()
    assert len(response.content) < 1_000_000
    assert '<canvas id="heatmap"' in page and "<span style=\"background" not in page
    assert "−1" in page and "+1" in page  # the colour scale's ends
    heatmap = embedded(page, "cohort-heatmap-data")
    cells = np.frombuffer(base64.b64decode(heatmap["cells"]), dtype=np.int8)
    assert heatmap["size"] == 300 and len(cells) == 300 * 301 // 2
    correlation = np.array(CohortResult.objects.get(cohort=cohort).correlation)
    assert np.array_equal(cells, np.rint(correlation[np.tril_indices(300)] * 100))  # the matrix, in hundredths
    assert cells[0] == 100  # an agent with itself

    chart = embedded(page, "cohort-chart-data")
    assert chart["window"] == [epoch_ms(DAY["start"]), epoch_ms(DAY["end"])] and chart["timezone"] == "UTC"
    assert len(chart["agents_cents"]) == 300 and len(chart["families"]) == 300
    assert all(len(series) == len(chart["agents_t"]) <= agent_points(300) for series in chart["agents_cents"])
    assert chart["window"][0] <= chart["t"][0] and chart["t"][-1] < chart["window"][1]
    assert len(re.findall(r'<tr data-agent="\d+">', page)) == 50 and "Show all 300" in page

    everyone = staff.get(reverse("cohort-detail", args=[cohort.pk]), {"sort": "sharpe", "agents": "all"})
    assert len(re.findall(r'<tr data-agent="\d+">', everyone.content.decode())) == 300
    assert len(everyone.content) < 1_000_000


@pytest.mark.django_db
def test_chart_axes_are_the_cohorts_window_to_the_millisecond(staff, crypto_day):
    cohort = launch_and_run(symbols="BTC-USDT", window=DAY)
    chart = embedded(staff.get(reverse("cohort-detail", args=[cohort.pk])).content.decode(), "cohort-chart-data")

    assert chart["window"] == [epoch_ms(DAY["start"]), epoch_ms(DAY["end"])]
    assert chart["t"][0] == epoch_ms(DAY["start"]) and chart["t"][-1] == epoch_ms("2021-05-06T23:59:00Z")
    assert chart["agents_t"][0] == chart["t"][0] and chart["agents_t"][-1] == chart["t"][-1]


def test_envelope_keeps_every_peak_and_trough_the_ends_and_time_order():
    rng = np.random.default_rng(5)
    stamps = 1_620_000_000_000 + 60_000 * np.arange(10_080)
    series = 1000 + np.cumsum(rng.normal(0, 1, (3, 10_080)), axis=1)
    series[1, 4321] = 5000.0  # a one-bar spike
    series[2, 777] = -50.0  # a one-bar dip

    times, reduced = envelope(stamps, series, 300)

    assert len(times) <= 300 and reduced.shape == (3, len(times))
    assert np.all(np.diff(times) >= 0) and times[0] == stamps[0] and times[-1] == stamps[-1]
    assert np.array_equal(reduced[:, 0], series[:, 0]) and np.array_equal(reduced[:, -1], series[:, -1])
    assert np.array_equal(reduced.max(axis=1), series.max(axis=1))
    assert np.array_equal(reduced.min(axis=1), series.min(axis=1))
    assert reduced[1].max() == 5000.0 and reduced[2].min() == -50.0


def test_envelope_leaves_short_series_whole():
    stamps = np.arange(50)
    series = np.arange(100.0).reshape(2, 50)
    times, reduced = envelope(stamps, series, 300)
    assert np.array_equal(times, stamps) and np.array_equal(reduced, series)


def test_agents_get_fewer_points_as_they_grow_within_bounds():
    assert agent_points(30) == 600 and agent_points(300) == 150 and agent_points(5000) == 100


@pytest.mark.django_db(transaction=True)
def test_migrations_move_stored_results_off_the_cohort_row_count_agents_and_draw_the_heat_map():
    before = [("cohorts", "0008_fill_keys_unconstrained")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    source = old.get_model("cohorts", "Bankroll").objects.create(name="old-house")
    cohort = old.get_model("cohorts", "Cohort").objects.create(
        source=source, symbols=["BTC-USDT"], window_start="2021-05-06T00:00:00Z", window_end="2021-05-07T00:00:00Z",
        status="completed", equity_curves=b"stored curves",
        summary={"leaderboard": [{"agent": 1}], "correlation": [[1.0, 0.5], [0.5, 1.0]],
                 "genomes": [{"agent": 0}, {"agent": 1}]})
    for index in range(2):
        old.get_model("cohorts", "Agent").objects.create(cohort=cohort, index=index, family="ma_crossover", params={},
                                                        capital="500")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # through 0009 and 0010 to the latest, as other tests expect
    moved = Cohort.objects.get(pk=cohort.pk)

    assert moved.agent_count == 2 and moved.summary == {"leaderboard": [{"agent": 1}]}
    assert bytes(moved.result.equity_curves) == b"stored curves"
    assert moved.result.correlation == [[1.0, 0.5], [0.5, 1.0]] and len(moved.result.genomes) == 2
    assert np.frombuffer(bytes(moved.result.heatmap), dtype=np.int8).tolist() == [100, 50, 100]  # lower triangle


@pytest.mark.django_db
def test_a_finished_cohorts_page_is_served_again_without_reading_its_results(staff, crypto_day):
    cohort = launch_and_run()
    url = reverse("cohort-detail", args=[cohort.pk])
    first = staff.get(url).content.decode()

    with CaptureQueriesContext(connection) as captured:
        again = staff.get(url).content.decode()

    sql = " ".join(q["sql"] for q in captured)
    assert "cohorts_cohortresult" not in sql and '"cohorts_agent"."sharpe"' not in sql  # neither results nor leaderboard
    assert embedded(again, "cohort-chart-data") == embedded(first, "cohort-chart-data")
    assert re.findall(r">Agent (\d+)</a>", again) == re.findall(r">Agent (\d+)</a>", first)
