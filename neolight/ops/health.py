"""Liveness (/healthz) and readiness (/readyz), and the heartbeats the readiness reads.

Readiness checks, each with its state ("ok", "failing" or "not used") and its latency in ms:
  database    a query answers
  redis       PING on REDIS_URL answers (not used in the embedded mode)
  migrations  no migration is left unapplied
  beat        beat published its heartbeat task within 2 periods (OPS_HEARTBEAT_SECONDS)
  worker      a worker ran that task within 2 periods
The beat's heartbeat is written in the beat process as it publishes the task (Celery's before_task_publish);
the worker's by the task itself. Both live in the cache (Redis in production), so any web process reads them.
Without a broker (the embedded mode runs tasks in-process) beat and worker are "not used".
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse

log = logging.getLogger(__name__)

OK, FAILING, NOT_USED = "ok", "failing", "not used"
HEARTBEAT_TASK = "neolight.ops.tasks.heartbeat_task"
HEARTBEAT_KEYS = {"beat": "ops:heartbeat:beat", "worker": "ops:heartbeat:worker"}


class CheckFailed(Exception):
    """A check's own verdict (its message is the detail shown), as opposed to a dependency's error."""


@dataclass(frozen=True)
class Check:
    name: str
    state: str
    latency_ms: float
    detail: str = ""

    def as_json(self) -> dict:
        return {"state": self.state, "latency_ms": self.latency_ms, **({"detail": self.detail} if self.detail else {})}


# --- heartbeats -------------------------------------------------------------------------------------
def heartbeat_write(process: str, *, at: float | None = None) -> None:
    """Records that `process` ("beat" or "worker") is alive now; never raises (a heartbeat is best effort)."""
    try:
        cache.set(HEARTBEAT_KEYS[process], at if at is not None else time.time(), None)
    except Exception:  # noqa: BLE001 - the cache may be down; readiness then says so
        log.warning("heartbeat of %s not recorded: the cache is unreachable", process)


def heartbeat_ages(*, now: float | None = None) -> dict[str, float | None]:
    """Seconds since each process's last heartbeat (None: never seen). Raises if the cache is unreachable."""
    now = now if now is not None else time.time()
    got = cache.get_many(list(HEARTBEAT_KEYS.values()))
    return {p: (now - got[k] if got.get(k) is not None else None) for p, k in HEARTBEAT_KEYS.items()}


def uses_broker() -> bool:
    """Whether tasks go to separate worker processes (and a beat schedules them)."""
    return not settings.CELERY_TASK_ALWAYS_EAGER and not settings.CELERY_BROKER_URL.startswith("memory://")


# --- checks ------------------------------------------------------------------------------------------
def timed(name: str, probe: Callable[[], str]) -> Check:
    """Runs `probe` (returns "" or a detail); an exception makes the check failing with its message."""
    began = time.perf_counter()
    try:
        detail, state = probe(), OK
    except Exception as exc:  # noqa: BLE001 - any failure of a dependency is a red check, never a 500
        detail = str(exc) if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: {exc}"
        detail, state = detail[:300], FAILING
    return Check(name, state, round((time.perf_counter() - began) * 1000, 2), detail)


def check_database() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
    return ""


def check_redis() -> str:
    import redis

    timeout = settings.READY_CHECK_TIMEOUT_SECONDS
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
    return ""


_all_migrations_applied = False  # once true it stays true for this process's code (loading the graph costs ~50 ms)


def check_migrations() -> str:
    global _all_migrations_applied
    if _all_migrations_applied:
        return ""
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if unapplied:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in unapplied[:5])
        raise CheckFailed(f"{len(unapplied)} unapplied: {names}")
    _all_migrations_applied = True
    return ""


def check_heartbeat(process: str) -> str:
    age = heartbeat_ages()[process]
    limit = 2 * settings.OPS_HEARTBEAT_SECONDS
    if age is None:
        raise CheckFailed(f"no heartbeat from {process} yet")
    if age > limit:
        raise CheckFailed(f"last heartbeat {age:.0f} s ago (limit {limit} s)")
    return f"last heartbeat {age:.1f} s ago"


def readiness() -> list[Check]:
    """Every readiness check, in order; those that do not apply in this mode say "not used"."""
    checks = [timed("database", check_database)]
    checks.append(timed("redis", check_redis) if settings.REDIS_URL else Check("redis", NOT_USED, 0.0))
    checks.append(timed("migrations", check_migrations))
    for process in ("beat", "worker"):
        checks.append(timed(process, lambda p=process: check_heartbeat(p)) if uses_broker()
                      else Check(process, NOT_USED, 0.0, "the embedded mode runs tasks in-process"))
    return checks


# --- views ---------------------------------------------------------------------------------------
@login_not_required
def healthz(request):
    """Liveness for load balancers and supervisors: the process answers (no dependency is consulted)."""
    return JsonResponse({"status": "ok"})


@login_not_required
def readyz(request):
    """Readiness: 200 when every check that applies is ok, 503 otherwise; each check's state and latency."""
    checks = readiness()
    is_ready = all(c.state != FAILING for c in checks)
    if not is_ready:
        log.warning("not ready: %s", ", ".join(f"{c.name} ({c.detail})" for c in checks if c.state == FAILING))
    return JsonResponse({"status": "ok" if is_ready else "failing", "checks": {c.name: c.as_json() for c in checks}},
                        status=200 if is_ready else 503)
