"""Fixtures of the browser tests: Daphne serving NeoLight to Chromium, and screenshots in test-artifacts/."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
from asgiref.sync import AsyncToSync, SyncToAsync
from channels.layers import channel_layers
from channels.testing.live import make_application
from daphne.testing import DaphneProcess
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.db import connection, connections

from cohorts.services import cohorts as cohort_services

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "operator-password-1"


@pytest.fixture
def shared_database(transactional_db):
    """The test database, which a second process (Daphne) must be able to open: skips on in-memory SQLite."""
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("the browser tests need a database a second process can open (PostgreSQL in CI)")


@pytest.fixture
def asgi_server(shared_database, settings, monkeypatch):
    """Daphne serving NeoLight in a child process that shares the test database."""
    settings.TASKS_IN_THREADS = True  # the server runs launched cohorts in the background, as in production
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    # Slow the run down just enough for a person (and this test) to watch its progress arrive.
    monkeypatch.setattr(cohort_services, "PROGRESS_CHUNK_BARS", 15)
    announce = cohort_services._announce
    monkeypatch.setattr(cohort_services, "_announce", lambda *a, **k: (time.sleep(0.08), announce(*a, **k)))
    with daphne_serving() as url:
        yield url


@contextmanager
def daphne_serving():
    """Daphne serving NeoLight in a forked child process that shares the test database (and the settings the
    test set before); yields its base URL and stops it after."""
    connections.close_all()  # the child must not share the parent's database sockets…
    channel_layers.backends.clear()  # …nor a channel layer bound to an event loop of an earlier test
    server = DaphneProcess("127.0.0.1", partial(make_application, static_wrapper=ASGIStaticFilesHandler),
                           setup=_fresh_thread_pools)
    server.start()
    if not server.ready.wait(timeout=30):
        server.terminate()
        pytest.fail("Daphne did not start")
    try:
        yield f"http://127.0.0.1:{server.port.value}"
    finally:
        server.terminate()
        server.join()


def _fresh_thread_pools() -> None:
    """In the forked server: asgiref's shared executor came from the parent without its thread, so
    anything handed to it would wait forever; give the child one of its own."""
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    AsyncToSync.loop_thread_executors.clear()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
