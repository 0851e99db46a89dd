"""Fixtures shared by every test: users, API clients, small slices of the bundled market data."""
from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the browser tests' sync API shares the test thread
# Commands run as subprocesses under PostgreSQL/Redis refuse to start without an encryption key (neolight/crypto.py).
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "x6wW0hgeyvdUMWJnnaPqvUJN2GKQpTAp5T9aZ4bfdr0=")  # a test-only Fernet key

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "cohorts" / "sample_data"
CRYPTO = ["BTC-USDT", "ETH-USDT", "DOGE-USDT", "LTC-USDT", "XRP-USDT", "ADA-USDT"]


def pytest_configure(config):
    """Parallel runs (pytest-xdist, `-n 2`): each worker takes a Redis database of its own, the next ones after
    REDIS_URL's, since the suite flushes its database before each test (PostgreSQL test databases get a suffix
    per worker from pytest-django). Runs before anything has connected to Redis; subprocesses inherit it."""
    from django.conf import settings

    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or not settings.REDIS_URL:
        return
    url = urlsplit(settings.REDIS_URL)
    own = urlunsplit(url._replace(path=f"/{int(url.path.strip('/') or 0) + 1 + int(worker[2:])}"))
    if settings.CELERY_BROKER_URL == settings.REDIS_URL:
        settings.CELERY_BROKER_URL = own
    settings.REDIS_URL = os.environ["REDIS_URL"] = own
    settings.CACHES["default"]["LOCATION"] = own
    settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"] = own


@pytest.fixture(scope="session", autouse=True)
def flush_past_ledger_guards():
    """Transactional tests end with a flush (TRUNCATE of every table), which the ledger's guards refuse
    (migration 0006). The test database's superuser flushes in replica mode, where those triggers do
    not fire: the maintenance path only a superuser has."""
    from django.db import transaction
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with transaction.atomic(using=self.connection.alias), self.connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            flush(self, sql_list)

    DatabaseOperations.execute_sql_flush = execute_sql_flush
    yield
    DatabaseOperations.execute_sql_flush = flush


@pytest.fixture
def maker(db):
    """An operator who launches cohorts."""
    from tests.factories import UserFactory

    return UserFactory(username="maker", password="maker-password-1")


@pytest.fixture
def outsider(db):
    """A logged-in user with no special rights."""
    from tests.factories import UserFactory

    return UserFactory(username="outsider", password="outsider-password-1")


@pytest.fixture
def superuser(db):
    """Staff with every right: the admin's user."""
    from tests.factories import UserFactory

    return UserFactory(username="boss", superuser=True)


@pytest.fixture
def api(maker) -> APIClient:
    """An API client authenticated by token, as a script would be."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=maker).key}")
    return client


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()


def sample_slice(tmp_path: Path, symbol: str, minutes: int) -> Path:
    """The first `minutes` bars of a bundled file, as a CSV file of its own."""
    lines = (SAMPLE_DIR / f"{symbol}_1m.csv").read_text().splitlines()[: minutes + 1]
    path = tmp_path / f"{symbol}_1m.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def crypto_day(db, tmp_path):
    """The six bundled crypto pairs' first day (2021-05-06 UTC), imported through the real service."""
    from cohorts.services.market import bars_import_files

    return bars_import_files(paths=[sample_slice(tmp_path, s, 1440) for s in CRYPTO])


@pytest.fixture(autouse=True)
def tasks_in_process(settings):
    """Queued tasks go to Celery (eager in the embedded default) rather than to background threads,
    so a test sees their effects when the call that queued them returns."""
    settings.TASKS_IN_THREADS = False


@pytest.fixture
def eager(monkeypatch):
    """Celery runs tasks in-process as they are queued (a worker's job, done here), even with REDIS_URL set."""
    from neolight.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright drives Debian's Chromium (no browser download), headless and offline."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]}


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests run last: Playwright's sync API keeps an event loop in the main thread for the
    rest of the session, where Channels' async_to_sync can no longer run."""
    items.sort(key=lambda item: "tests/browser/" in str(item.path).replace("\\", "/"))


@pytest.fixture(autouse=True)
def fresh_cache():
    """Each test starts with an empty cache, so API throttle budgets never carry over between tests.

    With REDIS_URL set this flushes that Redis database: give the tests a database of their own."""
    from django.core.cache import cache

    cache.clear()
