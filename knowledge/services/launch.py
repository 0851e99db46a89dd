"""Launching a campaign day's cohort with capital weights chosen by the learning cycle."""
from __future__ import annotations

from collections.abc import Sequence

from cohorts import engine
from cohorts.models import Cohort
from cohorts.services.cohorts import cohort_launch
from cohorts.services.inputs import LaunchInput


def cohort_launch_weighted(*, data: LaunchInput, genomes: Sequence[engine.Genome], weights: Sequence[float],
                           note: str, day_number: int, run: bool, user=None) -> Cohort:
    """`cohort_launch` with capital split by `weights` (positive, one per genome) and `note` on record."""
    return cohort_launch(data=data, user=user, genomes=genomes, day_number=day_number, run=run, weights=weights,
                         weights_note=note)
