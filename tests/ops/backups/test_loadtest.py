"""The load script against a real Daphne: two users log in, launch, browse and watch; a short soak samples memory."""
from __future__ import annotations

import asyncio
import importlib.util
import io
import multiprocessing
import sys
from pathlib import Path

import pytest
from daphne.testing import DaphneProcess
from django.db import connection

from tests.browser.conftest import daphne_serving
from tests.conftest import sample_slice

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "loadtest.py"


def loadtest():
    spec = importlib.util.spec_from_file_location("loadtest", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("loadtest", module)  # its dataclasses look their module up
    spec.loader.exec_module(sys.modules["loadtest"])
    module = sys.modules["loadtest"]
    return module


def test_two_users_for_a_few_seconds_report_latencies_and_no_errors(transactional_db, tmp_path, settings):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("the server needs a database a second process can open (PostgreSQL in CI)")
    from cohorts.services.market import bars_import_files

    bars_import_files(paths=[sample_slice(tmp_path, "BTC-USDT", 60)])
    script = loadtest()
    script.prepare(2, "smoke-password-1", prefix="smoke")
    out = io.StringIO()
    with daphne_serving() as url:
        server = next(p for p in multiprocessing.active_children() if isinstance(p, DaphneProcess))
        report = asyncio.run(script.load(base=url, users=2, seconds=0, password="smoke-password-1", prefix="smoke",
                                         think=0.2, soak_minutes=3 / 60, sample_seconds=1.0,
                                         server_pid=server.pid, out=out))
    script.print_report(report, out=out)

    assert report["errors"] == 0, report["problems"]
    assert report["launched"] == 2
    endpoints = report["endpoints"]
    assert {"POST /login/", "GET /trading/cohorts", "GET /api/experiments/cohorts", "GET /trading/cohorts/<id>/",
            "POST /api/experiments/cohorts", "WS /ws/cohorts/"} <= set(endpoints)
    assert endpoints["WS /ws/cohorts/"]["requests"] == 2
    assert all(row["p99_ms"] >= row["p50_ms"] > 0 for row in endpoints.values())
    assert len(report["samples"]) >= 2 and all(s["rss_kib"] and s["rss_kib"] > 10_000 for s in report["samples"])
    assert "p99 ms" in out.getvalue() and "rss" in out.getvalue()


def test_only_this_machine_is_loaded():
    with pytest.raises(SystemExit, match="only runs against 127.0.0.1"):
        asyncio.run(loadtest().load(base="http://example.com", users=1, seconds=1, password="x"))
