"""Launching a campaign day's cohort with capital weights chosen by the learning cycle.

`cohort_launch` computes weights from the launch's policy itself. Until it accepts explicit
weights, `cohort_launch_weighted` substitutes them for the one call it makes: the stand-in
answers only for this launch's input object and hands any other call to the real function.
"""
from __future__ import annotations

import inspect
import threading
from collections.abc import Sequence

import numpy as np
from django.db import transaction

from cohorts import engine
from cohorts.models import Cohort
from cohorts.services import allocation
from cohorts.services.cohorts import LaunchInput, cohort_launch

_SWAP = threading.Lock()


@transaction.atomic
def cohort_launch_weighted(*, data: LaunchInput, genomes: Sequence[engine.Genome], weights: Sequence[float],
                           note: str, day_number: int, run: bool) -> Cohort:
    """`cohort_launch` with capital split by `weights` (positive, one per genome) and `note` on record."""
    weights = np.asarray(weights, dtype=np.float64)
    if "weights" in inspect.signature(cohort_launch).parameters:
        return cohort_launch(data=data, genomes=genomes, day_number=day_number, run=run, weights=weights,
                             weights_note=note)
    real = allocation.weights

    def chosen(*, policy, genomes, data: LaunchInput):
        return (weights, note) if data is this else real(policy=policy, genomes=genomes, data=data)

    this = data
    with _SWAP:
        allocation.weights = chosen
        try:
            return cohort_launch(data=data, genomes=genomes, day_number=day_number, run=run)
        finally:
            allocation.weights = real
