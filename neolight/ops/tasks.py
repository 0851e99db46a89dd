"""Celery tasks of operations."""
from celery import shared_task

from neolight.ops.health import heartbeat_write


@shared_task(ignore_result=True)
def heartbeat_task() -> None:
    """Sent by beat every OPS_HEARTBEAT_SECONDS: a worker running it proves workers take tasks (/readyz)."""
    heartbeat_write("worker")
