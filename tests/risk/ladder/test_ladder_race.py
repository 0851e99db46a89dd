"""Two evaluations of one deployment at the same moment, on PostgreSQL: the subject's row lock makes them take
turns, so the second reads the tier the first wrote and the two decisions climb one step each."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection

from risk.models import LeverageDecision
from risk.selectors import leverage as selectors
from risk.services import leverage as service
from tests.risk.ladder.conftest import equity_path, set_equity

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")


def test_concurrent_evaluations_write_two_ordered_decisions(transactional_db, ladder, deployment_of, monkeypatch):
    deployment = deployment_of("PAPER")
    path = equity_path([0.010, 0.012, 0.011])
    for equity in path[:2]:
        set_equity(deployment, equity)
        service.leverage_evaluate(deployment=deployment.pk)
    set_equity(deployment, path[2])

    start = threading.Barrier(2)
    reading = threading.Event()
    real_tier = selectors.current_tier

    def slow_tier(**subject):  # the first to read the tier lingers before writing, while the other tries to read it
        tier = real_tier(**subject)
        if not reading.is_set():
            reading.set()
            time.sleep(0.3)
        return tier

    monkeypatch.setattr(service, "current_tier", slow_tier)

    def evaluate(_):
        start.wait()
        try:
            return service.leverage_evaluate(deployment=deployment.pk).pk
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        ids = list(pool.map(evaluate, range(2)))
    race = list(LeverageDecision.objects.filter(pk__in=ids).order_by("created_at", "id")
                .values_list("rule", "from_tier", "to_tier"))
    assert race == [("step_up", Decimal(2), Decimal(3)), ("step_up", Decimal(3), Decimal(4))]
    assert LeverageDecision.objects.filter(deployment=deployment).count() == 4
