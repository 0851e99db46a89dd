"""No cold first run: workers compile the engine before taking work; a run that must wait says so live."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.template.loader import render_to_string

from cohorts import engine
from cohorts.models import Cohort
from cohorts.services import cohorts as cohort_services
from cohorts.services.cohorts import cohort_launch, cohort_run
from cohorts.services.inputs import cohort_input

ROOT = Path(__file__).resolve().parents[2]

WORKER_START = """
from cohorts.engine import is_warm
import neolight.celery
from celery.signals import worker_init
before = is_warm()
worker_init.send(sender=None)
print(before, is_warm())
"""


def test_a_celery_worker_has_the_engine_compiled_before_it_takes_a_task():
    out = subprocess.run([sys.executable, "-c", WORKER_START], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_warm_up_is_done_once_per_process():
    engine.warm_up()
    assert engine.is_warm()
    engine.warm_up()  # returns at once; nothing to assert but that it does not recompile or fail


@pytest.mark.django_db
def test_a_run_in_a_process_without_warm_up_announces_preparing_the_engine_first(crypto_day, maker, monkeypatch):
    monkeypatch.setattr(engine, "is_warm", lambda: False)
    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT", start="2021-05-06T00:00:00Z",
                        end="2021-05-06T01:00:00Z")
    cohort = cohort_launch(data=data, user=maker, run=False)
    sent = []  # what followers of the cohort's page receive
    monkeypatch.setattr(cohort_services, "broadcast",
                        lambda group, event, payload: sent.append((event, payload.get("stage"))) if group != "cohorts" else None)

    cohort_run(cohort_id=cohort.pk)

    assert sent[:2] == [("cohort.started", None), ("cohort.progress", "preparing the engine")]
    assert sent[-1][0] == "cohort.finished"

def test_the_live_status_shows_the_stage_while_a_cohort_runs():
    html = render_to_string("cohorts/_status.html", {"cohort": Cohort(pk=1, status="running", progress=0),
                                                     "stage": "preparing the engine"})
    assert '<span class="stage">preparing the engine</span>' in html
