"""The Celery application; tasks are discovered in each app's tasks.py."""
import os
import threading

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neolight.settings")

app = Celery("neolight")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def enqueue(task, *args) -> None:
    """Queues `task(*args)` for a worker; in embedded mode (TASKS_IN_THREADS) runs it in a background
    thread instead, so the request that queued it still returns at once. Call it after commit."""
    from django.conf import settings
    from django.db import connection

    if not settings.TASKS_IN_THREADS:
        task.delay(*args)
        return

    def work() -> None:
        try:
            task.apply(args=args)
        finally:
            connection.close()

    threading.Thread(target=work, name=f"task-{task.name}", daemon=True).start()
