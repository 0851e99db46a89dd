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
from neolight import realtime

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
def test_a_run_in_a_process_without_warm_up_announces_preparing_the_engine_first(
        crypto_day, maker, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(engine, "is_warm", lambda: False)
    data = cohort_input(bankroll="1000", agents=10, symbols="BTC-USDT", start="2021-05-06T00:00:00Z",
                        end="2021-05-06T01:00:00Z")
    cohort = cohort_launch(data=data, user=maker, run=False)
    sent = []  # what followers of the cohort's page receive, at once or after commit

    def follow(group, event, payload):
        if group != "cohorts":
            sent.append((event, payload.get("stage")))

    monkeypatch.setattr(cohort_services, "broadcast", follow)
    monkeypatch.setattr(realtime, "broadcast", follow)

    with django_capture_on_commit_callbacks(execute=True):
        cohort_run(cohort_id=cohort.pk)

    stages = [stage for event, stage in sent if event == "cohort.progress"]
    assert stages[0] == "preparing the engine"  # before any bar is simulated
    assert ("cohort.started", None) in sent
    assert sent[-1][0] == "cohort.finished"


def test_the_live_status_shows_the_stage_while_a_cohort_runs():
    html = render_to_string("cohorts/_status.html", {"cohort": Cohort(pk=1, status="running", progress=0),
                                                     "stage": "preparing the engine"})
    assert '<span class="stage">preparing the engine</span>' in html


NEW_SIGNATURES_AFTER_WARM_UP = """
import importlib
import numpy as np
from numba.core.registry import CPUDispatcher
from cohorts import engine

modules = [importlib.import_module(f"cohorts.engine.{m}") for m in ("book", "limits", "kernel", "indicators")]

def compiled():
    return {(m.__name__, k, s) for m in modules for k, v in vars(m).items() if isinstance(v, CPUDispatcher)
            for s in v.signatures}

engine.warm_up()
before = compiled()
bars = engine.generate_market(6, 1, seed=5)
readonly = {name: getattr(bars, name).copy() for name in ("open", "high", "low", "close", "volume")}
for array in readonly.values():
    array.flags.writeable = False
for market in (bars, engine.Market(**readonly, tradable=np.ones(bars.close.shape, bool), day=np.zeros(bars.n_bars, np.int64))):
    spec = engine.cohort(engine.default_roster(30, seed=11), bankroll=1000.0, max_volume_pct=5.0, flatten_at_end=True,
                         rules=engine.ParentRules(max_gross_exposure=1.0, max_leverage=2.0, daily_stop=0.05))
    engine.run(market, spec)
print(len(compiled() - before))
"""


def test_after_warm_up_a_run_compiles_nothing_whatever_its_arrays_flags_or_roster():
    out = subprocess.run([sys.executable, "-c", NEW_SIGNATURES_AFTER_WARM_UP], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "0"
