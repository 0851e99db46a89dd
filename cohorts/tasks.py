"""Celery tasks of cohorts: they take ids, re-check state, and call one service."""
from celery import shared_task

from cohorts.providers.registry import market_data  # the configured provider chain, behind its breakers
from cohorts.services.clocks import WallClock
from cohorts.services.cohorts import cohort_recover_stale, cohort_run
from cohorts.services.ingestion import bars_ingest_latest
from cohorts.services.live import cohort_run_live


@shared_task(acks_late=True, ignore_result=True)
def cohort_run_task(cohort_id: int) -> None:
    """Runs a pending cohort; a cohort already running, finished or failed is left alone."""
    cohort_run(cohort_id=cohort_id)


@shared_task(acks_late=True, ignore_result=True)
def cohort_run_live_task(cohort_id: int) -> None:
    """Runs a live-paper cohort on the wall clock as its minutes' bars are stored, or resumes one whose
    worker died; a cohort another run holds, or that has finished, is left alone."""
    cohort_run_live(cohort_id=cohort_id, clock=WallClock())


@shared_task(ignore_result=True)
def cohort_recover_stale_task() -> list[int]:
    """Fails cohorts whose worker died (left running past the timeout) and returns their capital."""
    return cohort_recover_stale()


@shared_task(ignore_result=True)
def ingest_latest_bars() -> dict[str, int | str]:
    """Each minute: stores the new bars of every instrument marked "ingest", from the quote chain's providers.
    Returns each symbol's new bar count or its error (logged); a run still going elsewhere makes this a no-op."""
    return bars_ingest_latest(source=market_data())
