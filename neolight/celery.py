"""The Celery application; tasks are discovered in each app's tasks.py."""
import contextvars
import os
import threading

from celery import Celery
from celery.signals import before_task_publish, setup_logging, worker_init
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neolight.settings")

app = Celery("neolight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add(DjangoStructLogInitStep)  # a worker binds the log context a task was queued with


@setup_logging.connect
def django_logging(**_kwargs) -> None:
    """Workers and beat log as Daphne does (settings.LOGGING: structured, LOG_FORMAT), not in Celery's own format."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@before_task_publish.connect
def beat_heartbeat(sender=None, **_kwargs) -> None:
    """Beat's heartbeat for /readyz: written in the process publishing the heartbeat task (beat)."""
    from neolight.ops.health import HEARTBEAT_TASK, heartbeat_write

    if sender == HEARTBEAT_TASK:
        heartbeat_write("beat")


@worker_init.connect
def warm_engine(**_kwargs) -> None:
    """A worker compiles the simulation kernel (or loads it from numba's cache) before it takes tasks. It
    runs in the main process before the pool forks, so every pool process starts with the kernel ready."""
    from cohorts.engine import warm_up

    warm_up()


def task_named(name: str):
    """The registered task called `name` ("cohorts.tasks.cohort_run_task"), discovering the apps' tasks
    modules on first use: services name the tasks they queue rather than import them (tasks import services)."""
    if name not in app.tasks:
        app.loader.import_default_modules()
    return app.tasks[name]


def enqueue(task, *args) -> None:
    """Queues `task(*args)` for a worker (`task` is a task or its registered name; `.delay`, so eager when
    CELERY_TASK_ALWAYS_EAGER); in embedded mode (TASKS_IN_THREADS) runs it in a background thread instead,
    so the request that queued it still returns at once, with the caller's log context (its request id). Call it
    after commit."""
    from django.conf import settings
    from django.db import connection

    task = task_named(task) if isinstance(task, str) else task
    if not settings.TASKS_IN_THREADS:
        task.delay(*args)
        return

    def work() -> None:
        try:
            task.apply(args=args)
        finally:
            connection.close()

    context = contextvars.copy_context()  # a new thread starts with empty contextvars: carry the request's over
    threading.Thread(target=context.run, args=(work,), name=f"task-{task.name}", daemon=True).start()
