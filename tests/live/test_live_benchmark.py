"""`manage.py benchmark live` runs a live cohort on the replay clock and prints its per-bar latency."""
from __future__ import annotations

import json
from io import StringIO

from django.core.management import call_command

from cohorts.models import Cohort, CohortMode, CohortStatus


def test_benchmark_live_prints_the_latency_of_each_bar(crypto_hours):
    out = StringIO()
    call_command("benchmark", "live", "--agents", "10", "--symbols", "BTC-USDT,ETH-USDT", "--minutes", "30",
                 "--start", "2021-05-06T00:00:00Z", "--json", stdout=out)
    report = json.loads(out.getvalue())

    assert report["status"] == "completed" and report["reconciled"] and report["bars"] == 30
    assert 0 < report["p50_ms"] <= report["p99_ms"] <= report["max_ms"]
    quotes = report["quotes"]  # through the quote chain, its cache emptied for the symbol, then warm
    assert quotes["provider"] == "stored" and 0 < quotes["warm_p50_ms"] and 0 < quotes["cold_p50_ms"]
    cohort = Cohort.objects.get(pk=report["cohort"])
    assert cohort.mode == CohortMode.LIVE and cohort.status == CohortStatus.COMPLETED

    text = StringIO()
    call_command("benchmark", "live", "--agents", "10", "--symbols", "BTC-USDT", "--minutes", "20",
                 "--start", "2021-05-06T00:00:00Z", stdout=text)
    assert "20 bars" in text.getvalue() and "p99" in text.getvalue() and "warm cache p50" in text.getvalue()
