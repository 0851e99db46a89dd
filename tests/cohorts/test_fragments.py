"""A finished cohort's list row is rendered once and served from the cache; rows that can still change
(pending, running) are rendered on every read, and a new deployment's templates never meet old rows."""
from __future__ import annotations

import pytest

from cohorts import fragments
from cohorts.models import Cohort
from tests.cohorts.test_cohorts import launch_and_run


@pytest.mark.django_db
def test_a_finished_row_is_served_from_the_cache_and_a_running_one_is_not(crypto_hours, maker, monkeypatch):
    done = launch_and_run(window={"start": "2021-05-06T00:00:00Z", "end": "2021-05-06T01:00:00Z"})
    rows = list(Cohort.objects.filter(pk=done.pk).select_related("wallet"))
    first = fragments.cohort_rows(rows)
    assert f'id="cohort-row-{done.pk}"' in first[0] and "Completed" in first[0]

    renders = []
    original = fragments.render_to_string
    monkeypatch.setattr(fragments, "render_to_string", lambda *a, **k: renders.append(a) or original(*a, **k))
    assert fragments.cohort_rows(rows) == first and renders == []  # from the cache, not rendered again

    running = Cohort.objects.get(pk=done.pk)
    running.status = "running"  # as a row read while a run was under way
    assert "Running" in fragments.cohort_rows([running])[0] and len(renders) == 1
    fragments.cohort_rows([running])
    assert len(renders) == 2  # a row that can still change is rendered on each read

    monkeypatch.setattr(fragments, "version", lambda: "new-templates")  # a deployment that changed a template
    fragments.cohort_rows(rows)
    assert len(renders) == 3
