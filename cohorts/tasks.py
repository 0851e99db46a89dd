"""Celery tasks of cohorts: they take ids, re-check state, and call one service."""
from celery import shared_task

from cohorts.services.cohorts import cohort_recover_stale, cohort_run


@shared_task(acks_late=True, ignore_result=True)
def cohort_run_task(cohort_id: int) -> None:
    """Runs a pending cohort; a cohort already running, finished or failed is left alone."""
    cohort_run(cohort_id=cohort_id)


@shared_task(ignore_result=True)
def cohort_recover_stale_task() -> list[int]:
    """Fails cohorts whose worker died (left running past the timeout) and returns their capital."""
    return cohort_recover_stale()
