"""/healthz (liveness) and /readyz (readiness): JSON, no login; /readyz red while a dependency is down."""
from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest
import redis
from django.urls import reverse

from neolight.ops.health import HEARTBEAT_KEYS, heartbeat_write
from neolight.ops.tasks import heartbeat_task


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayRedis:
    """A redis-server of the test's own on a free loopback port, stopped and started again at will."""

    def __init__(self, tmp_path):
        self.port, self.dir, self.process = free_port(), tmp_path, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url, socket_timeout=0.2).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def throwaway_redis(tmp_path, settings):
    """Redis for everything this test does (readiness, cache, sessions, heartbeats) is a server of its own."""
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = ThrowawayRedis(tmp_path)
    server.start()
    settings.REDIS_URL = server.url
    settings.CACHES = {"default": {"BACKEND": "neolight.ops.cache.DegradingRedisCache", "LOCATION": server.url,
                                   "OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}}}
    settings.READY_CHECK_TIMEOUT_SECONDS = 0.5
    yield server
    if server.process.poll() is None:
        server.stop()


def ready(client) -> tuple[int, dict]:
    response = client.get(reverse("readyz"))
    return response.status_code, response.json()


def beat_and_worker_check_in() -> None:
    """What beat and a worker do every OPS_HEARTBEAT_SECONDS: beat publishes the heartbeat task, a worker runs it."""
    from neolight.celery import beat_heartbeat

    beat_heartbeat(sender=heartbeat_task.name)
    heartbeat_task.apply()


@pytest.mark.django_db
def test_healthz_answers_json_without_login(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_embedded_mode_says_what_is_not_used(client, settings):
    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    status, body = ready(client)
    assert status == 200 and body["status"] == "ok"
    assert {name: c["state"] for name, c in body["checks"].items()} == {
        "database": "ok", "redis": "not used", "migrations": "ok", "beat": "not used", "worker": "not used"}
    assert all(isinstance(c["latency_ms"], float) for c in body["checks"].values())


@pytest.mark.django_db
def test_readyz_turns_red_while_redis_is_down_and_green_when_it_returns(client, maker, throwaway_redis, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = throwaway_redis.url
    client.force_login(maker)
    beat_and_worker_check_in()
    status, body = ready(client)
    assert status == 200, body
    assert body["checks"]["redis"]["state"] == "ok" and body["checks"]["worker"]["state"] == "ok"

    throwaway_redis.stop()
    status, body = ready(client)
    assert status == 503 and body["status"] == "failing"
    assert body["checks"]["redis"]["state"] == "failing" and "Error" in body["checks"]["redis"]["detail"]
    assert body["checks"]["database"]["state"] == "ok" and body["checks"]["migrations"]["state"] == "ok"
    assert client.get(reverse("healthz")).status_code == 200  # alive: a supervisor must not restart it
    assert client.get(reverse("cohort-list")).status_code == 200  # pages keep answering

    throwaway_redis.start()  # empty again: beat and the workers check in on their next period
    beat_and_worker_check_in()
    status, body = ready(client)
    assert status == 200 and all(c["state"] == "ok" for c in body["checks"].values()), body


@pytest.mark.django_db
def test_a_silent_beat_or_worker_makes_readyz_red(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # a broker is configured: beat and workers must check in
    settings.REDIS_URL = ""
    settings.OPS_HEARTBEAT_SECONDS = 30

    status, body = ready(client)
    assert status == 503 and body["checks"]["beat"]["detail"] == "no heartbeat from beat yet"

    heartbeat_write("beat", at=time.time() - 10)
    heartbeat_write("worker", at=time.time() - 61)  # more than 2 periods ago
    status, body = ready(client)
    assert status == 503
    assert body["checks"]["beat"]["state"] == "ok"
    assert body["checks"]["worker"]["state"] == "failing" and "limit 60 s" in body["checks"]["worker"]["detail"]

    heartbeat_task.apply()
    assert ready(client)[0] == 200


def test_heartbeat_keys_are_distinct():
    assert len(set(HEARTBEAT_KEYS.values())) == len(HEARTBEAT_KEYS)


@pytest.mark.django_db
def test_an_unapplied_migration_makes_readyz_red(client, settings, monkeypatch):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from neolight.ops import health

    settings.REDIS_URL = ""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    monkeypatch.setattr(health, "_all_migrations_applied", False)
    executor = MigrationExecutor(connection)
    app, name = sorted(executor.loader.graph.leaf_nodes())[0]
    executor.recorder.record_unapplied(app, name)  # as after deploying code whose migration was not run

    status, body = ready(client)
    assert status == 503 and body["checks"]["migrations"]["detail"] == f"1 unapplied: {app}.{name}"
