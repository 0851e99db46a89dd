"""Structured logs: every line of a request carries its id, and so do the lines of the tasks it queues."""
from __future__ import annotations

import io
import json
import logging
import threading
import time

import pytest
from celery import shared_task
from django.contrib.auth.models import Permission

from neolight.celery import enqueue
from neolight.ops.logs import log_context, logging_config

LAUNCH = {"bankroll": "1000", "agents": 10, "symbols": ["BTC-USDT", "ETH-USDT"],
          "start": "2021-05-06T00:00:00Z", "end": "2021-05-06T03:00:00Z"}
ran = threading.Event()


@shared_task(name="tests.ops.logs_a_line")
def logs_a_line() -> None:
    logging.getLogger("tests.ops").info("the queued task ran")
    ran.set()


@pytest.fixture
def json_log():
    """The lines written meanwhile, as the production (LOG_FORMAT=json) formatter renders them."""
    from neolight.celery import app

    app.loader.import_default_modules()  # Celery's first task lookup sets Django up again (LOGGING resets the root)
    options = dict(logging_config(log_format="json", level="INFO")["formatters"]["structured"])
    stream, handler = io.StringIO(), logging.StreamHandler()
    handler.stream = stream
    handler.setFormatter(options.pop("()")(**options))
    root = logging.getLogger()
    level, _ = root.level, root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.mark.django_db(transaction=True)
def test_the_cohort_run_a_request_queued_logs_with_its_request_id(api, maker, crypto_day, eager, json_log):
    maker.user_permissions.add(Permission.objects.get(codename="add_cohort"))
    response = api.post("/api/experiments/cohorts", LAUNCH, format="json")

    assert response.status_code == 202
    request_id, cohort_id = response.headers["X-Request-ID"], response.json()["id"]
    lines = json_log()
    finished = [line for line in lines if line["event"].startswith(f"cohort {cohort_id} completed in ")]
    assert finished, [line["event"] for line in lines]
    assert finished[0]["request_id"] == request_id and finished[0]["cohort_id"] == cohort_id
    assert finished[0]["logger"] == "cohorts.services.cohorts"  # a plain logging.getLogger line, enriched
    request_lines = [line for line in lines if line.get("request") == "POST /api/experiments/cohorts"]
    assert {line["event"] for line in request_lines} == {"request_started", "request_finished"}
    assert all(line["request_id"] == request_id for line in request_lines)


@pytest.mark.django_db
def test_a_proxys_request_id_is_kept_only_when_trusted(client, settings):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a-0001")
    assert response.headers["X-Request-ID"] not in ("", "lb-7f3a-0001")  # a new id of the server's own

    settings.DJANGO_STRUCTLOG_TRUST_UPSTREAM_REQUEST_ID = True  # LOG_TRUST_REQUEST_ID behind a proxy that sets it
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a-0001").headers["X-Request-ID"] == "lb-7f3a-0001"


def test_a_task_run_in_a_thread_keeps_the_request_id(settings, json_log):
    settings.TASKS_IN_THREADS = True  # the embedded mode
    ran.clear()
    with log_context(request_id="req-embedded-42", user_id=3):
        enqueue("tests.ops.logs_a_line")
    assert ran.wait(10)
    time.sleep(0.05)  # the thread's line is written before ran is set; let the handler flush
    line = next(line for line in json_log() if line["event"] == "the queued task ran")
    assert line["request_id"] == "req-embedded-42" and line["user_id"] == 3


def test_a_queued_task_carries_the_request_id_to_the_worker(settings):
    """Published to the broker, the task's headers hold the log context a worker binds before running it."""
    if not settings.REDIS_URL:
        pytest.skip("tasks are published to a broker only with REDIS_URL")
    import redis

    from neolight.celery import app

    client = redis.Redis.from_url(app.conf.broker_url)
    client.delete("celery")
    with log_context(request_id="req-queued-7"):
        enqueue("tests.ops.logs_a_line")
    message = json.loads(client.lrange("celery", 0, -1)[0])
    assert message["headers"]["task"] == "tests.ops.logs_a_line"
    assert message["headers"]["__django_structlog__"]["request_id"] == "req-queued-7"


def test_log_format_is_json_or_console():
    assert logging_config(log_format="console", level="INFO")["root"]["level"] == "INFO"
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config(log_format="xml", level="INFO")
