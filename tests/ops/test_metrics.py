"""/metrics: Prometheus text with NeoLight's figures, served to allowed networks or with the token."""
from __future__ import annotations

import pytest
from celery import shared_task
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from cohorts.models import Cohort, LedgerTransaction
from tests.cohorts.test_cohorts import launch_and_run


def scrape(client, **headers) -> dict[tuple[str, tuple], float]:
    response = client.get(reverse("metrics"), **headers)
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


@shared_task(name="tests.ops.always_fails")
def always_fails() -> None:
    raise RuntimeError("a broken task")


@pytest.mark.django_db
def test_a_finished_cohort_shows_in_the_metrics(client, crypto_day):
    cohort = launch_and_run()
    samples = scrape(client)

    assert cohort.status == "completed"
    assert samples[("neolight_cohorts", (("status", "completed"),))] == 1
    assert samples[("neolight_cohorts", (("status", "running"),))] == 0
    assert samples[("neolight_cohort_runtime_seconds_count", ())] == 1
    assert samples[("neolight_cohort_runtime_seconds_sum", ())] == pytest.approx(cohort.runtime_seconds)
    for kind in ("fill", "draw", "return"):  # every posting of the run, by kind
        posted = LedgerTransaction.objects.filter(kind=kind, cohort=cohort).count()
        assert posted > 0 and samples[("neolight_ledger_postings_total", (("kind", kind),))] == posted
    # its capital went back: nothing at work, the house bankroll idle
    assert samples[("neolight_capital_at_work_usd", (("bankroll", "house"), ("by", "cohorts")))] == 0
    assert samples[("neolight_bankroll_utilisation", (("bankroll", "house"),))] == 0
    assert samples[("neolight_approvals_pending", ())] == 0
    assert all(v == 0 for (name, _), v in samples.items() if name == "neolight_scrape_errors")
    assert any(name.startswith("django_http_requests") for name, _ in samples)  # django-prometheus


@pytest.mark.django_db
def test_capital_at_work_counts_a_pending_cohort(client, crypto_day):
    from cohorts.services.cohorts import cohort_launch
    from cohorts.services.inputs import cohort_input

    cohort_launch(data=cohort_input(bankroll="2500", agents=10, symbols="BTC-USDT", start="2021-05-06T00:00:00Z",
                                    end="2021-05-06T01:00:00Z"), run=False)
    samples = scrape(client)

    assert samples[("neolight_cohorts", (("status", "pending"),))] == 1
    assert samples[("neolight_capital_at_work_usd", (("bankroll", "house"), ("by", "cohorts")))] == 2500
    # the house bankroll is funded with HOUSE_BANKROLL_FUNDING (1,000,000 by default)
    assert samples[("neolight_bankroll_utilisation", (("bankroll", "house"),))] == pytest.approx(2500 / 1_000_000)
    assert Cohort.objects.count() == 1


@pytest.mark.django_db
def test_metrics_refused_from_another_network_unless_the_token_is_sent(client, settings):
    settings.METRICS_TOKEN = "scrape-token-7f3a"
    outside = {"REMOTE_ADDR": "203.0.113.9"}

    assert client.get(reverse("metrics"), **outside).status_code == 403
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer wrong-token", **outside).status_code == 403
    assert scrape(client, HTTP_AUTHORIZATION="Bearer scrape-token-7f3a", **outside)

    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert scrape(client, **outside)
    assert client.get(reverse("metrics")).status_code == 403  # 127.0.0.1 is no longer listed
    assert scrape(client, REMOTE_ADDR="::ffff:203.0.113.20")  # the same address, as a dual-stack socket reports it


@pytest.mark.django_db
def test_empty_token_lets_no_bearer_in(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get(reverse("metrics"), HTTP_AUTHORIZATION="Bearer ", REMOTE_ADDR="203.0.113.9").status_code == 403


@pytest.mark.django_db
def test_failed_tasks_are_counted_by_name(client):
    for _ in range(2):
        always_fails.apply(throw=False)  # as a worker runs it: the error is recorded, not raised
    samples = scrape(client)
    assert samples[("neolight_celery_task_failures_total", (("task", "tests.ops.always_fails"),))] == 2


@pytest.mark.django_db
def test_queue_depth_counts_tasks_waiting_in_redis(client, settings):
    if not settings.REDIS_URL:
        pytest.skip("queues live in Redis only with REDIS_URL")
    from neolight.ops.tasks import heartbeat_task

    heartbeat_task.delay()
    heartbeat_task.delay()
    assert scrape(client)[("neolight_celery_queue_length", (("queue", "celery"),))] == 2


REQUEST_TWICE = """
import django
django.setup()
from django.test import Client
for _ in range(2):
    assert Client().get("/healthz").status_code == 200
"""


@pytest.mark.django_db
def test_multiprocess_mode_adds_up_every_process(client, tmp_path, monkeypatch):
    """Two web processes sharing PROMETHEUS_MULTIPROC_DIR: one scrape counts the requests of both."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "neolight.settings"}
    root = Path(__file__).resolve().parents[2]
    processes = [subprocess.Popen([sys.executable, "-c", REQUEST_TWICE], cwd=root, env=env, stderr=subprocess.PIPE)
                 for _ in range(2)]
    for p in processes:
        assert p.wait(timeout=120) == 0, p.stderr.read().decode()[-2000:]
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file per process

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape(client)
    assert samples[("django_http_responses_total_by_status_view_method_total",
                    (("method", "GET"), ("status", "200"), ("view", "healthz")))] == 4
    assert samples[("neolight_cohorts", (("status", "completed"),))] == 0  # the business figures are there too


@pytest.mark.django_db
def test_the_grafana_dashboard_plots_metrics_that_exist(client, settings):
    import json
    import re
    from pathlib import Path

    from django.test import Client

    Client().get(reverse("healthz"))  # some HTTP traffic first
    dashboard = json.loads((Path(__file__).resolve().parents[2] / "deploy/grafana/neolight.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    plotted = {re.sub(r"_(bucket|total)$", "", m) for e in exprs for m in re.findall(r"\b(?:neolight|django)_\w+", e)}
    response = client.get(reverse("metrics"))
    served = {f.name for f in text_string_to_metric_families(response.content.decode())}
    if not settings.REDIS_URL:
        plotted.discard("neolight_celery_queue_length")  # queues are measured in Redis only
    assert plotted - served == set()
