"""A cohort run's lease: the token that lets one worker write the run's results, kept alive by a heartbeat.

The run takes the lease when it moves its cohort to running. While the worker lives, a background
thread pushes `lease_expires_at` forward every third of `COHORT_LEASE_SECONDS`; it stops renewing once
the run has lasted `COHORT_RUN_TIMEOUT_SECONDS`, so a hung worker lets its lease lapse too. Recovery
fails only cohorts whose lease has lapsed, and every write of the run checks the token under the
cohort's row lock, so a worker that lost its lease writes nothing.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from cohorts.models import Cohort, CohortStatus

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The run no longer holds its cohort's lease (recovery failed it, or another run took it)."""


def lease_expiry():
    return timezone.now() + timedelta(seconds=settings.COHORT_LEASE_SECONDS)


def lease_renew(*, cohort_id: int, token: uuid.UUID) -> bool:
    """Pushes the lease forward if `token` still holds it on a running cohort; False when it does not."""
    return bool(Cohort.objects.filter(pk=cohort_id, status=CohortStatus.RUNNING, lease_token=token)
                .update(lease_expires_at=lease_expiry()))


class Heartbeat:
    """Renews a run's lease from a background thread while the `with` block runs."""

    def __init__(self, *, cohort_id: int, token: uuid.UUID, run_timeout: float | None = None):
        self.cohort_id, self.token = cohort_id, token
        # how long it renews (a live run lasts its window): COHORT_RUN_TIMEOUT_SECONDS unless given
        self.run_timeout = settings.COHORT_RUN_TIMEOUT_SECONDS if run_timeout is None else run_timeout
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{cohort_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _beat(self) -> None:
        give_up = time.monotonic() + self.run_timeout
        try:
            while not self._stop.wait(settings.COHORT_LEASE_SECONDS / 3) and time.monotonic() < give_up:
                try:
                    if not lease_renew(cohort_id=self.cohort_id, token=self.token):
                        return
                except DatabaseError as exc:  # e.g. SQLite locked by a long write: the next beat tries again
                    log.warning("cohort %s: lease renewal failed (%s); retrying", self.cohort_id, exc)
        finally:
            connection.close()
