"""Beat's operations tasks: the scheduled backup and the daily prune (the work is in backup.py and retention.py)."""
from celery import shared_task

from neolight.ops.backup import backup_scheduled
from neolight.ops.retention import prune_scheduled


@shared_task(ignore_result=True)
def backup_scheduled_task() -> dict:
    """A backup into BACKUP_DIR, keeping the BACKUP_KEEP newest."""
    return backup_scheduled()


@shared_task(ignore_result=True, acks_late=True)
def prune_task() -> list[dict]:
    """The retention policy applied (RETENTION_*_DAYS)."""
    return prune_scheduled()
