"""Queuing a task by its name: in a background thread in embedded mode, through Celery (eager here) otherwise."""
import threading

from neolight.celery import app, enqueue

ran: dict[str, str] = {}
done = threading.Event()


@app.task(name="tests.neolight.record_thread")
def record_thread(label: str) -> None:
    ran[label] = threading.current_thread().name
    done.set()


def test_embedded_mode_runs_a_named_task_in_a_background_thread(settings):
    settings.TASKS_IN_THREADS = True
    done.clear()
    enqueue("tests.neolight.record_thread", "threaded")
    assert done.wait(10)
    assert ran["threaded"] == "task-tests.neolight.record_thread"


def test_otherwise_a_named_task_goes_through_celery(settings, eager):
    settings.TASKS_IN_THREADS = False
    enqueue("tests.neolight.record_thread", "queued")
    assert ran["queued"] == threading.current_thread().name  # eager: run by the caller, as a worker would
