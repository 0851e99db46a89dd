"""`manage.py benchmark live` runs a live cohort on the replay clock and prints its per-bar latency."""
from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from cohorts.models import Cohort, CohortMode, CohortStatus
from cohorts.services.live import CHECKPOINT_EVERY_BARS


def test_benchmark_live_prints_the_latency_of_each_bar(crypto_hours):
    out = StringIO()
    call_command("benchmark", "live", "--agents", "10", "--symbols", "BTC-USDT,ETH-USDT", "--minutes", "30",
                 "--start", "2021-05-06T00:00:00Z", "--json", stdout=out)
    report = json.loads(out.getvalue())

    assert report["status"] == "completed" and report["reconciled"] and report["bars"] == 30
    assert 0 < report["p50_ms"] <= report["p99_ms"] <= report["max_ms"]
    # the engine's state goes in with the first bar, then after the broadcast of every CHECKPOINT_EVERY_BARS-th
    assert report["state_saves"] == len(range(1 + CHECKPOINT_EVERY_BARS, 31, CHECKPOINT_EVERY_BARS))
    assert 0 < report["state_save_p50_ms"] <= report["state_save_max_ms"]
    quotes = report["quotes"]  # through the quote chain, its cache emptied for the symbol, then warm
    assert quotes["provider"] == "stored" and 0 < quotes["warm_p50_ms"] and 0 < quotes["cold_p50_ms"]
    cohort = Cohort.objects.get(pk=report["cohort"])
    assert cohort.mode == CohortMode.LIVE and cohort.status == CohortStatus.COMPLETED

    text = StringIO()
    call_command("benchmark", "live", "--agents", "10", "--symbols", "BTC-USDT", "--minutes", "20",
                 "--start", "2021-05-06T00:00:00Z", stdout=text)
    printed = text.getvalue()
    assert "20 bars" in printed and "p99" in printed and "engine state saved" in printed and "warm cache p50" in printed
